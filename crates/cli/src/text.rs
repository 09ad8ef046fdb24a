//! The text format: each cell's mode, and every reason as an annotated source snippet.
//!
//! Snippets are drawn by `annotate-snippets` (the renderer behind rustc's diagnostics) with the
//! file's own line numbers. Output is always produced with ANSI styles; the stream it is written
//! to (`anstream`) strips them unless colour is wanted (a terminal without `NO_COLOR`, or
//! `--color always`).
//!
//! With `--transform`, each cell's reasons (which include every rewrite, pointing at the user's
//! code) are followed by the code pyrepl3 runs instead of the cell: its lines numbered with the
//! file lines they came from (`+` for a line pyrepl3 added), the rewritten text highlighted. A
//! cell that runs as written says so in one line.

use std::fmt::Write as _;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use anstyle::{AnsiColor, Effects, Style};
use pyrepl3_analyzer::transform::SourceMap;
use pyrepl3_analyzer::{Diagnostic, LineIndex, Mode, Severity, Span};

use crate::report::{CellReport, FileReport, Summary};

const BOLD: Style = Style::new().effects(Effects::BOLD);
const DIM: Style = Style::new().effects(Effects::DIMMED);
/// The gutter of the transformed source, as annotate-snippets draws line numbers.
const GUTTER: Style = Style::new()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::BrightBlue)))
    .effects(Effects::BOLD);
/// Text pyrepl3 wrote (not copied from the user's cell).
const ADDED: Style = Style::new()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::BrightGreen)))
    .effects(Effects::BOLD);
/// The title of the transformed source.
const NOTE: Style = Style::new()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::BrightGreen)))
    .effects(Effects::BOLD);

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
    transformed_source: bool,
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
            transformed_source: false,
        }
    }

    /// Also show each cell's transformed source (`--transform`).
    pub fn with_transformed_source(mut self, yes: bool) -> Self {
        self.transformed_source = yes;
        self
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
            if cell.transform.refused {
                "pyrepl3 cannot rewrite this cell soundly, so it is not run"
            } else {
                mode_description(a.mode)
            }
        );
        let source = display_source(&cell.source);
        let snippet_path = location_path(path, cell);
        for (i, same) in group_reasons(&a.reasons).into_iter().enumerate() {
            let d = same[0];
            let title = level(d.severity).primary_title(&*d.message).id(d.rule.code);
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
                                .label(&*rel.message),
                        );
                    }
                }
                title.element(snippet)
            };
            if let Some(help) = &d.help {
                group = group.element(Level::HELP.message(&**help));
            }
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&self.renderer.render(&[group]));
            out.push('\n');
        }
        if self.transformed_source {
            out.push('\n');
            transformed_section(out, cell);
        }
    }
}

