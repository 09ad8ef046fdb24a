//! The host side of pyrepl3: a [`Session`] runs Python cells in a worker subprocess, so user code
//! that crashes, hangs, floods or calls `os._exit` cannot take the embedding program down. This
//! module is pure Rust (no pyo3): a host links it without linking libpython.
//!
//! * [`Session::start`] spawns the worker (socketpair on fd 3, key in the environment, stdout and
//!   stderr captured, own process group, [`Limits`]) and does the `kernel_info` handshake.
//! * [`Session::execute`] sends a cell and returns an [`Execution`]: a stream of [`Event`]s in the
//!   order the worker produced them — output, then result or error, then exactly one
//!   [`Event::Reply`] last. Output of background work of earlier cells arrives as [`Event::Late`],
//!   naming the execution that started it. `input()` arrives as [`Event::InputRequest`]; answer it
//!   with [`Execution::answer_input`].
//! * Interrupts ([`Execution::interrupt`], [`Interrupter`]) reach the cell in any mode, also in
//!   `time.sleep` (the worker delivers them as `SIGINT` on its main thread). A per-call timeout
//!   stops the cell in the worker; if the worker does not answer, the session interrupts and then
//!   kills it.
//! * A dead worker (exit, signal, missed heartbeats) is seen at once (within a second for a frozen
//!   one): the pending execution ends with an error of type `WorkerDied` naming the exit code or
//!   signal, and the next [`Session::execute`] (or [`Session::ready`]) starts a fresh worker and —
//!   with checkpointing on — restores the namespace as of before the fatal cell, reporting by name
//!   what could not be restored ([`Event::Restarted`]).
//! * Every pending promise (an execution's reply, an `input()`) is rejected when its worker dies
//!   or shuts down; pending inputs are also cancelled by an interrupt, so an `input()` never
//!   wedges a session.
//!
//! [`blocking::BlockingSession`] is the synchronous facade, [`pool::Pool`] runs many sessions,
//! each with its own worker.
//!
//! ```no_run
//! use pyrepl3_transport::session::*;
//!
//! # async fn demo() -> Result<(), SessionError> {
//! // The worker is `pyrepl3 worker` (or the `pyrepl3-worker` binary).
//! let command = WorkerCommand::new("pyrepl3").arg("worker");
//! let config = SessionConfig::new(command)
//!     .limits(Limits { memory_bytes: Some(2 << 30), cpu_seconds: None })
//!     .checkpointing(true);
//! let mut session = Session::start(config).await?;
//! let interrupter = session.interrupter(); // e.g. for a Ctrl-C handler
//! let mut execution = session.execute("name = input('? ')\nprint(name)", &ExecuteOptions::default()).await?;
//! while let Some(event) = execution.next().await {
//!     match event {
//!         Event::Stream(s) => print!("{}", s.text),
//!         Event::InputRequest(_) => execution.answer_input("world").await?,
//!         Event::Error(e) => eprintln!("{}: {}", e.ename, e.evalue), // also WorkerDied
//!         Event::Reply(reply) => println!("-> {:?}", CellStatus::of(&reply)),
//!         _ => {}
//!     }
//! }
//! session.shutdown().await;
//! # let _ = interrupter;
//! # Ok(())
//! # }
//! ```

pub mod blocking;
mod link;
pub mod pool;
pub mod process;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

pub use link::Death;
use link::{Heartbeat, LateHub, LinkShared, drive, lock, spawn_pipe_reader};
pub use process::{Exit, Limits, WorkerCommand, signal_name};

use crate::conn::{Config, Connection, HandshakeError, SendError, Sender, handshake};
use crate::key::Key;
use crate::message::Envelope;
use crate::message::{
    CheckpointRequest, ErrorContent, ExecuteReply, ExecuteRequest, ExecuteResult, InputReply,
    InputRequest, InterruptRequest, KernelInfoReply, Message, ReplyStatus, RestoreRequest,
    ShutdownRequest, SkippedName, Stream, StreamName, new_id,
};
use crate::net::into_tokio;
use crate::promise::{
    PromiseRegistry, PromiseState, RejectKind, exec_promise_id, input_promise_id,
};

