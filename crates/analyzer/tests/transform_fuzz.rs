//! Property tests of the transforms: never panic on any input; transformed output parses again;
//! transforming it a second time changes nothing; and on generated cells full of awaiting
//! `def`s and `lambda`s, CPython 3.11 compiles every transformed cell with the top-level-await
//! flag.

use std::process::Command;

use proptest::prelude::*;
use pyrepl3_analyzer::SessionState;
use pyrepl3_analyzer::transform::{TransformOptions, parses, transform_cell};
use serde_json::{Value, json};

const HARNESS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/transform/harness.py");

/// Statement templates; `{i}` is this statement's number, `{j}` an earlier one's.
const TEMPLATES: &[&str] = &[
    "def f{i}(x):\n    return await g(x)\n",
    "def f{i}(x=1, *a, **k):\n    async with cm() as c:\n        return c\n",
    "def f{i}():\n    return f{j}(1) + 1\n",
    "def f{i}():\n    def inner():\n        return await g()\n    return inner()\n",
    "async def f{i}():\n    return f{j}(3)\n",
    "v{i} = f{j}(2)\n",
    "v{i} = f{j}(2).real + f{j}(1)[0] + f{j}()()\n",
    "w{i} = lambda a: await g(a)\n",
    "w{i} = (lambda a,\n        b=2: await g(a, b))\n",
    "z{i} = [lambda: await g(k) for _ in range(2)]\n",
    "class C{i}:\n    def m(self):\n        return await g(1)\n    x = 1\n",
    "print(f{j}(4), f\"{f{j}(5)}\")\n",
    "q{i} = sorted(xs, key=f{j})\n",
    "if c:\n    r{i} = list(map(lambda y: await g(y), xs))\n",
    "def gen{i}():\n    yield f{j}(1)\n",
    "x{i}: int = f{j}(0)\n",
    "for t in range(2): u{i} = f{j}(t)\n",
    "with cm() as m{i}: pass\n",
    "\n",
    "# comment {i}\n",
    "s{i} = '''multi\n  line {i}'''\n",
    "try:\n    e{i} = f{j}()\nexcept Exception as err{i}:\n    pass\n",
    "match v:\n    case [a{i}, *b{i}]: pass\n    case _: pass\n",
    "t{i} = asyncio.create_task(f{j}())\n",
    "o{i} = {k: await g(k) for k in range(2)}\n",
    "d{i} = [f{j}(n) for n in range(3)]\n",
    "async def a{i}():\n    h = [lambda: await g(q) for q in range(1)][0] if False else None\n    return h\n",
    "x = 1; y{i} = [lambda: await g()]\n",
    "while False:\n    n{i} = (lambda: await g())\n",
    "f{j}()\n",
];

fn cell_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec((0..TEMPLATES.len(), 0usize..8), 1..8).prop_map(|picks| {
        let mut s = String::new();
        for (i, (t, back)) in picks.into_iter().enumerate() {
            let j = i.saturating_sub(back);
            s.push_str(
                &TEMPLATES[t]
                    .replace("{i}", &i.to_string())
                    .replace("{j}", &j.to_string()),
            );
        }
        s
    })
}

fn check_output(src: &str, wrap: bool) {
    let mut state = SessionState::new();
    let r = transform_cell(src, &mut state, &TransformOptions { wrap });
    if let Some(t) = &r.transformed_source {
        assert!(
            parses(t),
            "transformed output does not parse:\n{src}\n=>\n{t}"
        );
        let again = transform_cell(t, &mut SessionState::new(), &TransformOptions { wrap });
        assert!(
            again.transformed_source.is_none() || again.transformed_source.as_deref() == Some(t),
            "second transform changed\n{t}\n=>\n{:?}",
            again.transformed_source
        );
        // Every position of the output maps into the user's cell.
        for o in 0..=t.len() as u32 {
            assert!(r.source_map.original_start(o) as usize <= src.len());
            assert!(r.source_map.original_end(o) as usize <= src.len());
        }
    }
    if r.refused.is_some() {
        assert!(r.transformed_source.is_none());
        assert!(r.reasons.iter().any(|d| d.code() == "PR305"));
    }
}

/// Pieces of Python text with unusual line endings, whitespace and strings.
const FRAGMENTS: &[&str] = &[
    "def f():",
    "\n",
    "\r\n",
    "\r",
    "    ",
    "\t",
    "\x0c",
    "await g()",
    "lambda: await g()",
    "x = ",
    "f()",
    "'''",
    "\"",
    "f\"{",
    "}\"",
    "\\\n",
    "(",
    ")",
    "[",
    "]",
    ":",
    ";",
    "\u{feff}",
    "é",
    "# c",
    "async ",
    "yield",
    "return",
    "class C:",
    "global x",
    "x: int = 1",
    "from m import *",
    "\"\"\"doc\"\"\"",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,200}") {
        check_output(&src, false);
        check_output(&src, true);
    }

    #[test]
    fn python_like_text_never_panics(src in "([ \\t]{0,4}(def|lambda|await|async|yield|return|class|global|x|f|\\(|\\)|:|=|,|\\[|\\]|\\n|;|\\\\|'|\"|#|\\{|\\}|\\*|@|\\.)[ ]?){0,60}") {
        check_output(&src, false);
        check_output(&src, true);
    }

    #[test]
    fn odd_line_endings_and_whitespace_never_panic(
        parts in prop::collection::vec(prop::sample::select(FRAGMENTS), 0..60)
    ) {
        let src: String = parts.concat();
        check_output(&src, false);
        check_output(&src, true);
    }

    #[test]
    fn generated_cells_transform_to_parsable_idempotent_code(src in cell_strategy()) {
        check_output(&src, false);
        check_output(&src, true);
    }
}

