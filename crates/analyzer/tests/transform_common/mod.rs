//! Shared helpers for the transform tests: rendering a transform result for snapshots.

#![allow(dead_code)]

use pyrepl3_analyzer::SessionState;
use pyrepl3_analyzer::transform::{TransformOptions, TransformResult, transform_cell};

/// Render one cell's transform result as text a person can review.
pub fn render(source: &str, r: &TransformResult) -> String {
    let mut out = String::new();
    out.push_str("--- input ---\n");
    out.push_str(source);
    if !source.ends_with('\n') {
        out.push('\n');
    }
    match (&r.transformed_source, &r.refused) {
        (Some(t), _) => {
            out.push_str("--- transformed ---\n");
            out.push_str(t);
            if !t.ends_with('\n') {
                out.push('\n');
            }
        }
        (None, None) => out.push_str("--- unchanged ---\n"),
        (None, Some(e)) => {
            let p = r.line_index.human(source, e.span.start);
            out.push_str(&format!(
                "--- refused ---\n{} at {}:{}: {}\n",
                e.kind, p.line, p.column, e.message
            ));
        }
    }
    if !r.transforms.is_empty() {
        out.push_str("--- transforms ---\n");
        for t in &r.transforms {
            let p = r.line_index.human(source, t.span.start);
            out.push_str(&format!(
                "{} {}:{} {}\n",
                t.kind, p.line, p.column, t.message
            ));
        }
    }
    if !r.reasons.is_empty() {
        out.push_str("--- reasons ---\n");
        for d in &r.reasons {
            let s = r.line_index.human(source, d.span.start);
            let e = r.line_index.human(source, d.span.end);
            out.push_str(&format!(
                "{} {} {}:{}-{}:{} {}\n",
                d.code(),
                d.severity.as_str(),
                s.line,
                s.column,
                e.line,
                e.column,
                d.message
            ));
            if let Some(h) = &d.help {
                out.push_str(&format!("    help: {h}\n"));
            }
        }
    }
    out
}

/// Transform the cells of one session in order and render them all.
pub fn run_session(cells: &[&str], wrap: bool) -> String {
    let mut state = SessionState::new();
    let mut out = String::new();
    for (i, cell) in cells.iter().enumerate() {
        let r = transform_cell(cell, &mut state, &TransformOptions { wrap });
        if cells.len() > 1 {
            out.push_str(&format!("=== cell {i} ===\n"));
        }
        out.push_str(&render(cell, &r));
    }
    out
}