/// How a session starts and watches its workers.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The worker program (e.g. `pyrepl3` with `["worker"]`).
    pub command: WorkerCommand,
    /// Resource limits of each worker.
    pub limits: Limits,
    /// How long a worker has to answer the handshake.
    pub handshake_timeout: Duration,
    /// How often the session pings the worker.
    pub heartbeat_interval: Duration,
    /// After how many intervals without any sign of life a worker counts as dead (and is killed).
    pub heartbeat_misses: u32,
    /// Checkpoint the namespace before each cell and restore it into the fresh worker after a
    /// crash.
    pub checkpointing: bool,
    /// Default per-call timeout (none by default).
    pub default_timeout: Option<Duration>,
    /// After a timeout the worker stops the cell itself; if no reply comes within this grace, the
    /// session sends an interrupt, and after another grace it kills the worker.
    pub kill_grace: Duration,
    /// Capacity of an execution's event channel.
    pub event_capacity: usize,
    /// Bytes of late output kept while nothing executes (oldest dropped beyond it).
    pub late_buffer_bytes: usize,
}

impl SessionConfig {
    /// Defaults: no limits, 10 s handshake, heartbeat every 200 ms with 4 misses allowed (a
    /// frozen worker is found within a second), no
    /// checkpointing, no timeout, 3 s kill grace.
    pub fn new(command: WorkerCommand) -> SessionConfig {
        SessionConfig {
            command,
            limits: Limits::default(),
            handshake_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_millis(200),
            heartbeat_misses: 4,
            checkpointing: false,
            default_timeout: None,
            kill_grace: Duration::from_secs(3),
            event_capacity: 256,
            late_buffer_bytes: 1 << 20,
        }
    }

    /// Sets the resource limits.
    pub fn limits(mut self, limits: Limits) -> SessionConfig {
        self.limits = limits;
        self
    }

    /// Turns namespace checkpointing (and restore after a crash) on or off.
    pub fn checkpointing(mut self, on: bool) -> SessionConfig {
        self.checkpointing = on;
        self
    }

    /// Sets the default per-call timeout.
    pub fn default_timeout(mut self, timeout: Duration) -> SessionConfig {
        self.default_timeout = Some(timeout);
        self
    }

    /// Sets the kill grace (see [`SessionConfig::kill_grace`]).
    pub fn kill_grace(mut self, grace: Duration) -> SessionConfig {
        self.kill_grace = grace;
        self
    }
}

/// Options of one execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecuteOptions {
    /// Timeout of this call (overrides the session's default).
    pub timeout: Option<Duration>,
    /// Line of the enclosing file where the cell starts, for tracebacks.
    pub first_line: Option<u32>,
    /// Whether `input()` may ask; if not, it raises `EOFError`.
    pub allow_stdin: bool,
    /// Run without a result (output still streams).
    pub silent: bool,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        ExecuteOptions {
            timeout: None,
            first_line: None,
            allow_stdin: true,
            silent: false,
        }
    }
}

impl ExecuteOptions {
    /// Options with a timeout.
    pub fn with_timeout(timeout: Duration) -> ExecuteOptions {
        ExecuteOptions {
            timeout: Some(timeout),
            ..ExecuteOptions::default()
        }
    }
}

/// Output of background work, or of the worker process itself, that does not belong to the
/// running execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateOutput {
    /// The execution that started the writing task or thread (`None`: session-level output).
    pub execution_id: Option<String>,
    /// stdout or stderr.
    pub name: StreamName,
    /// The text.
    pub text: String,
}

/// What happened when a fresh worker replaced a dead one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartReport {
    /// What happened to the old worker.
    pub cause: String,
    /// Whether a checkpoint was restored.
    pub restored_checkpoint: bool,
    /// Names restored into the fresh worker.
    pub restored: Vec<String>,
    /// Names that could not be checkpointed or restored, with the reason.
    pub not_restored: Vec<SkippedName>,
}

/// One event of an execution, in the order the worker produced it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The worker died before this execution and a fresh one was started (first event).
    Restarted(RestartReport),
    /// Output of background work of another execution (or the worker process itself).
    Late(LateOutput),
    /// Output of this execution.
    Stream(Stream),
    /// The value of the cell's trailing expression.
    Result(ExecuteResult),
    /// The cell's error (also `WorkerDied` when the worker died under it).
    Error(ErrorContent),
    /// The cell called `input()`: answer with [`Execution::answer_input`].
    InputRequest(InputRequest),
    /// The terminal reply: always the last event.
    Reply(ExecuteReply),
}

