//! The worker-backed [`Session`]: cells run in a `pyrepl3 worker` subprocess behind the
//! transport's [`BlockingSession`], so a cell that crashes, hangs, floods or calls `os._exit`
//! cannot take `pyrepl3` down.
//!
//! - The worker is this same executable started as `pyrepl3 worker` (see [`crate::pyrepl3`]), in
//!   a process group of its own (a terminal's Ctrl-C reaches `pyrepl3`, which forwards it as an
//!   `interrupt` message through the transport's [`Interrupter`]).
//! - [`Session::execute`] walks the execution's events in order: `stream` goes to the live-output
//!   hook and into the outcome, `input_request` to the input hook (its `None` answers end of
//!   input, so `input()` raises `EOFError`), output of earlier cells' background work to the late
//!   channel, the result and error into the outcome.
//! - A worker that dies under a cell (exit, signal, missed heartbeats) ends that cell with status
//!   `error` and an error of type `WorkerDied` whose message names the exit code or signal; the
//!   next cell starts a fresh worker ([`SessionConfig::notice`] is told). With checkpointing on,
//!   the fresh worker gets the namespace as it was before the fatal cell; off (the default), it
//!   starts with an empty namespace.
//! - A cell past its timeout is stopped inside the worker (status `timeout`); one that does not
//!   stop is interrupted, then its worker is killed: status `timeout`, error `WorkerDied`.
//!
//! Channels: late output goes to the front end over a crossbeam channel (sync -> sync); a
//! forwarding thread moves the output the transport buffers between executions into it, under
//! the same lock as the late events of an execution, so the two never reorder.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use pyrepl3_transport::message::StreamName;
use pyrepl3_transport::session::blocking::BlockingSession;
use pyrepl3_transport::session::{
    self as transport, Event, ExecuteOptions, Interrupter, LateOutputHandle, WorkerCommand,
};

use crate::session::{
    CellError, CellOutcome, CellStatus, InterruptFn, LateOutput, Session, SessionConfig,
    SessionError, Stream,
};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Maps the transport's execution ids (strings) to this session's (numbers), for late output.
#[derive(Default)]
struct Ids {
    next: u64,
    of: HashMap<String, u64>,
}

/// Sends late output to the front end, in order.
struct LateSink {
    tx: Sender<LateOutput>,
    ids: Mutex<Ids>,
    /// Held while taking output from the transport and sending it on, so the forwarder and a
    /// running execution never reorder late output.
    order: Mutex<()>,
}

impl LateSink {
    fn send_all(&self, items: impl IntoIterator<Item = transport::LateOutput>) {
        let ids = lock(&self.ids);
        for item in items {
            let late = LateOutput {
                execution_id: item
                    .execution_id
                    .as_ref()
                    .and_then(|id| ids.of.get(id).copied()),
                stream: stream_of(item.name),
                text: item.text,
            };
            let _ = self.tx.send(late);
        }
    }
}

fn stream_of(name: StreamName) -> Stream {
    match name {
        StreamName::Stdout => Stream::Stdout,
        StreamName::Stderr => Stream::Stderr,
    }
}

/// A session whose Python runs in a worker process.
pub struct Worker {
    session: Mutex<Option<BlockingSession>>,
    interrupter: Interrupter,
    config: SessionConfig,
    late: Arc<LateSink>,
    late_rx: Receiver<LateOutput>,
    stop: Arc<AtomicBool>,
}

impl Worker {
    /// Start a worker (`<this executable> worker`) and complete the handshake. `checkpointing`:
    /// restore the namespace into the fresh worker after a crash.
    pub fn start(
        config: SessionConfig,
        checkpointing: bool,
        limits: transport::Limits,
    ) -> Result<Self, SessionError> {
        let exe = std::env::current_exe()
            .map_err(|e| SessionError(format!("cannot find the pyrepl3 executable: {e}")))?;
        Self::start_program(exe, config, checkpointing, limits)
    }