/// A deterministic generator (xorshift), so the CPython check below sees the same cells each run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as usize
    }
}

#[test]
fn cpython_compiles_every_transformed_generated_cell() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut cells = Vec::new();
    let mut sources = Vec::new();
    let mut refused = 0;
    for _ in 0..300 {
        let n = 1 + rng.next() % 8;
        let mut s = String::new();
        for i in 0..n {
            let t = TEMPLATES[rng.next() % TEMPLATES.len()];
            let j = i.saturating_sub(rng.next() % 4);
            s.push_str(
                &t.replace("{i}", &i.to_string())
                    .replace("{j}", &j.to_string()),
            );
        }
        for wrap in [false, true] {
            let r = transform_cell(&s, &mut SessionState::new(), &TransformOptions { wrap });
            match (&r.transformed_source, &r.refused) {
                (Some(t), None) => {
                    cells.push(json!({ "source": t }));
                    sources.push((s.clone(), t.clone()));
                }
                (None, Some(_)) => refused += 1,
                (None, None) => {
                    cells.push(json!({ "source": s }));
                    sources.push((s.clone(), s.clone()));
                }
                (Some(_), Some(_)) => panic!("both transformed and refused"),
            }
        }
    }
    let request = json!({"sessions": [{"id": "generated", "mode": "compile", "cells": cells}]});
    let path = std::env::temp_dir().join(format!("pyrepl3-fuzz-{}.json", std::process::id()));
    std::fs::write(&path, request.to_string()).expect("write request");
    let out = Command::new("python3")
        .arg(HARNESS)
        .arg(&path)
        .output()
        .expect("python3 must be on PATH");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).expect("json");
    let got = answer["sessions"][0]["cells"].as_array().expect("cells");
    assert_eq!(got.len(), sources.len());
    let failures: Vec<String> = got
        .iter()
        .zip(&sources)
        .filter(|(g, _)| g["ok"] != true)
        .map(|(g, (s, t))| format!("{}\n--- input ---\n{s}--- transformed ---\n{t}", g["error"]))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} transformed cells do not compile:\n{}",
        failures.len(),
        sources.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    // Most generated cells transform; some are refused (lambdas capturing a comprehension's
    // variable, generators consumed synchronously...).
    assert!(
        sources.len() > 400,
        "only {} cells ran, {refused} refused",
        sources.len()
    );
}

#[test]
fn deep_trees_do_not_overflow_small_stacks() {
    // Deep but within CPython's limits, on a thread with a small stack: every walk is guarded.
    let deep_not = format!(
        "def f():\n    return await g({}x)\nf()\n",
        "not ".repeat(900)
    );
    let deep_lambda = format!(
        "h = lambda: await g({}1{})\n",
        "-(".repeat(150),
        ")".repeat(150)
    );
    let deep_ann = format!("x: {}int{} = 1\n", "list[".repeat(150), "]".repeat(150));
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            for (src, rewrites) in [(&deep_not, true), (&deep_lambda, true), (&deep_ann, false)] {
                for wrap in [false, true] {
                    let r =
                        transform_cell(src, &mut SessionState::new(), &TransformOptions { wrap });
                    assert!(r.refused.is_none(), "{:?}", r.refused);
                    match r.transformed_source {
                        Some(t) => assert!(parses(&t)),
                        None => assert!(!wrap && !rewrites, "not transformed: {src}"),
                    }
                }
            }
        })
        .expect("spawn");
    handle.join().expect("no stack overflow");
}

/// Found by the proptest above: a byte-order mark directly before the first statement.
#[test]
fn wrapping_a_cell_that_starts_with_a_byte_order_mark() {
    use pyrepl3_analyzer::SessionState;
    use pyrepl3_analyzer::transform::{TransformOptions, transform_cell};
    let out = transform_cell(
        "\u{feff}f()",
        &mut SessionState::new(),
        &TransformOptions { wrap: true },
    );
    assert!(out.refused.is_none(), "{:?}", out.refused);
    let text = out.transformed_source.expect("wrapped");
    assert!(text.starts_with('\u{feff}'), "{text:?}");
    assert!(text.contains("async def __pyrepl3_cell__"), "{text:?}");
    assert!(pyrepl3_analyzer::transform::parses(&text), "{text:?}");
}
