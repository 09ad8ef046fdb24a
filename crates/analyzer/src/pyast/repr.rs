//! Python's `repr()` of the constants an `ast` tree holds (`str`, `bytes`, `int`, `float`,
//! `complex`), byte for byte as CPython 3.11 prints them, and integer literals to decimal.

#[path = "printable_table.rs"]
mod printable_table;

/// `str.isprintable()` of one character in CPython 3.11 (Unicode 14.0).
pub(crate) fn is_printable(c: char) -> bool {
    let cp = c as u32;
    let table = printable_table::NON_PRINTABLE;
    // The last range starting at or before `cp`.
    let i = table.partition_point(|&(start, _)| start <= cp);
    !(i > 0 && cp <= table[i - 1].1)
}

/// `repr(s)` for a Python `str`.
pub(crate) fn str_repr(s: &str, out: &mut String) {
    code_points_repr(s.chars().map(|c| c as u32), out);
}

/// `repr()` of a Python `str` given as code points (lone surrogates allowed).
pub(crate) fn code_points_repr(cps: impl Iterator<Item = u32> + Clone, out: &mut String) {
    let has_single = cps.clone().any(|c| c == u32::from(b'\''));
    let has_double = cps.clone().any(|c| c == u32::from(b'"'));
    let quote = if has_single && !has_double { '"' } else { '\'' };
    out.push(quote);
    for cp in cps {
        let c = char::from_u32(cp);
        match c {
            Some(c) if c == quote || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            Some('\t') => out.push_str("\\t"),
            Some('\n') => out.push_str("\\n"),
            Some('\r') => out.push_str("\\r"),
            _ if cp < 0x20 || cp == 0x7f => out.push_str(&format!("\\x{cp:02x}")),
            Some(c) if cp < 0x7f || is_printable(c) => out.push(c),
            _ => {
                if cp <= 0xff {
                    out.push_str(&format!("\\x{cp:02x}"));
                } else if cp <= 0xffff {
                    out.push_str(&format!("\\u{cp:04x}"));
                } else {
                    out.push_str(&format!("\\U{cp:08x}"));
                }
            }
        }
    }
    out.push(quote);
}

/// `repr(b)` for a Python `bytes`.
pub(crate) fn bytes_repr(b: &[u8], out: &mut String) {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    out.push('b');
    out.push(quote);
    for &c in b {
        match c {
            _ if c as char == quote || c == b'\\' => {
                out.push('\\');
                out.push(c as char);
            }
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if !(0x20..0x7f).contains(&c) => out.push_str(&format!("\\x{c:02x}")),
            _ => out.push(c as char),
        }
    }
    out.push(quote);
}

/// The shortest round-tripping digits of a finite, non-negative `x` and its decimal point
/// position: `x = 0.DIGITS × 10^decpt`.
fn shortest_digits(x: f64) -> (String, i32) {
    // Rust's `{:e}` prints the shortest representation that round-trips, as CPython's repr does.
    let s = format!("{:e}", x.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // Two shortest candidates can be equally near `x` (x = ...d5 exactly). CPython's dtoa
    // then takes the one with an even last digit; Rust's formatter may take the other.
    let n = digits.len();
    if n > 0 && x != 0.0 {
        // Rust prints the exact binary value with enough digits (at most 767 significant).
        let exact = format!("{:.1100e}", x.abs());
        let (m, e) = exact.split_once('e').unwrap_or((&exact, "0"));
        let exact_digits: Vec<u8> = m.bytes().filter(|c| *c != b'.').collect();
        if e.parse::<i32>().ok() == Some(exp)
            && exact_digits.len() > n
            && exact_digits[n] == b'5'
            && exact_digits[n + 1..].iter().all(|d| *d == b'0')
        {
            let lower = &exact_digits[..n];
            if lower[n - 1].is_multiple_of(2) && lower != digits.as_bytes() {
                digits = String::from_utf8_lossy(lower).into_owned();
            }
        }
    }
    (digits, exp + 1)
}

/// `repr(x)` of a float, or of the imaginary part of a complex number when `complex` is set
/// (no `.0` is added then, as in `repr(1j)`).
fn float_repr_inner(x: f64, complex: bool, out: &mut String) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_sign_negative() {
        out.push('-');
    }
    if x.is_infinite() {
        out.push_str("inf");
        return;
    }
    let (digits, decpt) = shortest_digits(x);
    let n = digits.len() as i32;
    if decpt <= -4 || decpt > 16 {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", e.abs()));
    } else if decpt <= 0 {
        out.push_str("0.");
        for _ in 0..-decpt {
            out.push('0');
        }
        out.push_str(&digits);
    } else if decpt >= n {
        out.push_str(&digits);
        for _ in 0..decpt - n {
            out.push('0');
        }
        if !complex {
            out.push_str(".0");
        }
    } else {
        out.push_str(&digits[..decpt as usize]);
        out.push('.');
        out.push_str(&digits[decpt as usize..]);
    }
}

