//! The tables behind the CPython-schema tree agree with the running CPython 3.11: the node
//! schema with the `ast` module's classes, the printer's `repr()` of every code point and of
//! floats with CPython's.

use std::io::Write;
use std::process::{Command, Stdio};

use pyrepl3_analyzer::pyast::{self, Node, Value};

fn gen_tables(mode: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pyast/gen_tables.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(mode)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn schema_is_cpythons() {
    let ours: String = pyast::schema::all()
        .iter()
        .map(|n| {
            let mut parts = vec![
                n.kind.to_string(),
                n.category.to_string(),
                n.located.to_string(),
            ];
            for f in n.fields {
                let mark = match (f.seq, f.optional) {
                    (true, _) => "*",
                    (false, true) => "?",
                    (false, false) => "",
                };
                parts.push(format!("{}:{}{mark}", f.name, f.ty));
            }
            parts.join(" ") + "\n"
        })
        .collect();
    assert_eq!(ours, gen_tables("listing"));
    assert!(pyast::schema::lookup("FunctionDef").is_some_and(|s| s.located));
    assert!(pyast::schema::lookup("arguments").is_some_and(|s| !s.located));
    assert!(
        pyast::schema::lookup("Num").is_none(),
        "deprecated classes are left out"
    );
}

fn constant_dump(value: Value) -> String {
    Node::new(
        "Constant",
        vec![("value", value), ("kind", Value::None)],
        None,
    )
    .dump(false)
}

#[test]
fn every_code_point_prints_as_cpython_repr() {
    let expected = gen_tables("reprs");
    let mut lines = expected.lines();
    let chars: String = (0..0x110000u32).filter_map(char::from_u32).collect();
    let ours = constant_dump(Value::Str(chars));
    let want = format!("Constant(value={})", lines.next().expect("line"));
    if ours != want {
        let i = ours
            .bytes()
            .zip(want.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "differs at byte {i}: ours …{}…, CPython …{}…",
            &ours[ours.floor_char_boundary(i.saturating_sub(40))..ours.ceil_char_boundary(i + 40)],
            &want[want.floor_char_boundary(i.saturating_sub(40))..want.ceil_char_boundary(i + 40)]
        );
    }
    // Lone surrogates, carried as UTF-8 with surrogates passed through.
    let mut bytes = Vec::new();
    for cp in 0xD800u32..0xE000 {
        bytes.extend_from_slice(&[
            0xe0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3f) as u8,
            0x80 | (cp & 0x3f) as u8,
        ]);
    }
    assert_eq!(
        constant_dump(Value::SurrogateStr(bytes)),
        format!("Constant(value={})", lines.next().expect("line"))
    );
}

#[test]
fn floats_print_as_cpython_repr() {
    // A deterministic spread of bit patterns (every exponent, random mantissas) plus edges.
    let mut values = vec![
        0.0,
        1.0,
        0.1,
        1e16,
        1e15,
        1e-4,
        1e-5,
        9007199254740993.0,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        f64::INFINITY,
        123456789.0,
        1.5e300,
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let x = f64::from_bits(state & 0x7fff_ffff_ffff_ffff);
        if x.is_finite() {
            values.push(x);
        }
    }
    // Short decimal literals, as people write them.
    for i in 0..2_000u32 {
        values.push(f64::from(i) / 100.0);
        values.push(f64::from(i) * 1e13);
    }
    let input: String = values
        .iter()
        .map(|v| format!("{}\n", v.to_bits()))
        .collect();
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, struct\n\
             for line in sys.stdin:\n\
             \x20   x = struct.unpack('<d', struct.pack('<Q', int(line)))[0]\n\
             \x20   print(repr(x), repr(complex(0, x)))\n",
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("python3 exits");
    writer.join().expect("writer").expect("written");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut mismatches = Vec::new();
    for (x, line) in values.iter().zip(text.lines()) {
        let (f, c) = line.split_once(' ').expect("two reprs");
        let ours_f = constant_dump(Value::Float(*x));
        let ours_c = constant_dump(Value::Complex(*x));
        if ours_f != format!("Constant(value={f})") || ours_c != format!("Constant(value={c})") {
            mismatches.push(format!("{x:e}: ours {ours_f} {ours_c}, CPython {f} {c}"));
        }
    }
    assert_eq!(text.lines().count(), values.len());
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
