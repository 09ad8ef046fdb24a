//! Differential test on generated programs: a small random grammar of Python 3.11 (odd
//! spacing, parentheses, string prefixes and escapes, f-strings, comprehensions, decorators,
//! compound statements) produces a corpus; for every program CPython accepts, our tree must
//! dump exactly as CPython's and never panic on the rest.

use std::io::Write;
use std::process::{Command, Stdio};

use pyrepl3_analyzer::pyast;

/// A deterministic xorshift generator: the corpus is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const NAMES: &[&str] = &["a", "b", "x", "y_1", "\u{e9}t\u{e9}", "self", "_", "ﬁ", "Ω"];
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "42",
    "0x_Ff",
    "0o17",
    "0b101",
    "1_000",
    "1.5",
    "1e16",
    "1e-7",
    ".5",
    "5.",
    "1e400",
    "2j",
    "1.5J",
    "0.1",
    "123456789012345678901234567890",
    "1_0.2_5e1_0",
    "00",
];
const STRINGS: &[&str] = &[
    "'s'",
    "\"d\"",
    "'''t\nq'''",
    "u'u'",
    "U'u'",
    "r'\\d'",
    "b'by'",
    "rb'\\x'",
    "'\\n\\t\\x41\\101'",
    "'\\u00e9\\U0001F600'",
    "'\\N{BULLET}'",
    "'\\ud800'",
    "'don\\'t'",
    "\"it's\"",
    "'\u{e9}'",
    "''",
    "'a\\\nb'",
    "'\\q'",
];
const BINOPS: &[&str] = &[
    "+", "-", "*", "/", "//", "%", "**", "@", "<<", ">>", "&", "|", "^", " and ", " or ", "<",
    "<=", "==", "!=", ">", ">=", " is ", " is not ", " in ", " not in ",
];
const SPACE: &[&str] = &["", " ", "  ", "\t"];

fn fstring(rng: &mut Rng, depth: usize) -> String {
    let prefix = rng.pick(&["f", "F", "rf", "fR"]);
    let (q, triple) = *[("'", false), ("\"", false), ("'''", true), ("\"\"\"", true)]
        .get(rng.below(4))
        .unwrap_or(&("'", false));
    let inner_q = if q.starts_with('\'') { "\"" } else { "'" };
    let mut s = format!("{prefix}{q}");
    for _ in 0..rng.below(4) {
        match rng.below(6) {
            0 => s.push_str("lit "),
            1 => s.push_str("{{x}}"),
            2 if triple => s.push('\n'),
            3 => s.push('\u{e9}'),
            _ => {
                let e = if rng.chance(20) {
                    format!("{inner_q}s{inner_q}")
                } else if rng.chance(15) && !triple {
                    "a, b".to_string()
                } else {
                    expr(rng, depth + 2, false)
                };
                let space = rng.pick(SPACE);
                let debug = if rng.chance(15) { "=" } else { "" };
                let conv = rng.pick(&["", "", "!r", "!s", "!a"]);
                let spec = match rng.below(5) {
                    0 => ":>10".to_string(),
                    1 => ":{w}".to_string(),
                    2 => ":{w}.{p}f".to_string(),
                    _ => String::new(),
                };
                let e = if e.contains(['\'', '"', '\\', '#', '\n', '{', '}', '!', ':', '=']) {
                    "c".to_string()
                } else {
                    e
                };
                s.push_str(&format!("{{{space}{e}{space}{debug}{conv}{spec}}}"));
            }
        }
    }
    s.push_str(q);
    s
}

fn atom(rng: &mut Rng, depth: usize) -> String {
    match rng.below(10) {
        0..=2 => rng.pick(NAMES).to_string(),
        3 => rng.pick(NUMBERS).to_string(),
        4 => {
            let mut s = rng.pick(STRINGS).to_string();
            if rng.chance(30) {
                s.push(' ');
                s.push_str(rng.pick(&["'c'", "u'c'", "f'{a}'"]));
                if s.contains('b') && s.starts_with(['b', 'r']) {
                    s = rng.pick(STRINGS).to_string();
                }
            }
            if s.contains("b'") && s.contains("f'") || (s.starts_with('b') && s.contains(" ")) {
                "b'x' b'y'".to_string()
            } else {
                s
            }
        }
        5 => fstring(rng, depth),
        6 => rng.pick(&["True", "False", "None", "..."]).to_string(),
        7 => format!("({})", expr(rng, depth + 1, true)),
        8 => format!("[{}]", exprs(rng, depth + 1)),
        _ => match rng.below(4) {
            0 => format!("{{{}}}", exprs(rng, depth + 1)).replace("{}", "{1}"),
            1 => format!(
                "{{{}: {}}}",
                expr(rng, depth + 1, false),
                expr(rng, depth + 1, false)
            ),
            2 => "()".to_string(),
            _ => format!("({},)", expr(rng, depth + 1, false)),
        },
    }
}

