//! `--explain CODE` and `--list-rules`: the rules' own documentation, for people.

use std::fmt::Write as _;

use anstyle::{Effects, Style};
use pyrepl3_analyzer::RuleMeta;
use pyrepl3_analyzer::rules;

const BOLD: Style = Style::new().effects(Effects::BOLD);

/// A rule's doc comment as written in the source: the one leading space rustdoc keeps after `///`
/// is removed from every line.
pub fn doc_text(rule: &RuleMeta) -> String {
    let mut out = String::new();
    for line in rule.doc.lines() {
        out.push_str(line.strip_prefix(' ').unwrap_or(line));
        out.push('\n');
    }
    out.trim().to_string()
}

/// The page `--explain` prints for `rule`.
pub fn explain(rule: &RuleMeta) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{BOLD}{} ({}){BOLD:#}, default severity: {}\n",
        rule.code,
        rule.name,
        rule.severity.as_str()
    );
    for line in doc_text(rule).lines() {
        if line.starts_with("## ") {
            let _ = writeln!(out, "{BOLD}{line}{BOLD:#}");
        } else {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// The first sentence under "What it does".
pub fn summary(rule: &RuleMeta) -> String {
    let doc = doc_text(rule);
    let body = doc
        .split("## What it does")
        .nth(1)
        .unwrap_or(&doc)
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let text = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.find(". ") {
        Some(i) => text[..=i].to_string(),
        None => text,
    }
}

/// The table `--list-rules` prints: one rule per line.
pub fn list() -> String {
    let all = rules::all();
    let width = all.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in all {
        let _ = writeln!(
            out,
            "{BOLD}{}{BOLD:#}  {:<width$}  {:<7}  {}",
            r.code,
            r.name,
            r.severity.as_str(),
            summary(r)
        );
    }
    out
}
