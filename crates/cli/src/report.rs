//! Analyzing one file: its cells, in order, through one analyzer session, with positions in the file.
//!
//! This is the format-neutral model that the text and JSON renderers read. Positions are
//! converted here, once: the analyzer's spans are byte offsets in a cell; people and the JSON
//! contract want 1-based lines of the file and 1-based character columns.
//!
//! By default each verdict is CPython's own. With `--transform` ([`ReportOptions::transform`])
//! each cell goes through the analyzer's transforms first ([`pyrepl3_analyzer::transform`]), as
//! pyrepl3 runs it: a plain `def` or `lambda` that awaits becomes `async def` and its calls get
//! `await`. A transformed cell is analyzed as transformed (so it is no longer a syntax error, and
//! its mode is that of the code that runs), with every position moved back to the user's text
//! through the transform's source map and the rewrites listed first among its reasons. A cell
//! whose rewrite would not be sound is a syntax error whose reasons say why.

use pyrepl3_analyzer::rules::Rule;
use pyrepl3_analyzer::rules::transform::{TransformRefused, WrapWithGlobals};
use pyrepl3_analyzer::transform::{
    SourceMap, TransformOptions, TransformRecord, TransformResult, transform_cell,
};
use pyrepl3_analyzer::{
    CellAnalysis, CellOptions, Diagnostic, LineIndex, Mode, SessionState, Severity, Span,
};

use crate::cells::split_percent;
use crate::inputs::Kind;
use crate::notebook::{NotebookError, code_cells};

/// A position in a file as a person counts: 1-based line, 1-based character column.
///
/// In a notebook, lines count from the start of the cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

/// One analyzed cell.
#[derive(Debug, Clone)]
pub struct CellReport {
    /// 0-based index among the file's code cells.
    pub index: usize,
    /// 1-based line of the file where the cell starts (1 for notebook cells).
    pub line: u32,
    /// For notebooks: the cell's position in the notebook's `cells` list.
    pub notebook_position: Option<usize>,
    /// The text the analyzer's spans refer to (invalid UTF-8 replaced by U+FFFD after the point
    /// where decoding failed, which is where any span of such a cell ends).
    pub source: String,
    /// What the analyzer said (about the transformed cell, in the user's positions).
    pub analysis: CellAnalysis,
    /// What the transforms did.
    pub transform: CellTransform,
}

/// What the transforms did to one cell.
#[derive(Debug, Clone, Default)]
pub struct CellTransform {
    /// Every rewrite in source order (the wrapper last), spans in the user's cell.
    pub records: Vec<TransformRecord>,
    /// The code that runs instead of the cell: the direct path's rewrite, or with the wrapper
    /// asked for, the wrapped cell. `None` when the cell runs as written or was refused.
    pub source: Option<String>,
    /// Maps positions in [`Self::source`] back to the user's cell.
    pub map: SourceMap,
    /// The cell's direct path was rewritten (a `def` or `lambda` made async, `await` inserted).
    pub rewritten: bool,
    /// pyrepl3 refused to rewrite the cell (it is then a syntax error).
    pub refused: bool,
    /// The wrapper was asked for but cannot run the cell (the direct path can: a warning).
    pub wrap_refused: bool,
}

impl CellReport {
    /// An offset moved back inside the cell's last line when it points past the cell's final
    /// line break (where an "unexpected EOF" points): that place is the next cell's first line.
    pub fn clamp_offset(&self, offset: u32) -> u32 {
        if (offset as usize) < self.source.len() {
            return offset;
        }
        let s = self.source.as_str();
        let trimmed = s
            .strip_suffix("\r\n")
            .or_else(|| s.strip_suffix('\n'))
            .or_else(|| s.strip_suffix('\r'))
            .unwrap_or(s);
        trimmed.len() as u32
    }

    /// The file position of a byte offset in the cell.
    pub fn pos(&self, offset: u32) -> Pos {
        let offset = self.clamp_offset(offset);
        let h = self.analysis.line_index.human(&self.source, offset);
        Pos {
            line: h.line + self.line - 1,
            column: h.column,
        }
    }