    /// [`Worker::start`] with `program worker` as the worker (`program`: a `pyrepl3` binary;
    /// for embedders and tests, whose own executable is not one).
    pub fn start_program(
        program: std::path::PathBuf,
        config: SessionConfig,
        checkpointing: bool,
        limits: transport::Limits,
    ) -> Result<Self, SessionError> {
        let command = WorkerCommand::new(program).arg("worker");
        let session_config = transport::SessionConfig::new(command)
            .checkpointing(checkpointing)
            .limits(limits);
        let session = BlockingSession::start(session_config)
            .map_err(|e| SessionError(format!("cannot start a worker: {e}")))?;
        let interrupter = session.interrupter();
        let (tx, late_rx) = crossbeam_channel::unbounded();
        let late = Arc::new(LateSink {
            tx,
            ids: Mutex::new(Ids::default()),
            order: Mutex::new(()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        if let Some(handle) = session.late_output() {
            spawn_forwarder(handle, late.clone(), stop.clone())?;
        }
        Ok(Self {
            session: Mutex::new(Some(session)),
            interrupter,
            config,
            late,
            late_rx,
            stop,
        })
    }

    fn notice(&self, text: &str) {
        if let Some(notice) = &self.config.notice {
            notice(text);
        }
    }
}

/// Moves late output buffered between executions into the late channel until `stop`.
fn spawn_forwarder(
    handle: LateOutputHandle,
    late: Arc<LateSink>,
    stop: Arc<AtomicBool>,
) -> Result<(), SessionError> {
    std::thread::Builder::new()
        .name("pyrepl3-late".into())
        .spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if handle.wait_blocking(Duration::from_millis(100)) {
                    let _order = lock(&late.order);
                    late.send_all(handle.take());
                }
            }
        })
        .map(drop)
        .map_err(|e| SessionError(format!("could not start a thread: {e}")))
}

/// A restart note for standard error.
fn restart_note(report: &transport::RestartReport) -> String {
    let mut note = format!("pyrepl3: {}; a fresh worker was started", report.cause);
    if report.restored_checkpoint {
        note.push_str(&format!(
            ", {} name(s) restored from the last checkpoint",
            report.restored.len()
        ));
    }
    if !report.not_restored.is_empty() {
        let names: Vec<String> = report
            .not_restored
            .iter()
            .map(|s| format!("{} ({})", s.name, s.reason))
            .collect();
        note.push_str(&format!("; not restored: {}", names.join(", ")));
    }
    note.push('\n');
    note
}