/// Errors of the session itself (the cell's errors are events).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The worker could not be spawned.
    #[error("cannot start the worker {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The worker did not complete the handshake.
    #[error("{error}{}", if .stderr.is_empty() { String::new() } else { format!("; the worker wrote: {}", .stderr.trim_end()) })]
    Handshake {
        /// What went wrong.
        error: HandshakeError,
        /// What the worker wrote to stderr.
        stderr: String,
    },
    /// The session was shut down.
    #[error("the session is shut down")]
    Closed,
    /// A message could not be sent.
    #[error("cannot send to the worker: {0}")]
    Send(#[from] SendError),
    /// No input request with this number is pending (already answered, cancelled by an
    /// interrupt, or the worker died).
    #[error("no pending input request {0}")]
    InputNotPending(String),
    /// A control request (checkpoint, restore) got no answer.
    #[error("the worker did not answer the {0}")]
    NoAnswer(&'static str),
}

/// How an execution ended, as a session sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CellStatus {
    /// Ran to completion.
    Ok,
    /// Raised (or did not compile).
    Error,
    /// Stopped after its timeout.
    Timeout,
    /// Interrupted.
    Interrupted,
    /// Its worker died (exit, signal, missed heartbeats).
    WorkerDied,
    /// The session shut the worker down under it.
    Aborted,
}

impl CellStatus {
    /// From a reply's `outcome` metadata, falling back to its status.
    pub fn of(reply: &ExecuteReply) -> CellStatus {
        match reply.metadata.get("outcome").and_then(|v| v.as_str()) {
            Some("ok") => CellStatus::Ok,
            Some("timeout") => CellStatus::Timeout,
            Some("interrupted") => CellStatus::Interrupted,
            Some("worker_died") => CellStatus::WorkerDied,
            Some("aborted") => CellStatus::Aborted,
            Some(_) => CellStatus::Error,
            None => match reply.status {
                ReplyStatus::Ok => CellStatus::Ok,
                ReplyStatus::Error => CellStatus::Error,
                ReplyStatus::Aborted => CellStatus::Aborted,
            },
        }
    }

    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CellStatus::Ok => "ok",
            CellStatus::Error => "error",
            CellStatus::Timeout => "timeout",
            CellStatus::Interrupted => "interrupted",
            CellStatus::WorkerDied => "worker_died",
            CellStatus::Aborted => "aborted",
        }
    }
}

/// Everything an execution produced, collected.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The execution's id.
    pub execution_id: String,
    /// How it ended.
    pub status: CellStatus,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
    /// The `text/plain` of its result.
    pub result: Option<String>,
    /// Its error.
    pub error: Option<ErrorContent>,
    /// The mode it ran in (from the reply's metadata).
    pub mode: Option<String>,
    /// How long the worker ran it, in milliseconds (from the reply's metadata).
    pub duration_ms: Option<f64>,
    /// Warnings about the execution (e.g. an un-awaited coroutine as its value).
    pub warnings: Vec<String>,
    /// Late output that arrived during it.
    pub late: Vec<LateOutput>,
    /// Set when a fresh worker was started before it.
    pub restarted: Option<RestartReport>,
    /// The terminal reply.
    pub reply: ExecuteReply,
}

/// One live worker.
struct Link {
    sender: Sender,
    shared: Arc<LinkShared>,
    info: KernelInfoReply,
    dead: watch::Receiver<Option<Death>>,
}

impl Link {
    fn death(&self) -> Option<Death> {
        self.dead.borrow().clone()
    }

    /// Sends a control request and waits for its answer.
    async fn request(
        &self,
        message: Message,
        what: &'static str,
        within: Duration,
    ) -> Result<Message, SessionError> {
        let env = Envelope::new(message);
        let waiter = self.shared.expect_reply(env.header.msg_id.clone());
        self.sender.send(env).await?;
        match tokio::time::timeout(within, waiter).await {
            Ok(Ok(reply)) => Ok(reply),
            _ => Err(SessionError::NoAnswer(what)),
        }
    }
}

/// Where interrupts go: the current worker (swapped on restart).
#[derive(Clone)]
struct Target {
    sender: Sender,
    shared: Arc<LinkShared>,
}

/// Interrupts the running execution of a session from anywhere (another task or thread, e.g. a
/// Ctrl-C handler). Cheap to clone.
#[derive(Clone, Default)]
pub struct Interrupter {
    target: Arc<Mutex<Option<Target>>>,
}

impl std::fmt::Debug for Interrupter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interrupter").finish_non_exhaustive()
    }
}

impl Interrupter {
    fn current(&self) -> Option<Target> {
        lock(&self.target).clone()
    }

