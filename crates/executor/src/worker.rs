//! The worker process: one [`Executor`] in a process of its own, serving a session over the
//! socket it inherited (never its stdout), authenticated with the key it got outside argv.
//!
//! Threads of a worker:
//! - the **main thread** builds the executor and then serves its blocking cells
//!   ([`Executor::serve_blocking_on_this_thread`]), so an interrupt or timeout reaches a cell stuck
//!   in `time.sleep` as `SIGINT`;
//! - the transport's **reader thread** answers `heartbeat_ping` without Python's lock, so a busy
//!   cell is never mistaken for a dead worker, and its hook acts on requests that cannot wait for
//!   the running cell: an `input_reply` goes straight to the `input()` waiting for it, an
//!   `interrupt_request` or `shutdown_request` to the **stopper thread**, which interrupts the
//!   executor (that takes the GIL, which the reader must never wait for);
//! - the **request thread** serves requests in order, one at a time: `execute` blocks it until
//!   the cell completes. The cell's output was already streamed as `stream` messages by the
//!   executor's output sink (on the writing thread, in order, blocking when the session stops
//!   reading, so an output flood has bounded memory); then come `execute_result` or `error`,
//!   then exactly one `execute_reply`. Checkpoints and restores run here too, in order with the
//!   cells.
//!
//! A `SIGINT` sent to the worker from outside interrupts the running cell like an
//! `interrupt_request` (a handler chained in front of Python's reports it to a thread that
//! interrupts the executor); the executor's own `SIGINT` to the main thread is told apart by its
//! `si_code` (`SI_TKILL`). The worker runs in a process group of its own, so a terminal's Ctrl-C
//! reaches only the session, which decides what to interrupt.
//!
//! Output of background work of an earlier cell carries that cell's execution id. `os._exit` is
//! wrapped to flush the connection first, so output written just before it is not lost.
//!
//! Channels: reader hook → stopper thread is an unbounded crossbeam channel (sync → sync: the
//! reader must never block); a pending `input()` waits on a bounded(1) crossbeam channel
//! (sync → sync) that the reader hook answers or the stopper cancels.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel as cb;
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyModule, PyTuple};
use pyrepl3_namespace::Checkpoint;
use pyrepl3_transport::blocking::MessageHook;
use pyrepl3_transport::message::{
    CheckpointReply, ErrorContent, ExecuteReply, ExecuteRequest, ExecuteResult, InputReply,
    InterruptReply, KernelInfoReply, LanguageInfo, PROTOCOL_VERSION, ReplyStatus, RestoreReply,
    ShutdownReply, SkippedName, Stream as WireStream, StreamName, chunk_text,
};
use pyrepl3_transport::{
    BlockingConnection, BlockingSender, Config, Envelope, Header, Key, Message,
};

use crate::fd_capture::{FdCapture, PumpGuard};
use crate::{ExecOptions, Executor, InputRequest, OutputEvent, Status, Stream};

/// Largest piece of text sent in one `stream` message (a huge write becomes several).
const STREAM_CHUNK: usize = 1024 * 1024;

/// How long after a cell's timeout a pending `input()` is released (the executor requests the
/// stop at the timeout itself).
const INPUT_RELEASE_AFTER_TIMEOUT: Duration = Duration::from_millis(250);

/// Capabilities announced in the handshake.
pub const CAPABILITIES: &[&str] = &["top_level_await", "input", "interrupt", "checkpoint"];

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why a worker could not start.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The transport key or socket was not handed over.
    #[error("{0}")]
    Setup(String),
    /// The executor could not start.
    #[error(transparent)]
    Executor(#[from] crate::ExecutorError),
    /// A thread or socket could not be set up.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// The worker's entry point (`pyrepl3 worker`, `pyrepl3-worker`): takes the key from
/// [`pyrepl3_transport::KEY_ENV`] and the socket from [`pyrepl3_transport::net::TRANSPORT_FD_ENV`]
/// (both removed from the environment), serves the session until it asks to shut down or goes
/// away, and returns the process's exit code (0 after a shutdown, 2 when started wrongly).
///
/// # Safety
/// Call it first thing in `main`, on the process's main thread, before any other thread exists
/// (it modifies the environment) and before Python is initialised; nothing else may own the
/// inherited fd.
pub unsafe fn run_from_env() -> ExitCode {
    // SAFETY: the caller guarantees no other thread exists yet.
    let key = match unsafe { Key::take_from_env() } {
        Ok(key) => key,
        Err(e) => {
            eprintln!("pyrepl3 worker: {e}");
            return ExitCode::from(2);
        }
    };
    // SAFETY: as above; the caller guarantees nothing else owns the inherited fd.
    let stream = match unsafe { pyrepl3_transport::net::inherited_stream() } {
        Ok(stream) => stream,
        Err(e) => {
            eprintln!("pyrepl3 worker: {e}");
            return ExitCode::from(2);
        }
    };
    match serve(stream, key) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pyrepl3 worker: {e}");
            ExitCode::from(2)
        }
    }
}

