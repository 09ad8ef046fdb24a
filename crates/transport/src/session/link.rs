//! One live worker process as seen by a session: its connection, its driver task (reading every
//! message, routing it, watching heartbeats and the process), and what happens when it dies.
//!
//! # Channels at each boundary
//!
//! * driver → execution: a bounded **tokio mpsc** of [`Event`]s (async → async). When the consumer
//!   reads slowly the driver waits, the transport's inbound queue and the socket fill, and the
//!   worker's output sink blocks: an output flood has bounded memory end to end. While it waits the
//!   driver still watches the process, so a death is seen at once.
//! * worker stdout/stderr pipes → execution: the same channel, from one task per pipe.
//! * driver → control requests (checkpoint, restore, interrupt, shutdown): a **tokio oneshot** per
//!   request, keyed by the request's `msg_id`.
//! * driver → session: a **tokio watch** holding the [`Death`] once the worker is gone.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::process::{Exit, Limits};
use super::{Event, LateOutput};
use crate::conn::{Receiver, Sender};
use crate::message::{
    Envelope, ErrorContent, ExecuteReply, Message, ReplyStatus, Stream, StreamName,
};
use crate::promise::{PromiseRegistry, RejectKind, exec_promise_id, input_promise_id};

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why and how a worker ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Death {
    /// Its exit status.
    pub exit: Exit,
    /// A sentence saying what happened, e.g. `the worker process 123 was killed by SIGSEGV (11)`.
    pub message: String,
    /// The end of what the worker wrote to its stderr (e.g. Python's fatal-error traceback).
    pub stderr_tail: String,
    /// Whether the session asked it to stop (shutdown or restart).
    pub requested: bool,
}

impl Death {
    /// The error an execution that was running gets: type `WorkerDied` naming the exit code or
    /// signal (or `SessionShutdown` when the session stopped the worker).
    pub fn error(&self) -> ErrorContent {
        ErrorContent {
            ename: if self.requested {
                "SessionShutdown".into()
            } else {
                "WorkerDied".into()
            },
            evalue: self.message.clone(),
            traceback: self.stderr_tail.lines().map(str::to_owned).collect(),
        }
    }

    /// The terminal reply of an execution that was running.
    pub fn reply(&self) -> ExecuteReply {
        let mut metadata = std::collections::BTreeMap::new();
        metadata.insert(
            "outcome".to_string(),
            Value::from(if self.requested {
                "aborted"
            } else {
                "worker_died"
            }),
        );
        match self.exit {
            Exit::Code(c) => {
                metadata.insert("exit_code".into(), c.into());
            }
            Exit::Signal(s) => {
                metadata.insert("signal".into(), s.into());
                metadata.insert("signal_name".into(), super::signal_name(s).into());
            }
            Exit::Unknown => {}
        }
        ExecuteReply {
            status: if self.requested {
                ReplyStatus::Aborted
            } else {
                ReplyStatus::Error
            },
            execution_count: 0,
            error: Some(self.error()),
            metadata,
        }
    }
}

struct Route {
    execution_id: String,
    tx: mpsc::Sender<Event>,
}

#[derive(Default)]
struct LateBuf {
    items: VecDeque<LateOutput>,
    bytes: usize,
    dropped: u64,
}

/// Late output produced while nothing executes, kept for the session across its workers:
/// bounded (the oldest is dropped, and counted, beyond the limit), with wake-ups for async
/// (tokio `Notify`) and blocking (`Condvar`) waiters.
pub(crate) struct LateHub {
    buf: Mutex<LateBuf>,
    ready: std::sync::Condvar,
    notify: tokio::sync::Notify,
    limit: usize,
}

impl LateHub {
    pub(crate) fn new(limit: usize) -> LateHub {
        LateHub {
            buf: Mutex::new(LateBuf::default()),
            ready: std::sync::Condvar::new(),
            notify: tokio::sync::Notify::new(),
            limit,
        }
    }

    fn push(&self, late: LateOutput) {
        let mut b = lock(&self.buf);
        b.bytes += late.text.len();
        b.items.push_back(late);
        while b.bytes > self.limit {
            match b.items.pop_front() {
                Some(old) => {
                    b.bytes -= old.text.len();
                    b.dropped += 1;
                }
                None => break,
            }
        }
        drop(b);
        self.ready.notify_all();
        self.notify.notify_waiters();
    }

    pub(crate) fn take(&self) -> Vec<LateOutput> {
        let mut b = lock(&self.buf);
        b.bytes = 0;
        b.items.drain(..).collect()
    }

    pub(crate) fn dropped(&self) -> u64 {
        lock(&self.buf).dropped
    }

