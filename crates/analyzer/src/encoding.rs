//! Source encodings (PEP 263): the coding declaration on a source's first two lines, and the
//! source decoded as CPython 3.11 decodes the bytes it is given (`compile(bytes, ...)`).
//!
//! CPython reads source bytes as UTF-8 unless line 1, or line 2 after a blank or comment line 1,
//! is a comment declaring another encoding (`# -*- coding: latin-1 -*-`). Its tokenizer first
//! normalizes the name (`utf_8`, `UTF-8-sig` → `utf-8`; `latin_1`, `ISO-8859-1` → `iso-8859-1`),
//! refuses any other declaration after a UTF-8 byte-order mark, then looks the name up in the
//! codec registry: unknown names and codecs that are not text encodings are errors. The tables
//! below are that registry, generated from CPython 3.11 (`tests/encoding.rs` checks them against
//! the live interpreter); decoding uses `encoding_rs` (the WHATWG encodings) for the codecs it
//! shares with Python, and Latin-1 and ASCII directly.

use std::borrow::Cow;

use crate::{CellError, Span};

/// The encoding a coding declaration in `line` names, as written (PEP 263: a comment line
/// matching `coding[:=][ \t]*([-\w.]+)`, ASCII word characters only, as CPython's tokenizer
/// reads it).
fn cookie(line: &[u8]) -> Option<&str> {
    let start = line
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\x0c'))?;
    let line = &line[start..];
    if line.first() != Some(&b'#') {
        return None;
    }
    let at = memchr::memmem::find(line, b"coding")?;
    let rest = &line[at + b"coding".len()..];
    let rest = match rest.first() {
        Some(b':' | b'=') => &rest[1..],
        _ => return None,
    };
    let skip = rest
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(rest.len());
    let rest = &rest[skip..];
    let len = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
        .unwrap_or(rest.len());
    // ASCII by construction.
    std::str::from_utf8(&rest[..len])
        .ok()
        .filter(|n| !n.is_empty())
}

/// `true` when a line holds nothing but whitespace or a comment (a declaration on line 2 counts
/// only after such a line).
fn blank_or_comment(line: &[u8]) -> bool {
    match line.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\x0c')) {
        None => true,
        Some(b) => matches!(b, b'#' | b'\n' | b'\r'),
    }
}

/// The encoding that `bytes` (a whole source, byte-order mark removed) declares on its first two
/// lines, as written.
///
/// ```
/// use pyrepl3_analyzer::encoding::declared;
/// assert_eq!(declared(b"#!/usr/bin/env python\n# -*- coding: latin-1 -*-\n"), Some("latin-1"));
/// assert_eq!(declared(b"x = 1\n# coding: latin-1\n"), None); // line 1 is code
/// ```
pub fn declared(bytes: &[u8]) -> Option<&str> {
    let mut lines = bytes.split_inclusive(|b| *b == b'\n');
    let first = lines.next()?;
    if let Some(name) = cookie(first) {
        return Some(name);
    }
    if !blank_or_comment(first) {
        return None;
    }
    lines.next().and_then(cookie)
}

/// CPython's tokenizer's `get_normal_name`: the UTF-8 and Latin-1 spellings become `utf-8` and
/// `iso-8859-1` (judged on the first 12 characters); any other name is kept as written.
fn normal_name(name: &str) -> &str {
    let head: String = name
        .chars()
        .take(12)
        .map(|c| {
            if c == '_' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    if head == "utf-8" || head.starts_with("utf-8-") {
        "utf-8"
    } else if ["latin-1", "iso-8859-1", "iso-latin-1"]
        .iter()
        .any(|l| head == *l || head.starts_with(&format!("{l}-")))
    {
        "iso-8859-1"
    } else {
        name
    }
}

/// Python's `encodings.normalize_encoding` after the registry's lowercasing: runs of
/// characters other than ASCII alphanumerics and `.` become one `_`, none at the ends.
fn normalize_encoding(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut punct = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            if punct && !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            punct = false;
        } else {
            punct = true;
        }
    }
    out
}