/// The execution running now, for `input()` and output attribution.
struct Current {
    /// The executor's id of the execution.
    local: u64,
    /// The session's execution id.
    id: String,
    /// `msg_id` of its `execute_request`.
    parent: String,
    allow_stdin: bool,
    inputs: u64,
    deadline: Option<Instant>,
}

/// A pending `input()`: which request it is and where its answer goes.
struct PendingInput {
    execution_id: String,
    n: u64,
    answer: cb::Sender<Option<String>>,
}

/// State shared by the worker's threads.
struct State {
    sender: BlockingSender,
    /// Executor execution id → (session execution id, request msg_id), for attributing output.
    ids: Mutex<HashMap<u64, (String, String)>>,
    current: Mutex<Option<Current>>,
    input: Arc<Mutex<Option<PendingInput>>>,
    /// Descriptor 1 read by the worker itself (`None` if the pipe could not be set up: then
    /// descriptor 1 stays the pipe to the session, unordered with the socket).
    fd: Option<FdCapture>,
}

impl State {
    fn send(&self, envelope: Envelope) {
        // A closed connection means the session is gone; the control thread sees that too.
        let _ = self.sender.send(envelope);
    }

    fn cancel_input(&self) {
        if let Some(p) = lock(&self.input).take() {
            let _ = p.answer.send(None);
        }
    }

    /// Output of the executor, streamed as it is written (called without the GIL). What is
    /// already in descriptor 1's pipe goes first, so the order of writes is kept.
    fn output(&self, event: OutputEvent) {
        let owner = event
            .execution_id
            .and_then(|id| lock(&self.ids).get(&id).cloned());
        let name = match event.stream {
            Stream::Stdout => StreamName::Stdout,
            Stream::Stderr => StreamName::Stderr,
        };
        let _order = self.drain_fd();
        self.send_stream(owner.as_ref(), name, &event.text);
    }

    /// Sends `text` as `stream` messages of `owner`'s execution (late output without one).
    fn send_stream(&self, owner: Option<&(String, String)>, name: StreamName, text: &str) {
        for piece in chunk_text(text, STREAM_CHUNK) {
            let mut env = Envelope::new(Message::Stream(WireStream {
                name,
                text: piece.to_owned(),
            }));
            if let Some((id, parent)) = owner {
                env = env.with_execution(id.clone()).with_parent(parent.clone());
            }
            self.send(env);
        }
    }

    /// Sends what descriptor 1's pipe holds now, as output of the running cell, and returns the
    /// ordering lock so the caller's own message follows it. `None` without the pipe.
    fn drain_fd(&self) -> Option<PumpGuard<'_>> {
        let fd = self.fd.as_ref()?;
        let mut guard = fd.lock();
        if let Some(text) = fd.pump(&mut guard)
            && !text.is_empty()
        {
            self.send_stream(self.current_owner().as_ref(), StreamName::Stdout, &text);
        }
        Some(guard)
    }

    /// The running cell's (execution id, request msg_id), which descriptor 1's bytes belong to.
    fn current_owner(&self) -> Option<(String, String)> {
        lock(&self.current)
            .as_ref()
            .map(|c| (c.id.clone(), c.parent.clone()))
    }

    /// Forwards descriptor 1's bytes as they come (its own thread, no GIL needed).
    fn forward_fd(&self) {
        let Some(fd) = self.fd.as_ref() else { return };
        loop {
            fd.wait_readable();
            let mut guard = fd.lock();
            match fd.pump(&mut guard) {
                Some(text) if !text.is_empty() => {
                    self.send_stream(self.current_owner().as_ref(), StreamName::Stdout, &text);
                }
                Some(_) => {}
                None => return,
            }
        }
    }

    /// `input()` of a cell (called on the cell's thread without the GIL).
    fn read_input(&self, request: InputRequest) -> Option<String> {
        let (rx, deadline) = {
            let mut current = lock(&self.current);
            let cur = current.as_mut()?;
            if !cur.allow_stdin || request.execution_id != Some(cur.local) {
                return None;
            }
            cur.inputs += 1;
            let n = cur.inputs;
            let (tx, rx) = cb::bounded(1);
            *lock(&self.input) = Some(PendingInput {
                execution_id: cur.id.clone(),
                n,
                answer: tx,
            });
            let env = Envelope::new(Message::InputRequest(
                pyrepl3_transport::message::InputRequest {
                    prompt: request.prompt,
                    password: false,
                    n,
                },
            ))
            .with_execution(cur.id.clone())
            .with_parent(cur.parent.clone());
            self.send(env);
            (rx, cur.deadline)
        };
        let answer = match deadline {
            // At the cell's timeout the executor requests the stop; a little later stop waiting,
            // so the pending CellTimeout fires (rather than EOFError for the refused input).
            Some(d) => rx
                .recv_deadline(d + INPUT_RELEASE_AFTER_TIMEOUT)
                .ok()
                .flatten(),
            None => rx.recv().ok().flatten(),
        };
        lock(&self.input).take();
        answer
    }
}