    pub(crate) async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if !lock(&self.buf).items.is_empty() {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn wait_blocking(&self, timeout: Duration) -> bool {
        let b = lock(&self.buf);
        let (b, _) = self
            .ready
            .wait_timeout_while(b, timeout, |b| b.items.is_empty())
            .unwrap_or_else(PoisonError::into_inner);
        !b.items.is_empty()
    }
}

/// Routing state shared by the driver, the pipe readers and the session.
pub(crate) struct Routes {
    current: Option<Route>,
    control: HashMap<String, oneshot::Sender<Message>>,
    /// Set (under this lock) when the worker is gone: no route can begin after that.
    death: Option<Death>,
}

/// What the driver, the pipe tasks and the session share about one worker.
pub(crate) struct LinkShared {
    pub(crate) owner: String,
    pub(crate) pid: u32,
    pub(crate) routes: Mutex<Routes>,
    pub(crate) kill_reason: Mutex<Option<String>>,
    pub(crate) requested_stop: std::sync::atomic::AtomicBool,
    /// Set once the process has been reaped: its pid may then belong to someone else.
    reaped: std::sync::atomic::AtomicBool,
    stderr_tail: Mutex<VecDeque<u8>>,
    pub(crate) replies: PromiseRegistry<ExecuteReply>,
    pub(crate) inputs: PromiseRegistry<String>,
    pub(crate) late: Arc<LateHub>,
    limits: Limits,
}

const STDERR_TAIL: usize = 4096;

impl LinkShared {
    pub(crate) fn new(
        owner: String,
        pid: u32,
        replies: PromiseRegistry<ExecuteReply>,
        inputs: PromiseRegistry<String>,
        late: Arc<LateHub>,
        limits: Limits,
    ) -> LinkShared {
        LinkShared {
            owner,
            pid,
            routes: Mutex::new(Routes {
                current: None,
                control: HashMap::new(),
                death: None,
            }),
            kill_reason: Mutex::new(None),
            requested_stop: std::sync::atomic::AtomicBool::new(false),
            reaped: std::sync::atomic::AtomicBool::new(false),
            stderr_tail: Mutex::new(VecDeque::new()),
            replies,
            inputs,
            late,
            limits,
        }
    }

    /// Routes events of `execution_id` to `tx` from now on; returns the late output buffered
    /// while nothing was executing.
    /// Fails with the death when the worker is already gone.
    pub(crate) fn begin(
        &self,
        execution_id: String,
        tx: mpsc::Sender<Event>,
    ) -> Result<Vec<LateOutput>, Death> {
        let mut r = lock(&self.routes);
        if let Some(death) = &r.death {
            return Err(death.clone());
        }
        r.current = Some(Route { execution_id, tx });
        Ok(self.late.take())
    }

    /// Registers a waiter for the reply to the control request `msg_id`.
    pub(crate) fn expect_reply(&self, msg_id: String) -> oneshot::Receiver<Message> {
        let (tx, rx) = oneshot::channel();
        lock(&self.routes).control.insert(msg_id, tx);
        rx
    }