    /// Cancels pending `input()` promises of the worker: the interrupt releases them.
    fn cancel_inputs(target: &Target) {
        target.shared.inputs.reject_owned(
            Some(&target.shared.owner),
            RejectKind::Canceled,
            String::new(),
        );
    }

    /// Interrupts the running cell (`KeyboardInterrupt` in sync cells, cancellation of async ones,
    /// also in `time.sleep`); cancels pending input requests. Returns whether the request was sent.
    pub async fn interrupt(&self) -> bool {
        let Some(target) = self.current() else {
            return false;
        };
        Self::cancel_inputs(&target);
        target
            .sender
            .send(Envelope::new(Message::InterruptRequest(
                InterruptRequest {},
            )))
            .await
            .is_ok()
    }

    /// [`Self::interrupt`] for synchronous code (a signal-handling thread). Must not be called
    /// from inside a tokio runtime.
    pub fn interrupt_blocking(&self) -> bool {
        let Some(target) = self.current() else {
            return false;
        };
        Self::cancel_inputs(&target);
        target
            .sender
            .blocking_send(Envelope::new(Message::InterruptRequest(
                InterruptRequest {},
            )))
            .is_ok()
    }
}

static SESSIONS: AtomicU64 = AtomicU64::new(0);

/// A checkpoint as received (opaque) and the names it left out.
type SavedCheckpoint = (String, Vec<SkippedName>);

/// A session: a worker process running cells, replaced when it dies.
pub struct Session {
    config: SessionConfig,
    key: Key,
    tag: String,
    link: Option<Link>,
    interrupter: Interrupter,
    replies: PromiseRegistry<ExecuteReply>,
    inputs: PromiseRegistry<String>,
    /// The last checkpoint (opaque) and the names it left out.
    checkpoint: Arc<Mutex<Option<SavedCheckpoint>>>,
    executions: u64,
    workers: u64,
    closed: bool,
    late: Arc<LateHub>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("tag", &self.tag)
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Starts a session: spawns its worker and completes the handshake.
    pub async fn start(config: SessionConfig) -> Result<Session, SessionError> {
        let n = SESSIONS.fetch_add(1, Ordering::Relaxed) + 1;
        let mut session = Session {
            key: Key::generate(),
            tag: format!("s{}-{n}", std::process::id()),
            link: None,
            interrupter: Interrupter::default(),
            replies: PromiseRegistry::new(),
            inputs: PromiseRegistry::new(),
            checkpoint: Arc::new(Mutex::new(None)),
            executions: 0,
            workers: 0,
            closed: false,
            late: Arc::new(LateHub::new(config.late_buffer_bytes)),
            config,
        };
        session.spawn_worker().await?;
        Ok(session)
    }

