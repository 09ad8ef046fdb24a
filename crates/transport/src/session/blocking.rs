//! The synchronous facade of a [`Session`]: the same API for code without an async runtime. It
//! owns a small multi-threaded tokio runtime, so the session's driver (heartbeats, death
//! detection) keeps running between calls.

use std::sync::Arc;

use super::{
    Event, ExecuteOptions, Execution, InputRequest, Interrupter, LateOutput, Outcome, Session,
    SessionConfig, SessionError,
};
use crate::message::KernelInfoReply;

/// A [`Session`] driven from synchronous code.
pub struct BlockingSession {
    runtime: Arc<tokio::runtime::Runtime>,
    session: Option<Session>,
}

impl std::fmt::Debug for BlockingSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingSession")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, SessionError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("pyrepl3-session")
        .enable_all()
        .build()
        .map_err(|source| SessionError::Spawn {
            program: "the session runtime".into(),
            source,
        })
}

impl BlockingSession {
    /// Starts a session (see [`Session::start`]). Must not be called from inside a tokio runtime.
    pub fn start(config: SessionConfig) -> Result<BlockingSession, SessionError> {
        let runtime = Arc::new(runtime()?);
        let session = runtime.block_on(Session::start(config))?;
        Ok(BlockingSession {
            runtime,
            session: Some(session),
        })
    }

    fn session(&mut self) -> Result<&mut Session, SessionError> {
        self.session.as_mut().ok_or(SessionError::Closed)
    }

    /// Runs a cell; iterate its events with [`BlockingExecution::next`].
    pub fn execute(
        &mut self,
        code: &str,
        options: &ExecuteOptions,
    ) -> Result<BlockingExecution<'_>, SessionError> {
        let runtime = self.runtime.clone();
        let session = self.session.as_mut().ok_or(SessionError::Closed)?;
        let execution = runtime.block_on(session.execute(code, options))?;
        Ok(BlockingExecution { runtime, execution })
    }

    /// Runs a cell and collects it (see [`Session::run`]).
    pub fn run(
        &mut self,
        code: &str,
        options: &ExecuteOptions,
        answer: impl FnMut(&InputRequest) -> Option<String>,
    ) -> Result<Outcome, SessionError> {
        let runtime = self.runtime.clone();
        let session = self.session()?;
        runtime.block_on(session.run(code, options, answer))
    }

    /// A handle to interrupt the running cell from another thread
    /// ([`Interrupter::interrupt_blocking`]).
    pub fn interrupter(&self) -> Interrupter {
        self.session
            .as_ref()
            .map(Session::interrupter)
            .unwrap_or_default()
    }

    /// Makes sure a live worker is there (see [`Session::ready`]).
    pub fn ready(&mut self) -> Result<Option<super::RestartReport>, SessionError> {
        let runtime = self.runtime.clone();
        let session = self.session()?;
        runtime.block_on(session.ready())
    }

    /// Replaces the worker with a fresh one (see [`Session::restart`]).
    pub fn restart(&mut self) -> Result<(), SessionError> {
        let runtime = self.runtime.clone();
        let session = self.session()?;
        runtime.block_on(session.restart())
    }

    /// Late output buffered while nothing executed.
    pub fn take_late_output(&self) -> Vec<LateOutput> {
        self.session
            .as_ref()
            .map(Session::take_late_output)
            .unwrap_or_default()
    }

    /// A handle on late output produced while nothing executes (see [`Session::late_output`]).
    pub fn late_output(&self) -> Option<super::LateOutputHandle> {
        self.session.as_ref().map(Session::late_output)
    }

    /// The worker's pid.
    pub fn pid(&self) -> Option<u32> {
        self.session.as_ref().and_then(Session::pid)
    }

    /// The worker's handshake info.
    pub fn info(&self) -> Option<&KernelInfoReply> {
        self.session.as_ref().and_then(Session::info)
    }

    /// Shuts the worker down.
    pub fn shutdown(mut self) {
        if let Some(session) = self.session.take() {
            self.runtime.block_on(session.shutdown());
        }
    }
}

impl Drop for BlockingSession {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.runtime.block_on(session.shutdown());
        }
    }
}

/// A running execution of a [`BlockingSession`].
pub struct BlockingExecution<'s> {
    runtime: Arc<tokio::runtime::Runtime>,
    execution: Execution<'s>,
}

impl BlockingExecution<'_> {
    /// The execution's id.
    pub fn id(&self) -> &str {
        self.execution.id()
    }

    /// The next event; `None` after the reply.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Event> {
        self.runtime.block_on(self.execution.next())
    }

    /// Answers the most recent input request.
    pub fn answer_input(&mut self, value: impl Into<String>) -> Result<(), SessionError> {
        self.runtime.block_on(self.execution.answer_input(value))
    }

    /// Answers the most recent input request with end of input (`input()` raises `EOFError`).
    pub fn answer_input_eof(&mut self) -> Result<(), SessionError> {
        self.runtime.block_on(self.execution.answer_input_eof())
    }

    /// Interrupts the execution.
    pub fn interrupt(&self) -> bool {
        self.runtime.block_on(self.execution.interrupt())
    }

    /// Collects everything up to the reply (see [`Execution::collect_with`]).
    pub fn collect_with(self, answer: impl FnMut(&InputRequest) -> Option<String>) -> Outcome {
        self.runtime.block_on(self.execution.collect_with(answer))
    }
}