/// What the reader thread's hook hands to the stopper thread.
enum Stop {
    /// An `interrupt_request` (answered with an `interrupt_reply`).
    Interrupt(Box<Header>),
    /// A `shutdown_request`: stop what runs so the request loop gets to it.
    Shutdown,
}

/// Serves one session over `stream` until shutdown or until the session goes away.
fn serve(stream: UnixStream, key: Key) -> Result<(), WorkerError> {
    // The reader thread's hook sees every request as it arrives, even while a cell runs on the
    // request loop: input replies go straight to the waiting `input()`, interrupts and shutdowns
    // to the stopper thread (an interrupt takes the GIL, which the reader must never wait for: it
    // answers heartbeats). Crossbeam (sync -> sync) for both.
    let input: Arc<Mutex<Option<PendingInput>>> = Arc::new(Mutex::new(None));
    let (stop_tx, stop_rx) = cb::unbounded::<Stop>();
    let hook_input = input.clone();
    let hook: MessageHook = Arc::new(move |env: &Envelope| match &env.message {
        Message::InputReply(InputReply { n, value, eof }) => {
            let mut slot = lock(&hook_input);
            let matches = slot.as_ref().is_some_and(|p| {
                p.n == *n && env.header.execution_id.as_deref() == Some(p.execution_id.as_str())
            });
            if matches && let Some(p) = slot.take() {
                // `eof`: the front end's input ended, so `input()` raises EOFError.
                let _ = p.answer.send((!*eof).then(|| value.clone()));
            }
        }
        Message::InterruptRequest(_) => {
            let _ = stop_tx.send(Stop::Interrupt(Box::new(env.header.clone())));
        }
        Message::ShutdownRequest(_) => {
            let _ = stop_tx.send(Stop::Shutdown);
        }
        _ => {}
    });
    let conn =
        BlockingConnection::with_hook(stream, Config::new(key).with_peer("session"), Some(hook))
            .map_err(WorkerError::Io)?;
    let (sender, receiver) = conn.split();
    // Descriptor 1 becomes a pipe this worker reads, so its bytes travel in order with the rest.
    let fd = FdCapture::install()
        .map_err(|e| eprintln!("pyrepl3 worker: descriptor 1 stays unordered: {e}"))
        .ok();
    let state = Arc::new(State {
        sender,
        ids: Mutex::new(HashMap::new()),
        current: Mutex::new(None),
        input,
        fd,
    });
    let fd_state = state.clone();
    std::thread::Builder::new()
        .name("pyrepl3-worker-fd1".into())
        .spawn(move || fd_state.forward_fd())?;
    let sink_state = state.clone();
    let input_state = state.clone();
    let executor = Arc::new(
        Executor::builder()
            .output_sink(move |event| sink_state.output(event))
            .input_handler(move |request| input_state.read_input(request))
            .build()?,
    );
    let language_version = Python::attach(|py| -> PyResult<String> {
        prepare_process(py, &state)?;
        let sys = PyModule::import(py, "sys")?;
        let info = sys.getattr("version_info")?;
        let (a, b, c): (u32, u32, u32) = (
            info.get_item(0)?.extract()?,
            info.get_item(1)?.extract()?,
            info.get_item(2)?.extract()?,
        );
        Ok(format!("{a}.{b}.{c}"))
    })
    .map_err(|e| WorkerError::Setup(format!("cannot prepare the worker's Python: {e}")))?;

    let stopper_state = state.clone();
    let stopper_executor = executor.clone();
    std::thread::Builder::new()
        .name("pyrepl3-worker-stop".into())
        .spawn(move || stopper_thread(&stopper_executor, &stopper_state, &stop_rx))?;

    let sigint_state = state.clone();
    let sigint_executor = executor.clone();
    std::thread::Builder::new()
        .name("pyrepl3-worker-sigint".into())
        .spawn(move || external_sigint_thread(&sigint_executor, &sigint_state))?;

    // A worker whose session process is gone (killed without closing the socket cleanly, while a
    // cell blocks the request thread) must not live on as an orphan: watch the parent.
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    std::thread::Builder::new()
        .name("pyrepl3-worker-parent".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(250));
                // SAFETY: getppid has no preconditions.
                if unsafe { libc::getppid() } != parent {
                    // No message: stderr was a pipe to the session, which is gone (and
                    // `eprintln!` would panic on the broken pipe).
                    // SAFETY: ends the process at once; nothing is left to flush to a dead session.
                    unsafe { libc::_exit(70) };
                }
            }
        })?;

    let loop_state = state.clone();
    let loop_executor = executor.clone();
    std::thread::Builder::new()
        .name("pyrepl3-worker-requests".into())
        .spawn(move || {
            request_loop(&loop_executor, &loop_state, &receiver, &language_version);
            // Stopping the executor ends the main thread's serving loop.
            loop_executor.shutdown();
        })?;

    // Blocking cells run here, on Python's main thread, until the executor shuts down.
    executor.serve_blocking_on_this_thread()?;
    // The session is over and the executor shut down: run the interpreter's `atexit` handlers,
    // as CPython does when it exits (pyo3 never finalises Python). A handler that hangs is
    // killed with the worker after the session's grace.
    crate::run_atexit_handlers();
    drop(state.drain_fd());
    let _ = state.sender.flush(Duration::from_secs(2));
    Ok(())
}