/// `repr(x)` for a Python `float`.
pub(crate) fn float_repr(x: f64, out: &mut String) {
    float_repr_inner(x, false, out);
}

/// `repr(complex(0, imag))`, the only complex numbers a literal produces (`1j`, `2.5j`).
pub(crate) fn imag_repr(imag: f64, out: &mut String) {
    float_repr_inner(imag, true, out);
    out.push('j');
}

/// The decimal digits of a Python integer literal (`0x_ff`, `1_000`, `0o17`, `0b1`, `123`).
///
/// Returns `None` when `text` is not an integer literal.
pub(crate) fn int_literal_to_decimal(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else {
        (10, lower.as_str())
    };
    let digits: Vec<u32> = digits
        .chars()
        .filter(|c| *c != '_')
        .map(|c| c.to_digit(radix))
        .collect::<Option<_>>()?;
    if digits.is_empty() {
        return None;
    }
    if radix == 10 {
        let s: String = digits
            .iter()
            .map(|d| char::from_digit(*d, 10).unwrap_or('0'))
            .collect();
        let trimmed = s.trim_start_matches('0');
        return Some(if trimmed.is_empty() {
            "0".to_string()
        } else {
            trimmed.to_string()
        });
    }
    // Little-endian limbs in base 10^9: value = value * radix + digit for each digit.
    const BASE: u64 = 1_000_000_000;
    let mut limbs: Vec<u64> = vec![0];
    for d in digits {
        let mut carry = u64::from(d);
        for limb in limbs.iter_mut() {
            let v = *limb * u64::from(radix) + carry;
            *limb = v % BASE;
            carry = v / BASE;
        }
        if carry > 0 {
            limbs.push(carry);
        }
    }
    let mut out = String::new();
    let mut iter = limbs.iter().rev();
    if let Some(top) = iter.next() {
        out.push_str(&top.to_string());
    }
    for limb in iter {
        out.push_str(&format!("{limb:09}"));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> String {
        let mut s = String::new();
        float_repr(x, &mut s);
        s
    }

    #[test]
    fn floats_print_as_python_does() {
        assert_eq!(f(0.0), "0.0");
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(1e16), "1e+16");
        assert_eq!(f(1e15), "1000000000000000.0");
        assert_eq!(f(0.0001), "0.0001");
        assert_eq!(f(0.00001), "1e-05");
        assert_eq!(f(1.25e-300), "1.25e-300");
        assert_eq!(f(f64::INFINITY), "inf");
        assert_eq!(f(0.1), "0.1");
        assert_eq!(f(123456789.125), "123456789.125");
        // A tie between two 17-digit candidates: CPython keeps the even one.
        assert_eq!(f(1658206780088562.0 + 0.25), "1658206780088562.2");
    }

    #[test]
    fn integer_literals_become_decimal() {
        assert_eq!(int_literal_to_decimal("0xff").as_deref(), Some("255"));
        assert_eq!(int_literal_to_decimal("1_000").as_deref(), Some("1000"));
        assert_eq!(int_literal_to_decimal("0").as_deref(), Some("0"));
        assert_eq!(int_literal_to_decimal("00").as_deref(), Some("0"));
        assert_eq!(
            int_literal_to_decimal("0xFFFFFFFFFFFFFFFFFFFF").as_deref(),
            Some("1208925819614629174706175")
        );
        assert_eq!(int_literal_to_decimal("0b_101").as_deref(), Some("5"));
        assert_eq!(int_literal_to_decimal("0xg"), None);
    }
}
