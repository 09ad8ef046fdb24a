//! The text format: each cell's mode, and every reason as an annotated source snippet.
//!
//! Snippets are drawn by `annotate-snippets` (the renderer behind rustc's diagnostics) with the
//! file's own line numbers. Output is always produced with ANSI styles; the stream it is written
//! to (`anstream`) strips them unless colour is wanted (a terminal without `NO_COLOR`, or
//! `--color always`).

use std::fmt::Write as _;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use anstyle::{AnsiColor, Effects, Style};
use pyrepl3_analyzer::{Diagnostic, Mode, Severity, Span};

use crate::report::{CellReport, FileReport, Summary};

const BOLD: Style = Style::new().effects(Effects::BOLD);
const DIM: Style = Style::new().effects(Effects::DIMMED);

/// The colour a mode is shown in.
fn mode_style(mode: Mode) -> Style {
    let color = match mode {
        Mode::SyntaxError => AnsiColor::BrightRed,
        Mode::TopLevelAwait => AnsiColor::BrightMagenta,
        Mode::BlockingSync => AnsiColor::BrightYellow,
        Mode::AsyncDef => AnsiColor::BrightCyan,
        Mode::SimpleSync => AnsiColor::BrightGreen,
    };
    Style::new()
        .fg_color(Some(color.into()))
        .effects(Effects::BOLD)
}

/// What a mode means for the person running the cell.
pub fn mode_description(mode: Mode) -> &'static str {
    match mode {
        Mode::SyntaxError => "CPython refuses to compile this cell",
        Mode::TopLevelAwait => "awaited as a coroutine on the session's event loop",
        Mode::BlockingSync => "runs on a worker thread; the event loop keeps running",
        Mode::AsyncDef => "defines coroutine functions; runs on the loop thread",
        Mode::SimpleSync => "runs directly on the loop thread",
    }
}

fn level(severity: Severity) -> Level<'static> {
    match severity {
        Severity::Info => Level::INFO,
        Severity::Warning => Level::WARNING,
        Severity::Error => Level::ERROR,
    }
}