    async fn spawn_worker(&mut self) -> Result<(), SessionError> {
        self.workers += 1;
        let owner = format!("{}-w{}", self.tag, self.workers);
        let spawned = process::spawn(&self.config.command, &self.key, self.config.limits).map_err(
            |source| SessionError::Spawn {
                program: self.config.command.program.display().to_string(),
                source,
            },
        )?;
        let mut child = spawned.child;
        let pid = child.id().unwrap_or(0);
        let stream = into_tokio(spawned.socket).map_err(|source| SessionError::Spawn {
            program: self.config.command.program.display().to_string(),
            source,
        })?;
        let conn = Connection::new(
            stream,
            Config::new(self.key.clone()).with_peer(format!("worker {pid}")),
        );
        let (sender, mut receiver) = conn.split();
        let shared = Arc::new(LinkShared::new(
            owner,
            pid,
            self.replies.clone(),
            self.inputs.clone(),
            self.late.clone(),
            self.config.limits,
        ));
        let stdout = child
            .stdout
            .take()
            .map(|p| spawn_pipe_reader(p, StreamName::Stdout, shared.clone()));
        drop(stdout);
        let stderr = child
            .stderr
            .take()
            .map(|p| spawn_pipe_reader(p, StreamName::Stderr, shared.clone()));
        let info = match handshake(&sender, &mut receiver, self.config.handshake_timeout).await {
            Ok(info) => info,
            Err(error) => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                if let Some(stderr) = stderr {
                    let _ = tokio::time::timeout(Duration::from_millis(500), stderr).await;
                }
                return Err(SessionError::Handshake {
                    error,
                    stderr: shared_stderr(&shared),
                });
            }
        };
        let (dead_tx, dead_rx) = watch::channel(None);
        tokio::spawn(drive(
            receiver,
            child,
            sender.clone(),
            shared.clone(),
            Heartbeat {
                interval: self.config.heartbeat_interval,
                misses: self.config.heartbeat_misses,
            },
            stderr,
            dead_tx,
        ));
        *lock(&self.interrupter.target) = Some(Target {
            sender: sender.clone(),
            shared: shared.clone(),
        });
        self.link = Some(Link {
            sender,
            shared,
            info,
            dead: dead_rx,
        });
        Ok(())
    }

    /// The worker's `kernel_info` (protocol version, capabilities, pid).
    pub fn info(&self) -> Option<&KernelInfoReply> {
        self.link.as_ref().map(|l| &l.info)
    }

    /// The worker's process id.
    pub fn pid(&self) -> Option<u32> {
        self.link.as_ref().map(|l| l.shared.pid)
    }

    /// How many workers this session has started (1 + restarts).
    pub fn workers_started(&self) -> u64 {
        self.workers
    }

    /// Whether the current worker is known to be dead.
    pub fn worker_dead(&self) -> bool {
        self.link.as_ref().is_none_or(|l| l.death().is_some())
    }

    /// Waits until the current worker has died (for tests and supervisors); returns how.
    pub async fn wait_worker_death(&mut self) -> Option<Death> {
        let link = self.link.as_mut()?;
        let death = link.dead.wait_for(Option::is_some).await.ok()?;
        death.clone()
    }

    /// A handle that interrupts this session's running execution from anywhere.
    pub fn interrupter(&self) -> Interrupter {
        self.interrupter.clone()
    }

    /// Interrupts the running execution (see [`Interrupter::interrupt`]).
    pub async fn interrupt(&self) -> bool {
        self.interrupter.interrupt().await
    }

    /// Late output buffered while nothing was executing (also delivered as [`Event::Late`] at the
    /// start of the next execution if not taken here).
    pub fn take_late_output(&self) -> Vec<LateOutput> {
        self.late.take()
    }

    /// A handle on the late output produced while nothing executes (background tasks printing
    /// while a REPL waits at its prompt): take it, or wait for it, from another task or thread.
    pub fn late_output(&self) -> LateOutputHandle {
        LateOutputHandle {
            hub: self.late.clone(),
        }
    }

    /// Makes sure a live worker is there: if the current one died, starts a fresh one and (with
    /// checkpointing) restores the last checkpoint. Returns the report when it restarted.
    pub async fn ready(&mut self) -> Result<Option<RestartReport>, SessionError> {
        if self.closed {
            return Err(SessionError::Closed);
        }
        let death = match &self.link {
            None => None,
            Some(link) => match link.death() {
                Some(death) => Some(death),
                None => return Ok(None),
            },
        };
        self.link = None;
        self.spawn_worker().await?;
        let mut report = RestartReport {
            cause: death
                .map(|d| d.message)
                .unwrap_or_else(|| "the worker was not running".into()),
            restored_checkpoint: false,
            restored: Vec::new(),
            not_restored: Vec::new(),
        };
        let checkpoint = lock(&self.checkpoint).clone();
        if self.config.checkpointing
            && let Some((checkpoint, skipped)) = checkpoint
        {
            report.not_restored.extend(skipped);
            let link = self.link.as_ref().ok_or(SessionError::Closed)?;
            match link
                .request(
                    Message::RestoreRequest(RestoreRequest { checkpoint }),
                    "restore request",
                    Duration::from_secs(60),
                )
                .await
            {
                Ok(Message::RestoreReply(reply)) => {
                    report.restored_checkpoint = reply.status == ReplyStatus::Ok;
                    report.restored = reply.restored;
                    report.not_restored.extend(reply.skipped);
                }
                Ok(other) => report.not_restored.push(SkippedName {
                    name: "*".into(),
                    reason: format!("the worker answered the restore with {}", other.msg_type()),
                }),
                Err(e) => report.not_restored.push(SkippedName {
                    name: "*".into(),
                    reason: e.to_string(),
                }),
            }
        }
        Ok(Some(report))
    }

    /// Runs `code` in the worker and returns its stream of events. If the worker had died, a fresh
    /// one is started first and the first event is [`Event::Restarted`].
    pub async fn execute(
        &mut self,
        code: &str,
        options: &ExecuteOptions,
    ) -> Result<Execution<'_>, SessionError> {
        let mut restarted = self.ready().await?;
        self.executions += 1;
        let id = format!("{}-e{}", self.tag, self.executions);
        let (tx, rx) = mpsc::channel(self.config.event_capacity.max(1));
        let mut pending: VecDeque<Event> = VecDeque::new();
        let mut attempts = 0;
        let late = loop {
            let link = self.link.as_ref().ok_or(SessionError::Closed)?;
            match link.shared.begin(id.clone(), tx.clone()) {
                Ok(late) => break late,
                // The worker died just now: start a fresh one (once).
                Err(death) if attempts == 0 => {
                    attempts += 1;
                    let _ = death;
                    if let Some(report) = self.ready().await? {
                        restarted = Some(report);
                    }
                }
                Err(death) => {
                    return Err(SessionError::Spawn {
                        program: self.config.command.program.display().to_string(),
                        source: std::io::Error::other(death.message),
                    });
                }
            }
        };
        drop(tx);
        if let Some(report) = &restarted {
            pending.push_back(Event::Restarted(report.clone()));
        }
        pending.extend(late.into_iter().map(Event::Late));
        let link = self.link.as_ref().ok_or(SessionError::Closed)?;
        if self.config.checkpointing {
            // Taken before the cell, in order with it: if the cell kills the worker, this is the
            // state to restore. The reply is stored whenever it arrives.
            let env = Envelope::new(Message::CheckpointRequest(CheckpointRequest {}));
            let waiter = link.shared.expect_reply(env.header.msg_id.clone());
            link.sender.send(env).await?;
            let slot = self.checkpoint.clone();
            tokio::spawn(async move {
                if let Ok(Message::CheckpointReply(reply)) = waiter.await
                    && reply.status == ReplyStatus::Ok
                    && let Some(checkpoint) = reply.checkpoint
                {
                    *lock(&slot) = Some((checkpoint, reply.skipped));
                }
            });
        }
        let timeout = options.timeout.or(self.config.default_timeout);
        self.replies.promise(
            &exec_promise_id(&id),
            Duration::MAX,
            Some(&link.shared.owner),
        );
        let request = ExecuteRequest {
            execution_id: id.clone(),
            code: code.to_owned(),
            silent: options.silent,
            store_history: !options.silent,
            allow_stdin: options.allow_stdin,
            timeout_ms: timeout.map(|t| t.as_millis().min(u64::MAX as u128) as u64),
            first_line: options.first_line,
        };
        // If the send fails the worker is dying; its driver ends this execution with WorkerDied.
        let _ = link
            .sender
            .send(Envelope::new(Message::ExecuteRequest(request)).with_execution(id.clone()))
            .await;
        if let Some(timeout) = timeout {
            tokio::spawn(watchdog(
                link.sender.clone(),
                link.shared.clone(),
                self.replies.clone(),
                id.clone(),
                timeout,
                self.config.kill_grace,
            ));
        }
        Ok(Execution {
            id,
            events: rx,
            pending,
            done: false,
            inputs: self.inputs.clone(),
            sender: link.sender.clone(),
            interrupter: self.interrupter.clone(),
            last_input: None,
            _session: std::marker::PhantomData,
        })
    }

    /// Runs `code` and collects everything it produced, answering `input()` with `answer` (whose
    /// `None` interrupts the cell).
    pub async fn run(
        &mut self,
        code: &str,
        options: &ExecuteOptions,
        answer: impl FnMut(&InputRequest) -> Option<String>,
    ) -> Result<Outcome, SessionError> {
        let execution = self.execute(code, options).await?;
        Ok(execution.collect_with(answer).await)
    }

    /// Replaces the worker with a fresh one (a fresh namespace: nothing is restored).
    pub async fn restart(&mut self) -> Result<(), SessionError> {
        if self.closed {
            return Err(SessionError::Closed);
        }
        self.stop_worker(true).await;
        *lock(&self.checkpoint) = None;
        self.spawn_worker().await
    }

    async fn stop_worker(&mut self, restart: bool) {
        let Some(mut link) = self.link.take() else {
            return;
        };
        *lock(&self.interrupter.target) = None;
        link.shared.requested_stop.store(true, Ordering::SeqCst);
        if link.death().is_none() {
            let _ = link
                .sender
                .send(Envelope::new(Message::ShutdownRequest(ShutdownRequest {
                    restart,
                })))
                .await;
            let graceful =
                tokio::time::timeout(self.config.kill_grace, link.dead.wait_for(Option::is_some))
                    .await
                    .is_ok();
            if !graceful {
                link.shared
                    .kill("it did not shut down in time and was killed");
                let _ = link.dead.wait_for(Option::is_some).await;
            }
        }
        // Whatever still waits on this worker is settled.
        link.shared.replies.reject_owned(
            Some(&link.shared.owner),
            RejectKind::Rejected,
            ExecuteReply {
                status: ReplyStatus::Aborted,
                execution_count: 0,
                error: Some(ErrorContent::new(
                    "SessionShutdown",
                    "the session shut its worker down",
                )),
                metadata: Default::default(),
            },
        );
        link.shared.inputs.reject_owned(
            Some(&link.shared.owner),
            RejectKind::Rejected,
            String::new(),
        );
    }

    pub(crate) async fn stop_worker_for_pool(&mut self) {
        self.closed = true;
        self.stop_worker(false).await;
    }

    /// Shuts the worker down (asking first, killing it after the kill grace).
    pub async fn shutdown(mut self) {
        self.closed = true;
        self.stop_worker(false).await;
    }
}