/// The codec module and codec name `codecs.lookup(name)` finds, as `encodings.search_function`
/// does: an alias of the normalized name first, then a module of that name.
fn lookup(name: &str) -> Option<(&'static str, &'static str)> {
    let norm = normalize_encoding(name);
    let alias = |key: &str| {
        ALIASES
            .binary_search_by(|(a, _)| a.cmp(&key))
            .ok()
            .map(|i| ALIASES[i].1)
    };
    let aliased = alias(&norm).or_else(|| alias(&norm.replace('.', "_")));
    aliased
        .into_iter()
        .chain(std::iter::once(norm.as_str()))
        .filter(|m| !m.is_empty() && !m.contains('.'))
        .find_map(|m| {
            CODECS
                .binary_search_by(|(c, _)| c.cmp(&m))
                .ok()
                .map(|i| CODECS[i])
        })
}

/// The WHATWG label `encoding_rs` knows a Python codec module by, where the two agree on the
/// bytes of Python source (single-byte tables and the common East Asian encodings).
fn whatwg_label(module: &str) -> Option<Cow<'static, str>> {
    let fixed = match module {
        "mac_roman" => "macintosh",
        "mac_cyrillic" => "x-mac-cyrillic",
        "cp866" => "ibm866",
        "cp874" | "tis_620" | "iso8859_11" => "windows-874",
        "cp932" => "windows-31j",
        "cp949" | "euc_kr" => "euc-kr",
        "big5" | "big5hkscs" | "cp950" => "big5",
        "koi8_r" => "koi8-r",
        "koi8_u" => "koi8-u",
        "euc_jp" => "euc-jp",
        "shift_jis" => "shift_jis",
        "gb2312" | "gbk" | "gb18030" | "iso2022_jp" => {
            return Some(Cow::Owned(module.replace('_', "-")));
        }
        _ => {
            if let Some(n) = module.strip_prefix("iso8859_") {
                return Some(Cow::Owned(format!("iso-8859-{n}")));
            }
            if let Some(n) = module.strip_prefix("cp125") {
                return Some(Cow::Owned(format!("windows-125{n}")));
            }
            return None;
        }
    };
    Some(Cow::Borrowed(fixed))
}

/// Text codecs of Python that do not read every ASCII byte as itself, and the ASCII bytes they
/// read otherwise (`None`: EBCDIC code pages and punycode, where ASCII is not ASCII at all).
const NOT_ASCII: &[(&str, Option<&[u8]>)] = &[
    ("cp037", None),
    ("cp1026", None),
    ("cp1140", None),
    ("cp273", None),
    ("cp424", None),
    ("cp500", None),
    ("cp864", Some(b"%")),
    ("cp875", None),
    ("hz", Some(b"~")),
    ("iso2022_kr", Some(b"\x0e\x0f\x1b")),
    ("punycode", None),
    ("shift_jis_2004", Some(b"\\~")),
    ("shift_jisx0213", Some(b"\\~")),
];

/// Whether `module` reads the ASCII `body` as the same text.
fn reads_as_ascii(module: &str, body: &[u8]) -> bool {
    body.is_ascii()
        && match NOT_ASCII.iter().find(|(m, _)| *m == module) {
            None => true,
            Some((_, None)) => false,
            Some((_, Some(special))) => !body.iter().any(|b| special.contains(b)),
        }
}

fn fail(message: String) -> CellError {
    CellError {
        kind: "SyntaxError".to_string(),
        message,
        span: Span::empty(0),
    }
}

/// UTF-8 text of `bytes`, or CPython's error for the first byte that is not UTF-8.
fn utf8(bytes: &[u8]) -> Result<Cow<'_, str>, CellError> {
    std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| {
        let valid = e.valid_up_to();
        CellError {
            kind: "SyntaxError".to_string(),
            message: format!(
                "(unicode error) 'utf-8' codec can't decode byte 0x{:02x} in position {valid}: invalid start byte",
                bytes[valid]
            ),
            span: Span::empty(valid as u32),
        }
    })
}

