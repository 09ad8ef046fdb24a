//! The executor of one session: its event-loop thread, its worker threads, and `execute`.
//!
//! Threads of a session:
//! - the **loop thread** runs the session's asyncio loop for the session's life
//!   (`run_forever`, restarted if a callback lets a `BaseException` escape);
//! - **worker threads** (a fixed pool created with the session) run `blocking_sync` cells, so the
//!   loop keeps running while they block;
//! - the **embedder's thread** calling [`Executor::execute`] analyzes and compiles the cell,
//!   hands it to the loop or a worker, and waits for its completion without holding the GIL.
//!
//! Cells of one session run one at a time (`execute` serialises them); background tasks and
//! threads they start keep running between and during later cells.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule, PyTuple};
use pyrepl3_analyzer::transform::{TransformOptions, transform_cell};
use pyrepl3_analyzer::{
    BoundName, CellAnalysis, CellOptions, Mode, SessionState, Transformed, analyze_cell_with, pyast,
};
use pyrepl3_namespace::{Changes, Namespace};

use crate::cache::{CompileCache, Compiled, Wrapped};
use crate::guard::{CellGuard, StopReason, set_main_lane, thread_ident};
use crate::outcome::{ExecError, ExecOutcome, OutputEvent, Stats, Status};
use crate::port::{InputHandler, InputRequest, LateSink, OutputSink, Port, Router};
use crate::run::{CellCoroutine, CellMsg, CellRun, Done, SyncRunner, run_on_main_lane, run_sync};
use crate::support::support;

/// Errors of the executor itself (never of the user's code: those are [`ExecOutcome`] data).
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// Python failed while the runtime set something up.
    #[error("Python error in the pyrepl3 runtime: {0}")]
    Python(String),
    /// The executor was shut down.
    #[error("the executor is shut down")]
    ShutDown,
    /// [`Executor::serve_blocking_on_this_thread`] was called on another thread than Python's
    /// main thread.
    #[error("blocking cells can only be served on Python's main thread")]
    NotMainThread,
    /// The blocking task running an execution failed (`execute_async`).
    #[error("the execution task failed: {0}")]
    Join(String),
    /// A thread could not be started.
    #[error("could not start a thread: {0}")]
    Thread(#[from] std::io::Error),
}

impl From<PyErr> for ExecutorError {
    fn from(e: PyErr) -> Self {
        ExecutorError::Python(e.to_string())
    }
}

/// Options of one execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOptions {
    /// Timeout of this execution; overrides the executor's.
    pub timeout: Option<Duration>,
    /// Run a cell that CPython does not compile as a coroutine in this mode instead of the
    /// analyzer's (`BlockingSync`: a worker thread; `SimpleSync`/`AsyncDef`: the loop thread).
    /// Coroutine cells always run as tasks on the loop: `CO_COROUTINE` decides.
    pub force_mode: Option<Mode>,
    /// The line of the enclosing file where the cell starts (1-based): tracebacks and
    /// analyzer messages use file lines.
    pub first_line: u32,
}

impl Default for ExecOptions {
    fn default() -> Self {
        Self {
            timeout: None,
            force_mode: None,
            first_line: 1,
        }
    }
}

impl ExecOptions {
    /// Options with a timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            timeout: Some(timeout),
            ..Self::default()
        }
    }

    /// Options forcing a mode (see [`Self::force_mode`]).
    pub fn forced(mode: Mode) -> Self {
        Self {
            force_mode: Some(mode),
            ..Self::default()
        }
    }
}

/// Configures and builds an [`Executor`].
pub struct ExecutorBuilder {
    timeout: Option<Duration>,
    worker_threads: usize,
    cache_size: usize,
    stop_grace: Duration,
    input: Option<InputHandler>,
    late_tokio: Option<tokio::sync::mpsc::UnboundedSender<OutputEvent>>,
    switch_interval: Option<Duration>,
    live: Option<LiveOutput>,
    always_wrap: bool,
    sink: Option<OutputSink>,
}

/// Sees each output event of the running cell as it arrives (see [`ExecutorBuilder::live_output`]).
pub type LiveOutput = Arc<dyn Fn(&OutputEvent) + Send + Sync>;

impl Default for ExecutorBuilder {
    fn default() -> Self {
        Self {
            timeout: None,
            worker_threads: 4,
            cache_size: 256,
            stop_grace: Duration::from_secs(2),
            input: None,
            late_tokio: None,
            switch_interval: Some(Duration::from_millis(1)),
            live: None,
            always_wrap: false,
            sink: None,
        }
    }
}

