//! Analyzing one file: its cells, in order, through one analyzer session, with positions in the file.
//!
//! This is the format-neutral model that the text and JSON renderers read. Positions are
//! converted here, once: the analyzer's spans are byte offsets in a cell; people and the JSON
//! contract want 1-based lines of the file and 1-based character columns.

use pyrepl3_analyzer::{CellAnalysis, CellOptions, Mode, SessionState, Span};

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
    /// What the analyzer said.
    pub analysis: CellAnalysis,
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

/// Analyze one cell's bytes. The file's BOM, if any, has been removed already; a later cell that
/// starts with U+FEFF keeps it (CPython refuses it there), so only invalid UTF-8 goes through
/// [`pyrepl3_analyzer::analyze_bytes`].
fn analyze_cell(
    bytes: &[u8],
    state: &mut SessionState,
    options: &CellOptions,
) -> (String, CellAnalysis) {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let analysis = pyrepl3_analyzer::analyze_cell_with(text, state, options);
            (text.to_string(), analysis)
        }
        Err(_) => {
            let analysis = pyrepl3_analyzer::analyze_bytes(bytes, state, options);
            let shown = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            (String::from_utf8_lossy(shown).into_owned(), analysis)
        }
    }
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

/// Split `bytes` into cells and analyze them in order as one session.
pub fn analyze_file(path: String, kind: Kind, bytes: &[u8]) -> Result<FileReport, NotebookError> {
    let mut state = SessionState::new();
    let mut cells = Vec::new();
    match kind {
        Kind::Python => {
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            let bytes = &*crate::encoding::to_utf8(bytes);
            for (index, cell) in split_percent(bytes).into_iter().enumerate() {
                let options = CellOptions {
                    first_line: cell.line,
                    ipython: false,
                    ..CellOptions::default()
                };
                let (source, analysis) = analyze_cell(&bytes[cell.range], &mut state, &options);
                cells.push(CellReport {
                    index,
                    line: cell.line,
                    notebook_position: None,
                    source,
                    analysis,
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
                let analysis = pyrepl3_analyzer::analyze_cell_with(analyzed, &mut state, &options);
                cells.push(CellReport {
                    index,
                    line: 1,
                    notebook_position: Some(cell.position),
                    source: cell.source,
                    analysis,
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
}

impl Summary {
    /// Count a file's cells.
    pub fn add(&mut self, file: &FileReport) {
        self.files += 1;
        for c in &file.cells {
            if let Some(i) = Mode::ALL.iter().position(|m| *m == c.analysis.mode) {
                self.modes[i] += 1;
            }
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