/// The code pyrepl3 runs instead of a cell, or one line saying why there is none.
fn transformed_section(out: &mut String, cell: &CellReport) {
    let t = &cell.transform;
    let Some(source) = &t.source else {
        let why = if t.refused {
            "not transformed: pyrepl3 refuses to rewrite this cell (see above)"
        } else if t.wrap_refused {
            "not wrapped: the wrapper fallback cannot run this cell (see above); it runs as written"
        } else if cell.analysis.mode == Mode::SyntaxError {
            "not transformed: nothing pyrepl3 rewrites makes this cell compile"
        } else {
            "not transformed: the cell runs as written"
        };
        let _ = writeln!(out, "{DIM}{why}{DIM:#}");
        return;
    };
    let analyzed = match cell.notebook_position {
        Some(_) => crate::report::python_part(&cell.source),
        None => &cell.source,
    };
    let mut lines = numbered_lines(source, analyzed, &t.map);
    // Blank lines that end the cell (before the next `# %%`) say nothing here.
    while lines.last().is_some_and(ShownLine::is_blank) && lines.len() > 1 {
        lines.pop();
    }
    let width = lines
        .iter()
        .filter_map(|l| l.line)
        .map(|n| (n + cell.line - 1).to_string().len())
        .max()
        .unwrap_or(1);
    let added = lines.iter().any(|l| l.line.is_none());
    let _ = writeln!(
        out,
        "{NOTE}transformed{NOTE:#}{BOLD}: runs instead of the cell{}{BOLD:#}{}",
        if added {
            " (`+` marks a line pyrepl3 added)"
        } else {
            ""
        },
        if t.wrap_refused {
            format!(
                "{DIM}; not wrapped: the wrapper fallback cannot run this cell (see above){DIM:#}"
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "{:width$} {GUTTER}|{GUTTER:#}", "");
    for l in &lines {
        let number = match l.line {
            Some(n) => (n + cell.line - 1).to_string(),
            None => "+".to_string(),
        };
        let _ = write!(out, "{GUTTER}{number:>width$} |{GUTTER:#}");
        if !l.pieces.is_empty() {
            out.push(' ');
        }
        for (text, synthesized) in &l.pieces {
            if *synthesized {
                let _ = write!(out, "{ADDED}{text}{ADDED:#}");
            } else {
                out.push_str(text);
            }
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{:width$} {GUTTER}|{GUTTER:#}", "");
}

/// One line of transformed source as shown.
#[derive(Debug, PartialEq, Eq)]
struct ShownLine {
    /// The line of the user's cell (1-based) it continues, or `None` for a line pyrepl3 added.
    line: Option<u32>,
    /// The text, in runs: copied from the user's cell (`false`) or written by pyrepl3 (`true`).
    pieces: Vec<(String, bool)>,
}

impl ShownLine {
    fn is_blank(&self) -> bool {
        self.pieces.iter().all(|(t, _)| t.trim().is_empty())
    }

    /// Trailing whitespace removed (the wrapper indents blank lines).
    fn trim_end(&mut self) {
        while let Some((text, _)) = self.pieces.last_mut() {
            let kept = text.trim_end().len();
            text.truncate(kept);
            if !text.is_empty() {
                break;
            }
            self.pieces.pop();
        }
    }
}

/// Is the text at `[at, at + len)` of the transformed source copied from the same text of the
/// user's cell? Copied text maps back to exactly its own bytes; synthesized text maps to the
/// whole construct it stands for.
fn copied(transformed: &str, original: &str, map: &SourceMap, at: usize, len: usize) -> bool {
    let start = map.original_start(at as u32) as usize;
    let end = map.original_end((at + len) as u32) as usize;
    end == start + len && original.get(start..end) == transformed.get(at..at + len)
}

/// The transformed source's lines, each numbered with the user's line it came from: a line
/// belongs to the user's line whose line break it copies (a line pyrepl3 added has a line break
/// of its own); a last line without a line break, to the line of its first copied character.
fn numbered_lines(transformed: &str, original: &str, map: &SourceMap) -> Vec<ShownLine> {
    let index = LineIndex::new(original);
    let mut out = Vec::new();
    let bytes = transformed.as_bytes();
    let mut start = 0;
    while start < transformed.len() {
        let content_end = transformed[start..]
            .find(['\n', '\r'])
            .map_or(transformed.len(), |i| start + i);
        let break_len = match (bytes.get(content_end), bytes.get(content_end + 1)) {
            (Some(b'\r'), Some(b'\n')) => 2,
            (Some(_), _) => 1,
            (None, _) => 0,
        };
        let mut pieces: Vec<(String, bool)> = Vec::new();
        let mut first_copied = None;
        for (i, c) in transformed[start..content_end].char_indices() {
            let at = start + i;
            let is_copied = copied(transformed, original, map, at, c.len_utf8());
            if is_copied && first_copied.is_none() {
                first_copied = Some(map.original_start(at as u32));
            }
            match pieces.last_mut() {
                Some((text, synth)) if *synth != is_copied => text.push(c),
                _ => pieces.push((c.to_string(), !is_copied)),
            }
        }
        let from = if break_len > 0 {
            copied(transformed, original, map, content_end, break_len)
                .then(|| map.original_start(content_end as u32))
        } else {
            first_copied
        };
        let mut line = ShownLine {
            line: from.map(|o| index.cpython(o).line),
            pieces,
        };
        line.trim_end();
        out.push(line);
        start = content_end + break_len;
    }
    out
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

/// One line per cell: `path:line: cell N: mode [codes]`, `mode (rewritten)` for a cell pyrepl3
/// rewrites to run.
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
        if cell.transform.rewritten {
            out.push_str(" (rewritten)");
        }
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
    if s.transformed > 0 {
        let cells = if s.transformed == 1 { "cell" } else { "cells" };
        let _ = write!(line, "; {} {cells} rewritten to run", s.transformed);
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

    fn numbered(src: &str, wrap: bool) -> Vec<(Option<u32>, String)> {
        use pyrepl3_analyzer::SessionState;
        use pyrepl3_analyzer::transform::{TransformOptions, transform_cell};
        let r = transform_cell(src, &mut SessionState::new(), &TransformOptions { wrap });
        let t = r.transformed_source.expect("transformed");
        numbered_lines(&t, src, &r.source_map)
            .into_iter()
            .map(|l| {
                let text: String = l
                    .pieces
                    .iter()
                    .map(|(t, synth)| if *synth { format!("[{t}]") } else { t.clone() })
                    .collect();
                (l.line, text)
            })
            .collect()
    }

    #[test]
    fn transformed_lines_carry_their_user_line_and_mark_written_text() {
        assert_eq!(
            numbered("def f():\r\n    await g()\r\nx = f()\r\n", false),
            [
                (Some(1), "[async ]def f():".to_string()),
                (Some(2), "    await g()".to_string()),
                (Some(3), "x = [await ]f()".to_string()),
            ]
        );
        // A helper with no blank line above it is a line of its own.
        let lines = numbered("y = 1\nhs = [lambda: await g()]\n", false);
        assert_eq!(lines[0], (Some(1), "y = 1".to_string()));
        assert_eq!(lines[1].0, None);
        assert_eq!(lines[2].0, Some(2));
        assert!(lines[2].1.starts_with("hs = [["), "{lines:?}");
        // The wrapper's header lines are its own; the body keeps the user's lines.
        let lines = numbered("a = 1\na", true);
        assert_eq!(lines[0].0, None);
        assert_eq!(lines[1].0, None);
        assert_eq!(lines.last().unwrap().0, Some(2), "{lines:?}");
    }

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