impl ExecutorBuilder {
    /// Default timeout of every execution (none by default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Number of worker threads for blocking cells (at least 1; default 4).
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = n.max(1);
        self
    }

    /// Capacity of the compile cache (0 disables it; default 256).
    pub fn cache_size(mut self, n: usize) -> Self {
        self.cache_size = n;
        self
    }

    /// How long to wait for a cell to stop after a timeout or interrupt before abandoning it
    /// (default 2 s). A blocking C call (such as `time.sleep`) on a non-main thread cannot be
    /// broken by CPython 3.11; such a cell is abandoned and keeps its thread until it returns.
    pub fn stop_grace(mut self, grace: Duration) -> Self {
        self.stop_grace = grace;
        self
    }

    /// Answer `input()` and `ainput()` with `handler` (default: refuse, the cell gets `EOFError`).
    pub fn input_handler<F>(mut self, handler: F) -> Self
    where
        F: Fn(InputRequest) -> Option<String> + Send + Sync + 'static,
    {
        self.input = Some(Arc::new(handler));
        self
    }

    /// Send late output (see [`Executor::late_output`]) to a tokio channel instead, for async
    /// embedders. Tokio unbounded mpsc (sync -> async): Python threads send without blocking.
    pub fn late_output_to(mut self, tx: tokio::sync::mpsc::UnboundedSender<OutputEvent>) -> Self {
        self.late_tokio = Some(tx);
        self
    }

    /// Set CPython's thread switch interval (`sys.setswitchinterval`, process-wide) when the
    /// executor is built; `None` leaves it alone. Default 1 ms (CPython's default is 5 ms): a
    /// stop request needs the GIL from a cell that holds it, and the event loop competes for it
    /// with CPU-bound worker cells, so a shorter interval halves interrupt latency and loop
    /// lateness at a small cost in throughput for CPU-bound threads.
    pub fn switch_interval(mut self, interval: Option<Duration>) -> Self {
        self.switch_interval = interval;
        self
    }

    /// Also show each output event of the running cell to `f` as it is written, in order, before
    /// the cell completes (an interactive front end streams output this way). `f` runs on the
    /// thread that wrote (holding the GIL, under the output router's lock, so in order with
    /// everything else the cell does, e.g. an `input()` prompt that follows): it must be quick
    /// and must not call into Python. The events are still collected in
    /// [`ExecOutcome::output`].
    pub fn live_output<F>(mut self, f: F) -> Self
    where
        F: Fn(&OutputEvent) + Send + Sync + 'static,
    {
        self.live = Some(Arc::new(f));
        self
    }

    /// Test hook: compile every cell that the analyzer does not predict as a syntax error
    /// through the wrapper fallback (`async def __pyrepl3_cell__()` with `global` hoisting)
    /// instead of directly, as if its direct compile had failed. Cells the wrapper cannot take
    /// still compile directly. For tests comparing both paths; not for production use.
    #[doc(hidden)]
    pub fn always_wrap(mut self, on: bool) -> Self {
        self.always_wrap = on;
        self
    }

    /// Stream every output event (the running cell's and late output alike) to `sink` as it is
    /// written, in order, instead of collecting it: [`ExecOutcome::output`] stays empty and
    /// [`Executor::late_output`] gets nothing. `sink` is called on the writing thread without the
    /// GIL and may block, which holds the writer back (bounded memory under an output flood).
    /// All of a cell's own output has been passed to `sink` before `execute` returns.
    pub fn output_sink<F>(mut self, sink: F) -> Self
    where
        F: Fn(OutputEvent) + Send + Sync + 'static,
    {
        self.sink = Some(Arc::new(sink));
        self
    }

    /// Start the session: namespace, event-loop thread and worker threads. Initialises Python
    /// if needed. Call it without holding the GIL or while holding it: both work.
    pub fn build(self) -> Result<Executor, ExecutorError> {
        Python::attach(|py| Executor::start(py, self))
    }
}

/// State shared by the executor, its threads and the cells in flight.
pub(crate) struct Shared {
    pub(crate) ns: Namespace,
    pub(crate) event_loop: Py<PyAny>,
    pub(crate) port: Py<Port>,
    pub(crate) router: Arc<Router>,
    /// The session's `contextvars.Context` (replaced by each completed cell's context, which is
    /// a copy of it with the cell's changes).
    pub(crate) ctx: Mutex<Py<PyAny>>,
    current: Mutex<Current>,
}

/// The execution in progress, for interrupts.
#[derive(Default)]
struct Current {
    /// An `execute` call is in progress.
    executing: bool,
    /// Its cell, once submitted.
    run: Option<Arc<CellRun>>,
    /// An interrupt arrived before the cell was submitted: it applies to this cell only.
    pending: bool,
}