/// Acts on interrupts and shutdowns while the request loop is busy with a cell.
fn stopper_thread(executor: &Executor, state: &State, stops: &cb::Receiver<Stop>) {
    for stop in stops.iter() {
        // Stop the cell first, then release a pending input() so the stop can fire.
        let interrupted = executor.interrupt();
        state.cancel_input();
        if let Stop::Interrupt(header) = stop {
            state.send(Envelope::reply_to(
                &header,
                Message::InterruptReply(InterruptReply {
                    status: if interrupted {
                        ReplyStatus::Ok
                    } else {
                        ReplyStatus::Error
                    },
                }),
            ));
        }
    }
}

/// Process-wide setup in the worker's Python: a fatal error (segfault) prints the Python
/// traceback on fd 2 (which the session reads), and `os._exit`, `os.kill`, `os.killpg`,
/// `os.abort` and `signal.raise_signal` flush the connection first.
fn prepare_process(py: Python<'_>, state: &Arc<State>) -> PyResult<()> {
    let sys = PyModule::import(py, "sys")?;
    let faulthandler = PyModule::import(py, "faulthandler")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("file", sys.getattr("__stderr__")?)?;
    faulthandler.call_method("enable", (), Some(&kwargs))?;

    // Calls that can end (or freeze) this process at once flush the connection first, so the
    // output a cell wrote before them reaches the session: `print(...); os.kill(os.getpid(), 9)`.
    let targets: [(&str, &'static std::ffi::CStr, &'static std::ffi::CStr); 5] = [
        (
            "os",
            c"_exit",
            c"os._exit, flushing pyrepl3's connection to the session first.",
        ),
        (
            "os",
            c"kill",
            c"os.kill, flushing pyrepl3's connection to the session first.",
        ),
        (
            "os",
            c"killpg",
            c"os.killpg, flushing pyrepl3's connection to the session first.",
        ),
        (
            "os",
            c"abort",
            c"os.abort, flushing pyrepl3's connection to the session first.",
        ),
        (
            "signal",
            c"raise_signal",
            c"signal.raise_signal, flushing pyrepl3's connection to the session first.",
        ),
    ];
    for (module, name, doc) in targets {
        let module = PyModule::import(py, module)?;
        let attr = name.to_str().unwrap_or_default();
        let Ok(original) = module.getattr(attr) else {
            continue;
        };
        let original = original.unbind();
        let flush_state = state.clone();
        let wrapper = PyCFunction::new_closure(
            py,
            Some(name),
            Some(doc),
            move |args: &Bound<'_, PyTuple>,
                  kwargs: Option<&Bound<'_, PyDict>>|
                  -> PyResult<Py<PyAny>> {
                let py = args.py();
                let state = flush_state.clone();
                py.detach(move || {
                    drop(state.drain_fd());
                    state.sender.flush(Duration::from_secs(2))
                });
                original.bind(py).call(args, kwargs).map(Bound::unbind)
            },
        )?;
        module.setattr(attr, wrapper)?;
    }
    Ok(())
}

