//! One fixture per blocking rule (`tests/fixtures/blocking/PR2xx.py`), ruff-style: lines tagged
//! `# PR2xx` must produce a blocking call of that rule starting on that line, lines tagged
//! `# ok` must produce none, and no call of the rule may land on an untagged line. The rendered
//! reasons are kept as insta snapshots.

use std::fmt::Write as _;
use std::path::Path;

use pyrepl3_analyzer::rules::blocking::RULES;
use pyrepl3_analyzer::{CellAnalysis, CellOptions, SessionState, analyze_cell_with};

/// The cells of a fixture: first file line and source.
fn cells(text: &str) -> Vec<(u32, String)> {
    let mut out: Vec<(u32, String)> = vec![(1, String::new())];
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("# %%") {
            out.push((i as u32 + 2, String::new()));
        } else if let Some((_, src)) = out.last_mut() {
            src.push_str(line);
            src.push('\n');
        }
    }
    out
}

/// Render the blocking and unresolved-call reasons of one cell, rustc-style but compact.
fn render(out: &mut String, a: &CellAnalysis, src: &str, first_line: u32) {
    for r in &a.reasons {
        if !(r.code().starts_with("PR2") || r.code() == "PR106") {
            continue;
        }
        let (start, end) = a.human_range(src, r.span);
        let line = start.line + first_line - 1;
        let _ = writeln!(
            out,
            "{line}:{}: {} {} [{}] {}",
            start.column,
            r.code(),
            r.rule.name,
            r.severity.as_str(),
            r.message
        );
        let text = src.lines().nth(start.line as usize - 1).unwrap_or("");
        let width = if end.line == start.line {
            (end.column - start.column).max(1)
        } else {
            (text.chars().count() as u32 + 1)
                .saturating_sub(start.column)
                .max(1)
        };
        let _ = writeln!(out, "   | {text}");
        let _ = writeln!(
            out,
            "   | {}{}",
            " ".repeat(start.column as usize - 1),
            "^".repeat(width as usize)
        );
        for rel in &r.related {
            let (at, _) = a.human_range(src, rel.span);
            let _ = writeln!(
                out,
                "   = {}: {}:{}",
                rel.message,
                at.line + first_line - 1,
                at.column
            );
        }
    }
}

#[test]
fn every_blocking_rule_has_a_tagged_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/blocking");
    for rule in RULES {
        let path = dir.join(format!("{}.py", rule.code));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let lines: Vec<&str> = text.lines().collect();
        let mut state = SessionState::new();
        let mut rendered = String::new();
        let mut found: Vec<(u32, &'static str)> = Vec::new();
        for (first_line, src) in cells(&text) {
            let options = CellOptions {
                first_line,
                ipython: false,
                ..CellOptions::default()
            };
            let a = analyze_cell_with(&src, &mut state, &options);
            assert!(a.error.is_none(), "{}: {:?}", rule.code, a.error);
            for call in &a.blocking_calls {
                let line = a.line_index.cpython(call.span.start).line + first_line - 1;
                found.push((line, call.rule.code));
            }
            render(&mut rendered, &a, &src, first_line);
        }
        let mut expected = 0;
        for (i, line) in lines.iter().enumerate() {
            let n = i as u32 + 1;
            let Some((_, tag)) = line.rsplit_once("# ") else {
                continue;
            };
            let tag = tag.trim();
            if tag == "ok" {
                assert!(
                    !found.iter().any(|(l, _)| *l == n),
                    "{}:{n}: tagged ok but flagged: {line}",
                    rule.code
                );
            } else if tag.starts_with("PR") {
                expected += usize::from(tag == rule.code);
                assert!(
                    found.iter().any(|(l, c)| *l == n && *c == tag),
                    "{}:{n}: expected {tag}: {line}\nfound: {found:?}",
                    rule.code
                );
            }
        }
        assert!(expected >= 3, "{}: too few positive lines", rule.code);
        for (l, code) in &found {
            let tagged = lines
                .get(*l as usize - 1)
                .is_some_and(|t| t.trim_end().ends_with(&format!("# {code}")));
            assert!(tagged, "{}:{l}: untagged {code}", rule.code);
        }
        insta::assert_snapshot!(rule.code, rendered);
    }
}

#[test]
fn rule_docs_have_every_section() {
    for rule in RULES {
        for section in [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "## Use instead",
        ] {
            assert!(rule.doc.contains(section), "{} lacks {section}", rule.code);
        }
        assert!(rule.name.starts_with("blocking-"), "{}", rule.name);
    }
}
