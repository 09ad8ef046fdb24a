//! The session's port to the embedder: output routing and `input()` requests.
//!
//! Python code (any thread) writes through `sys.stdout`/`sys.stderr`, which find the session's
//! [`Port`] and the execution id in a contextvar and call [`Port::emit`]. The [`Router`] sends
//! an event to the running cell's channel when it belongs to that cell, and to the session's
//! late-output channel otherwise. The cell channel is crossbeam (sync -> sync): the senders are
//! Python threads holding the GIL (they must never block), the receiver a plain thread. Late
//! output goes to a crossbeam channel (sync -> sync) or, when the embedder asks for it, to a
//! tokio unbounded mpsc (sync -> async: its `send` never blocks the Python thread).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crossbeam_channel::Sender;
use pyo3::prelude::*;

use crate::outcome::{OutputEvent, Stream};
use crate::run::{CellMsg, Done};

/// A request for a line of input from a cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRequest {
    /// The execution asking (`None` outside any cell).
    pub execution_id: Option<u64>,
    /// The prompt passed to `input()`.
    pub prompt: String,
}

/// Answers `input()`: `Some(line)` to answer, `None` to refuse (the cell gets `EOFError`).
/// Called on the thread running the cell, without the GIL; it may block.
pub type InputHandler = Arc<dyn Fn(InputRequest) -> Option<String> + Send + Sync>;

/// Receives every output event as it is written (see `ExecutorBuilder::output_sink`). Called on
/// the writing thread, without the GIL, in the session's output order; it may block, which holds
/// back the writer (backpressure for an output flood).
pub type OutputSink = Arc<dyn Fn(OutputEvent) + Send + Sync>;

struct RouterState {
    seq: u64,
    current: Option<(u64, Sender<CellMsg>)>,
}

/// Where late output goes.
pub(crate) enum LateSink {
    /// Crossbeam (sync -> sync), read through `Executor::late_output`.
    Crossbeam(Sender<OutputEvent>),
    /// Tokio unbounded mpsc (sync -> async), given by the embedder.
    Tokio(tokio::sync::mpsc::UnboundedSender<OutputEvent>),
}

/// Routes output events and completion to the running cell or to the late-output channel.
pub(crate) struct Router {
    state: Mutex<RouterState>,
    late: LateSink,
    /// Sees the running cell's events as they are written (`ExecutorBuilder::live_output`).
    live: Option<crate::executor::LiveOutput>,
    /// When set, every event goes here (streamed) instead of to the cell or late channels.
    sink: Option<OutputSink>,
}

impl Router {
    pub(crate) fn new(
        late: LateSink,
        live: Option<crate::executor::LiveOutput>,
        sink: Option<OutputSink>,
    ) -> Self {
        Self {
            live,
            state: Mutex::new(RouterState {
                seq: 0,
                current: None,
            }),
            late,
            sink,
        }
    }

    fn lock(&self) -> MutexGuard<'_, RouterState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Output of `execution_id` now goes to `tx`.
    pub(crate) fn begin(&self, execution_id: u64, tx: Sender<CellMsg>) {
        self.lock().current = Some((execution_id, tx));
    }

    pub(crate) fn emit(&self, execution_id: Option<u64>, stream: Stream, text: String) {
        let mut s = self.lock();
        s.seq += 1;
        let event = OutputEvent {
            execution_id,
            stream,
            text,
            seq: s.seq,
        };
        if let Some(sink) = &self.sink {
            // Under the router lock, so events leave in `seq` order.
            sink(event);
            return;
        }
        match &s.current {
            Some((id, tx)) if Some(*id) == execution_id => {
                if let Some(live) = &self.live {
                    live(&event);
                }
                let _ = tx.send(CellMsg::Output(event));
            }
            _ => match &self.late {
                LateSink::Crossbeam(tx) => drop(tx.send(event)),
                LateSink::Tokio(tx) => drop(tx.send(event)),
            },
        }
    }

    /// Deliver the completion of `execution_id` after all of its output; later output of the
    /// execution (threads or tasks it left running) becomes late output.
    pub(crate) fn finish(&self, execution_id: u64, done: Done) {
        let mut s = self.lock();
        if matches!(&s.current, Some((id, _)) if *id == execution_id)
            && let Some((_, tx)) = s.current.take()
        {
            let _ = tx.send(CellMsg::Done(Box::new(done)));
        }
    }

    /// Stop routing to the cell (it was abandoned or has completed).
    pub(crate) fn end(&self, execution_id: u64) {
        let mut s = self.lock();
        if matches!(&s.current, Some((id, _)) if *id == execution_id) {
            s.current = None;
        }
    }
}

/// The Python-visible port of one session (held in the attribution contextvar).
#[pyclass(frozen, module = "pyrepl3")]
pub(crate) struct Port {
    pub(crate) router: Arc<Router>,
    pub(crate) input: Option<InputHandler>,
}

#[pymethods]
impl Port {
    /// Called by the output writers: `stream` 0 is stdout, 1 is stderr.
    fn emit(&self, py: Python<'_>, execution_id: Option<u64>, stream: u8, text: String) {
        let stream = if stream == 0 {
            Stream::Stdout
        } else {
            Stream::Stderr
        };
        if self.router.sink.is_some() {
            // A sink may block (backpressure): never hold the GIL across it.
            py.detach(|| self.router.emit(execution_id, stream, text));
        } else {
            self.router.emit(execution_id, stream, text);
        }
    }

    /// Called by `input()`: ask the embedder, without holding the GIL while it answers.
    fn read_input(
        &self,
        py: Python<'_>,
        execution_id: Option<u64>,
        prompt: String,
    ) -> Option<String> {
        let handler = self.input.clone()?;
        // The handler may block (a person typing): never hold the GIL across it.
        py.detach(move || {
            handler(InputRequest {
                execution_id,
                prompt,
            })
        })
    }
}