/// The cell's source as `annotate-snippets` should see it: same bytes, same offsets, but every
/// line break is a `\n` (a lone `\r` becomes `\n`, `\r\n` becomes ` \n`), so the renderer counts
/// lines as CPython does and shows no stray carriage returns.
fn display_source(source: &str) -> String {
    if !source.contains('\r') {
        return source.to_string();
    }
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                out.push(' ');
            } else {
                out.push('\n');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Clamp a span to the source and to character boundaries.
fn clamp(source: &str, span: Span) -> std::ops::Range<usize> {
    let mut start = (span.start as usize).min(source.len());
    while !source.is_char_boundary(start) {
        start -= 1;
    }
    if span.is_empty() {
        return start..start;
    }
    let mut end = (span.end as usize).clamp(start, source.len());
    while !source.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

/// An informational reason about a whole block (`async def` ... or `async with` ...) is shown on
/// the block's first line: that line says what it is, and the body would only bury it.
fn first_line_only(source: &str, range: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let end = source[range.clone()]
        .find(['\n', '\r'])
        .map_or(range.end, |i| range.start + i);
    let end = if source[range.start..end].trim().is_empty() {
        range.end // a span that starts at a line break keeps its extent
    } else {
        end
    };
    range.start..end
}

/// A reason about the cell as a whole (no place in it to point at).
fn is_cell_level(d: &Diagnostic) -> bool {
    d.severity == Severity::Info && d.span == Span::empty(0)
}

/// Renders files as text.
#[derive(Debug)]
pub struct TextRenderer {
    renderer: Renderer,
}

impl Default for TextRenderer {
    fn default() -> Self {
        Self::new()
    }
}

impl TextRenderer {
    /// A renderer producing styled output (strip the styles when writing, if unwanted).
    pub fn new() -> Self {
        Self {
            renderer: Renderer::styled(),
        }
    }

    /// The text of one file: every cell, a blank line after each.
    pub fn file(&self, file: &FileReport) -> String {
        let mut out = String::new();
        for cell in &file.cells {
            self.cell(&mut out, &file.path, cell);
            out.push('\n');
        }
        out
    }

    fn cell(&self, out: &mut String, path: &str, cell: &CellReport) {
        let a = &cell.analysis;
        let ms = mode_style(a.mode);
        let location = cell.location(path);
        let index = match cell.notebook_position {
            None => format!(" {DIM}·{DIM:#} cell {}", cell.index),
            Some(_) => String::new(),
        };
        let _ = writeln!(
            out,
            "{BOLD}{location}{BOLD:#}{index} {DIM}·{DIM:#} {ms}{}{ms:#} {DIM}— {}{DIM:#}",
            a.mode,
            mode_description(a.mode)
        );
        let source = display_source(&cell.source);
        let snippet_path = location_path(path, cell);
        for (i, same) in group_reasons(&a.reasons).into_iter().enumerate() {
            let d = same[0];
            let title = level(d.severity)
                .primary_title(d.message.as_str())
                .id(d.rule.code);
            let mut group = if same.iter().all(|d| is_cell_level(d)) {
                Group::with_title(title)
            } else {
                let mut snippet = Snippet::source(source.as_str())
                    .line_start(cell.line as usize)
                    .path(snippet_path.as_str());
                for d in same.iter().filter(|d| !is_cell_level(d)) {
                    let mut range = clamp(&source, cell.clamp_span(d.span));
                    if d.severity == Severity::Info {
                        range = first_line_only(&source, range);
                    }
                    let mut primary = AnnotationKind::Primary.span(range);
                    if let Some(call) = a.blocking_calls.iter().find(|b| b.span == d.span) {
                        primary = primary.label(call_label(&d.message, &call.name, &call.via));
                    }
                    snippet = snippet.annotation(primary);
                    for rel in &d.related {
                        snippet = snippet.annotation(
                            AnnotationKind::Context
                                .span(clamp(&source, cell.clamp_span(rel.span)))
                                .label(rel.message.as_str()),
                        );
                    }
                }
                title.element(snippet)
            };
            if let Some(help) = &d.help {
                group = group.element(Level::HELP.message(help.as_str()));
            }
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&self.renderer.render(&[group]));
            out.push('\n');
        }
    }
}

/// The label under a blocking call: what the message does not already say of the resolved name
/// and how it was resolved.
fn call_label(message: &str, name: &str, via: &str) -> Option<String> {
    let says_name = message.contains(&format!("`{name}`"));
    match (says_name, message.contains(via)) {
        (true, true) => None,
        (true, false) => Some(format!("via {via}")),
        (false, true) => Some(format!("`{name}`")),
        (false, false) => Some(format!("`{name}`, via {via}")),
    }
}

/// Reasons that say the same thing (same rule, severity, message and help) in several places,
/// gathered so they render as one message pointing at every place. Order: first occurrence.
fn group_reasons(reasons: &[Diagnostic]) -> Vec<Vec<&Diagnostic>> {
    let mut groups: Vec<Vec<&Diagnostic>> = Vec::new();
    for d in reasons {
        let same = |g: &&mut Vec<&Diagnostic>| {
            let first = g[0];
            first.rule.code == d.rule.code
                && first.severity == d.severity
                && first.message == d.message
                && first.help == d.help
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(g) => g.push(d),
            None => groups.push(vec![d]),
        }
    }
    groups
}

/// The name a cell's snippets carry: the file, or `file:cell N` in a notebook (so the
/// `--> file:cell N:line:column` pointer names the cell).
fn location_path(path: &str, cell: &CellReport) -> String {
    match cell.notebook_position {
        None => path.to_string(),
        Some(_) => format!("{path}:cell {}", cell.index),
    }
}

/// One line per cell: `path:line: cell N: mode [codes]`.
pub fn concise(file: &FileReport) -> String {
    let mut out = String::new();
    for cell in &file.cells {
        let ms = mode_style(cell.analysis.mode);
        let mut codes: Vec<&str> = Vec::new();
        for d in &cell.analysis.reasons {
            if !codes.contains(&d.code()) {
                codes.push(d.code());
            }
        }
        let location = cell.location(&file.path);
        let _ = write!(out, "{BOLD}{location}{BOLD:#}: ");
        if cell.notebook_position.is_none() {
            let _ = write!(out, "cell {}: ", cell.index);
        }
        let _ = write!(out, "{ms}{}{ms:#}", cell.analysis.mode);
        if let Some(e) = &cell.analysis.error {
            let p = cell.pos(e.span.start);
            let _ = write!(
                out,
                " (at {}:{}: {}: {})",
                p.line, p.column, e.kind, e.message
            );
        }
        let _ = writeln!(out, " {DIM}[{}]{DIM:#}", codes.join(", "));
    }
    out
}

/// The closing line: how many cells of each mode.
pub fn summary(s: &Summary) -> String {
    let files = if s.files == 1 { "file" } else { "files" };
    let cells = if s.cells() == 1 { "cell" } else { "cells" };
    let mut parts = Vec::new();
    for mode in [
        Mode::TopLevelAwait,
        Mode::BlockingSync,
        Mode::AsyncDef,
        Mode::SimpleSync,
        Mode::SyntaxError,
    ] {
        let n = s.count(mode);
        if n > 0 {
            let ms = mode_style(mode);
            parts.push(format!("{n} {ms}{mode}{ms:#}"));
        }
    }
    let mut line = format!(
        "{BOLD}Analyzed {} {cells} in {} {files}{BOLD:#}",
        s.cells(),
        s.files
    );
    if !parts.is_empty() {
        let _ = write!(line, ": {}", parts.join(", "));
    }
    if s.failed > 0 {
        let err = Style::new()
            .fg_color(Some(AnsiColor::BrightRed.into()))
            .effects(Effects::BOLD);
        let what = if s.failed == 1 { "input" } else { "inputs" };
        let _ = write!(line, "; {err}{} {what} could not be read{err:#}", s.failed);
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_source_keeps_offsets() {
        let src = "a\r\nb\rc\n";
        let d = display_source(src);
        assert_eq!(d.len(), src.len());
        assert_eq!(d, "a \nb\nc\n");
    }

    #[test]
    fn call_labels_add_only_what_the_message_lacks() {
        let via = "import time as t (line 1)";
        let label = |m: &str| call_label(m, "time.sleep", via);
        assert_eq!(
            label("`time.sleep` blocks; via import time as t (line 1)"),
            None
        );
        assert_eq!(
            label("`time.sleep` stalls the loop").as_deref(),
            Some("via import time as t (line 1)")
        );
        assert_eq!(
            label("blocks").as_deref(),
            Some("`time.sleep`, via import time as t (line 1)")
        );
    }

    #[test]
    fn info_spans_keep_their_first_line() {
        let src = "async def f():\n    await g()\n";
        assert_eq!(first_line_only(src, 0..src.len()), 0..14);
        assert_eq!(first_line_only(src, 4..9), 4..9);
        assert_eq!(first_line_only(src, 14..16), 14..16);
    }

    #[test]
    fn clamp_respects_char_boundaries() {
        let src = "é = 1";
        assert_eq!(clamp(src, Span::new(1, 1)), 0..0);
        assert_eq!(clamp(src, Span::new(0, 1)), 0..2);
        assert_eq!(clamp(src, Span::new(3, 99)), 3..src.len());
    }
}