    /// A span with both ends passed through [`Self::clamp_offset`].
    pub fn clamp_span(&self, span: Span) -> Span {
        Span::new(self.clamp_offset(span.start), self.clamp_offset(span.end))
    }

    /// The file positions of a span's start and end.
    pub fn range(&self, span: Span) -> (Pos, Pos) {
        (self.pos(span.start), self.pos(span.end))
    }

    /// The last line of the file that belongs to the cell (a trailing line break ends the cell's
    /// last line rather than starting a new one).
    pub fn end_line(&self) -> u32 {
        let trimmed = self
            .source
            .strip_suffix("\r\n")
            .or_else(|| self.source.strip_suffix('\n'))
            .or_else(|| self.source.strip_suffix('\r'))
            .unwrap_or(&self.source);
        let breaks = pyrepl3_analyzer::LineIndex::new(trimmed).line_count() as u32;
        self.line + breaks - 1
    }

    /// How the cell is named in text output: `path:line` for Python files, `path:cell N` for
    /// notebooks.
    pub fn location(&self, path: &str) -> String {
        match self.notebook_position {
            None => format!("{path}:{}", self.line),
            Some(_) => format!("{path}:cell {}", self.index),
        }
    }
}

/// One analyzed file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The path as shown to the user.
    pub path: String,
    /// Python or notebook.
    pub kind: Kind,
    /// The code cells, in order.
    pub cells: Vec<CellReport>,
}

impl FileReport {
    /// `true` when some cell is a syntax error.
    pub fn has_syntax_error(&self) -> bool {
        self.cells
            .iter()
            .any(|c| c.analysis.mode == Mode::SyntaxError)
    }
}

/// How files are analyzed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportOptions {
    /// Apply pyrepl3's transforms (`--transform`): cells CPython refuses because a plain `def`
    /// or `lambda` awaits are rewritten, and the mode is that of the code pyrepl3 runs. Without
    /// it, every verdict is CPython's own (such a cell is a syntax error naming the fix).
    pub transform: bool,
    /// Also wrap every cell in `async def __pyrepl3_cell__():` with `global` hoisting (the
    /// executor's fallback path), to show that path's source. Modes still describe the direct
    /// path; a cell the wrapper cannot run gets a warning.
    pub wrap: bool,
}

/// Analyze one cell's bytes. The file's BOM, if any, has been removed already; a later cell that
/// starts with U+FEFF keeps it (CPython refuses it there), so only invalid UTF-8 goes through
/// [`pyrepl3_analyzer::analyze_bytes`] (untransformed: it is a syntax error).
fn analyze_cell(
    bytes: &[u8],
    state: &mut SessionState,
    options: &CellOptions,
    report: &ReportOptions,
) -> (String, CellAnalysis, CellTransform) {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let (analysis, transform) = analyze_text(text, state, options, report);
            (text.to_string(), analysis, transform)
        }
        Err(_) => {
            let analysis = pyrepl3_analyzer::analyze_bytes(bytes, state, options);
            let shown = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            (
                String::from_utf8_lossy(shown).into_owned(),
                analysis,
                CellTransform::default(),
            )
        }
    }
}

/// Analyze one cell's text: CPython's verdict, or with [`ReportOptions::transform`] the
/// verdict on what pyrepl3 runs after its rewrites.
fn analyze_text(
    text: &str,
    state: &mut SessionState,
    options: &CellOptions,
    report: &ReportOptions,
) -> (CellAnalysis, CellTransform) {
    if report.transform || report.wrap {
        transform_and_analyze(text, state, options, report)
    } else {
        (
            pyrepl3_analyzer::analyze_cell_with(text, state, options),
            CellTransform::default(),
        )
    }
}