impl Drop for Session {
    /// A session dropped without [`Session::shutdown`] kills its worker (it cannot wait for a
    /// graceful exit here); the driver then reaps it.
    fn drop(&mut self) {
        if let Some(link) = self.link.take()
            && link.death().is_none()
        {
            link.shared.requested_stop.store(true, Ordering::SeqCst);
            link.shared.kill("its session was dropped");
        }
    }
}

/// Late output produced while nothing executes, shared with its session (see
/// [`Session::late_output`]). Cheap to clone; follows the session across worker restarts.
#[derive(Clone)]
pub struct LateOutputHandle {
    hub: Arc<LateHub>,
}

impl std::fmt::Debug for LateOutputHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LateOutputHandle").finish_non_exhaustive()
    }
}

impl LateOutputHandle {
    /// Takes what is buffered, in order.
    pub fn take(&self) -> Vec<LateOutput> {
        self.hub.take()
    }

    /// Waits until some late output is buffered.
    pub async fn wait(&self) {
        self.hub.wait().await
    }

    /// Blocks up to `timeout` until some late output is buffered; returns whether there is some.
    pub fn wait_blocking(&self, timeout: Duration) -> bool {
        self.hub.wait_blocking(timeout)
    }

    /// Pieces dropped because the buffer was full (the oldest go first).
    pub fn dropped(&self) -> u64 {
        self.hub.dropped()
    }
}

