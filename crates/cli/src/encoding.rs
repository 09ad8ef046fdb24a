//! Source encodings (PEP 263): a file that declares a Latin-1 coding cookie is decoded here.
//!
//! CPython reads a source file as UTF-8 unless its first or second line declares another
//! encoding (`# -*- coding: latin-1 -*-`). The analyzer takes UTF-8 (or bytes it treats as
//! UTF-8), so a file declaring Latin-1, the one non-UTF-8 encoding common in old Python code, is
//! decoded to UTF-8 before it is split into cells. Columns count characters, so positions are
//! the same in both encodings. Other declared encodings are left to the analyzer as bytes.

use std::borrow::Cow;

/// Names CPython resolves to ISO-8859-1 (after lowercasing and turning `_` into `-`).
const LATIN_1: &[&str] = &[
    "latin-1",
    "latin1",
    "latin",
    "l1",
    "iso-8859-1",
    "iso8859-1",
    "iso-latin-1",
    "iso-ir-100",
    "cp819",
    "8859",
    "csisolatin1",
];

/// The encoding a coding cookie in `line` declares, if it has one (PEP 263: a comment line
/// matching `coding[:=]\s*([-\w.]+)`).
fn cookie(line: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(line).ok()?;
    let trimmed = text.trim_start_matches([' ', '\t', '\x0c']);
    if !trimmed.starts_with('#') {
        return None;
    }
    let at = trimmed.find("coding")?;
    let rest = &trimmed[at + "coding".len()..];
    let rest = rest.strip_prefix([':', '='])?;
    let name: String = rest
        .trim_start_matches([' ', '\t'])
        .chars()
        .take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    (!name.is_empty()).then(|| name.to_ascii_lowercase().replace('_', "-"))
}

/// `true` when a line holds nothing but whitespace or a comment (a cookie on line 2 counts only
/// after such a line).
fn is_blank_or_comment(line: &[u8]) -> bool {
    let rest = line
        .iter()
        .skip_while(|b| matches!(b, b' ' | b'\t' | b'\x0c'))
        .copied()
        .collect::<Vec<_>>();
    rest.is_empty() || matches!(rest[0], b'#' | b'\n' | b'\r')
}

/// The encoding the file declares on its first two lines, normalized.
pub fn declared(bytes: &[u8]) -> Option<String> {
    let mut lines = bytes.split_inclusive(|b| *b == b'\n');
    let first = lines.next()?;
    if let Some(name) = cookie(first) {
        return Some(name);
    }
    if !is_blank_or_comment(first) {
        return None;
    }
    lines.next().and_then(cookie)
}

/// `bytes` as UTF-8 when the file declares Latin-1; unchanged otherwise.
///
/// ```
/// use pyrepl3_cli::encoding::to_utf8;
/// let src = b"# -*- coding: latin-1 -*-\ns = 'caf\xe9'\n";
/// assert_eq!(&*to_utf8(src), "# -*- coding: latin-1 -*-\ns = 'café'\n".as_bytes());
/// assert_eq!(&*to_utf8(b"s = 'caf\xe9'\n"), b"s = 'caf\xe9'\n");
/// ```
pub fn to_utf8(bytes: &[u8]) -> Cow<'_, [u8]> {
    match declared(bytes) {
        Some(name)
            if LATIN_1
                .iter()
                .any(|l| name == *l || name.starts_with(&format!("{l}-"))) =>
        {
            Cow::Owned(
                bytes
                    .iter()
                    .map(|&b| b as char)
                    .collect::<String>()
                    .into_bytes(),
            )
        }
        _ => Cow::Borrowed(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_on_the_first_two_lines() {
        assert_eq!(declared(b"# coding=utf-8\n"), Some("utf-8".into()));
        assert_eq!(
            declared(b"#!/usr/bin/python\n# vim: set fileencoding=ISO_8859_1 :\n").as_deref(),
            Some("iso-8859-1")
        );
        assert_eq!(
            declared(b"x = 1\n# coding: latin-1\n"),
            None,
            "only after a comment line"
        );
        assert_eq!(declared(b"\n\n# coding: latin-1\n"), None, "not on line 3");
        assert_eq!(declared(b"s = '# coding: latin-1'\n"), None, "not in code");
    }
}