/// `line N` in a message, outside backticks (quoted code), rewritten by `f`.
fn map_line_refs(message: &str, f: impl Fn(u32) -> u32) -> String {
    let mut out = String::with_capacity(message.len() + 4);
    for (i, part) in message.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 {
            out.push_str(part);
            continue;
        }
        let mut rest = part;
        while let Some(at) = rest.find("line ") {
            let (before, after) = rest.split_at(at + "line ".len());
            out.push_str(before);
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            match after[..digits].parse::<u32>() {
                Ok(n) => out.push_str(&f(n).to_string()),
                Err(_) => out.push_str(&after[..digits]),
            }
            rest = &after[digits..];
        }
        out.push_str(rest);
    }
    out
}

/// `line N` in a transform's message counts lines of the cell; people read lines of the file.
/// Occurrences inside backticks (quoted code) are left alone.
pub fn in_file_lines(message: &str, first_line: u32) -> String {
    if first_line <= 1 {
        return message.to_string();
    }
    map_line_refs(message, |n| n + first_line - 1)
}

/// File lines of the transformed cell mentioned in the analysis of it (`via import time
/// (line 7)`), as the user's file lines: they differ below a line the transform added.
fn user_line_refs(
    analysis: &mut CellAnalysis,
    transformed: &str,
    original: &str,
    map: &SourceMap,
    first_line: u32,
) {
    let t_index = LineIndex::new(transformed);
    if t_index.line_count() == LineIndex::new(original).line_count() {
        return;
    }
    let o_index = LineIndex::new(original);
    let offset = first_line.saturating_sub(1);
    let to_user = |n: u32| -> u32 {
        // Lines of earlier cells are left alone.
        let Some(line_start) = n.checked_sub(offset).and_then(|l| t_index.line_start(l)) else {
            return n;
        };
        o_index.cpython(map.original_start(line_start)).line + offset
    };
    for r in &mut analysis.reasons {
        r.message = map_line_refs(&r.message, to_user).into();
        r.help = r.help.as_ref().map(|h| map_line_refs(h, to_user).into());
        for rel in &mut r.related {
            rel.message = map_line_refs(&rel.message, to_user).into();
        }
    }
    for b in &mut analysis.blocking_calls {
        b.via = map_line_refs(&b.via, to_user);
    }
}

/// A transform's reason with its line references in file lines.
fn reason_in_file_lines(mut d: Diagnostic, first_line: u32) -> Diagnostic {
    d.message = in_file_lines(&d.message, first_line).into();
    d.help = d.help.map(|h| in_file_lines(&h, first_line).into());
    for r in &mut d.related {
        r.message = in_file_lines(&r.message, first_line).into();
    }
    d
}

/// Move every position of an analysis of transformed code back to the user's cell `original`.
fn remap(analysis: &mut CellAnalysis, map: &SourceMap, original: &str) {
    let span = |s: Span| {
        // A reason about the whole cell stays one, whatever the transform put first.
        if s == Span::empty(0) {
            s
        } else {
            map.original_span(s)
        }
    };
    for r in &mut analysis.reasons {
        r.span = span(r.span);
        for rel in &mut r.related {
            rel.span = span(rel.span);
        }
    }
    for b in &mut analysis.blocking_calls {
        b.span = span(b.span);
    }
    if let Some(e) = &mut analysis.error {
        e.span = span(e.span);
    }
    analysis.line_index = LineIndex::new(original);
}

fn records_in_file_lines(records: &[TransformRecord], first_line: u32) -> Vec<TransformRecord> {
    records
        .iter()
        .map(|r| TransformRecord {
            message: in_file_lines(&r.message, first_line),
            ..r.clone()
        })
        .collect()
}

