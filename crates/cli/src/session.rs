//! The session `pyrepl3` runs cells in, behind a small trait so the front ends (`run`, the REPL)
//! do not care where Python lives.
//!
//! Two backends: [`crate::worker_session::Worker`] (the default: Python runs in a `pyrepl3
//! worker` subprocess behind the transport, so a crashing cell cannot take `pyrepl3` down) and
//! [`InProcess`] (the embedded executor of `pyrepl3-executor` in this process, `--in-process`).
//! [`start`] picks one from a [`Backend`] value.
//!
//! Channels: late output goes from Python threads (sync) to the front end's thread (sync) over a
//! crossbeam channel, whose sends never block a Python thread.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use pyrepl3_executor::{ExecOptions, Executor, ExecutorError, InterruptHandle};

/// How a cell ended (the JSONL `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellStatus {
    /// Ran to completion.
    Ok,
    /// Raised, or did not compile.
    Error,
    /// Stopped by `--timeout`.
    Timeout,
    /// Stopped by an interrupt (Ctrl-C).
    Interrupted,
}

impl CellStatus {
    /// The JSONL spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            CellStatus::Ok => "ok",
            CellStatus::Error => "error",
            CellStatus::Timeout => "timeout",
            CellStatus::Interrupted => "interrupted",
        }
    }
}

/// Which stream output was written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// `sys.stdout`.
    Stdout,
    /// `sys.stderr`.
    Stderr,
}

/// An exception that ended a cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    /// The exception's type name, e.g. `ZeroDivisionError`.
    pub type_name: String,
    /// `str()` of the exception.
    pub message: String,
    /// The formatted traceback, as Python prints it.
    pub traceback: String,
}

impl CellError {
    /// The text a person sees for it: the traceback, or `Type: message` when there is none. A
    /// dead worker shows only `WorkerDied: ...`: what it wrote to stderr as it died (e.g.
    /// Python's fatal-error dump, also in the traceback) was already shown as the cell's stderr.
    pub fn shown(&self) -> String {
        let mut text = if self.type_name == "WorkerDied" || self.traceback.trim().is_empty() {
            format!("{}: {}", self.type_name, self.message)
        } else {
            self.traceback.clone()
        };
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text
    }
}

/// What one cell did.
#[derive(Debug, Clone, PartialEq)]
pub struct CellOutcome {
    /// The session's id of this execution (late output names it).
    pub execution_id: u64,
    /// How it ended.
    pub status: CellStatus,
    /// The mode it ran in (`simple_sync`, `top_level_await`, ...).
    pub mode: String,
    /// `repr()` of the trailing expression's value; `None` when there is none, it is `None`,
    /// or a trailing `;` suppresses it.
    pub result: Option<String>,
    /// Everything the cell itself wrote to `sys.stdout`.
    pub stdout: String,
    /// Everything the cell itself wrote to `sys.stderr`.
    pub stderr: String,
    /// The exception, when the status is not `Ok`.
    pub error: Option<CellError>,
    /// Wall-clock time of the execution.
    pub duration: Duration,
}

/// Output of an earlier execution's background work, written while no cell of its own runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateOutput {
    /// The execution that started the writer (`None`: session-level code).
    pub execution_id: Option<u64>,
    /// The stream written to.
    pub stream: Stream,
    /// The text written.
    pub text: String,
}

/// Answers `input()` with a line (without its newline), or `None` for end of input.
pub type InputFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;
/// Sees the running cell's output as it is written.
pub type LiveFn = Arc<dyn Fn(Stream, &str) + Send + Sync>;
/// Interrupts the running cell; `false` when none was running.
pub type InterruptFn = Arc<dyn Fn() -> bool + Send + Sync>;
/// Sees notes about the session itself (e.g. that a fresh worker replaced a dead one), one line
/// each, ending with a newline.
pub type NoticeFn = Arc<dyn Fn(&str) + Send + Sync>;

/// What a front end gives a session when it starts one.
#[derive(Clone, Default)]
pub struct SessionConfig {
    /// Answers `input()` (none: `input()` raises `EOFError`).
    pub input: Option<InputFn>,
    /// Streams the running cell's output (none: output is only in the outcome).
    pub live: Option<LiveFn>,
    /// Notes about the session (none: not shown).
    pub notice: Option<NoticeFn>,
}

/// A failure of the session itself (never of the user's code: that is a [`CellOutcome`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionError(pub String);

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SessionError {}

impl From<ExecutorError> for SessionError {
    fn from(e: ExecutorError) -> Self {
        SessionError(e.to_string())
    }
}

/// One Python session that runs cells in order.
pub trait Session: Send + Sync {
    /// Run one cell; `first_line` is the line of the enclosing file where it starts, so
    /// tracebacks show the file's line numbers.
    fn execute(
        &self,
        source: &str,
        first_line: u32,
        timeout: Option<Duration>,
    ) -> Result<CellOutcome, SessionError>;

    /// A function that interrupts the running cell from any thread (a signal watcher).
    fn interrupter(&self) -> InterruptFn;

    /// Late output: background work of earlier cells, in order. Crossbeam receiver
    /// (sync -> sync); drain it between cells, or from a thread of its own.
    fn late_output(&self) -> Receiver<LateOutput>;

    /// Stop the session (background tasks are cancelled). Idempotent.
    fn shutdown(&self);

    /// Replace the session's Python with a fresh one (all names are forgotten). `Ok(false)`:
    /// this backend cannot; start a new session instead.
    fn restart(&self) -> Result<bool, SessionError> {
        Ok(false)
    }

