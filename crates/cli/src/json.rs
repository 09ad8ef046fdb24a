//! The `--format json` contract (version 1), serialized with serde.
//!
//! The fields of the contract are fixed: `version`, `files[].path`, `files[].cells[]` with
//! `index`, `line`, `mode`, `reasons[]` (`code`, `severity`, `message`, `line`, `column`,
//! `end_line`, `end_column`), `blocking_calls[]` (`name`, `line`, `column`, `via`) and `error`
//! (`null` or `message`, `line`, `column`). Positions are 1-based lines of the file and 1-based
//! character columns (in notebooks, lines count from the start of the cell). Every other field is
//! an addition that consumers may ignore; additions never change the meaning of a contract field.
//!
//! Transforms (issue 3) add, to every cell:
//!
//! * `transforms`: always present, `[]` when the cell runs as written; one entry per rewrite,
//!   in source order (the wrapper last): `kind` (`def_to_async_def`, `lambda_to_async_def`,
//!   `await_inserted`, `wrap_with_globals`), `line` and `column` of the user's construct that was
//!   rewritten (file lines, character columns, like every position here), `end_line`,
//!   `end_column`, and `message`. The same rewrites are also among the `reasons` (PR300-PR303),
//!   with the warnings (PR304) and refusals (PR305) of the transforms.
//! * `transformed_source`: only with `--transform` (or `--wrap`), then on every cell: the code
//!   pyrepl3 runs instead of the cell, or `null` when the cell runs as written or was refused.
//!   Without `--transform` the field is absent.
//!
//! A cell's `mode`, `reasons`, `blocking_calls` and `error` describe the cell as pyrepl3 runs
//! it, that is after its rewrites: a plain `def` that awaits is `async_def` (or
//! `top_level_await` when the cell calls it), not `syntax_error`. A cell whose rewrite would not
//! be sound (PR305) is `syntax_error`.

use serde::Serialize;

use pyrepl3_analyzer::Mode;

use crate::report::{CellReport, FileReport, Summary};

/// The whole document.
#[derive(Debug, Serialize)]
pub struct Output {
    /// Contract version: 1.
    pub version: u32,
    /// Every input file, in command-line order (directories expanded in sorted order).
    pub files: Vec<File>,
    /// Cells per mode (addition).
    pub summary: JsonSummary,
}

/// One input file.
#[derive(Debug, Serialize)]
pub struct File {
    /// The path as given on the command line, or found under a directory given there.
    pub path: String,
    /// `python` or `notebook` (addition).
    pub kind: &'static str,
    /// Why the file could not be analyzed (addition; only present then, with no cells).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The code cells, in order.
    pub cells: Vec<Cell>,
}

/// One cell.
#[derive(Debug, Serialize)]
pub struct Cell {
    /// 0-based index among the file's code cells.
    pub index: usize,
    /// First line of the cell in the file.
    pub line: u32,
    /// Last line of the cell in the file (addition).
    pub end_line: u32,
    /// Position in the notebook's `cells` list, counting every cell type (addition, notebooks only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notebook_cell: Option<usize>,
    /// The execution mode.
    pub mode: &'static str,
    /// Why, in order.
    pub reasons: Vec<Reason>,
    /// Blocking calls on the execution path, in source order.
    pub blocking_calls: Vec<BlockingCall>,
    /// Names bound at module scope, sorted (addition).
    pub bound_names: Vec<String>,
    /// The cell may write names not in `bound_names` (addition).
    pub dynamic_writes: bool,
    /// The cell must run on the event loop's thread (addition).
    pub needs_loop_thread: bool,
    /// Why CPython would refuse the cell, or `null`.
    pub error: Option<Error>,
    /// Every rewrite pyrepl3 makes to run the cell (addition; always present, maybe empty).
    pub transforms: Vec<Transform>,
    /// The code that runs instead of the cell (addition; only with `--transform`, then `null`
    /// for a cell that runs as written or was refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transformed_source: Option<Option<String>>,
}

/// One rewrite.
#[derive(Debug, Serialize)]
pub struct Transform {
    /// `def_to_async_def`, `lambda_to_async_def`, `await_inserted` or `wrap_with_globals`.
    pub kind: &'static str,
    /// Start line of the user's construct that was rewritten.
    pub line: u32,
    /// Start column.
    pub column: u32,
    /// End line (addition).
    pub end_line: u32,
    /// End column, exclusive (addition).
    pub end_column: u32,
    /// What was rewritten and why.
    pub message: String,
}

/// One reason.
#[derive(Debug, Serialize)]
pub struct Reason {
    /// Rule code, e.g. `PR100`.
    pub code: &'static str,
    /// Rule name, e.g. `top-level-await` (addition).
    pub rule: &'static str,
    /// `info`, `warning` or `error`.
    pub severity: &'static str,
    /// One sentence.
    pub message: String,
    /// Start line.
    pub line: u32,
    /// Start column.
    pub column: u32,
    /// End line.
    pub end_line: u32,
    /// End column (exclusive).
    pub end_column: u32,
    /// What to do about it (addition).
    pub help: Option<String>,
    /// Other places that explain this one (addition).
    pub related: Vec<Related>,
}