/// Transform one cell as pyrepl3 runs it, then analyze what runs.
///
/// * Refused: the cell is a syntax error; its reasons are CPython's own (when CPython refuses
///   the cell as written) followed by why the rewrite would not be sound.
/// * Rewritten: the rewritten source is analyzed (the same session state), positions are moved
///   back to the user's text, and the rewrites come first among the reasons.
/// * Unchanged: analyzed as written; warnings of the transforms (a rewritten function of an
///   earlier cell used as a value) come first.
///
/// With [`ReportOptions::wrap`], the cell is also wrapped (on a copy of the session state, so
/// the session advances once): the wrapped source is what [`CellTransform::source`] shows. A
/// cell that is a syntax error anyway is not shown wrapped; one the direct path runs but the
/// wrapper cannot gets a warning (PR305, downgraded) and is shown as the direct path runs it.
pub fn transform_and_analyze(
    text: &str,
    state: &mut SessionState,
    options: &CellOptions,
    report: &ReportOptions,
) -> (CellAnalysis, CellTransform) {
    let first_line = options.first_line;
    let wrapped = report.wrap.then(|| {
        let mut probe = state.clone();
        transform_cell(text, &mut probe, &TransformOptions { wrap: true })
    });
    let direct = transform_cell(text, state, &TransformOptions { wrap: false });
    let transform_reasons: Vec<Diagnostic> = direct
        .reasons
        .iter()
        .map(|d| reason_in_file_lines(d.clone(), first_line))
        .collect();

    let mut analysis = if let Some(refused) = &direct.refused {
        let original = pyrepl3_analyzer::analyze_cell_with(text, state, options);
        let mut reasons = if original.mode == Mode::SyntaxError {
            original.reasons
        } else {
            Vec::new()
        };
        reasons.extend(transform_reasons);
        let mut error = refused.clone();
        error.message = in_file_lines(&error.message, first_line);
        CellAnalysis {
            mode: Mode::SyntaxError,
            reasons,
            blocking_calls: Vec::new(),
            bound_names: Vec::new(),
            dynamic_writes: false,
            needs_loop_thread: false,
            error: Some(error),
            line_index: original.line_index,
            transform: None,
            trailing_expression: None,
        }
    } else {
        let mut analysis = match &direct.transformed_source {
            Some(t) => {
                let mut a = pyrepl3_analyzer::analyze_cell_with(t, state, options);
                user_line_refs(&mut a, t, text, &direct.source_map, first_line);
                remap(&mut a, &direct.source_map, text);
                a
            }
            None => pyrepl3_analyzer::analyze_cell_with(text, state, options),
        };
        let mut reasons = transform_reasons;
        reasons.append(&mut analysis.reasons);
        analysis.reasons = reasons;
        analysis
    };

    let rewritten = direct.transformed_source.is_some();
    let refused = direct.refused.is_some();
    let mut wrap_refused = false;
    // The wrapper is a second way to run a cell the direct path runs; for a cell that is a
    // syntax error anyway there is nothing to show of it.
    let wrapped = wrapped.filter(|_| analysis.mode != Mode::SyntaxError);
    let shown = match wrapped {
        Some(w) if w.refused.is_none() => {
            for d in w
                .reasons
                .iter()
                .filter(|d| d.rule.code == WrapWithGlobals::META.code)
            {
                analysis
                    .reasons
                    .push(reason_in_file_lines(d.clone(), first_line));
            }
            w
        }
        Some(w) => {
            // The direct path runs the cell; only the fallback cannot.
            wrap_refused = true;
            for d in w
                .reasons
                .iter()
                .filter(|d| d.rule.code == TransformRefused::META.code)
            {
                let mut d = reason_in_file_lines(d.clone(), first_line);
                d.message =
                    format!("the wrapper fallback cannot run this cell: {}", d.message).into();
                analysis.reasons.push(d.with_severity(Severity::Warning));
            }
            direct
        }
        None => direct,
    };
    let TransformResult {
        transformed_source,
        transforms,
        source_map,
        ..
    } = shown;
    let transform = CellTransform {
        records: records_in_file_lines(&transforms, first_line),
        source: transformed_source,
        map: source_map,
        rewritten,
        refused,
        wrap_refused,
    };
    (analysis, transform)
}

/// Cell magics whose body IPython runs as Python in the session (`%%time`, `%%timeit`...).
const PYTHON_CELL_MAGICS: [&str; 5] = ["capture", "debug", "prun", "time", "timeit"];