/// UTF-16 and UTF-32 as Python's codecs decode them: the unsuffixed names read a byte-order mark
/// and otherwise take little-endian (this platform's order).
fn wide(body: &[u8], module: &str) -> Result<String, CellError> {
    let unit = if module.starts_with("utf_16") { 2 } else { 4 };
    let (big, body) = match module {
        "utf_16" => match body {
            [0xFF, 0xFE, rest @ ..] => (false, rest),
            [0xFE, 0xFF, rest @ ..] => (true, rest),
            _ => (false, body),
        },
        "utf_32" => match body {
            [0xFF, 0xFE, 0, 0, rest @ ..] => (false, rest),
            [0, 0, 0xFE, 0xFF, rest @ ..] => (true, rest),
            _ => (false, body),
        },
        m => (m.ends_with("_be"), body),
    };
    let codec = format!("utf-{}-{}", unit * 8, if big { "be" } else { "le" });
    let cant = |detail: String| fail(format!("'{codec}' codec can't decode {detail}"));
    let whole = body.len() - body.len() % unit;
    let mut text = String::with_capacity(whole / unit);
    if unit == 2 {
        let units = body[..whole].chunks_exact(2).map(|c| {
            let pair = [c[0], c[1]];
            if big {
                u16::from_be_bytes(pair)
            } else {
                u16::from_le_bytes(pair)
            }
        });
        for (i, c) in char::decode_utf16(units).enumerate() {
            match c {
                Ok(c) => text.push(c),
                Err(_) => {
                    return Err(cant(format!(
                        "bytes in position {}-{}: illegal UTF-16 surrogate",
                        2 * i,
                        2 * i + 1
                    )));
                }
            }
        }
    } else {
        for (i, c) in body[..whole].chunks_exact(4).enumerate() {
            let quad = [c[0], c[1], c[2], c[3]];
            let v = if big {
                u32::from_be_bytes(quad)
            } else {
                u32::from_le_bytes(quad)
            };
            match char::from_u32(v) {
                Some(c) => text.push(c),
                None => {
                    return Err(cant(format!(
                        "bytes in position {}-{}: code point not in range(0x110000)",
                        4 * i,
                        4 * i + 3
                    )));
                }
            }
        }
    }
    if whole != body.len() {
        return Err(cant(format!(
            "byte 0x{:02x} in position {whole}: truncated data",
            body[whole]
        )));
    }
    Ok(text)
}

/// The text of source `bytes` as CPython 3.11 decodes them for `compile(bytes, ...)`: a UTF-8
/// byte-order mark is dropped, a coding declaration on the first two lines is honoured, and a
/// source CPython refuses to decode gives its error (`unknown encoding: uft-8`, `encoding
/// problem: iso-8859-1 with BOM`, undecodable bytes).
///
/// Spans of [`crate::analyze_bytes`] point into this text.
///
/// ```
/// use pyrepl3_analyzer::encoding::decode_source;
/// assert_eq!(decode_source(b"# coding: latin-1\ns = 'caf\xe9'\n").unwrap(), "# coding: latin-1\ns = 'café'\n");
/// assert_eq!(decode_source(b"# coding: koi8-r\ns = '\xc1'\n").unwrap(), "# coding: koi8-r\ns = 'а'\n");
/// assert_eq!(decode_source(b"# coding: uft-8\n").unwrap_err().message, "unknown encoding: uft-8");
/// ```
pub fn decode_source(bytes: &[u8]) -> Result<Cow<'_, str>, CellError> {
    let (bom, body) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    let Some(written) = declared(body) else {
        return utf8(body);
    };
    let name = normal_name(written);
    if name == "utf-8" {
        return utf8(body);
    }
    if bom {
        return Err(fail(format!("encoding problem: {name} with BOM")));
    }
    let Some((module, codec)) = lookup(name) else {
        return Err(fail(format!("unknown encoding: {name}")));
    };
    if NOT_TEXT.contains(&module) {
        return Err(fail(format!(
            "'{name}' is not a text encoding; use codecs.decode() to handle arbitrary codecs"
        )));
    }
    match module {
        "undefined" => Err(fail(format!(
            "decoding with '{name}' codec failed (UnicodeError: undefined encoding)"
        ))),
        "utf_16" | "utf_16_le" | "utf_16_be" | "utf_32" | "utf_32_le" | "utf_32_be" => {
            wide(body, module).map(Cow::Owned)
        }
        // UTF-7 reads ASCII without `+` as itself.
        "utf_7" if body.is_ascii() && !body.contains(&b'+') => utf8(body),
        "utf_8" => utf8(body),
        "utf_8_sig" => utf8(body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)),
        "latin_1" | "iso8859_1" => Ok(Cow::Owned(body.iter().map(|&b| char::from(b)).collect())),
        "ascii" => match body.iter().position(|b| !b.is_ascii()) {
            None => utf8(body),
            Some(i) => Err(fail(format!(
                "'ascii' codec can't decode byte 0x{:02x} in position {i}: ordinal not in range(128)",
                body[i]
            ))),
        },
        _ => match whatwg_label(module)
            .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        {
            Some(encoding) => encoding
                .decode_without_bom_handling_and_without_replacement(body)
                .map(|text| Cow::Owned(text.into_owned()))
                .ok_or_else(|| fail(format!("'{codec}' codec can't decode the source"))),
            // Every ASCII-compatible codec reads ASCII as ASCII.
            None if reads_as_ascii(module, body) => utf8(body),
            None => Err(fail(format!(
                "pyrepl3 cannot decode source in the '{codec}' encoding; save the file as UTF-8"
            ))),
        },
    }
}