/// A secondary location of a reason.
#[derive(Debug, Serialize)]
pub struct Related {
    /// What is there.
    pub message: String,
    /// Start line.
    pub line: u32,
    /// Start column.
    pub column: u32,
    /// End line.
    pub end_line: u32,
    /// End column (exclusive).
    pub end_column: u32,
}

/// One blocking call.
#[derive(Debug, Serialize)]
pub struct BlockingCall {
    /// Resolved qualified name, e.g. `time.sleep`.
    pub name: String,
    /// Start line of the call.
    pub line: u32,
    /// Start column of the call.
    pub column: u32,
    /// End line (addition).
    pub end_line: u32,
    /// End column, exclusive (addition).
    pub end_column: u32,
    /// How the name was resolved, e.g. `import time (line 1)`.
    pub via: String,
    /// Code of the blocking rule (family) that matched (addition).
    pub code: &'static str,
}

/// Why CPython refuses a cell.
#[derive(Debug, Serialize)]
pub struct Error {
    /// CPython's exception type, e.g. `SyntaxError` (addition).
    pub kind: String,
    /// CPython's message.
    pub message: String,
    /// Line.
    pub line: u32,
    /// Column.
    pub column: u32,
    /// End line (addition).
    pub end_line: u32,
    /// End column, exclusive (addition).
    pub end_column: u32,
}

/// Cells per mode.
#[derive(Debug, Serialize)]
pub struct JsonSummary {
    /// Files analyzed.
    pub files: usize,
    /// Files that could not be analyzed.
    pub failed_files: usize,
    /// Cells analyzed.
    pub cells: usize,
    /// Cells per mode, every mode present.
    pub modes: std::collections::BTreeMap<&'static str, usize>,
    /// Cells whose `def`s or `lambda`s were rewritten (not counting the wrapper).
    pub transformed: usize,
}

impl From<&Summary> for JsonSummary {
    fn from(s: &Summary) -> Self {
        Self {
            files: s.files,
            failed_files: s.failed,
            cells: s.cells(),
            modes: Mode::ALL
                .iter()
                .map(|m| (m.as_str(), s.count(*m)))
                .collect(),
            transformed: s.transformed,
        }
    }
}

impl Cell {
    /// The JSON form of an analyzed cell; `transformed_source` is included when asked for.
    pub fn new(cell: &CellReport, with_transformed_source: bool) -> Self {
        let a = &cell.analysis;
        let reasons = a
            .reasons
            .iter()
            .map(|r| {
                let (start, end) = cell.range(r.span);
                Reason {
                    code: r.rule.code,
                    rule: r.rule.name,
                    severity: r.severity.as_str(),
                    message: r.message.to_string(),
                    line: start.line,
                    column: start.column,
                    end_line: end.line,
                    end_column: end.column,
                    help: r.help.as_deref().map(str::to_string),
                    related: r
                        .related
                        .iter()
                        .map(|rel| {
                            let (s, e) = cell.range(rel.span);
                            Related {
                                message: rel.message.to_string(),
                                line: s.line,
                                column: s.column,
                                end_line: e.line,
                                end_column: e.column,
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        let blocking_calls = a
            .blocking_calls
            .iter()
            .map(|b| {
                let (start, end) = cell.range(b.span);
                BlockingCall {
                    name: b.name.to_string(),
                    line: start.line,
                    column: start.column,
                    end_line: end.line,
                    end_column: end.column,
                    via: b.via.clone(),
                    code: b.rule.code,
                }
            })
            .collect();
        let error = a.error.as_ref().map(|e| {
            let (start, end) = cell.range(e.span);
            Error {
                kind: e.kind.clone(),
                message: e.message.clone(),
                line: start.line,
                column: start.column,
                end_line: end.line,
                end_column: end.column,
            }
        });
        let transforms = cell
            .transform
            .records
            .iter()
            .map(|t| {
                let (start, end) = cell.range(t.span);
                Transform {
                    kind: t.kind.as_str(),
                    line: start.line,
                    column: start.column,
                    end_line: end.line,
                    end_column: end.column,
                    message: t.message.clone(),
                }
            })
            .collect();
        Cell {
            index: cell.index,
            line: cell.line,
            end_line: cell.end_line(),
            notebook_cell: cell.notebook_position,
            mode: a.mode.as_str(),
            reasons,
            blocking_calls,
            bound_names: a.bound_names.iter().map(|n| n.to_string()).collect(),
            dynamic_writes: a.dynamic_writes,
            needs_loop_thread: a.needs_loop_thread,
            error,
            transforms,
            transformed_source: with_transformed_source.then(|| cell.transform.source.clone()),
        }
    }
}

impl File {
    /// The JSON form of an analyzed file, without `transformed_source`.
    pub fn new(file: &FileReport) -> Self {
        Self::with(file, false)
    }

    /// The JSON form of an analyzed file; `with_transformed_source` as with `--transform`.
    pub fn with(file: &FileReport, with_transformed_source: bool) -> Self {
        Self {
            path: file.path.clone(),
            kind: file.kind.as_str(),
            error: None,
            cells: file
                .cells
                .iter()
                .map(|c| Cell::new(c, with_transformed_source))
                .collect(),
        }
    }

    /// A file that could not be analyzed.
    pub fn failed(path: String, kind: &'static str, error: String) -> Self {
        Self {
            path,
            kind,
            error: Some(error),
            cells: Vec::new(),
        }
    }
}