/// The part of a notebook cell that is Python: all of it, except after a cell magic such as
/// `%%bash` or `%%html` on the first line, whose body is not Python at all; then only the magic
/// line itself is analyzed (and reported as an IPython escape).
pub fn python_part(source: &str) -> &str {
    let Some(rest) = source.strip_prefix("%%") else {
        return source;
    };
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if PYTHON_CELL_MAGICS.contains(&name.as_str()) {
        return source;
    }
    let end = source.find(['\n', '\r']).unwrap_or(source.len());
    &source[..end]
}

/// Split `bytes` into cells and analyze them in order as one session (direct path only).
pub fn analyze_file(path: String, kind: Kind, bytes: &[u8]) -> Result<FileReport, NotebookError> {
    analyze_file_with(path, kind, bytes, &ReportOptions::default())
}

/// Split `bytes` into cells and analyze them in order as one session.
pub fn analyze_file_with(
    path: String,
    kind: Kind,
    bytes: &[u8],
    report: &ReportOptions,
) -> Result<FileReport, NotebookError> {
    let mut state = SessionState::new();
    let mut cells = Vec::new();
    match kind {
        Kind::Python => {
            let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            let decoded = pyrepl3_analyzer::encoding::decode_source(bytes);
            let text: &[u8] = match &decoded {
                Ok(text) => text.as_bytes(),
                // Not UTF-8 and no declaration: the cells that are UTF-8 are still analyzed,
                // the others report where decoding failed.
                Err(_) if pyrepl3_analyzer::encoding::declared(body).is_none() => body,
                // CPython refuses the whole file (unknown or undecodable declared encoding).
                Err(_) => {
                    let options = CellOptions::default();
                    cells.push(CellReport {
                        index: 0,
                        line: 1,
                        notebook_position: None,
                        source: String::from_utf8_lossy(body).into_owned(),
                        analysis: pyrepl3_analyzer::analyze_bytes(bytes, &mut state, &options),
                        transform: CellTransform::default(),
                    });
                    return Ok(FileReport { path, kind, cells });
                }
            };
            for (index, cell) in split_percent(text).into_iter().enumerate() {
                let options = CellOptions {
                    first_line: cell.line,
                    ipython: false,
                    ..CellOptions::default()
                };
                let (source, analysis, transform) =
                    analyze_cell(&text[cell.range], &mut state, &options, report);
                cells.push(CellReport {
                    index,
                    line: cell.line,
                    notebook_position: None,
                    source,
                    analysis,
                    transform,
                });
            }
        }
        Kind::Notebook => {
            for (index, cell) in code_cells(bytes)?.into_iter().enumerate() {
                let options = CellOptions {
                    first_line: 1,
                    ipython: true,
                    ..CellOptions::default()
                };
                let analyzed = python_part(&cell.source);
                let (analysis, transform) = analyze_text(analyzed, &mut state, &options, report);
                cells.push(CellReport {
                    index,
                    line: 1,
                    notebook_position: Some(cell.position),
                    source: cell.source,
                    analysis,
                    transform,
                });
            }
        }
    }
    Ok(FileReport { path, kind, cells })
}

/// Cells per mode over many files, for the closing summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files analyzed.
    pub files: usize,
    /// Files that could not be read or parsed.
    pub failed: usize,
    /// Cells per mode, indexed like [`Mode::ALL`].
    pub modes: [usize; 5],
    /// Cells whose direct path was rewritten (a `def` or `lambda` made async, `await` inserted).
    pub transformed: usize,
}

impl Summary {
    /// Count a file's cells.
    pub fn add(&mut self, file: &FileReport) {
        self.files += 1;
        for c in &file.cells {
            if let Some(i) = Mode::ALL.iter().position(|m| *m == c.analysis.mode) {
                self.modes[i] += 1;
            }
            self.transformed += usize::from(c.transform.rewritten);
        }
    }

    /// Total cells.
    pub fn cells(&self) -> usize {
        self.modes.iter().sum()
    }