    /// Kills the worker with SIGKILL, remembering why (for the `WorkerDied` message).
    pub(crate) fn kill(&self, reason: impl Into<String>) {
        lock(&self.kill_reason).get_or_insert_with(|| reason.into());
        if self.reaped.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        // SAFETY: kill(2) with a pid we spawned (and have not reaped: the driver reaps it only
        // after this link is dead); it only sends a signal.
        unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGKILL) };
    }

    /// Where an event of `execution_id` goes: the current execution's channel, or `None` for late
    /// output (which the caller then queues).
    fn target(&self, execution_id: Option<&str>) -> (Option<mpsc::Sender<Event>>, bool) {
        let r = lock(&self.routes);
        match &r.current {
            Some(route) if Some(route.execution_id.as_str()) == execution_id => {
                (Some(route.tx.clone()), true)
            }
            Some(route) => (Some(route.tx.clone()), false),
            None => (None, false),
        }
    }

    /// Keeps late output for later, unless an execution has begun meanwhile (then returns it).
    fn buffer_late(&self, late: LateOutput) -> Option<(mpsc::Sender<Event>, LateOutput)> {
        // Under the routes lock, so `begin` either sees this item or routes it itself.
        let r = lock(&self.routes);
        match &r.current {
            Some(route) => Some((route.tx.clone(), late)),
            None => {
                self.late.push(late);
                None
            }
        }
    }

    /// Delivers output (from the socket or a pipe) to the current execution, or as late output.
    pub(crate) async fn output(
        &self,
        execution_id: Option<String>,
        name: StreamName,
        text: String,
    ) {
        let (tx, current) = self.target(execution_id.as_deref());
        match (tx, current) {
            (Some(tx), true) => {
                let _ = tx.send(Event::Stream(Stream { name, text })).await;
            }
            (Some(tx), false) => {
                let _ = tx
                    .send(Event::Late(LateOutput {
                        execution_id,
                        name,
                        text,
                    }))
                    .await;
            }
            (None, _) => {
                let late = LateOutput {
                    execution_id,
                    name,
                    text,
                };
                if let Some((tx, late)) = self.buffer_late(late) {
                    let _ = tx.send(Event::Late(late)).await;
                }
            }
        }
    }

    fn remember_stderr(&self, bytes: &[u8]) {
        let mut tail = lock(&self.stderr_tail);
        tail.extend(bytes);
        let excess = tail.len().saturating_sub(STDERR_TAIL);
        tail.drain(..excess);
    }

    fn stderr_tail(&self) -> String {
        let tail = lock(&self.stderr_tail);
        let bytes: Vec<u8> = tail.iter().copied().collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Routes one message from the worker.
    async fn route(&self, env: Envelope) {
        let execution_id = env.header.execution_id.clone();
        match env.message {
            Message::Stream(s) => self.output(execution_id, s.name, s.text).await,
            Message::ExecuteResult(r) => self.to_current(execution_id, Event::Result(r)).await,
            Message::Error(e) => {
                if let Some(parent) = &env.header.parent_id
                    && let Some(waiter) = lock(&self.routes).control.remove(parent)
                {
                    let _ = waiter.send(Message::Error(e));
                    return;
                }
                if execution_id.is_some() {
                    self.to_current(execution_id, Event::Error(e)).await;
                } else {
                    eprintln!("pyrepl3 session: worker reported {}: {}", e.ename, e.evalue);
                }
            }
            Message::InputRequest(req) => {
                if let Some(id) = &execution_id {
                    self.inputs.promise(
                        &input_promise_id(id, req.n),
                        Duration::MAX,
                        Some(&self.owner),
                    );
                }
                self.to_current(execution_id, Event::InputRequest(req))
                    .await;
            }
            Message::ExecuteReply(reply) => {
                let Some(id) = execution_id else { return };
                let record = self.replies.resolve(&exec_promise_id(&id), reply.clone());
                // The first settlement wins: a reply after a rejection delivers the rejection.
                let reply = record.ok().and_then(|r| r.value).unwrap_or(reply);
                let tx = {
                    let mut r = lock(&self.routes);
                    match &r.current {
                        Some(route) if route.execution_id == id => {
                            r.current.take().map(|route| route.tx)
                        }
                        _ => None,
                    }
                };
                self.replies.forget(&exec_promise_id(&id));
                if let Some(tx) = tx {
                    let _ = tx.send(Event::Reply(reply)).await;
                }
            }
            Message::Status(_) => {}
            other => {
                let waiter = env
                    .header
                    .parent_id
                    .as_ref()
                    .and_then(|p| lock(&self.routes).control.remove(p));
                if let Some(waiter) = waiter {
                    let _ = waiter.send(other);
                }
            }
        }
    }

    async fn to_current(&self, execution_id: Option<String>, event: Event) {
        let (tx, current) = self.target(execution_id.as_deref());
        if let (Some(tx), true) = (tx, current) {
            let _ = tx.send(event).await;
        }
    }

    /// The worker is gone: fail what waits on it.
    async fn died(&self, death: &Death) {
        let reply = death.reply();
        self.replies
            .reject_owned(Some(&self.owner), RejectKind::Rejected, reply.clone());
        self.inputs
            .reject_owned(Some(&self.owner), RejectKind::Rejected, String::new());
        let route = {
            let mut r = lock(&self.routes);
            r.death = Some(death.clone());
            r.control.clear();
            r.current.take()
        };
        if let Some(route) = route {
            let record = self.replies.get(&exec_promise_id(&route.execution_id));
            self.replies.forget(&exec_promise_id(&route.execution_id));
            let reply = record.and_then(|r| r.value).unwrap_or(reply);
            if let Some(error) = &reply.error {
                let _ = route.tx.send(Event::Error(error.clone())).await;
            }
            let _ = route.tx.send(Event::Reply(reply)).await;
        }
    }

    fn describe(&self, exit: &Exit, stderr_tail: String) -> Death {
        let requested = self
            .requested_stop
            .load(std::sync::atomic::Ordering::SeqCst);
        let mut message = format!("the worker process {} {exit}", self.pid);
        if let Some(reason) = lock(&self.kill_reason).clone() {
            message.push_str(&format!(" ({reason})"));
        } else if !requested {
            match exit {
                Exit::Signal(s) if *s == libc::SIGXCPU => {
                    if let Some(cpu) = self.limits.cpu_seconds {
                        message.push_str(&format!(": its CPU-time limit of {cpu} s was exceeded"));
                    }
                }
                Exit::Signal(s) if *s == libc::SIGKILL && self.limits.cpu_seconds.is_some() => {
                    message.push_str(&format!(
                        " (killed from outside, or past its CPU-time limit of {} s)",
                        self.limits.cpu_seconds.unwrap_or_default()
                    ));
                }
                _ => {}
            }
            if let Some(mem) = self.limits.memory_bytes
                && matches!(exit, Exit::Signal(_))
                && (stderr_tail.contains("MemoryError")
                    || stderr_tail.contains("memory allocation")
                    || stderr_tail.contains("Cannot allocate"))
            {
                message.push_str(&format!(
                    "; it ran out of memory under its limit of {} MiB",
                    mem / (1024 * 1024)
                ));
            }
        }
        Death {
            exit: exit.clone(),
            message,
            stderr_tail,
            requested,
        }
    }
}

