//! The CPython-schema tree of every file of CPython 3.11's standard library equals
//! `ast.dump(ast.parse(src), include_attributes=True)`, apart from the documented differences
//! (docs/pyast-differences.md).
//!
//! One `python3` process walks the standard library and streams CPython's dumps; this test
//! converts each file with `pyast::from_source` and compares the strings. Every 10th file's
//! tree also goes through the executor's path (`Node::to_wire`, built back by
//! `pyast::WIRE_DECODER` in Python) and must dump identically.
//!
//! Run it with `cargo test -p pyrepl3-analyzer --test pyast_stdlib -- --nocapture` to see the
//! match rate. To measure another corpus, set `PYAST_CORPUS=/some/dir`: the test then only
//! reports (every difference is printed, nothing is asserted about that corpus).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use pyrepl3_analyzer::pyast;

/// Files whose tree differs from CPython's, relative to the standard library, each with the
/// difference (docs/pyast-differences.md explains them).
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

/// At least this share of the files must match exactly.
const REQUIRED_RATE: f64 = 0.999;

fn first_difference(a: &str, b: &str) -> String {
    let i = a
        .bytes()
        .zip(b.bytes())
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let lo = a.floor_char_boundary(i.saturating_sub(200));
    let hi_a = a.ceil_char_boundary((i + 200).min(a.len()));
    let hi_b = b.ceil_char_boundary((i + 200).min(b.len()));
    format!(
        "at byte {i}\n  ours:    …{}…\n  CPython: …{}…",
        &a[lo..hi_a],
        &b[b.floor_char_boundary(lo)..hi_b]
    )
}

#[test]
fn stdlib_trees_match_cpython() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pyast/cpython_dump.py");
    let corpus = std::env::var("PYAST_CORPUS").ok();
    let mut child = Command::new("python3")
        .arg(script)
        .arg("stdlib")
        .args(corpus.iter())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let header: serde_json::Value =
        serde_json::from_str(&lines.next().expect("header").expect("utf-8")).expect("json");
    let root = header["root"].as_str().expect("root").to_string();

    let (mut total, mut matched, mut refused) = (0usize, 0usize, 0usize);
    let mut unexpected = Vec::new();
    let mut known_seen = Vec::new();
    let mut sampled = Vec::new();
    for line in lines {
        let rec: serde_json::Value = serde_json::from_str(&line.expect("utf-8")).expect("json");
        let path = rec["path"].as_str().expect("path");
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .trim_start_matches('/');
        let Some(expected) = rec["dump"].as_str() else {
            refused += 1;
            continue;
        };
        total += 1;
        let source = match rec["source"].as_str() {
            Some(s) => s.to_string(),
            None => {
                let bytes = std::fs::read(path).expect("readable");
                let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
                String::from_utf8(bytes.to_vec()).expect("CPython decoded it as UTF-8")
            }
        };
        let tree = pyast::from_source(&source);
        let ours = match &tree {
            Ok(tree) => tree.dump(true),
            Err(e) => format!("<refused: {}: {}>", e.kind, e.message),
        };
        if ours == expected {
            matched += 1;
            if matched % 10 == 0 {
                let wire = tree.as_ref().map(|t| t.to_wire()).unwrap_or_default();
                sampled.push((rel.to_string(), wire, ours));
            }
        } else if KNOWN_DIFFERENCES.iter().any(|(p, _)| *p == rel) {
            known_seen.push(rel.to_string());
        } else {
            unexpected.push(format!("{rel}: {}", first_difference(&ours, expected)));
        }
    }
    assert!(child.wait().expect("python3 exits").success());
    let rebuilt_ok = rebuild_and_compare(script, &sampled);
    let rate = matched as f64 / total as f64;
    println!(
        "pyast vs CPython 3.11 ast.dump: {matched}/{total} files equal ({:.3}%), {} known differences, {refused} files refused by ast.parse; {rebuilt_ok}/{} sampled trees rebuilt identically from wire text",
        rate * 100.0,
        known_seen.len(),
        sampled.len()
    );
    if corpus.is_some() {
        println!("{}", unexpected.join("\n"));
        return;
    }
    assert_eq!(rebuilt_ok, sampled.len());
    assert!(
        total > 1500,
        "the standard library has ~1800 files, saw {total}"
    );
    assert!(
        unexpected.is_empty(),
        "{} files differ and are not listed:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    assert!(
        rate >= REQUIRED_RATE,
        "match rate {rate} below {REQUIRED_RATE}"
    );
    let stale: Vec<_> = KNOWN_DIFFERENCES
        .iter()
        .filter(|(p, _)| !known_seen.iter().any(|k| k == p))
        .collect();
    assert!(
        stale.is_empty(),
        "listed differences that now match or vanished: {stale:?}"
    );
}

/// Build each sampled tree from its wire text in Python; count those whose dump is ours.
fn rebuild_and_compare(script: &str, sampled: &[(String, String, String)]) -> usize {
    let wires: Vec<&str> = sampled.iter().map(|(_, w, _)| w.as_str()).collect();
    let input = serde_json::json!({"decoder": pyast::WIRE_DECODER, "wires": wires}).to_string();
    let mut child = Command::new("python3")
        .arg(script)
        .arg("rebuild")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let stdout = child.stdout.take().expect("piped");
    let mut ok = 0;
    for ((rel, _, ours), line) in sampled.iter().zip(BufReader::new(stdout).lines()) {
        let rec: serde_json::Value = serde_json::from_str(&line.expect("utf-8")).expect("json");
        if rec["dump"].as_str() == Some(ours.as_str()) {
            ok += 1;
        } else {
            println!("{rel}: the tree built from wire text differs");
        }
    }
    writer.join().expect("writer").expect("written");
    assert!(child.wait().expect("python3 exits").success());
    ok
}