/// Write end of the pipe on which the SIGINT handler reports a SIGINT sent from outside.
static SIGINT_PIPE: AtomicI32 = AtomicI32::new(-1);
/// The SIGINT handler that was installed before ours (Python's), as a `sa_sigaction` value.
static PREVIOUS_SIGINT: AtomicUsize = AtomicUsize::new(0);

/// SIGINT handler chained in front of Python's: a SIGINT sent from outside (`kill`, not the
/// executor's own `pthread_kill` to the main thread) is reported on a pipe, then Python's handler
/// runs as before.
extern "C" fn on_sigint(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let code = unsafe { (*info).si_code };
    if code != libc::SI_TKILL {
        let fd = SIGINT_PIPE.load(Ordering::Relaxed);
        if fd >= 0 {
            // SAFETY: write(2) is async-signal-safe; a full pipe just drops the byte (non-blocking).
            unsafe { libc::write(fd, [1u8].as_ptr().cast(), 1) };
        }
    }
    let previous = PREVIOUS_SIGINT.load(Ordering::Relaxed);
    if previous != libc::SIG_DFL && previous != libc::SIG_IGN {
        // SAFETY: `previous` is the handler installed before ours (Python's C signal handler,
        // installed without SA_SIGINFO), called with the signal number as it expects.
        let handler: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(previous) };
        handler(signal);
    }
    let _ = context;
}

/// Makes a SIGINT sent to the worker from outside interrupt the running cell, exactly like an
/// `interrupt_request`. Waits until the executor serves the main thread (its SIGINT handler is
/// installed then), chains our handler in front of it, and acts on what the handler reports.
fn external_sigint_thread(executor: &Executor, state: &State) {
    while !executor.main_lane_active() {
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two fds of a fresh pipe; both are ours.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } < 0 {
        eprintln!(
            "pyrepl3 worker: cannot watch SIGINT: {}",
            std::io::Error::last_os_error()
        );
        return;
    }
    let (read_fd, write_fd) = (fds[0], fds[1]);
    // SAFETY: fcntl on the pipe's read end, just created: make it blocking again for the reads.
    unsafe { libc::fcntl(read_fd, libc::F_SETFL, 0) };
    SIGINT_PIPE.store(write_fd, Ordering::SeqCst);
    // SAFETY: sigaction with zeroed, then filled, plain-data structs; our handler only calls
    // async-signal-safe functions and then the previous handler.
    unsafe {
        let mut previous: libc::sigaction = std::mem::zeroed();
        let mut ours: libc::sigaction = std::mem::zeroed();
        ours.sa_sigaction = on_sigint as *const () as usize;
        ours.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut ours.sa_mask);
        if libc::sigaction(libc::SIGINT, std::ptr::null(), &mut previous) < 0 {
            return;
        }
        PREVIOUS_SIGINT.store(previous.sa_sigaction, Ordering::SeqCst);
        if libc::sigaction(libc::SIGINT, &ours, std::ptr::null_mut()) < 0 {
            return;
        }
    }
    let mut byte = [0u8; 64];
    loop {
        // SAFETY: reads into a local buffer from the pipe's read end, which we own.
        let n = unsafe { libc::read(read_fd, byte.as_mut_ptr().cast(), byte.len()) };
        if n > 0 {
            executor.interrupt();
            state.cancel_input();
            continue;
        }
        let interrupted =
            n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted;
        if !interrupted {
            return;
        }
    }
}