fn shared_stderr(shared: &LinkShared) -> String {
    // The handshake failed: what the worker said on stderr is in the late buffer.
    shared
        .late
        .take()
        .into_iter()
        .filter(|l| l.name == StreamName::Stderr)
        .map(|l| l.text)
        .collect()
}

/// Escalates a timeout the worker did not act on: interrupt, then kill.
async fn watchdog(
    sender: Sender,
    shared: Arc<LinkShared>,
    replies: PromiseRegistry<ExecuteReply>,
    id: String,
    timeout: Duration,
    grace: Duration,
) {
    let pending = || {
        replies
            .get(&exec_promise_id(&id))
            .is_some_and(|r| r.state == PromiseState::Pending)
    };
    tokio::time::sleep(timeout + grace).await;
    if !pending() {
        return;
    }
    let _ = sender
        .send(Envelope::new(Message::InterruptRequest(
            InterruptRequest {},
        )))
        .await;
    tokio::time::sleep(grace).await;
    if pending() {
        shared.kill(format!(
            "the cell ran past its timeout of {:.3} s and did not stop when interrupted, so the \
             worker was killed",
            timeout.as_secs_f64()
        ));
    }
}

/// The events of one running execution. Borrows its session: one execution at a time.
pub struct Execution<'s> {
    id: String,
    events: mpsc::Receiver<Event>,
    pending: VecDeque<Event>,
    done: bool,
    inputs: PromiseRegistry<String>,
    sender: Sender,
    interrupter: Interrupter,
    last_input: Option<u64>,
    _session: std::marker::PhantomData<&'s mut Session>,
}

