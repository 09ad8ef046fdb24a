//! What an execution produces: status, result, error data, output events, and session stats.

use std::collections::BTreeMap;
use std::time::Duration;

use pyo3::prelude::*;
use pyrepl3_analyzer::transform::TransformRecord;
use pyrepl3_analyzer::{CellAnalysis, Mode};
use pyrepl3_namespace::Changes;

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The cell ran to completion.
    Ok,
    /// The cell raised (or did not compile); see [`ExecOutcome::error`].
    Error,
    /// The cell ran past its timeout and was stopped (or abandoned, see the error's notes).
    Timeout,
    /// The cell was interrupted by [`crate::Executor::interrupt`] or an [`crate::InterruptHandle`].
    Interrupted,
}

impl Status {
    /// The snake_case name used in machine-readable output.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
            Status::Timeout => "timeout",
            Status::Interrupted => "interrupted",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which stream a piece of output was written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// `sys.stdout`.
    Stdout,
    /// `sys.stderr`.
    Stderr,
}

/// One write to `sys.stdout` or `sys.stderr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputEvent {
    /// The execution the writing code belongs to (a background task belongs to the cell that
    /// started it); `None` for output of session-level code outside any cell.
    pub execution_id: Option<u64>,
    /// The stream written to.
    pub stream: Stream,
    /// The text written.
    pub text: String,
    /// Position in the session's output order (increasing across both streams).
    pub seq: u64,
}

/// An exception (or compile error) as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecError {
    /// The exception type, qualified by module unless builtin (`ZeroDivisionError`,
    /// `pyrepl3.CellTimeout`, `asyncio.exceptions.CancelledError`).
    pub type_name: String,
    /// `str(exception)` (for a `SyntaxError`, its `msg`).
    pub message: String,
    /// The formatted traceback, naming the user's lines (cells are registered in `linecache`).
    pub traceback: String,
    /// The exception's notes (`add_note`), including the runtime's own.
    pub notes: Vec<String>,
}

/// Everything one execution produced.
#[derive(Debug)]
pub struct ExecOutcome {
    /// The execution's id, unique within the executor, starting at 1.
    pub execution_id: u64,
    /// How it ended.
    pub status: Status,
    /// The mode it ran in: `TopLevelAwait` whenever CPython compiled the cell as a coroutine.
    pub mode: Mode,
    /// The mode the analyzer predicted.
    pub predicted_mode: Mode,
    /// `repr()` of the value of the trailing expression statement, unless the value is `None`,
    /// a trailing `;` suppresses it, or there is no trailing expression.
    pub result_repr: Option<String>,
    /// The value itself (same conditions as [`Self::result_repr`]).
    pub result: Option<Py<PyAny>>,
    /// The error, when [`Self::status`] is not [`Status::Ok`].
    pub error: Option<ExecError>,
    /// The cell's own output, in order (output of background work of earlier cells is not here:
    /// see [`crate::Executor::late_output`]).
    pub output: Vec<OutputEvent>,
    /// Warnings about the execution (for example an un-awaited coroutine as the cell's value).
    pub warnings: Vec<String>,
    /// Wall time from submission to completion.
    pub duration: Duration,
    /// Names the cell added, changed or deleted.
    pub changes: Changes,
    /// The rewrites the code that ran went through, in source order (spans in the user's
    /// cell): the analyzer's transforms (`await` in a plain `def`/`lambda`, `await` inserted
    /// before calls of functions it made async), and `wrap_with_globals` last when the cell
    /// ran through the wrapper fallback. Empty when the cell ran as written.
    pub transforms: Vec<TransformRecord>,
    /// The analyzer's report on the cell (mode prediction and its reasons).
    pub analysis: CellAnalysis,
}

impl ExecOutcome {
    fn collect(&self, stream: Stream) -> String {
        self.output
            .iter()
            .filter(|e| e.stream == stream)
            .map(|e| e.text.as_str())
            .collect()
    }

    /// All the cell's `sys.stdout` output.
    pub fn stdout(&self) -> String {
        self.collect(Stream::Stdout)
    }

    /// All the cell's `sys.stderr` output.
    pub fn stderr(&self) -> String {
        self.collect(Stream::Stderr)
    }

    /// True when the status is [`Status::Ok`].
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }
}

/// Counters of one executor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Executions submitted (including those that did not compile).
    pub executions: u64,
    /// Executions per mode actually run (`syntax_error` for cells that did not compile).
    pub per_mode: BTreeMap<Mode, u64>,
    /// Executions that ended with [`Status::Error`].
    pub errors: u64,
    /// Executions that timed out.
    pub timeouts: u64,
    /// Executions that were interrupted.
    pub interrupts: u64,
    /// Executions abandoned: they did not stop within the grace period after a timeout or
    /// interrupt and were left running on their thread.
    pub abandoned: u64,
    /// Executions of transformed code: cells compiled from the analyzer's transformed tree
    /// (`await` in a plain `def`/`lambda`, or calls of functions it made async) or through the
    /// wrapper fallback.
    pub transforms: u64,
    /// Executions through the wrapper fallback: the direct compile of a cell the analyzer
    /// accepted failed, and the cell compiled wrapped in `async def __pyrepl3_cell__()` with
    /// `global` hoisting.
    pub wrapper_fallbacks: u64,
    /// Executions where CPython's `CO_COROUTINE` disagreed with the analyzer's prediction of
    /// top-level await (CPython is trusted).
    pub disagreements: u64,
    /// Compile cache hits.
    pub cache_hits: u64,
    /// Compile cache misses.
    pub cache_misses: u64,
    /// Sum of execution durations.
    pub total_duration: Duration,
    /// Longest execution.
    pub max_duration: Duration,
}