/// Serves requests in order; executions, checkpoints and restores run here, one at a time.
fn request_loop(
    executor: &Executor,
    state: &State,
    receiver: &pyrepl3_transport::BlockingReceiver,
    language_version: &str,
) {
    let mut next_local: u64 = 0;
    while let Ok(env) = receiver.recv() {
        let header = env.header;
        match env.message {
            Message::KernelInfoRequest(_) => state.send(Envelope::reply_to(
                &header,
                Message::KernelInfoReply(KernelInfoReply {
                    protocol_version: PROTOCOL_VERSION.into(),
                    implementation: "pyrepl3".into(),
                    implementation_version: env!("CARGO_PKG_VERSION").into(),
                    language_info: LanguageInfo {
                        name: "python".into(),
                        version: language_version.into(),
                    },
                    capabilities: CAPABILITIES.iter().map(|c| c.to_string()).collect(),
                    pid: Some(std::process::id()),
                }),
            )),
            Message::ExecuteRequest(req) => {
                next_local += 1;
                execute(executor, state, &header, req, &mut next_local);
            }
            Message::CheckpointRequest(_) => {
                let reply = checkpoint(executor);
                let env = Envelope::reply_to(&header, Message::CheckpointReply(reply));
                if state.sender.send(env).is_err() {
                    // Too large for a frame: say so instead.
                    state.send(Envelope::reply_to(
                        &header,
                        Message::CheckpointReply(CheckpointReply {
                            status: ReplyStatus::Error,
                            checkpoint: None,
                            skipped: vec![SkippedName {
                                name: "*".into(),
                                reason: "the checkpoint is larger than a frame".into(),
                            }],
                        }),
                    ));
                }
            }
            Message::RestoreRequest(req) => {
                let reply = restore(executor, &req.checkpoint);
                state.send(Envelope::reply_to(&header, Message::RestoreReply(reply)));
            }
            // Acted on by the reader thread's hook as they arrived.
            Message::InputReply(_) | Message::InterruptRequest(_) => {}
            Message::ShutdownRequest(req) => {
                state.send(Envelope::reply_to(
                    &header,
                    Message::ShutdownReply(ShutdownReply {
                        restart: req.restart,
                        status: ReplyStatus::Ok,
                    }),
                ));
                return;
            }
            other => state.send(Envelope::reply_to(
                &header,
                Message::Error(ErrorContent::new(
                    "UnexpectedMessage",
                    format!("a worker does not accept {}", other.msg_type()),
                )),
            )),
        }
    }
}

fn execute(
    executor: &Executor,
    state: &State,
    header: &Header,
    req: ExecuteRequest,
    next_local: &mut u64,
) {
    let local = *next_local;
    let id = req.execution_id.clone();
    let timeout = req.timeout_ms.map(Duration::from_millis);
    lock(&state.ids).insert(local, (id.clone(), header.msg_id.clone()));
    *lock(&state.current) = Some(Current {
        local,
        id: id.clone(),
        parent: header.msg_id.clone(),
        allow_stdin: req.allow_stdin,
        inputs: 0,
        deadline: timeout.map(|t| Instant::now() + t),
    });
    let options = ExecOptions {
        timeout,
        force_mode: None,
        first_line: req.first_line.unwrap_or(1).max(1),
    };
    let outcome = executor.execute(&req.code, &options);
    // What the cell wrote to descriptor 1 belongs to it and comes before its result and reply.
    drop(state.drain_fd());
    *lock(&state.current) = None;
    state.cancel_input();
    let reply_env = |m: Message| {
        Envelope::reply_to(header, m)
            .with_execution(id.clone())
            .with_parent(header.msg_id.clone())
    };
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            let error = ErrorContent::new("pyrepl3.ExecutorError", e.to_string());
            state.send(reply_env(Message::Error(error.clone())));
            let mut metadata = BTreeMap::new();
            metadata.insert("outcome".into(), "error".into());
            state.send(reply_env(Message::ExecuteReply(ExecuteReply {
                status: ReplyStatus::Error,
                execution_count: local,
                error: Some(error),
                metadata,
            })));
            return;
        }
    };
    if outcome.execution_id != local {
        // Keep attribution right should the executor ever number executions differently.
        lock(&state.ids).insert(outcome.execution_id, (id.clone(), header.msg_id.clone()));
        *next_local = outcome.execution_id;
    }
    let count = outcome.execution_id;
    if let Some(repr) = &outcome.result_repr
        && !req.silent
    {
        let mut data = BTreeMap::new();
        data.insert("text/plain".to_string(), repr.clone().into());
        let mut metadata = BTreeMap::new();
        if !outcome.warnings.is_empty() {
            metadata.insert("warnings".to_string(), outcome.warnings.clone().into());
        }
        state.send(reply_env(Message::ExecuteResult(ExecuteResult {
            execution_count: count,
            data,
            metadata,
        })));
    }
    let error = outcome.error.as_ref().map(|e| ErrorContent {
        ename: e.type_name.clone(),
        evalue: e.message.clone(),
        traceback: e.traceback.lines().map(str::to_owned).collect(),
    });
    if let Some(error) = &error {
        state.send(reply_env(Message::Error(error.clone())));
    }
    let mut metadata = BTreeMap::new();
    metadata.insert("mode".to_string(), outcome.mode.to_string().into());
    metadata.insert(
        "predicted_mode".to_string(),
        outcome.predicted_mode.to_string().into(),
    );
    metadata.insert("outcome".to_string(), outcome.status.as_str().into());
    metadata.insert(
        "duration_ms".to_string(),
        (outcome.duration.as_secs_f64() * 1000.0).into(),
    );
    if !outcome.warnings.is_empty() {
        metadata.insert("warnings".to_string(), outcome.warnings.clone().into());
    }
    if let Some(e) = &outcome.error
        && !e.notes.is_empty()
    {
        metadata.insert("notes".to_string(), e.notes.clone().into());
    }
    state.send(reply_env(Message::ExecuteReply(ExecuteReply {
        status: match outcome.status {
            Status::Ok => ReplyStatus::Ok,
            _ => ReplyStatus::Error,
        },
        execution_count: count,
        error,
        metadata,
    })));
}

