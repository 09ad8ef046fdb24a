//! pyrepl3's embedded execution runtime: run Python cells against a persistent session.
//!
//! An [`Executor`] is one session: one namespace dict (globals and locals of every cell), one
//! asyncio event loop on a thread of its own for the session's life, and a fixed pool of worker
//! threads. Each cell is analyzed (pure Rust, `pyrepl3-analyzer`), compiled **whole** by CPython
//! with `PyCF_ALLOW_TOP_LEVEL_AWAIT` before any of it runs, then routed:
//!
//! | compiled code / analyzer mode | runs on |
//! |---|---|
//! | `CO_COROUTINE` set (top-level `await`) | a task on the session loop |
//! | `blocking_sync` | a worker thread, while the loop keeps running |
//! | `simple_sync`, `async_def` | the loop thread |
//!
//! `CO_COROUTINE` on the compiled code is the authority on awaiting; the analyzer's prediction
//! is counted in [`Stats::disagreements`] when it differs.
//!
//! Cells CPython refuses but the analyzer can rewrite (`await` in a plain `def` or `lambda`, and
//! later calls of such functions) run from the analyzer's transformed tree, built into `ast`
//! objects with every position the user's (tracebacks show the user's lines); the rewrites are
//! in [`ExecOutcome::transforms`]. Cells it refuses to rewrite are `SyntaxError` outcomes. When a
//! cell the analyzer accepted fails to compile, the executor falls back to running it wrapped in
//! an `async def` with `global` hoisting ([`Stats::wrapper_fallbacks`]).
//!
//! ```no_run
//! use pyrepl3_executor::{ExecOptions, Executor, Status};
//!
//! let executor = Executor::builder().build()?;
//! executor.execute("import asyncio\nx = 20", &ExecOptions::default())?;
//! let out = executor.execute("await asyncio.sleep(0)\nx * 2 + 2", &ExecOptions::default())?;
//! assert_eq!(out.status, Status::Ok);
//! assert_eq!(out.result_repr.as_deref(), Some("42"));
//! # Ok::<(), pyrepl3_executor::ExecutorError>(())
//! ```
//!
//! Output written to `sys.stdout`/`sys.stderr` is captured and attributed to the execution
//! that produced it (tasks and threads a cell starts inherit its attribution): the cell's own
//! output is in [`ExecOutcome::output`], everything else (background work of earlier cells)
//! arrives on [`Executor::late_output`]. `input()` asks the embedder's [`InputHandler`];
//! `await ainput(prompt)` does so without blocking the loop. Timeouts and interrupts stop a cell
//! in any mode and never land in a later one; errors (any `BaseException`) are data.
//!
//! Python is initialised once per process (pyo3 `auto-initialize`); several executors in one
//! process do not see each other's names or output. The runtime installs process-wide hooks
//! once: `sys.stdout`/`sys.stderr` writers, `builtins.input`, `threading.Thread.start`
//! (attribution), and a fix for `StopIteration` raised in a thread hanging asyncio futures.

mod cache;
mod executor;
mod fd_capture;
mod guard;
mod outcome;
mod port;
mod run;
mod support;
pub mod worker;

pub use executor::{
    ExecOptions, Executor, ExecutorBuilder, ExecutorError, InterruptHandle, LiveOutput,
};
pub use outcome::{ExecError, ExecOutcome, OutputEvent, Stats, Status, Stream};
pub use port::{InputHandler, InputRequest, OutputSink};
pub use pyrepl3_analyzer::Mode;
pub use pyrepl3_namespace::{Changes, Namespace};

/// Run the interpreter's `atexit` handlers (pyo3 never finalises Python, so they only run if
/// the embedder asks). Call once, at process exit, after every executor is shut down.
pub fn run_atexit_handlers() {
    pyo3::Python::attach(|py| {
        if let Ok(atexit) = pyo3::types::PyModule::import(py, "atexit") {
            use pyo3::types::PyAnyMethods;
            let _ = atexit.call_method0("_run_exitfuncs");
        }
    });
}