    /// Cells of `mode`.
    pub fn count(&self, mode: Mode) -> usize {
        Mode::ALL
            .iter()
            .position(|m| *m == mode)
            .map_or(0, |i| self.modes[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_magics_with_a_foreign_body_analyze_only_the_magic_line() {
        assert_eq!(python_part("%%bash\necho hi\n"), "%%bash");
        assert_eq!(python_part("%%html\r\n<b>x</b>"), "%%html");
        assert_eq!(python_part("%%time\nx = 1\n"), "%%time\nx = 1\n");
        assert_eq!(python_part("%%timeit -n 3\nx = 1"), "%%timeit -n 3\nx = 1");
        assert_eq!(python_part("%time x = 1\n"), "%time x = 1\n");
        assert_eq!(python_part("x = 1\n"), "x = 1\n");
    }

    #[test]
    fn line_references_in_transform_messages_become_file_lines() {
        assert_eq!(
            in_file_lines("`f` uses `await` (line 2), made async at line 1", 10),
            "`f` uses `await` (line 11), made async at line 10"
        );
        // Quoted code is not touched; neither is a cell that starts the file.
        assert_eq!(
            in_file_lines("helper `line 3` before line 3", 5),
            "helper `line 3` before line 7"
        );
        assert_eq!(in_file_lines("at line 4", 1), "at line 4");
        assert_eq!(in_file_lines("a line of its own", 9), "a line of its own");
    }

    #[test]
    fn a_rewritten_cell_is_analyzed_as_rewritten_in_the_user_positions() {
        let src = "import asyncio\ndef f():\n    await asyncio.sleep(0)\n# %%\nx = f()\n";
        let transform = ReportOptions {
            transform: true,
            wrap: false,
        };
        let report =
            analyze_file_with("t.py".into(), Kind::Python, src.as_bytes(), &transform).unwrap();
        let (first, second) = (&report.cells[0], &report.cells[1]);
        assert_eq!(first.analysis.mode, Mode::AsyncDef);
        assert!(first.transform.rewritten && !first.transform.refused);
        assert_eq!(second.analysis.mode, Mode::TopLevelAwait);
        assert_eq!(
            second.transform.source.as_deref(),
            Some("# %%\nx = await f()\n")
        );
        // The top-level await is reported at the user's call, in the file's lines.
        let pr100 = second
            .analysis
            .reasons
            .iter()
            .find(|r| r.code() == "PR100")
            .unwrap();
        assert_eq!(
            &second.source[pr100.span.start as usize..pr100.span.end as usize],
            "f()"
        );
        assert_eq!(second.pos(pr100.span.start), Pos { line: 5, column: 5 });
        let summary = {
            let mut s = Summary::default();
            s.add(&report);
            s
        };
        assert_eq!(summary.transformed, 2);
    }

    #[test]
    fn lines_named_in_the_analysis_of_a_rewritten_cell_are_the_user_lines() {
        // The helper for the inline lambda takes a line of its own above line 3 of the file; the
        // import below it is still the user's line 4.
        let src = "# %%\nx = 1\nhs = [lambda: await g()]\nimport time\ntime.sleep(1)\n";
        let transform = ReportOptions {
            transform: true,
            wrap: false,
        };
        let report =
            analyze_file_with("t.py".into(), Kind::Python, src.as_bytes(), &transform).unwrap();
        let cell = &report.cells[0];
        assert!(cell.transform.rewritten);
        let call = &cell.analysis.blocking_calls[0];
        assert_eq!(call.via, "import time (line 4)");
        assert!(
            cell.analysis
                .reasons
                .iter()
                .any(|r| r.message.ends_with("via import time (line 4)")),
            "{:?}",
            cell.analysis.reasons
        );
    }

    #[test]
    fn positions_past_the_final_line_break_stay_in_the_cell() {
        let report = analyze_file(
            "t.py".into(),
            Kind::Python,
            b"a = 1\n# %%\nb = (\n\n# %%\nc = 3\n",
        )
        .unwrap();
        let cell = &report.cells[1];
        assert_eq!(cell.end_line(), 4);
        let end = cell.source.len() as u32;
        assert_eq!(cell.pos(end), Pos { line: 4, column: 1 });
        assert_eq!(cell.pos(0), Pos { line: 2, column: 1 });
    }
}