fn exprs(rng: &mut Rng, depth: usize) -> String {
    let n = rng.below(3) + 1;
    let items: Vec<String> = (0..n).map(|_| expr(rng, depth + 1, false)).collect();
    let mut s = items.join(&format!(",{}", rng.pick(SPACE)));
    if rng.chance(20) {
        s.push(',');
    }
    s
}

fn expr(rng: &mut Rng, depth: usize, parenthesized: bool) -> String {
    if depth > 4 {
        return atom(rng, depth);
    }
    let sp = rng.pick(SPACE);
    match rng.below(16) {
        0..=3 => atom(rng, depth),
        4 => format!(
            "{}{sp}{}{sp}{}",
            atom(rng, depth),
            rng.pick(BINOPS),
            expr(rng, depth + 1, false)
        ),
        5 => format!("{}{}", rng.pick(&["-", "+", "~", "not "]), atom(rng, depth)),
        6 => format!(
            "{}({}{})",
            rng.pick(NAMES),
            exprs(rng, depth + 1),
            rng.pick(&["", ", k=1", ", *s", ", **kw", ", k=v, *s, **kw"])
        ),
        7 => format!("{}.attr{}", atom(rng, depth), rng.pick(&["", ".b", "()"])),
        8 => format!(
            "{}[{}]",
            rng.pick(NAMES),
            rng.pick(&[
                "0", "1:2", ":", "::2", "a:b:c", "1, 2", "1:2, ::3", "()", "-1"
            ])
        ),
        9 => format!(
            "{} if {} else {}",
            atom(rng, depth),
            atom(rng, depth),
            expr(rng, depth + 1, false)
        ),
        10 => format!(
            "lambda{}: {}",
            rng.pick(&["", " a", " a, b=1", " *a, k=2, **kw", " a, /, b", " *, c"]),
            expr(rng, depth + 1, false)
        ),
        11 => {
            let (open, close) = *[("[", "]"), ("{", "}"), ("(", ")")]
                .get(rng.below(3))
                .unwrap_or(&("[", "]"));
            format!(
                "{open}{} for {} in {}{}{close}",
                expr(rng, depth + 1, false),
                rng.pick(&["i", "i, j", "(i, j)", "[i, *j]"]),
                atom(rng, depth),
                rng.pick(&["", " if i", " if i if j", " for k in i"])
            )
        }
        12 => format!("f(x for x in {})", atom(rng, depth)),
        13 if parenthesized => format!("n := {}", atom(rng, depth)),
        14 => format!("{{**{}, 'k': 1}}", rng.pick(NAMES)),
        _ => format!("{}{sp}{}", atom(rng, depth), rng.pick(&["", "()", "[0]"])),
    }
}

fn block(rng: &mut Rng, indent: &str, depth: usize) -> String {
    let n = rng.below(2) + 1;
    (0..n)
        .map(|_| stmt(rng, indent, depth + 1))
        .collect::<Vec<_>>()
        .join("")
}