/// Python 3.11's codec modules (`encodings.*` that `codecs.lookup` finds on Linux) and the
/// name `codecs.lookup` reports for each. Generated from CPython; `tests/encoding.rs` checks it.
pub(crate) const CODECS: &[(&str, &str)] = &[
    ("ascii", "ascii"),
    ("base64_codec", "base64"),
    ("big5", "big5"),
    ("big5hkscs", "big5hkscs"),
    ("bz2_codec", "bz2"),
    ("charmap", "charmap"),
    ("cp037", "cp037"),
    ("cp1006", "cp1006"),
    ("cp1026", "cp1026"),
    ("cp1125", "cp1125"),
    ("cp1140", "cp1140"),
    ("cp1250", "cp1250"),
    ("cp1251", "cp1251"),
    ("cp1252", "cp1252"),
    ("cp1253", "cp1253"),
    ("cp1254", "cp1254"),
    ("cp1255", "cp1255"),
    ("cp1256", "cp1256"),
    ("cp1257", "cp1257"),
    ("cp1258", "cp1258"),
    ("cp273", "cp273"),
    ("cp424", "cp424"),
    ("cp437", "cp437"),
    ("cp500", "cp500"),
    ("cp720", "cp720"),
    ("cp737", "cp737"),
    ("cp775", "cp775"),
    ("cp850", "cp850"),
    ("cp852", "cp852"),
    ("cp855", "cp855"),
    ("cp856", "cp856"),
    ("cp857", "cp857"),
    ("cp858", "cp858"),
    ("cp860", "cp860"),
    ("cp861", "cp861"),
    ("cp862", "cp862"),
    ("cp863", "cp863"),
    ("cp864", "cp864"),
    ("cp865", "cp865"),
    ("cp866", "cp866"),
    ("cp869", "cp869"),
    ("cp874", "cp874"),
    ("cp875", "cp875"),
    ("cp932", "cp932"),
    ("cp949", "cp949"),
    ("cp950", "cp950"),
    ("euc_jis_2004", "euc_jis_2004"),
    ("euc_jisx0213", "euc_jisx0213"),
    ("euc_jp", "euc_jp"),
    ("euc_kr", "euc_kr"),
    ("gb18030", "gb18030"),
    ("gb2312", "gb2312"),
    ("gbk", "gbk"),
    ("hex_codec", "hex"),
    ("hp_roman8", "hp-roman8"),
    ("hz", "hz"),
    ("idna", "idna"),
    ("iso2022_jp", "iso2022_jp"),
    ("iso2022_jp_1", "iso2022_jp_1"),
    ("iso2022_jp_2", "iso2022_jp_2"),
    ("iso2022_jp_2004", "iso2022_jp_2004"),
    ("iso2022_jp_3", "iso2022_jp_3"),
    ("iso2022_jp_ext", "iso2022_jp_ext"),
    ("iso2022_kr", "iso2022_kr"),
    ("iso8859_1", "iso8859-1"),
    ("iso8859_10", "iso8859-10"),
    ("iso8859_11", "iso8859-11"),
    ("iso8859_13", "iso8859-13"),
    ("iso8859_14", "iso8859-14"),
    ("iso8859_15", "iso8859-15"),
    ("iso8859_16", "iso8859-16"),
    ("iso8859_2", "iso8859-2"),
    ("iso8859_3", "iso8859-3"),
    ("iso8859_4", "iso8859-4"),
    ("iso8859_5", "iso8859-5"),
    ("iso8859_6", "iso8859-6"),
    ("iso8859_7", "iso8859-7"),
    ("iso8859_8", "iso8859-8"),
    ("iso8859_9", "iso8859-9"),
    ("johab", "johab"),
    ("koi8_r", "koi8-r"),
    ("koi8_t", "koi8-t"),
    ("koi8_u", "koi8-u"),
    ("kz1048", "kz1048"),
    ("latin_1", "iso8859-1"),
    ("mac_arabic", "mac-arabic"),
    ("mac_croatian", "mac-croatian"),
    ("mac_cyrillic", "mac-cyrillic"),
    ("mac_farsi", "mac-farsi"),
    ("mac_greek", "mac-greek"),
    ("mac_iceland", "mac-iceland"),
    ("mac_latin2", "mac-latin2"),
    ("mac_roman", "mac-roman"),
    ("mac_romanian", "mac-romanian"),
    ("mac_turkish", "mac-turkish"),
    ("palmos", "palmos"),
    ("ptcp154", "ptcp154"),
    ("punycode", "punycode"),
    ("quopri_codec", "quopri"),
    ("raw_unicode_escape", "raw-unicode-escape"),
    ("rot_13", "rot-13"),
    ("shift_jis", "shift_jis"),
    ("shift_jis_2004", "shift_jis_2004"),
    ("shift_jisx0213", "shift_jisx0213"),
    ("tis_620", "tis-620"),
    ("undefined", "undefined"),
    ("unicode_escape", "unicode-escape"),
    ("utf_16", "utf-16"),
    ("utf_16_be", "utf-16-be"),
    ("utf_16_le", "utf-16-le"),
    ("utf_32", "utf-32"),
    ("utf_32_be", "utf-32-be"),
    ("utf_32_le", "utf-32-le"),
    ("utf_7", "utf-7"),
    ("utf_8", "utf-8"),
    ("utf_8_sig", "utf-8-sig"),
    ("uu_codec", "uu"),
    ("zlib_codec", "zlib"),
];