impl std::fmt::Debug for Execution<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Execution")
            .field("id", &self.id)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Execution<'_> {
    /// The execution's id (`header.execution_id` of its messages).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The next event; `None` after the [`Event::Reply`].
    pub async fn next(&mut self) -> Option<Event> {
        if let Some(event) = self.pending.pop_front() {
            return Some(event);
        }
        if self.done {
            return None;
        }
        let event = match self.events.recv().await {
            Some(event) => event,
            None => {
                // Cannot happen while the driver runs (it always ends a route with a reply).
                self.done = true;
                return Some(Event::Reply(ExecuteReply {
                    status: ReplyStatus::Aborted,
                    execution_count: 0,
                    error: Some(ErrorContent::new(
                        "WorkerDied",
                        "the connection to the worker ended without a reply",
                    )),
                    metadata: Default::default(),
                }));
            }
        };
        match &event {
            Event::Reply(_) => self.done = true,
            Event::InputRequest(req) => self.last_input = Some(req.n),
            _ => {}
        }
        Some(event)
    }

    /// Answers the most recent input request with `value` (without its newline). Fails when no
    /// request is pending (cancelled by an interrupt, or the worker died).
    pub async fn answer_input(&mut self, value: impl Into<String>) -> Result<(), SessionError> {
        self.reply_input(value.into(), false).await
    }

    /// Answers the most recent input request with end of input: `input()` raises `EOFError`
    /// (what CPython does when standard input is exhausted).
    pub async fn answer_input_eof(&mut self) -> Result<(), SessionError> {
        self.reply_input(String::new(), true).await
    }

    async fn reply_input(&mut self, value: String, eof: bool) -> Result<(), SessionError> {
        let n = self
            .last_input
            .ok_or_else(|| SessionError::InputNotPending(format!("{}:input:?", self.id)))?;
        let pid = input_promise_id(&self.id, n);
        let record = self
            .inputs
            .resolve(&pid, value.clone())
            .map_err(|_| SessionError::InputNotPending(pid.clone()))?;
        self.inputs.forget(&pid);
        if record.state != PromiseState::Resolved || record.value.as_deref() != Some(&value) {
            return Err(SessionError::InputNotPending(pid));
        }
        self.sender
            .send(
                Envelope::new(Message::InputReply(InputReply { n, value, eof }))
                    .with_execution(self.id.clone()),
            )
            .await?;
        Ok(())
    }

    /// Interrupts this execution.
    pub async fn interrupt(&self) -> bool {
        self.interrupter.interrupt().await
    }

    /// Reads every event up to the reply, answering input requests with `answer` (`None`
    /// interrupts the cell).
    pub async fn collect_with(
        mut self,
        mut answer: impl FnMut(&InputRequest) -> Option<String>,
    ) -> Outcome {
        let mut out = Outcome {
            execution_id: self.id.clone(),
            status: CellStatus::Error,
            stdout: String::new(),
            stderr: String::new(),
            result: None,
            error: None,
            mode: None,
            duration_ms: None,
            warnings: Vec::new(),
            late: Vec::new(),
            restarted: None,
            reply: ExecuteReply {
                status: ReplyStatus::Aborted,
                execution_count: 0,
                error: None,
                metadata: Default::default(),
            },
        };
        while let Some(event) = self.next().await {
            match event {
                Event::Restarted(r) => out.restarted = Some(r),
                Event::Late(l) => out.late.push(l),
                Event::Stream(s) => match s.name {
                    StreamName::Stdout => out.stdout.push_str(&s.text),
                    StreamName::Stderr => out.stderr.push_str(&s.text),
                },
                Event::Result(r) => {
                    out.result = r
                        .data
                        .get("text/plain")
                        .and_then(|v| v.as_str())
                        .map(str::to_owned);
                }
                Event::Error(e) => out.error = Some(e),
                Event::InputRequest(req) => match answer(&req) {
                    Some(value) => {
                        let _ = self.answer_input(value).await;
                    }
                    None => {
                        self.interrupt().await;
                    }
                },
                Event::Reply(reply) => {
                    out.status = CellStatus::of(&reply);
                    out.mode = reply
                        .metadata
                        .get("mode")
                        .and_then(|v| v.as_str())
                        .map(str::to_owned);
                    out.duration_ms = reply.metadata.get("duration_ms").and_then(|v| v.as_f64());
                    out.warnings = reply
                        .metadata
                        .get("warnings")
                        .and_then(|v| v.as_array())
                        .map(|w| {
                            w.iter()
                                .filter_map(|s| s.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    if out.error.is_none() {
                        out.error = reply.error.clone();
                    }
                    out.reply = reply;
                }
            }
        }
        out
    }

    /// [`Self::collect_with`] interrupting any `input()`.
    pub async fn collect(self) -> Outcome {
        self.collect_with(|_| None).await
    }
}

/// A fresh random id (re-exported for hosts that want their own execution ids).
pub fn fresh_id() -> String {
    new_id()
}
