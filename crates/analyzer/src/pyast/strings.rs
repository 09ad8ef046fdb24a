//! String literal values decoded again from their source text, where ruff's value differs
//! from CPython's: lone surrogates (`'\ud800'`, which ruff replaces with U+FFFD and Rust's
//! `str` cannot hold) and carriage returns in the source (which CPython reads as `\n`).
//! Values are "UTF-8 with surrogates passed through" (what Python's
//! `s.encode('utf-8', 'surrogatepass')` produces).

/// Append the UTF-8-with-surrogates encoding of code point `cp` (any value up to 0x10FFFF,
/// surrogates included) to `out`.
pub(crate) fn push_code_point(cp: u32, out: &mut Vec<u8>) {
    match cp {
        0..=0x7f => out.push(cp as u8),
        0x80..=0x7ff => {
            out.push(0xc0 | (cp >> 6) as u8);
            out.push(0x80 | (cp & 0x3f) as u8);
        }
        0x800..=0xffff => {
            out.push(0xe0 | (cp >> 12) as u8);
            out.push(0x80 | ((cp >> 6) & 0x3f) as u8);
            out.push(0x80 | (cp & 0x3f) as u8);
        }
        _ => {
            out.push(0xf0 | (cp >> 18) as u8);
            out.push(0x80 | ((cp >> 12) & 0x3f) as u8);
            out.push(0x80 | ((cp >> 6) & 0x3f) as u8);
            out.push(0x80 | (cp & 0x3f) as u8);
        }
    }
}

/// The code points of UTF-8-with-surrogates bytes (as produced by [`push_code_point`]).
pub(crate) fn code_points(bytes: &[u8]) -> impl Iterator<Item = u32> + Clone + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let b = *bytes.get(i)?;
        let (len, init) = match b {
            0x00..=0x7f => (1, u32::from(b)),
            0xc0..=0xdf => (2, u32::from(b & 0x1f)),
            0xe0..=0xef => (3, u32::from(b & 0x0f)),
            _ => (4, u32::from(b & 0x07)),
        };
        let mut cp = init;
        for k in 1..len {
            cp = (cp << 6) | u32::from(bytes.get(i + k).copied().unwrap_or(0x80) & 0x3f);
        }
        i += len;
        Some(cp)
    })
}

/// The value of a string or bytes literal token (`'...'`, `u"""..."""`, `rb'...'`), decoded
/// as CPython does: lone surrogates kept, and the source's `\r\n` and `\r` read as `\n`
/// (CPython's tokenizer translates them before it decodes anything). `None` for f-strings
/// and malformed literals (the caller keeps ruff's value then).
pub(crate) fn decode_token(token: &str) -> Option<Vec<u8>> {
    let prefix_len = token.find(['\'', '"'])?;
    let prefix = &token[..prefix_len];
    if prefix.contains(['f', 'F']) {
        return None;
    }
    let raw = prefix.contains(['r', 'R']);
    let bytes = prefix.contains(['b', 'B']);
    let rest = &token[prefix_len..];
    let q = if rest.starts_with("'''") || rest.starts_with("\"\"\"") {
        3
    } else {
        1
    };
    let body = rest.get(q..rest.len().checked_sub(q)?)?;
    decode_body(body, raw, bytes, false)
}

/// The value of the text of a literal part of an f-string (between replacement fields):
/// doubled braces stand for one.
pub(crate) fn decode_fstring_literal(text: &str, raw: bool) -> Option<Vec<u8>> {
    decode_body(text, raw, false, true)
}

fn decode_body(body: &str, raw: bool, bytes: bool, fstring: bool) -> Option<Vec<u8>> {
    let mut body = body.replace("\r\n", "\n").replace('\r', "\n");
    if fstring {
        body = body.replace("{{", "{").replace("}}", "}");
    }
    if raw {
        return Some(body.into_bytes());
    }
    decode_escapes(&body, bytes)
}

fn decode_escapes(body: &str, bytes: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            push_code_point(c as u32, &mut out);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push(b'\\');
            break;
        };
        let hex = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, n: usize| {
            let mut v = 0u32;
            for _ in 0..n {
                v = v * 16 + chars.next()?.to_digit(16)?;
            }
            Some(v)
        };
        match e {
            '\n' => {}
            '\\' => out.push(b'\\'),
            '\'' => out.push(b'\''),
            '"' => out.push(b'"'),
            'a' => out.push(0x07),
            'b' => out.push(0x08),
            'f' => out.push(0x0c),
            'n' => out.push(b'\n'),
            'r' => out.push(b'\r'),
            't' => out.push(b'\t'),
            'v' => out.push(0x0b),
            'u' | 'U' | 'N' if bytes => {
                out.push(b'\\');
                out.push(e as u8);
            }
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                if bytes {
                    out.push(v as u8);
                } else {
                    push_code_point(v, &mut out);
                }
            }
            'x' if bytes => out.push(hex(&mut chars, 2)? as u8),
            'x' => push_code_point(hex(&mut chars, 2)?, &mut out),
            'u' => push_code_point(hex(&mut chars, 4)?, &mut out),
            'U' => {
                let v = hex(&mut chars, 8)?;
                if v > 0x10ffff {
                    return None;
                }
                push_code_point(v, &mut out);
            }
            'N' => {
                // `\N{NAME}`: the name database is ruff's; ask it for this one character.
                if chars.next() != Some('{') {
                    return None;
                }
                let mut name = String::new();
                loop {
                    match chars.next()? {
                        '}' => break,
                        c => name.push(c),
                    }
                }
                push_code_point(named_char(&name)? as u32, &mut out);
            }
            other => {
                out.push(b'\\');
                push_code_point(other as u32, &mut out);
            }
        }
    }
    Some(out)
}

/// The character `\N{name}` stands for, from ruff's Unicode name table.
fn named_char(name: &str) -> Option<char> {
    if name.contains(['\'', '\\', '\n', '\r']) {
        return None;
    }
    let parsed = ruff_python_parser::parse_expression(&format!("'\\N{{{name}}}'")).ok()?;
    match parsed.expr() {
        ruff_python_ast::Expr::StringLiteral(s) => {
            let mut chars = s.value.to_str().chars();
            let c = chars.next()?;
            chars.next().is_none().then_some(c)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrogates_survive_decoding() {
        let v = decode_token(r"'a\ud800b\U0001F600\x41\101\n'").unwrap();
        let cps: Vec<u32> = code_points(&v).collect();
        assert_eq!(cps, [0x61, 0xd800, 0x62, 0x1f600, 0x41, 0x41, 0x0a]);
        assert_eq!(decode_token(r"'\N{NO SUCH NAME}'"), None);
        assert_eq!(
            decode_token(r"'\N{EM DASH}\N{LATIN SMALL LETTER E WITH ACUTE}'").unwrap(),
            "\u{2014}\u{e9}".as_bytes()
        );
        assert_eq!(decode_token("u'''a\\\nb'''").unwrap(), b"ab");
        assert_eq!(decode_token(r"'\q'").unwrap(), b"\\q");
        assert_eq!(
            decode_token("b'\\xff\\u0041\r\n'").unwrap(),
            b"\xff\\u0041\n"
        );
        assert_eq!(decode_token("r'\\x\r'").unwrap(), b"\\x\n");
        assert_eq!(
            decode_fstring_literal("a{{b}}\\n", false).unwrap(),
            b"a{b}\n"
        );
    }
}