/// Codec modules that are not text encodings (`'hex' is not a text encoding`).
pub(crate) const NOT_TEXT: &[&str] = &[
    "base64_codec",
    "bz2_codec",
    "hex_codec",
    "quopri_codec",
    "rot_13",
    "uu_codec",
    "zlib_codec",
];

/// `encodings.aliases.aliases`: normalized alias → codec module.
pub(crate) const ALIASES: &[(&str, &str)] = &[
    ("037", "cp037"),
    ("1026", "cp1026"),
    ("1125", "cp1125"),
    ("1140", "cp1140"),
    ("1250", "cp1250"),
    ("1251", "cp1251"),
    ("1252", "cp1252"),
    ("1253", "cp1253"),
    ("1254", "cp1254"),
    ("1255", "cp1255"),
    ("1256", "cp1256"),
    ("1257", "cp1257"),
    ("1258", "cp1258"),
    ("273", "cp273"),
    ("424", "cp424"),
    ("437", "cp437"),
    ("500", "cp500"),
    ("646", "ascii"),
    ("775", "cp775"),
    ("850", "cp850"),
    ("852", "cp852"),
    ("855", "cp855"),
    ("857", "cp857"),
    ("858", "cp858"),
    ("860", "cp860"),
    ("861", "cp861"),
    ("862", "cp862"),
    ("863", "cp863"),
    ("864", "cp864"),
    ("865", "cp865"),
    ("866", "cp866"),
    ("869", "cp869"),
    ("8859", "latin_1"),
    ("932", "cp932"),
    ("936", "gbk"),
    ("949", "cp949"),
    ("950", "cp950"),
    ("ansi", "mbcs"),
    ("ansi_x3.4_1968", "ascii"),
    ("ansi_x3.4_1986", "ascii"),
    ("ansi_x3_4_1968", "ascii"),
    ("arabic", "iso8859_6"),
    ("asmo_708", "iso8859_6"),
    ("base64", "base64_codec"),
    ("base_64", "base64_codec"),
    ("big5_hkscs", "big5hkscs"),
    ("big5_tw", "big5"),
    ("bz2", "bz2_codec"),
    ("chinese", "gb2312"),
    ("cp1051", "hp_roman8"),
    ("cp1361", "johab"),
    ("cp154", "ptcp154"),
    ("cp367", "ascii"),
    ("cp65001", "utf_8"),
    ("cp819", "latin_1"),
    ("cp866u", "cp1125"),
    ("cp936", "gbk"),
    ("cp_gr", "cp869"),
    ("cp_is", "cp861"),
    ("csHPRoman8", "hp_roman8"),
    ("csascii", "ascii"),
    ("csbig5", "big5"),
    ("csibm037", "cp037"),
    ("csibm1026", "cp1026"),
    ("csibm273", "cp273"),
    ("csibm424", "cp424"),
    ("csibm500", "cp500"),
    ("csibm855", "cp855"),
    ("csibm857", "cp857"),
    ("csibm858", "cp858"),
    ("csibm860", "cp860"),
    ("csibm861", "cp861"),
    ("csibm863", "cp863"),
    ("csibm864", "cp864"),
    ("csibm865", "cp865"),
    ("csibm866", "cp866"),
    ("csibm869", "cp869"),
    ("csiso2022jp", "iso2022_jp"),
    ("csiso2022kr", "iso2022_kr"),
    ("csiso58gb231280", "gb2312"),
    ("csisolatin1", "latin_1"),
    ("csisolatin2", "iso8859_2"),
    ("csisolatin3", "iso8859_3"),
    ("csisolatin4", "iso8859_4"),
    ("csisolatin5", "iso8859_9"),
    ("csisolatin6", "iso8859_10"),
    ("csisolatinarabic", "iso8859_6"),
    ("csisolatincyrillic", "iso8859_5"),
    ("csisolatingreek", "iso8859_7"),
    ("csisolatinhebrew", "iso8859_8"),
    ("cskoi8r", "koi8_r"),
    ("cspc775baltic", "cp775"),
    ("cspc850multilingual", "cp850"),
    ("cspc862latinhebrew", "cp862"),
    ("cspc8codepage437", "cp437"),
    ("cspcp852", "cp852"),
    ("csptcp154", "ptcp154"),
    ("csshiftjis", "shift_jis"),
    ("cyrillic", "iso8859_5"),
    ("cyrillic_asian", "ptcp154"),
    ("dbcs", "mbcs"),
    ("ebcdic_cp_be", "cp500"),
    ("ebcdic_cp_ca", "cp037"),
    ("ebcdic_cp_ch", "cp500"),
    ("ebcdic_cp_he", "cp424"),
    ("ebcdic_cp_nl", "cp037"),
    ("ebcdic_cp_us", "cp037"),
    ("ebcdic_cp_wt", "cp037"),
    ("ecma_114", "iso8859_6"),
    ("ecma_118", "iso8859_7"),
    ("elot_928", "iso8859_7"),
    ("euc_cn", "gb2312"),
    ("euc_jis2004", "euc_jis_2004"),
    ("euccn", "gb2312"),
    ("eucgb2312_cn", "gb2312"),
    ("eucjis2004", "euc_jis_2004"),
    ("eucjisx0213", "euc_jisx0213"),
    ("eucjp", "euc_jp"),
    ("euckr", "euc_kr"),
    ("gb18030_2000", "gb18030"),
    ("gb2312_1980", "gb2312"),
    ("gb2312_80", "gb2312"),
    ("greek", "iso8859_7"),
    ("greek8", "iso8859_7"),
    ("hebrew", "iso8859_8"),
    ("hex", "hex_codec"),
    ("hkscs", "big5hkscs"),
    ("hz_gb", "hz"),
    ("hz_gb_2312", "hz"),
    ("hzgb", "hz"),
    ("ibm037", "cp037"),
    ("ibm039", "cp037"),
    ("ibm1026", "cp1026"),
    ("ibm1051", "hp_roman8"),
    ("ibm1125", "cp1125"),
    ("ibm1140", "cp1140"),
    ("ibm273", "cp273"),
    ("ibm367", "ascii"),
    ("ibm424", "cp424"),
    ("ibm437", "cp437"),
    ("ibm500", "cp500"),
    ("ibm775", "cp775"),
    ("ibm819", "latin_1"),
    ("ibm850", "cp850"),
    ("ibm852", "cp852"),
    ("ibm855", "cp855"),
    ("ibm857", "cp857"),
    ("ibm858", "cp858"),
    ("ibm860", "cp860"),
    ("ibm861", "cp861"),
    ("ibm862", "cp862"),
    ("ibm863", "cp863"),
    ("ibm864", "cp864"),
    ("ibm865", "cp865"),
    ("ibm866", "cp866"),
    ("ibm869", "cp869"),
    ("iso2022jp", "iso2022_jp"),
    ("iso2022jp_1", "iso2022_jp_1"),
    ("iso2022jp_2", "iso2022_jp_2"),
    ("iso2022jp_2004", "iso2022_jp_2004"),
    ("iso2022jp_3", "iso2022_jp_3"),
    ("iso2022jp_ext", "iso2022_jp_ext"),
    ("iso2022kr", "iso2022_kr"),
    ("iso646_us", "ascii"),
    ("iso8859", "latin_1"),
    ("iso8859_1", "latin_1"),
    ("iso_2022_jp", "iso2022_jp"),
    ("iso_2022_jp_1", "iso2022_jp_1"),
    ("iso_2022_jp_2", "iso2022_jp_2"),
    ("iso_2022_jp_2004", "iso2022_jp_2004"),
    ("iso_2022_jp_3", "iso2022_jp_3"),
    ("iso_2022_jp_ext", "iso2022_jp_ext"),
    ("iso_2022_kr", "iso2022_kr"),
    ("iso_646.irv_1991", "ascii"),
    ("iso_8859_1", "latin_1"),
    ("iso_8859_10", "iso8859_10"),
    ("iso_8859_10_1992", "iso8859_10"),
    ("iso_8859_11", "iso8859_11"),
    ("iso_8859_11_2001", "iso8859_11"),
    ("iso_8859_13", "iso8859_13"),
    ("iso_8859_14", "iso8859_14"),
    ("iso_8859_14_1998", "iso8859_14"),
    ("iso_8859_15", "iso8859_15"),
    ("iso_8859_16", "iso8859_16"),
    ("iso_8859_16_2001", "iso8859_16"),
    ("iso_8859_1_1987", "latin_1"),
    ("iso_8859_2", "iso8859_2"),
    ("iso_8859_2_1987", "iso8859_2"),
    ("iso_8859_3", "iso8859_3"),
    ("iso_8859_3_1988", "iso8859_3"),
    ("iso_8859_4", "iso8859_4"),
    ("iso_8859_4_1988", "iso8859_4"),
    ("iso_8859_5", "iso8859_5"),
    ("iso_8859_5_1988", "iso8859_5"),
    ("iso_8859_6", "iso8859_6"),
    ("iso_8859_6_1987", "iso8859_6"),
    ("iso_8859_7", "iso8859_7"),
    ("iso_8859_7_1987", "iso8859_7"),
    ("iso_8859_8", "iso8859_8"),
    ("iso_8859_8_1988", "iso8859_8"),
    ("iso_8859_9", "iso8859_9"),
    ("iso_8859_9_1989", "iso8859_9"),
    ("iso_celtic", "iso8859_14"),
    ("iso_ir_100", "latin_1"),
    ("iso_ir_101", "iso8859_2"),
    ("iso_ir_109", "iso8859_3"),
    ("iso_ir_110", "iso8859_4"),
    ("iso_ir_126", "iso8859_7"),
    ("iso_ir_127", "iso8859_6"),
    ("iso_ir_138", "iso8859_8"),
    ("iso_ir_144", "iso8859_5"),
    ("iso_ir_148", "iso8859_9"),
    ("iso_ir_157", "iso8859_10"),
    ("iso_ir_166", "tis_620"),
    ("iso_ir_199", "iso8859_14"),
    ("iso_ir_226", "iso8859_16"),
    ("iso_ir_58", "gb2312"),
    ("iso_ir_6", "ascii"),
    ("jisx0213", "euc_jis_2004"),
    ("korean", "euc_kr"),
    ("ks_c_5601", "euc_kr"),
    ("ks_c_5601_1987", "euc_kr"),
    ("ks_x_1001", "euc_kr"),
    ("ksc5601", "euc_kr"),
    ("ksx1001", "euc_kr"),
    ("kz_1048", "kz1048"),
    ("l1", "latin_1"),
    ("l10", "iso8859_16"),
    ("l2", "iso8859_2"),
    ("l3", "iso8859_3"),
    ("l4", "iso8859_4"),
    ("l5", "iso8859_9"),
    ("l6", "iso8859_10"),
    ("l7", "iso8859_13"),
    ("l8", "iso8859_14"),
    ("l9", "iso8859_15"),
    ("latin", "latin_1"),
    ("latin1", "latin_1"),
    ("latin10", "iso8859_16"),
    ("latin2", "iso8859_2"),
    ("latin3", "iso8859_3"),
    ("latin4", "iso8859_4"),
    ("latin5", "iso8859_9"),
    ("latin6", "iso8859_10"),
    ("latin7", "iso8859_13"),
    ("latin8", "iso8859_14"),
    ("latin9", "iso8859_15"),
    ("mac_centeuro", "mac_latin2"),
    ("maccentraleurope", "mac_latin2"),
    ("maccyrillic", "mac_cyrillic"),
    ("macgreek", "mac_greek"),
    ("maciceland", "mac_iceland"),
    ("macintosh", "mac_roman"),
    ("maclatin2", "mac_latin2"),
    ("macroman", "mac_roman"),
    ("macturkish", "mac_turkish"),
    ("ms1361", "johab"),
    ("ms932", "cp932"),
    ("ms936", "gbk"),
    ("ms949", "cp949"),
    ("ms950", "cp950"),
    ("ms_kanji", "cp932"),
    ("mskanji", "cp932"),
    ("pt154", "ptcp154"),
    ("quopri", "quopri_codec"),
    ("quoted_printable", "quopri_codec"),
    ("quotedprintable", "quopri_codec"),
    ("r8", "hp_roman8"),
    ("rk1048", "kz1048"),
    ("roman8", "hp_roman8"),
    ("rot13", "rot_13"),
    ("ruscii", "cp1125"),
    ("s_jis", "shift_jis"),
    ("s_jis_2004", "shift_jis_2004"),
    ("s_jisx0213", "shift_jisx0213"),
    ("shiftjis", "shift_jis"),
    ("shiftjis2004", "shift_jis_2004"),
    ("shiftjisx0213", "shift_jisx0213"),
    ("sjis", "shift_jis"),
    ("sjis_2004", "shift_jis_2004"),
    ("sjisx0213", "shift_jisx0213"),
    ("strk1048_2002", "kz1048"),
    ("thai", "iso8859_11"),
    ("tis620", "tis_620"),
    ("tis_620_0", "tis_620"),
    ("tis_620_2529_0", "tis_620"),
    ("tis_620_2529_1", "tis_620"),
    ("u16", "utf_16"),
    ("u32", "utf_32"),
    ("u7", "utf_7"),
    ("u8", "utf_8"),
    ("u_jis", "euc_jp"),
    ("uhc", "cp949"),
    ("ujis", "euc_jp"),
    ("unicode_1_1_utf_7", "utf_7"),
    ("unicodebigunmarked", "utf_16_be"),
    ("unicodelittleunmarked", "utf_16_le"),
    ("us", "ascii"),
    ("us_ascii", "ascii"),
    ("utf", "utf_8"),
    ("utf16", "utf_16"),
    ("utf32", "utf_32"),
    ("utf7", "utf_7"),
    ("utf8", "utf_8"),
    ("utf8_ucs2", "utf_8"),
    ("utf8_ucs4", "utf_8"),
    ("utf_16be", "utf_16_be"),
    ("utf_16le", "utf_16_le"),
    ("utf_32be", "utf_32_be"),
    ("utf_32le", "utf_32_le"),
    ("uu", "uu_codec"),
    ("windows_1250", "cp1250"),
    ("windows_1251", "cp1251"),
    ("windows_1252", "cp1252"),
    ("windows_1253", "cp1253"),
    ("windows_1254", "cp1254"),
    ("windows_1255", "cp1255"),
    ("windows_1256", "cp1256"),
    ("windows_1257", "cp1257"),
    ("windows_1258", "cp1258"),
    ("x_mac_japanese", "shift_jis"),
    ("x_mac_korean", "euc_kr"),
    ("x_mac_simp_chinese", "gb2312"),
    ("x_mac_trad_chinese", "big5"),
    ("zip", "zlib_codec"),
    ("zlib", "zlib_codec"),
];