/// The wire form of a checkpoint: JSON with each pickle in hex.
#[derive(serde::Serialize, serde::Deserialize)]
struct WireCheckpoint {
    pickled: Vec<(String, String)>,
    modules: Vec<(String, String)>,
}

fn checkpoint(executor: &Executor) -> CheckpointReply {
    let taken: PyResult<Checkpoint> = Python::attach(|py| executor.namespace().checkpoint(py));
    match taken {
        Ok(cp) => {
            let wire = WireCheckpoint {
                pickled: cp
                    .pickled
                    .iter()
                    .map(|(name, bytes)| (name.clone(), hex::encode(bytes)))
                    .collect(),
                modules: cp.modules.clone(),
            };
            CheckpointReply {
                status: ReplyStatus::Ok,
                checkpoint: serde_json::to_string(&wire).ok(),
                skipped: cp
                    .unpicklable
                    .into_iter()
                    .map(|(name, reason)| SkippedName { name, reason })
                    .collect(),
            }
        }
        Err(e) => CheckpointReply {
            status: ReplyStatus::Error,
            checkpoint: None,
            skipped: vec![SkippedName {
                name: "*".into(),
                reason: e.to_string(),
            }],
        },
    }
}

fn restore(executor: &Executor, text: &str) -> RestoreReply {
    let failed = |reason: String| RestoreReply {
        status: ReplyStatus::Error,
        restored: Vec::new(),
        skipped: vec![SkippedName {
            name: "*".into(),
            reason,
        }],
    };
    let wire: WireCheckpoint = match serde_json::from_str(text) {
        Ok(w) => w,
        Err(e) => return failed(format!("not a checkpoint: {e}")),
    };
    let mut skipped = Vec::new();
    let mut cp = Checkpoint {
        modules: wire.modules,
        ..Checkpoint::default()
    };
    for (name, hexed) in wire.pickled {
        match hex::decode(&hexed).ok() {
            Some(bytes) => cp.pickled.push((name, bytes)),
            None => skipped.push(SkippedName {
                name,
                reason: "corrupt checkpoint entry".into(),
            }),
        }
    }
    match Python::attach(|py| executor.namespace().restore(py, &cp)) {
        Ok(report) => {
            skipped.extend(
                report
                    .failed
                    .into_iter()
                    .map(|(name, reason)| SkippedName { name, reason }),
            );
            RestoreReply {
                status: ReplyStatus::Ok,
                restored: report.restored,
                skipped,
            }
        }
        Err(e) => failed(e.to_string()),
    }
}