/// Reads one of the worker's standard streams and delivers it as output; keeps stderr's tail.
pub(crate) fn spawn_pipe_reader<R>(
    mut pipe: R,
    name: StreamName,
    shared: Arc<LinkShared>,
) -> tokio::task::JoinHandle<()>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        let mut decoder = crate::message::Utf8Decoder::default();
        loop {
            let n = match pipe.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if name == StreamName::Stderr {
                shared.remember_stderr(&buf[..n]);
            }
            let text = decoder.push(&buf[..n]);
            if !text.is_empty() {
                let current = lock(&shared.routes)
                    .current
                    .as_ref()
                    .map(|r| r.execution_id.clone());
                shared.output(current, name, text).await;
            }
        }
        let text = decoder.finish();
        if !text.is_empty() {
            shared.output(None, name, text).await;
        }
    })
}

/// Heartbeat settings of the driver.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Heartbeat {
    pub(crate) interval: Duration,
    pub(crate) misses: u32,
}

/// The driver of one worker: routes its messages until it dies, then reports the death.
pub(crate) async fn drive(
    mut rx: Receiver,
    mut child: tokio::process::Child,
    sender: Sender,
    shared: Arc<LinkShared>,
    heartbeat: Heartbeat,
    stderr_reader: Option<tokio::task::JoinHandle<()>>,
    dead: watch::Sender<Option<Death>>,
) {
    let mut pongs = rx.heartbeats();
    let mut ping = tokio::time::interval(heartbeat.interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let allowed_silence = heartbeat.interval * heartbeat.misses.max(1);
    let mut last_alive = Instant::now();
    let mut exited: Option<Exit> = None;
    // Phase 1: the worker is running.
    loop {
        tokio::select! {
            status = child.wait() => {
                exited = Some(Exit::from_status(status));
                break;
            }
            msg = rx.recv() => match msg {
                Ok(env) => {
                    // Deliver while watching the process: a slow consumer must not hide a death.
                    let routed = shared.route(env);
                    tokio::pin!(routed);
                    loop {
                        tokio::select! {
                            _ = &mut routed => break,
                            status = child.wait(), if exited.is_none() => {
                                exited = Some(Exit::from_status(status));
                            }
                        }
                    }
                    last_alive = Instant::now();
                    if exited.is_some() {
                        break;
                    }
                }
                Err(_) => break,
            },
            _ = pongs.changed() => last_alive = Instant::now(),
            _ = ping.tick() => {
                // A pong may have arrived while this task was not polled (a busy runtime): its
                // own timestamp counts, so a starved session does not kill a healthy worker.
                if let Some(pong) = *pongs.borrow_and_update() {
                    last_alive = last_alive.max(Instant::from_std(pong.at));
                }
                if last_alive.elapsed() > allowed_silence {
                    shared.kill(format!(
                        "it answered no heartbeat for {:.1} s and was killed",
                        last_alive.elapsed().as_secs_f64()
                    ));
                    break;
                }
                let _ = sender.ping().await;
            }
        }
    }
    // Phase 2: deliver what the worker sent before it ended (bounded), then reap it.
    let drain_until = Instant::now() + Duration::from_millis(500);
    while let Ok(Ok(env)) = tokio::time::timeout_at(drain_until, rx.recv()).await {
        let _ = tokio::time::timeout_at(drain_until, shared.route(env)).await;
    }
    let exit = match exited {
        Some(exit) => exit,
        None => match tokio::time::timeout(Duration::from_secs(1), child.wait()).await {
            Ok(status) => Exit::from_status(status),
            Err(_) => {
                shared.kill("it closed its connection but did not exit, and was killed");
                Exit::from_status(child.wait().await)
            }
        },
    };
    shared
        .reaped
        .store(true, std::sync::atomic::Ordering::SeqCst);
    if let Some(reader) = stderr_reader {
        // Python's fatal-error report arrives on stderr just before the death.
        let _ = tokio::time::timeout(Duration::from_millis(300), reader).await;
    }
    let death = shared.describe(&exit, shared.stderr_tail());
    // Published before the execution hears of it, so a consumer that reacts to the WorkerDied
    // reply finds the worker dead.
    let _ = dead.send(Some(death.clone()));
    shared.died(&death).await;
}