    /// For a session in this process: the job that serves its blocking cells on Python's main
    /// thread (so Ctrl-C and timeouts break calls like `time.sleep`), to run on the process's
    /// main thread. `None` when the session does not need it (its Python is elsewhere).
    fn main_thread_server(&self) -> Option<MainThreadServer> {
        None
    }
}

/// Serves a session's blocking cells on the main thread (see [`Session::main_thread_server`]).
pub struct MainThreadServer {
    /// Blocks, serving, until the session shuts down.
    pub serve: Box<dyn FnOnce() + Send>,
    /// Whether `serve` has started serving (and installed its signal handler).
    pub ready: Box<dyn Fn() -> bool + Send>,
}

/// Which kind of session to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded executor, in this process.
    InProcess,
    /// A `pyrepl3 worker` subprocess, replaced when it dies.
    Worker {
        /// Checkpoint the namespace before each cell and restore it into the fresh worker after
        /// a crash (off: the fresh worker starts with an empty namespace).
        checkpoint: bool,
        /// Memory and CPU-time limits of the worker process.
        limits: pyrepl3_transport::session::Limits,
    },
}

/// Start a session of the given kind.
pub fn start(backend: Backend, config: SessionConfig) -> Result<Box<dyn Session>, SessionError> {
    match backend {
        Backend::InProcess => Ok(Box::new(InProcess::start(config)?)),
        Backend::Worker { checkpoint, limits } => Ok(Box::new(
            crate::worker_session::Worker::start(config, checkpoint, limits)?,
        )),
    }
}

/// Set once an in-process session started (Python lives in this process).
static IN_PROCESS_STARTED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Whether this process started an in-process session (and so initialised Python).
pub fn in_process_started() -> bool {
    IN_PROCESS_STARTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// The embedded executor as a [`Session`].
pub struct InProcess {
    executor: Arc<Executor>,
    late: Receiver<LateOutput>,
}

impl InProcess {
    /// Start an embedded executor with `config`'s input and live-output hooks.
    pub fn start(config: SessionConfig) -> Result<Self, SessionError> {
        // A loaded machine can take a while to deliver an interrupt to the cell's thread: wait
        // longer than the default before abandoning a cell that has not stopped yet.
        let mut builder = Executor::builder().stop_grace(Duration::from_secs(5));
        if let Some(input) = config.input {
            builder = builder.input_handler(move |req| input(&req.prompt));
        }
        if let Some(live) = config.live {
            builder = builder.live_output(move |ev| live(convert_stream(ev.stream), &ev.text));
        }
        let executor = Arc::new(builder.build()?);
        IN_PROCESS_STARTED.store(true, std::sync::atomic::Ordering::SeqCst);
        // Re-tag the executor's late events as the front end's type on a small forwarding
        // thread (crossbeam -> crossbeam, both sync); it ends when the executor is dropped.
        let (tx, rx): (Sender<LateOutput>, Receiver<LateOutput>) = crossbeam_channel::unbounded();
        let source = executor.late_output();
        std::thread::Builder::new()
            .name("pyrepl3-late".into())
            .spawn(move || {
                for ev in source.iter() {
                    let late = LateOutput {
                        execution_id: ev.execution_id,
                        stream: convert_stream(ev.stream),
                        text: ev.text,
                    };
                    if tx.send(late).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| SessionError(format!("could not start a thread: {e}")))?;
        Ok(Self { executor, late: rx })
    }

    /// The executor (for serving blocking cells on the main thread).
    pub fn executor(&self) -> &Arc<Executor> {
        &self.executor
    }
}

fn convert_stream(s: pyrepl3_executor::Stream) -> Stream {
    match s {
        pyrepl3_executor::Stream::Stdout => Stream::Stdout,
        pyrepl3_executor::Stream::Stderr => Stream::Stderr,
    }
}

impl Session for InProcess {
    fn execute(
        &self,
        source: &str,
        first_line: u32,
        timeout: Option<Duration>,
    ) -> Result<CellOutcome, SessionError> {
        let options = ExecOptions {
            timeout,
            first_line: first_line.max(1),
            ..ExecOptions::default()
        };
        let out = self.executor.execute(source, &options)?;
        use pyrepl3_executor::Status;
        let status = match out.status {
            Status::Ok => CellStatus::Ok,
            Status::Error => CellStatus::Error,
            Status::Timeout => CellStatus::Timeout,
            Status::Interrupted => CellStatus::Interrupted,
        };
        Ok(CellOutcome {
            execution_id: out.execution_id,
            status,
            mode: out.mode.as_str().to_string(),
            result: out.result_repr.clone(),
            stdout: out.stdout(),
            stderr: out.stderr(),
            error: out.error.as_ref().map(|e| CellError {
                type_name: e.type_name.clone(),
                message: e.message.clone(),
                traceback: e.traceback.clone(),
            }),
            duration: out.duration,
        })
    }

    fn interrupter(&self) -> InterruptFn {
        let handle: InterruptHandle = self.executor.interrupt_handle();
        Arc::new(move || handle.interrupt())
    }

    fn late_output(&self) -> Receiver<LateOutput> {
        self.late.clone()
    }

    fn shutdown(&self) {
        self.executor.shutdown();
    }

    fn main_thread_server(&self) -> Option<MainThreadServer> {
        let serving = self.executor.clone();
        let watched = self.executor.clone();
        Some(MainThreadServer {
            serve: Box::new(move || {
                // Err only when this is not Python's main thread: cells then use the pool.
                let _ = serving.serve_blocking_on_this_thread();
            }),
            ready: Box::new(move || watched.main_lane_active()),
        })
    }
}