impl Session for Worker {
    fn execute(
        &self,
        source: &str,
        first_line: u32,
        timeout: Option<Duration>,
    ) -> Result<CellOutcome, SessionError> {
        let started = Instant::now();
        let mut guard = lock(&self.session);
        let session = guard
            .as_mut()
            .ok_or_else(|| SessionError("the session is shut down".into()))?;
        let options = ExecuteOptions {
            timeout,
            first_line: Some(first_line.max(1)),
            allow_stdin: self.config.input.is_some(),
            silent: false,
        };
        let mut execution = session
            .execute(source, &options)
            .map_err(|e| SessionError(e.to_string()))?;
        let execution_id = {
            let mut ids = lock(&self.late.ids);
            ids.next += 1;
            let n = ids.next;
            ids.of.insert(execution.id().to_string(), n);
            n
        };
        let mut outcome = CellOutcome {
            execution_id,
            status: CellStatus::Error,
            mode: String::new(),
            result: None,
            stdout: String::new(),
            stderr: String::new(),
            error: None,
            duration: Duration::ZERO,
        };
        let mut died = false;
        let mut worker_ms = None;
        while let Some(event) = execution.next() {
            match event {
                Event::Restarted(report) => self.notice(&restart_note(&report)),
                Event::Late(item) => {
                    let _order = lock(&self.late.order);
                    self.late.send_all([item]);
                }
                Event::Stream(s) => {
                    let stream = stream_of(s.name);
                    if let Some(live) = &self.config.live {
                        live(stream, &s.text);
                    }
                    match stream {
                        Stream::Stdout => outcome.stdout.push_str(&s.text),
                        Stream::Stderr => outcome.stderr.push_str(&s.text),
                    }
                }
                Event::Result(r) => {
                    outcome.result = r
                        .data
                        .get("text/plain")
                        .and_then(|v| v.as_str())
                        .map(str::to_owned);
                }
                Event::Error(e) => outcome.error = Some(cell_error(&e)),
                Event::InputRequest(request) => {
                    let answer = self.config.input.as_ref().and_then(|f| f(&request.prompt));
                    // Err: the request is gone (an interrupt cancelled it, or the worker died);
                    // the cell's end says what happened.
                    let _ = match answer {
                        Some(line) => execution.answer_input(line),
                        None => execution.answer_input_eof(),
                    };
                }
                Event::Reply(reply) => {
                    let status = transport::CellStatus::of(&reply);
                    outcome.status = match status {
                        transport::CellStatus::Ok => CellStatus::Ok,
                        transport::CellStatus::Error => CellStatus::Error,
                        transport::CellStatus::Timeout => CellStatus::Timeout,
                        transport::CellStatus::Interrupted => CellStatus::Interrupted,
                        transport::CellStatus::WorkerDied | transport::CellStatus::Aborted => {
                            died = true;
                            CellStatus::Error
                        }
                    };
                    if outcome.error.is_none() && outcome.status != CellStatus::Ok {
                        outcome.error = reply.error.as_ref().map(cell_error);
                    }
                    if let Some(mode) = reply.metadata.get("mode").and_then(|v| v.as_str()) {
                        outcome.mode = mode.to_owned();
                    }
                    worker_ms = reply.metadata.get("duration_ms").and_then(|v| v.as_f64());
                }
            }
        }
        drop(execution);
        drop(guard);
        if died
            && timeout.is_some()
            && outcome
                .error
                .as_ref()
                .is_some_and(|e| e.message.contains("past its timeout"))
        {
            // The cell ignored its timeout and the session killed the worker: still a timeout.
            outcome.status = CellStatus::Timeout;
        }
        if outcome.status != CellStatus::Ok && outcome.error.is_none() {
            outcome.error = Some(CellError {
                type_name: "WorkerDied".into(),
                message: "the execution ended without a reply from the worker".into(),
                traceback: String::new(),
            });
        }
        if outcome.mode.is_empty() {
            // The worker died before it said: the analyzer's routing, as the worker would do it.
            let mut state = pyrepl3_analyzer::SessionState::new();
            outcome.mode = pyrepl3_analyzer::analyze_cell(source, &mut state)
                .mode
                .as_str()
                .to_owned();
        }
        outcome.duration = match worker_ms {
            Some(ms) if ms.is_finite() && ms >= 0.0 => Duration::from_secs_f64(ms / 1e3),
            _ => started.elapsed(),
        };
        Ok(outcome)
    }

    fn interrupter(&self) -> InterruptFn {
        let interrupter = self.interrupter.clone();
        Arc::new(move || interrupter.interrupt_blocking())
    }

    fn late_output(&self) -> Receiver<LateOutput> {
        self.late_rx.clone()
    }

    fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(session) = lock(&self.session).take() {
            session.shutdown();
        }
    }

    fn restart(&self) -> Result<bool, SessionError> {
        let mut guard = lock(&self.session);
        let session = guard
            .as_mut()
            .ok_or_else(|| SessionError("the session is shut down".into()))?;
        session
            .restart()
            .map_err(|e| SessionError(format!("cannot restart the worker: {e}")))?;
        Ok(true)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn cell_error(e: &pyrepl3_transport::message::ErrorContent) -> CellError {
    let mut traceback = e.traceback.join("\n");
    if !traceback.is_empty() && !traceback.ends_with('\n') {
        traceback.push('\n');
    }
    CellError {
        type_name: e.ename.clone(),
        message: e.evalue.clone(),
        traceback,
    }
}