impl Shared {
    fn interrupt(&self) -> bool {
        let run = {
            let mut current = lock(&self.current);
            match &current.run {
                Some(run) => run.clone(),
                None if current.executing => {
                    current.pending = true;
                    return true;
                }
                None => return false,
            }
        };
        // Outside the lock: `request` takes the GIL, and the submitting thread holds the GIL
        // while it takes this lock.
        run.guard.request(StopReason::Interrupt)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Cell-serial state: held for the whole of one `execute`.
struct Serial {
    analyzer: SessionState,
    cache: CompileCache,
    future_flags: i64,
    next_id: u64,
    /// This executor's number in the process (1 for the first), for cell filenames.
    session: u64,
}

/// Executors made so far in this process. `linecache`, where tracebacks find a cell's lines,
/// is one per process: a second executor's cells need filenames of their own, or a traceback
/// through a function of one session would show another session's line.
static SESSIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The filename cell `id` of executor `session` compiles under: `<cell-3>` in the process's
/// first executor, `<cell-3@2>` in its second.
fn cell_filename(session: u64, id: u64) -> String {
    if session <= 1 {
        format!("<cell-{id}>")
    } else {
        format!("<cell-{id}@{session}>")
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Stack of the loop and worker threads: user code recursing through C (repr, json, pickle of
/// deep structures) needs what CPython's own threads get (8 MiB), not Rust's 2 MiB default.
const THREAD_STACK: usize = 16 * 1024 * 1024;

/// `CO_COROUTINE`: the code object is a coroutine (CPython's `inspect.CO_COROUTINE`).
const CO_COROUTINE: i64 = 0x80;

/// Interrupts the running cell of an executor from any thread.
#[derive(Clone)]
pub struct InterruptHandle {
    shared: Arc<Shared>,
}

impl InterruptHandle {
    /// Interrupt the running cell, if any: async cells are cancelled, sync cells get
    /// `KeyboardInterrupt`. An interrupt that arrives while `execute` is analyzing or compiling
    /// the cell stops it before it starts. Returns false when no `execute` is in progress (or its
    /// cell already finished): nothing is remembered for later cells.
    pub fn interrupt(&self) -> bool {
        self.shared.interrupt()
    }
}

/// A running session: one namespace, one event loop, one worker pool.
pub struct Executor {
    shared: Arc<Shared>,
    serial: Mutex<Serial>,
    stats: Mutex<Stats>,
    default_timeout: Option<Duration>,
    stop_grace: Duration,
    /// Blocking cells for the worker pool. Crossbeam (sync -> sync): the submitter is the
    /// embedder's thread, the workers plain threads.
    jobs: Mutex<Option<Sender<Job>>>,
    /// Blocking cells for the main lane while one serves (crossbeam, sync -> sync).
    main_lane: Mutex<Option<Sender<Job>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    loop_thread: Mutex<Option<(JoinHandle<()>, Receiver<()>)>>,
    shutting_down: Arc<AtomicBool>,
    late: Receiver<OutputEvent>,
    always_wrap: bool,
}

/// What the loop thread reports once its loop exists.
type LoopReady = Result<Py<PyAny>, String>;

impl Executor {
    /// A builder with the default configuration.
    pub fn builder() -> ExecutorBuilder {
        ExecutorBuilder::default()
    }

    fn start(py: Python<'_>, config: ExecutorBuilder) -> Result<Executor, ExecutorError> {
        let sup = support(py)?;
        if let Some(interval) = config.switch_interval {
            PyModule::import(py, "sys")?
                .call_method1("setswitchinterval", (interval.as_secs_f64().max(1e-6),))?;
        }
        let (late_tx, late_rx) = crossbeam_channel::unbounded();
        let sink = match config.late_tokio.clone() {
            Some(tx) => LateSink::Tokio(tx),
            None => LateSink::Crossbeam(late_tx),
        };
        let router = Arc::new(Router::new(sink, config.live, config.sink.clone()));
        let port = Py::new(
            py,
            Port {
                router: router.clone(),
                input: config.input.clone(),
            },
        )?;
        let ns = Namespace::new(py)?;
        ns.install(py, "ainput", sup.ainput.bind(py))?;
        let ctx = sup.base_context.bind(py).call1((port.bind(py),))?.unbind();

        let shutting_down = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = crossbeam_channel::bounded::<LoopReady>(1);
        let (ended_tx, ended_rx) = crossbeam_channel::bounded::<()>(1);
        let loop_port = port.clone_ref(py);
        let loop_ctx = ctx.clone_ref(py);
        let stop = shutting_down.clone();
        let grace = config.stop_grace;
        let handle = std::thread::Builder::new()
            .name("pyrepl3-loop".into())
            .stack_size(THREAD_STACK)
            .spawn(move || {
                Python::attach(|py| loop_thread(py, loop_port, loop_ctx, stop, grace, ready_tx));
                drop(ended_tx);
            })?;
        // The loop thread needs the GIL to start: wait without it.
        let ready = py.detach(|| ready_rx.recv());
        let event_loop = match ready {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => return Err(ExecutorError::Python(e)),
            Err(_) => return Err(ExecutorError::Python("the loop thread died".into())),
        };

        let shared = Arc::new(Shared {
            ns,
            event_loop,
            port,
            router,
            ctx: Mutex::new(ctx),
            current: Mutex::new(Current::default()),
        });
        let (job_tx, job_rx) = crossbeam_channel::unbounded::<Job>();
        let mut workers = Vec::new();
        for i in 0..config.worker_threads {
            let rx = job_rx.clone();
            let worker_port = shared.port.clone_ref(py);
            workers.push(
                std::thread::Builder::new()
                    .name(format!("pyrepl3-worker-{i}"))
                    .stack_size(THREAD_STACK)
                    .spawn(move || {
                        Python::attach(|py| {
                            if let Ok(sup) = support(py) {
                                let _ = sup
                                    .enter_session_thread
                                    .bind(py)
                                    .call1((worker_port.bind(py), format!("pyrepl3-worker-{i}")));
                            }
                        });
                        for job in rx.iter() {
                            job();
                        }
                    })?,
            );
        }
        Ok(Executor {
            shared,
            serial: Mutex::new(Serial {
                analyzer: SessionState::new(),
                cache: CompileCache::new(config.cache_size),
                future_flags: 0,
                next_id: 0,
                session: SESSIONS.fetch_add(1, Ordering::Relaxed) + 1,
            }),
            stats: Mutex::new(Stats::default()),
            default_timeout: config.timeout,
            stop_grace: config.stop_grace,
            jobs: Mutex::new(Some(job_tx)),
            main_lane: Mutex::new(None),
            workers: Mutex::new(workers),
            loop_thread: Mutex::new(Some((handle, ended_rx))),
            shutting_down,
            late: late_rx,
            always_wrap: config.always_wrap,
        })
    }

    /// The session's namespace (its dict is the globals and locals of every cell).
    pub fn namespace(&self) -> &Namespace {
        &self.shared.ns
    }

    /// The session's event loop.
    pub fn event_loop<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.shared.event_loop.bind(py).clone()
    }

    /// Output that does not belong to the running cell, in order: background tasks and threads
    /// of earlier cells (tagged with the cell that started them) and session-level output.
    /// (Empty when the builder sent late output to a tokio channel instead.)
    /// Crossbeam receiver (sync -> sync): the senders are Python threads that must never block;
    /// it can be handed to any thread. Unbounded: drain it.
    pub fn late_output(&self) -> Receiver<OutputEvent> {
        self.late.clone()
    }

    /// A handle to interrupt this executor's running cell from another thread.
    pub fn interrupt_handle(&self) -> InterruptHandle {
        InterruptHandle {
            shared: self.shared.clone(),
        }
    }

    /// Interrupt the running cell, if any (see [`InterruptHandle::interrupt`]).
    pub fn interrupt(&self) -> bool {
        self.shared.interrupt()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    /// Unfinished asyncio tasks on the session loop (background tasks of cells).
    pub fn pending_tasks(&self) -> usize {
        Python::attach(|py| {
            support(py)
                .and_then(|s| {
                    s.pending_tasks
                        .bind(py)
                        .call1((self.shared.event_loop.bind(py),))?
                        .extract()
                })
                .unwrap_or(0)
        })
    }

    /// A checkpoint of the namespace (see [`Namespace::checkpoint`]).
    pub fn checkpoint(&self) -> Result<pyrepl3_namespace::Checkpoint, ExecutorError> {
        Ok(Python::attach(|py| self.shared.ns.checkpoint(py))?)
    }

    /// Number of compiled cells in the compile cache.
    pub fn cached_cells(&self) -> usize {
        lock(&self.serial).cache.len()
    }

    /// [`Self::execute`] for async code.
    pub async fn execute_async(
        self: &Arc<Self>,
        source: String,
        options: ExecOptions,
    ) -> Result<ExecOutcome, ExecutorError> {
        let executor = self.clone();
        // `execute` blocks its thread until the cell completes (it takes the GIL to compile
        // and then waits on a crossbeam channel): it must not run on the runtime's async
        // worker threads, so it goes to tokio's blocking pool.
        tokio::task::spawn_blocking(move || executor.execute(&source, &options))
            .await
            .map_err(|e| ExecutorError::Join(e.to_string()))?
    }

    /// Run one cell and wait for it. Errors of the cell (including syntax errors, timeouts and
    /// interrupts) are data in the outcome; `Err` only when the executor cannot run cells.
    ///
    /// Blocks the calling thread (without holding the GIL) until the cell completes, times out
    /// or is abandoned. From async code, call it through `spawn_blocking` or a dedicated thread.
    pub fn execute(
        &self,
        source: &str,
        options: &ExecOptions,
    ) -> Result<ExecOutcome, ExecutorError> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(ExecutorError::ShutDown);
        }
        let mut serial = lock(&self.serial);
        *lock(&self.shared.current) = Current {
            executing: true,
            ..Current::default()
        };
        serial.next_id += 1;
        let id = serial.next_id;
        let started = Instant::now();
        let analysis = analyze_cell_with(
            source,
            &mut serial.analyzer,
            &CellOptions {
                first_line: options.first_line.max(1),
                ipython: false,
                transform: true,
            },
        );
        let timeout = options.timeout.or(self.default_timeout);
        let (tx, rx) = crossbeam_channel::unbounded::<CellMsg>();
        let submitted = Python::attach(|py| {
            self.submit(
                py,
                &mut serial,
                id,
                source,
                options,
                &analysis,
                tx,
                started,
                timeout,
            )
        });
        let submitted = match submitted {
            Ok(s) => s,
            Err(e) => {
                *lock(&self.shared.current) = Current::default();
                return Err(e);
            }
        };
        let (run, facts) = match submitted {
            Submitted::Immediate(outcome, facts) => {
                *lock(&self.shared.current) = Current::default();
                self.count(&outcome, &facts, false);
                return Ok(*outcome);
            }
            Submitted::Running(run, facts) => (run, facts),
        };
        // Wait without the GIL (whether or not the caller holds it): the cell needs it.
        let waited = Python::attach(|py| py.detach(|| self.wait(&run, &rx, started, timeout)));
        *lock(&self.shared.current) = Current::default();
        self.shared.router.end(id);
        let duration = started.elapsed();
        let (done, output, abandoned) = match waited {
            Waited::Done(done, output) => (*done, output, false),
            Waited::Abandoned(output) => (self.abandoned(&run, duration), output, true),
        };
        let mut warnings = facts.warnings.clone();
        warnings.extend(done.warnings);
        let outcome = ExecOutcome {
            execution_id: id,
            status: done.status,
            mode: run.mode,
            predicted_mode: analysis.mode,
            result_repr: done.result_repr,
            result: done.result,
            error: done.error,
            output,
            warnings,
            duration,
            changes: done.changes,
            transforms: facts.transforms.clone(),
            analysis,
        };
        drop(serial);
        self.count(&outcome, &facts, abandoned);
        Ok(outcome)
    }

    #[allow(clippy::too_many_arguments)]
    fn submit(
        &self,
        py: Python<'_>,
        serial: &mut Serial,
        id: u64,
        source: &str,
        options: &ExecOptions,
        analysis: &CellAnalysis,
        tx: Sender<CellMsg>,
        started: Instant,
        timeout: Option<Duration>,
    ) -> Result<Submitted, ExecutorError> {
        let sup = support(py)?;
        let first_line = options.first_line.max(1);
        let flags = serial.future_flags;
        let filename = cell_filename(serial.session, id);
        if let Some(outcome) = refused(py, id, source, &filename, first_line, analysis, started)? {
            return Ok(Submitted::Immediate(Box::new(outcome), Facts::default()));
        }
        let transformed_text = analysis.transform.as_ref().map(|t| t.source.as_str());
        let mut cache_hit = true;
        let compiled = match serial
            .cache
            .get(py, source, transformed_text, first_line, flags)
        {
            Some(c) => c,
            None => {
                cache_hit = false;
                let predicted_ok = analysis.mode != Mode::SyntaxError;
                let forced = (self.always_wrap && predicted_ok)
                    .then(|| {
                        compile_wrapped(
                            py,
                            serial.analyzer.clone(),
                            source,
                            &filename,
                            first_line,
                            flags,
                            analysis,
                            "forced by the executor's always_wrap test hook".into(),
                        )
                    })
                    .flatten()
                    .and_then(Result::ok);
                let compiled = match forced {
                    Some(c) => Ok(c),
                    None => {
                        match compile_direct(py, source, &filename, first_line, flags, analysis) {
                            // The analyzer said CPython accepts this cell, yet compiling it failed:
                            // the wrapper is the second path. If it fails too, the direct error
                            // stands.
                            Err(e) if predicted_ok => {
                                let reason = format!("the direct compile failed: {e}");
                                match compile_wrapped(
                                    py,
                                    serial.analyzer.clone(),
                                    source,
                                    &filename,
                                    first_line,
                                    flags,
                                    analysis,
                                    reason,
                                ) {
                                    Some(Ok(c)) => Ok(c),
                                    _ => Err(e),
                                }
                            }
                            other => other,
                        }
                    }
                };
                match compiled {
                    Ok(c) => {
                        serial.cache.insert(
                            source,
                            transformed_text,
                            first_line,
                            flags,
                            c.clone_ref(py),
                        );
                        c
                    }
                    Err(e) => {
                        let (type_name, message, traceback, notes): (
                            String,
                            String,
                            String,
                            Vec<String>,
                        ) = sup
                            .describe_error
                            .bind(py)
                            .call1((e.into_value(py), Vec::<String>::new(), true))?
                            .extract()?;
                        let outcome = not_compiled(
                            id,
                            analysis,
                            ExecError {
                                type_name,
                                message,
                                traceback,
                                notes,
                            },
                            started,
                        );
                        let facts = Facts {
                            disagreement: analysis.mode != Mode::SyntaxError,
                            ..Facts::default()
                        };
                        return Ok(Submitted::Immediate(Box::new(outcome), facts));
                    }
                }
            }
        };
        serial.future_flags = compiled.flags;
        let mut facts = Facts {
            cache_hit,
            transformed: compiled.transformed,
            wrapped: compiled.wrapped.is_some(),
            ..Facts::default()
        };
        match &compiled.wrapped {
            Some(w) => {
                facts.transforms = w.records.clone();
                facts.warnings.push(format!(
                    "pyrepl3 ran this cell through the wrapper fallback (`async def {}()` with \
                     `global` hoisting): {}",
                    pyrepl3_analyzer::transform::WRAPPER_NAME,
                    w.reason
                ));
            }
            None => {
                if let Some(t) = &analysis.transform {
                    facts.transforms = t.records.clone();
                }
            }
        }

        // CO_COROUTINE is the authority on awaiting; count where the analyzer thought otherwise.
        let predicted = analysis.mode;
        facts.disagreement = predicted == Mode::SyntaxError
            || (predicted == Mode::TopLevelAwait) != compiled.is_coroutine;
        let mode = if compiled.is_coroutine {
            Mode::TopLevelAwait
        } else {
            match options.force_mode.unwrap_or(predicted) {
                Mode::BlockingSync => Mode::BlockingSync,
                Mode::AsyncDef => Mode::AsyncDef,
                _ => Mode::SimpleSync,
            }
        };

        let names = analysis
            .bound_names
            .iter()
            .map(BoundName::as_str)
            .chain(compiled.names.iter().map(String::as_str));
        let tracker =
            self.shared
                .ns
                .track(py, names, analysis.dynamic_writes || compiled.dynamic)?;
        // Classes and functions defined in cells live in `__main__` (pickle looks them up there).
        self.shared.ns.install_as_main(py)?;
        let base_ctx = lock(&self.shared.ctx).clone_ref(py);
        let ctx = sup
            .new_context
            .bind(py)
            .call1((base_ctx, self.shared.port.bind(py), id))?
            .unbind();
        let run = Arc::new(CellRun {
            id,
            mode,
            code: compiled.code,
            expr: compiled.expr,
            note: compiled.note,
            wrapped: compiled.wrapped.as_ref().map(|w| w.keep_value),
            ctx,
            guard: CellGuard::new(tx.clone()),
            shared: self.shared.clone(),
            tracker: Mutex::new(Some(tracker)),
            started,
            timeout,
        });
        self.shared.router.begin(id, tx);
        let pending = {
            let mut current = lock(&self.shared.current);
            current.run = Some(run.clone());
            std::mem::take(&mut current.pending)
        };
        if pending {
            // Interrupted before it was submitted: it will stop before it starts.
            run.guard.request(StopReason::Interrupt);
        }
        let event_loop = self.shared.event_loop.bind(py);
        let submitted: PyResult<()> = (|| match mode {
            Mode::TopLevelAwait => {
                // Creating the coroutine runs none of the cell.
                let coro = match &run.expr {
                    _ if run.wrapped.is_some() => sup
                        .run_wrapped_async
                        .bind(py)
                        .call1((run.code.bind(py), self.shared.ns.dict(py)))?,
                    Some(expr) => sup.run_cell_async.bind(py).call1((
                        run.code.bind(py),
                        expr.bind(py),
                        self.shared.ns.dict(py),
                    ))?,
                    None => sup
                        .eval
                        .bind(py)
                        .call1((run.code.bind(py), self.shared.ns.dict(py)))?,
                };
                let wrapper = Py::new(
                    py,
                    CellCoroutine {
                        run: run.clone(),
                        inner: coro.unbind(),
                        cancel_thrown: AtomicBool::new(false),
                    },
                )?;
                let kwargs = PyDict::new(py);
                kwargs.set_item("context", run.ctx.bind(py))?;
                let start = sup.partial.bind(py).call(
                    PyTuple::new(
                        py,
                        [
                            event_loop.getattr("create_task")?,
                            wrapper.into_bound(py).into_any(),
                        ],
                    )?,
                    Some(&kwargs),
                )?;
                event_loop.call_method1("call_soon_threadsafe", (start,))?;
                Ok(())
            }
            Mode::BlockingSync => {
                let job_run = run.clone();
                let lane = lock(&self.main_lane).clone();
                let sent = match lane {
                    Some(lane) => {
                        let job: Job = Box::new(move || run_on_main_lane(&job_run));
                        Some(lane.send(job).is_ok())
                    }
                    None => {
                        let job: Job =
                            Box::new(move || Python::attach(|py| run_sync(py, &job_run)));
                        lock(&self.jobs).as_ref().map(|tx| tx.send(job).is_ok())
                    }
                };
                if sent != Some(true) {
                    return Err(pyo3::exceptions::PyRuntimeError::new_err(
                        "the worker pool is shut down",
                    ));
                }
                Ok(())
            }
            _ => {
                let runner = Py::new(py, SyncRunner { run: run.clone() })?;
                // The callback's own context: a copy of the cell's (the runner enters the cell's
                // context itself, and a context cannot be entered twice), so output of
                // finalizers running around the cell is still the cell's.
                let kwargs = PyDict::new(py);
                kwargs.set_item("context", run.ctx.bind(py).call_method0("copy")?)?;
                event_loop.call_method("call_soon_threadsafe", (runner,), Some(&kwargs))?;
                Ok(())
            }
        })();
        if let Err(e) = submitted {
            *lock(&self.shared.current) = Current::default();
            self.shared.router.end(id);
            return Err(e.into());
        }
        Ok(Submitted::Running(run, facts))
    }

    fn wait(
        &self,
        run: &Arc<CellRun>,
        rx: &Receiver<CellMsg>,
        started: Instant,
        timeout: Option<Duration>,
    ) -> Waited {
        let mut output = Vec::new();
        let mut timeout_at = timeout.map(|t| started + t);
        let mut give_up_at: Option<Instant> = None;
        loop {
            let deadline = [timeout_at, give_up_at].into_iter().flatten().min();
            let msg = match deadline {
                Some(d) => rx.recv_deadline(d),
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match msg {
                Ok(CellMsg::Output(ev)) => output.push(ev),
                Ok(CellMsg::Done(done)) => return Waited::Done(done, output),
                Ok(CellMsg::Wake) => {
                    give_up_at.get_or_insert_with(|| Instant::now() + self.stop_grace);
                }
                Err(RecvTimeoutError::Timeout) => {
                    let now = Instant::now();
                    if timeout_at.is_some_and(|t| now >= t) {
                        timeout_at = None;
                        run.guard.request(StopReason::Timeout);
                        give_up_at.get_or_insert(now + self.stop_grace);
                    } else if give_up_at.is_some_and(|g| now >= g) {
                        if run.guard.abandon() {
                            return Waited::Abandoned(output);
                        }
                        // It finished meanwhile: its completion is on the way.
                        give_up_at = None;
                    }
                }
                // Never happens while `run` holds a sender; treat as abandoned.
                Err(RecvTimeoutError::Disconnected) => {
                    run.guard.abandon();
                    return Waited::Abandoned(output);
                }
            }
        }
    }

    fn abandoned(&self, run: &Arc<CellRun>, duration: Duration) -> Done {
        let reason = run.guard.requested().unwrap_or(StopReason::Interrupt);
        let (status, type_name, what) = match reason {
            StopReason::Timeout => (Status::Timeout, "pyrepl3.CellTimeout", "timeout"),
            StopReason::Interrupt => (Status::Interrupted, "KeyboardInterrupt", "interrupt"),
        };
        let where_ = match run.mode {
            Mode::BlockingSync => "a worker thread",
            _ => "the event loop's thread",
        };
        let message = format!(
            "execution {} did not stop within {:.3}s after the {what}; it was abandoned and may \
             still be running on {where_}",
            run.id,
            self.stop_grace.as_secs_f64()
        );
        let notes = vec![format!(
            "pyrepl3: execution {} {what} after {:.3}s (mode {}); CPython 3.11 cannot break a \
             blocking C call on a non-main thread",
            run.id,
            duration.as_secs_f64(),
            run.mode
        )];
        Done {
            status,
            result: None,
            result_repr: None,
            error: Some(ExecError {
                type_name: type_name.into(),
                message: message.clone(),
                traceback: format!("{type_name}: {message}\n"),
                notes,
            }),
            warnings: Vec::new(),
            changes: Changes::default(),
        }
    }

    fn count(&self, outcome: &ExecOutcome, facts: &Facts, abandoned: bool) {
        let mut s = lock(&self.stats);
        s.executions += 1;
        *s.per_mode.entry(outcome.mode).or_default() += 1;
        match outcome.status {
            Status::Ok => {}
            Status::Error => s.errors += 1,
            Status::Timeout => s.timeouts += 1,
            Status::Interrupted => s.interrupts += 1,
        }
        if abandoned {
            s.abandoned += 1;
        }
        if facts.disagreement {
            s.disagreements += 1;
        }
        if facts.transformed {
            s.transforms += 1;
        }
        if facts.wrapped {
            s.wrapper_fallbacks += 1;
        }
        if facts.cache_hit {
            s.cache_hits += 1;
        } else {
            s.cache_misses += 1;
        }
        s.total_duration += outcome.duration;
        s.max_duration = s.max_duration.max(outcome.duration);
    }

    /// Serve this session's blocking cells on the calling thread, which must be Python's main
    /// thread (the thread that initialised Python), until [`Self::shutdown`]. While it serves,
    /// blocking cells run here instead of the worker pool, and a timeout or interrupt also
    /// sends SIGINT to this thread, which breaks blocking calls such as `time.sleep` (CPython
    /// 3.11 cannot break them on other threads). Installs a SIGINT handler that raises only for
    /// a cell with a pending stop request, so no signal ever lands in a later cell; a SIGINT from
    /// outside (Ctrl-C) is ignored: call [`Self::interrupt`] instead.
    ///
    /// Meant for a worker process whose main thread has nothing else to do.
    pub fn serve_blocking_on_this_thread(&self) -> Result<(), ExecutorError> {
        Python::attach(|py| -> Result<(), ExecutorError> {
            let sup = support(py)?;
            if !sup.is_main_thread.bind(py).call0()?.is_truthy()? {
                return Err(ExecutorError::NotMainThread);
            }
            let signal = PyModule::import(py, "signal")?;
            signal.call_method1(
                "signal",
                (signal.getattr("SIGINT")?, sup.sigint_handler.bind(py)),
            )?;
            Ok(())
        })?;
        let (tx, rx) = crossbeam_channel::unbounded::<Job>();
        *lock(&self.main_lane) = Some(tx);
        if self.shutting_down.load(Ordering::SeqCst) {
            lock(&self.main_lane).take();
        }
        set_main_lane(thread_ident());
        for job in rx.iter() {
            job();
        }
        set_main_lane(0);
        Ok(())
    }

    /// Whether a thread is serving blocking cells (see [`Self::serve_blocking_on_this_thread`]).
    pub fn main_lane_active(&self) -> bool {
        lock(&self.main_lane).is_some()
    }

    /// Stop the session: cancel the loop's tasks (waiting up to the stop grace for them), close
    /// the loop, and stop the worker threads. Idempotent; also done on drop.
    pub fn shutdown(&self) {
        if self.shutting_down.swap(true, Ordering::SeqCst) {
            return;
        }
        // A cell still running is interrupted; its `execute` returns.
        self.shared.interrupt();
        // Waits for the loop thread, which needs the GIL: never hold it while waiting.
        Python::attach(|py| {
            let _ = self
                .shared
                .event_loop
                .bind(py)
                .getattr("stop")
                .and_then(|stop| {
                    self.shared
                        .event_loop
                        .bind(py)
                        .call_method1("call_soon_threadsafe", (stop,))
                });
            py.detach(|| {
                lock(&self.jobs).take();
                lock(&self.main_lane).take();
                if let Some((handle, ended)) = lock(&self.loop_thread).take() {
                    // A loop thread stuck in an abandoned cell is left behind, not joined.
                    let wait = self.stop_grace * 3 + Duration::from_secs(1);
                    if !matches!(ended.recv_timeout(wait), Err(RecvTimeoutError::Timeout)) {
                        let _ = handle.join();
                    }
                }
                // Idle workers exit when the job channel closes; busy (abandoned) ones are not
                // waited for.
                let workers = std::mem::take(&mut *lock(&self.workers));
                for w in workers {
                    if w.is_finished() {
                        let _ = w.join();
                    }
                }
            });
        });
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

enum Submitted {
    Immediate(Box<ExecOutcome>, Facts),
    Running(Arc<CellRun>, Facts),
}

/// What `submit` learnt about an execution, for the outcome and the stats.
#[derive(Default)]
struct Facts {
    /// CPython's verdict differed from the analyzer's prediction.
    disagreement: bool,
    /// The compiled cell came from the cache.
    cache_hit: bool,
    /// The cell was compiled from a transformed tree.
    transformed: bool,
    /// The cell runs through the wrapper fallback.
    wrapped: bool,
    /// The rewrites the code that runs went through.
    transforms: Vec<pyrepl3_analyzer::transform::TransformRecord>,
    /// Warnings for the outcome.
    warnings: Vec<String>,
}

enum Waited {
    Done(Box<Done>, Vec<OutputEvent>),
    Abandoned(Vec<OutputEvent>),
}

type Prepared = (
    Py<PyAny>,
    Option<Py<PyAny>>,
    Vec<String>,
    bool,
    i64,
    Option<String>,
);

fn is_coroutine(py: Python<'_>, code: &Py<PyAny>) -> PyResult<bool> {
    let co_flags: i64 = code.bind(py).getattr("co_flags")?.extract()?;
    Ok(co_flags & CO_COROUTINE != 0)
}

fn compiled(py: Python<'_>, prepared: Prepared, transformed: bool) -> PyResult<Compiled> {
    let (code, expr, names, dynamic, flags, note) = prepared;
    let is_coroutine = is_coroutine(py, &code)?
        || expr.as_ref().map(|e| is_coroutine(py, e)).transpose()? == Some(true);
    Ok(Compiled {
        code,
        expr,
        note,
        names,
        dynamic,
        flags,
        is_coroutine,
        transformed,
        wrapped: None,
    })
}

/// Compile a cell as the analyzer routed it: from its source, or from the transformed tree.
fn compile_direct(
    py: Python<'_>,
    source: &str,
    filename: &str,
    first_line: u32,
    flags: i64,
    analysis: &CellAnalysis,
) -> PyResult<Compiled> {
    match analysis.transformed_tree() {
        None => compile_cell(
            py,
            source,
            filename,
            first_line,
            flags,
            split(analysis, source, first_line),
        ),
        Some(Ok(tree)) => {
            let keep_value = analysis.trailing_expression.is_some_and(|t| !t.suppressed);
            compile_tree(py, &tree, source, filename, first_line, flags, keep_value)
        }
        Some(Err(e)) => Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "pyrepl3 could not rebuild the transformed cell ({}: {})",
            e.kind, e.message
        ))),
    }
}

/// The analyzer's split of a cell into the statements before its trailing expression and the
/// expression itself, as texts padded so every position stays the user's: `Some(None)` when
/// there is no value to capture, `None` when the analyzer cannot tell (it predicted a syntax
/// error; CPython then decides).
fn split(
    analysis: &CellAnalysis,
    source: &str,
    first_line: u32,
) -> Option<Option<(String, String)>> {
    if analysis.mode == Mode::SyntaxError {
        return None;
    }
    let Some(t) = analysis.trailing_expression.filter(|t| !t.suppressed) else {
        return Some(None);
    };
    let (start, end) = (t.span.start as usize, t.span.end as usize);
    let (Some(before), Some(expr)) = (source.get(..start), source.get(start..end)) else {
        return None;
    };
    let pad = first_line.saturating_sub(1) as usize;
    let at = analysis.line_index.cpython(t.span.start);
    let mut head = String::with_capacity(pad + before.len());
    head.extend(std::iter::repeat_n('\n', pad));
    head.push_str(before);
    let col = at.col as usize;
    let mut value = String::with_capacity(pad + at.line as usize + col + expr.len() + 1);
    value.extend(std::iter::repeat_n('\n', pad + at.line as usize - 1));
    if col > 0 {
        // Parentheses keep the expression at its column ('eval' input cannot be indented).
        value.push('(');
        value.extend(std::iter::repeat_n(' ', col - 1));
        value.push_str(expr);
        value.push(')');
    } else {
        value.push_str(expr);
    }
    Some(Some((head, value)))
}

fn compile_cell(
    py: Python<'_>,
    source: &str,
    filename: &str,
    first_line: u32,
    flags: i64,
    split: Option<Option<(String, String)>>,
) -> PyResult<Compiled> {
    let sup = support(py)?;
    let split = match split {
        None => py.None().into_bound(py),
        Some(None) => PyTuple::empty(py).into_any(),
        Some(Some(parts)) => parts.into_pyobject(py)?.into_any(),
    };
    let prepared: Prepared = sup
        .prepare
        .bind(py)
        .call1((source, filename, first_line, flags, split))?
        .extract()?;
    compiled(py, prepared, false)
}

/// Compile a transformed cell from its CPython-schema tree (positions already the user's).
fn compile_tree(
    py: Python<'_>,
    tree: &pyast::Node,
    source: &str,
    filename: &str,
    first_line: u32,
    flags: i64,
    keep_value: bool,
) -> PyResult<Compiled> {
    let sup = support(py)?;
    let prepared: Prepared = sup
        .prepare_tree
        .bind(py)
        .call1((
            tree.to_wire(),
            source,
            filename,
            first_line,
            flags,
            keep_value,
        ))?
        .extract()?;
    compiled(py, prepared, true)
}

/// The wrapper fallback: the cell (with the analyzer's other rewrites) inside
/// `async def __pyrepl3_cell__()` with `global` hoisting, compiled from its tree. `None` when
/// the wrapper cannot take the cell. `state` is a copy of the session's analyzer state (the
/// real one is not touched).
#[allow(clippy::too_many_arguments)]
fn compile_wrapped(
    py: Python<'_>,
    mut state: SessionState,
    source: &str,
    filename: &str,
    first_line: u32,
    flags: i64,
    analysis: &CellAnalysis,
    reason: String,
) -> Option<PyResult<Compiled>> {
    let w = transform_cell(source, &mut state, &TransformOptions { wrap: true });
    if w.refused.is_some() {
        return None;
    }
    let text = w.transformed_source?;
    // The tree of the wrapped text with every position moved back to the user's cell.
    let mut wrapped = analysis.clone();
    wrapped.transform = Some(Transformed {
        source: text,
        records: w.transforms.clone(),
        source_map: w.source_map,
    });
    let tree = wrapped.transformed_tree()?.ok()?;
    let keep_value = analysis.trailing_expression.is_some_and(|t| !t.suppressed);
    Some((|| {
        let sup = support(py)?;
        let (code, awaits, names, dynamic, flags): (Py<PyAny>, bool, Vec<String>, bool, i64) = sup
            .prepare_wrapped
            .bind(py)
            .call1((tree.to_wire(), source, filename, first_line, flags))?
            .extract()?;
        Ok(Compiled {
            code,
            expr: None,
            note: None,
            names,
            dynamic,
            flags,
            is_coroutine: awaits,
            transformed: true,
            wrapped: Some(Wrapped {
                keep_value,
                records: w.transforms,
                reason,
            }),
        })
    })())
}

/// A cell the transforms refused (an `await` they cannot make runnable soundly): the outcome
/// is a `SyntaxError` with the refusal's message and help, and none of the cell runs.
fn refused(
    py: Python<'_>,
    id: u64,
    source: &str,
    filename: &str,
    first_line: u32,
    analysis: &CellAnalysis,
    started: Instant,
) -> PyResult<Option<ExecOutcome>> {
    const TRANSFORM_REFUSED: &str = "PR305";
    let Some(error) = &analysis.error else {
        return Ok(None);
    };
    let refusals: Vec<_> = analysis
        .reasons
        .iter()
        .filter(|r| r.rule.code == TRANSFORM_REFUSED)
        .collect();
    if analysis.mode != Mode::SyntaxError || refusals.is_empty() {
        return Ok(None);
    }
    let mut notes = Vec::new();
    for r in refusals {
        if r.message != error.message {
            notes.push(r.message.clone());
        }
        if let Some(help) = &r.help {
            notes.push(help.clone());
        }
    }
    let shift = first_line.saturating_sub(1);
    let start = analysis.line_index.human(source, error.span.start);
    let end = analysis.line_index.human(source, error.span.end);
    let sup = support(py)?;
    let (type_name, message, traceback, notes): (String, String, String, Vec<String>) = sup
        .refusal
        .bind(py)
        .call1((
            source,
            filename,
            first_line,
            error.message.as_str(),
            start.line + shift,
            start.column,
            end.line + shift,
            end.column,
            notes,
        ))?
        .extract()?;
    Ok(Some(not_compiled(
        id,
        analysis,
        ExecError {
            type_name,
            message,
            traceback,
            notes,
        },
        started,
    )))
}

/// The body of the loop thread (GIL held; `run_forever` releases it while idle).
fn loop_thread(
    py: Python<'_>,
    port: Py<Port>,
    ctx: Py<PyAny>,
    stop: Arc<AtomicBool>,
    grace: Duration,
    ready: Sender<LoopReady>,
) {
    let sup = match support(py) {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let event_loop = match sup.new_loop.bind(py).call1((port.bind(py),)) {
        Ok(l) => l,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let _ = sup
        .enter_session_thread
        .bind(py)
        .call1((port.bind(py), "pyrepl3-loop"));
    let _ = ready.send(Ok(event_loop.clone().unbind()));
    let ctx = ctx.bind(py);
    loop {
        // Unattributed output of loop callbacks goes to the session (the base context).
        let ran = event_loop
            .getattr("run_forever")
            .and_then(|run_forever| ctx.call_method1("run", (run_forever,)));
        if let Err(e) = ran {
            // A BaseException escaped a callback (e.g. SystemExit in a background task): report
            // it and keep the loop running.
            let _ = sup
                .report_escape
                .bind(py)
                .call1((port.bind(py), e.into_value(py)));
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    let _ = sup
        .shutdown_loop
        .bind(py)
        .call1((&event_loop, grace.as_secs_f64()));
}

/// The outcome of a cell that never ran because it does not compile (or its rewrite was refused).
fn not_compiled(
    id: u64,
    analysis: &CellAnalysis,
    error: ExecError,
    started: Instant,
) -> ExecOutcome {
    ExecOutcome {
        execution_id: id,
        status: Status::Error,
        mode: Mode::SyntaxError,
        predicted_mode: analysis.mode,
        result_repr: None,
        result: None,
        error: Some(error),
        output: Vec::new(),
        warnings: Vec::new(),
        duration: started.elapsed(),
        changes: Changes {
            context: format!("execution {id} (syntax_error)"),
            ..Changes::default()
        },
        transforms: Vec::new(),
        analysis: analysis.clone(),
    }
}