fn stmt(rng: &mut Rng, indent: &str, depth: usize) -> String {
    let inner = format!("{indent}    ");
    let semi = if rng.chance(10) { ";" } else { "" };
    let comment = if rng.chance(10) { "  # note" } else { "" };
    let simple = depth > 2 || rng.chance(55);
    if simple {
        let s = match rng.below(9) {
            0 => format!("{} = {}", rng.pick(NAMES), expr(rng, 0, false)),
            1 => format!("{} += {}", rng.pick(NAMES), expr(rng, 0, false)),
            2 => format!(
                "{}: {} = {}",
                rng.pick(&["a", "(a)", "a.b", "a[0]"]),
                rng.pick(&["int", "'str'", "list[int]"]),
                expr(rng, 0, false)
            ),
            3 => format!("a, *b = {}", exprs(rng, 0)),
            4 => rng
                .pick(&[
                    "import os.path as p, sys",
                    "from . import x",
                    "from ..m import (a as b, c)",
                    "pass",
                    "del a, b[0]",
                    "assert a, 'm'",
                    "global g",
                    "raise E from F",
                ])
                .to_string(),
            _ => expr(rng, 0, false),
        };
        return format!("{indent}{s}{semi}{comment}\n");
    }
    match rng.below(8) {
        0 => {
            let mut s = format!(
                "{indent}if {}:\n{}",
                expr(rng, 1, false),
                block(rng, &inner, depth)
            );
            for _ in 0..rng.below(3) {
                s.push_str(&format!(
                    "{indent}elif {}:\n{}",
                    atom(rng, 1),
                    block(rng, &inner, depth)
                ));
            }
            if rng.chance(50) {
                s.push_str(&format!("{indent}else:\n{}", block(rng, &inner, depth)));
            }
            s
        }
        1 => format!(
            "{indent}for {} in {}:\n{}",
            rng.pick(&["i", "i, j", "(i, j)"]),
            expr(rng, 1, false),
            block(rng, &inner, depth)
        ),
        2 => format!(
            "{indent}while {}:\n{}{}",
            atom(rng, 1),
            block(rng, &inner, depth),
            if rng.chance(30) {
                format!("{indent}else:\n{inner}pass\n")
            } else {
                String::new()
            }
        ),
        3 => format!(
            "{indent}with {}:\n{}",
            rng.pick(&[
                "a",
                "a as b",
                "a as b, c",
                "(a as b, c as d)",
                "a() as (x, y)"
            ]),
            block(rng, &inner, depth)
        ),
        4 => format!(
            "{indent}try:\n{}{indent}except {}:\n{}{}",
            block(rng, &inner, depth),
            rng.pick(&["E", "E as e", "(A, B)"]),
            block(rng, &inner, depth),
            if rng.chance(40) {
                format!("{indent}finally:\n{inner}pass\n")
            } else {
                String::new()
            }
        ),
        5 => format!(
            "{indent}{}{}def f{}({}){}:\n{}",
            if rng.chance(40) {
                format!("@{}\n{indent}", rng.pick(&["d", "a.b", "c(1)", "(x)"]))
            } else {
                String::new()
            },
            rng.pick(&["", "async "]),
            rng.below(9),
            rng.pick(&[
                "",
                "a",
                "a, /, b=1, *c, d, e=2, **f",
                "*args, **kwargs",
                "x: int = 0"
            ]),
            rng.pick(&["", " -> int"]),
            block(rng, &inner, depth)
        ),
        6 => format!(
            "{indent}class C{}:\n{}",
            rng.pick(&["", "()", "(A, metaclass=M)", "(*b, **k)"]),
            block(rng, &inner, depth)
        ),
        _ => format!(
            "{indent}match {}:\n{inner}case {}:\n{}",
            atom(rng, 1),
            rng.pick(&[
                "1 | 2",
                "[a, *r]",
                "{'k': v, **kw}",
                "P(x=0, y=_)",
                "None",
                "-1",
                "1+2j",
                "(a as b)",
                "_",
                "C(a, b) if a",
            ]),
            block(rng, &format!("{inner}    "), depth)
        ),
    }
}

#[test]
fn generated_programs_match_cpython() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let programs: Vec<String> = (0..1500)
        .map(|_| {
            let n = rng.below(4) + 1;
            (0..n).map(|_| stmt(&mut rng, "", 0)).collect()
        })
        .collect();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pyast/cpython_dump.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg("sources")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let input = serde_json::to_string(&programs).expect("json");
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("python3 exits");
    writer.join().expect("writer").expect("written");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");

    let (mut accepted, mut equal) = (0, 0);
    let mut failures = Vec::new();
    let mut accepted_only_by_us = Vec::new();
    for (src, line) in programs.iter().zip(text.lines()) {
        let rec: serde_json::Value = serde_json::from_str(line).expect("json");
        let ours = pyast::from_source(src);
        let Some(expected) = rec["dump"].as_str() else {
            if ours.is_ok() {
                accepted_only_by_us.push(src.clone());
            }
            continue;
        };
        accepted += 1;
        match ours {
            Ok(tree) if tree.dump(true) == expected => equal += 1,
            Ok(tree) => failures.push(format!(
                "{src:?}\n  ours:    {}\n  CPython: {expected}",
                tree.dump(true)
            )),
            Err(e) => failures.push(format!("{src:?}: we refuse it: {}", e.message)),
        }
    }
    println!(
        "generated programs: {accepted} accepted by CPython, {equal} equal; {} refused by CPython but not by us",
        accepted_only_by_us.len()
    );
    for src in accepted_only_by_us.iter().take(5) {
        println!("  accepted only by us: {src:?}");
    }
    assert!(
        accepted > 500,
        "the generator should mostly produce valid code: {accepted}"
    );
    assert!(
        accepted_only_by_us.is_empty(),
        "we accept programs CPython refuses: {accepted_only_by_us:?}"
    );
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}
