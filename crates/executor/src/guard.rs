//! Stopping a running cell from any thread without the stop ever landing anywhere else.
//!
//! A cell runs in *steps* on some thread (one step for a sync cell; one per resumption for a
//! coroutine). Around every step the runner calls [`CellGuard::enter`] and [`CellGuard::exit`]
//! with the GIL held; a stop request ([`CellGuard::request`]) takes the GIL, then the guard's
//! lock, and injects an asynchronous exception (`PyThreadState_SetAsyncExc`) only into a thread
//! that is inside a step of *this* cell. `exit` clears any injected exception that has not fired
//! yet before the thread runs another line of Python, so an interrupt never lands in a later cell,
//! the event loop, or a background task. Requests made while the cell is between steps (or not
//! started) are seen by the next `enter`. Lock order is always GIL, then guard lock.

use std::os::raw::c_long;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crossbeam_channel::Sender;
use pyo3::prelude::*;

use crate::run::CellMsg;
use crate::support::support;

/// Why a cell is being stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    Interrupt,
    Timeout,
}

#[derive(Default)]
struct State {
    /// Thread ident of the thread inside a step, if any.
    thread: Option<u64>,
    requested: Option<StopReason>,
    requested_at: Option<Instant>,
    /// An async exception was injected into `thread` during the current step.
    injected: bool,
    done: bool,
    abandoned: bool,
    /// The asyncio task running the cell (coroutine cells), for cancellation.
    task: Option<Py<PyAny>>,
    /// The session loop, for scheduling `task.cancel()`.
    event_loop: Option<Py<PyAny>>,
}

/// The stop state of one execution.
pub(crate) struct CellGuard {
    state: Mutex<State>,
    /// Wakes the waiting `execute` when a stop is requested. Crossbeam (sync -> sync): the
    /// requester is any embedder thread, the waiter a plain thread blocked in `recv`.
    wake: Sender<CellMsg>,
}

/// What a step should do.
pub(crate) enum Entry {
    /// Run the step; `Some(reason)` when a stop was requested before it (coroutines then throw
    /// `CancelledError` into the cell instead of resuming it).
    Run(Option<StopReason>),
    /// The cell finished or was abandoned: do not run.
    Skip,
}

/// Thread ident of the thread serving blocking cells on Python's main thread (0: none). A stop
/// request for a cell running there also sends it SIGINT, which breaks blocking calls such as
/// `time.sleep` (the SIGINT handler raises only while that cell has a pending stop request).
static MAIN_LANE: AtomicU64 = AtomicU64::new(0);

pub(crate) fn set_main_lane(ident: u64) {
    MAIN_LANE.store(ident, Ordering::SeqCst);
}

pub(crate) fn thread_ident() -> u64 {
    // SAFETY: PyThread_get_thread_ident only reads the calling thread's identity (pthread_self).
    (unsafe { pyo3::ffi::PyThread_get_thread_ident() }) as u64
}

impl CellGuard {
    pub(crate) fn new(wake: Sender<CellMsg>) -> Self {
        Self {
            state: Mutex::new(State::default()),
            wake,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remember the task and loop of a coroutine cell (for cancellation).
    pub(crate) fn set_task(&self, task: Py<PyAny>, event_loop: Py<PyAny>) {
        let mut s = self.lock();
        s.task = Some(task);
        s.event_loop = Some(event_loop);
    }

    /// Whether the coroutine's task is known yet.
    pub(crate) fn has_task(&self) -> bool {
        self.lock().task.is_some()
    }

    /// A step of the cell starts on the calling thread (GIL held).
    pub(crate) fn enter(&self, _py: Python<'_>) -> Entry {
        let mut s = self.lock();
        if s.done || s.abandoned {
            return Entry::Skip;
        }
        s.thread = Some(thread_ident());
        s.injected = false;
        Entry::Run(s.requested)
    }

    /// The step ended on the calling thread (GIL held): clear an injected exception that has not
    /// fired, so it cannot land in whatever this thread runs next.
    pub(crate) fn exit(&self, _py: Python<'_>) {
        let mut s = self.lock();
        if let Some(tid) = s.thread.take()
            && s.injected
        {
            s.injected = false;
            // SAFETY: the GIL is held (the caller has a `Python` token); a NULL exception clears
            // the pending asynchronous exception of thread `tid` (our own thread).
            unsafe {
                pyo3::ffi::PyThreadState_SetAsyncExc(tid as c_long, std::ptr::null_mut());
            }
        }
    }

    /// Request a stop from any thread. Returns false when the cell already finished.
    pub(crate) fn request(&self, reason: StopReason) -> bool {
        Python::attach(|py| {
            let Ok(sup) = support(py) else { return false };
            let cancel = {
                let mut s = self.lock();
                if s.done || s.abandoned {
                    return false;
                }
                if s.requested.is_none() {
                    s.requested = Some(reason);
                    s.requested_at = Some(Instant::now());
                }
                if let Some(tid) = s.thread {
                    let exc = match s.requested.unwrap_or(reason) {
                        StopReason::Interrupt => sup.keyboard_interrupt.as_ptr(),
                        StopReason::Timeout => sup.cell_timeout.as_ptr(),
                    };
                    // SAFETY: the GIL is held; `exc` is a live exception type owned by the
                    // support module (SetAsyncExc takes its own reference). `tid` is inside a step
                    // of this cell: `exit` (under this same lock) clears the request before that
                    // thread leaves the step.
                    unsafe {
                        pyo3::ffi::PyThreadState_SetAsyncExc(tid as c_long, exc);
                    }
                    s.injected = true;
                    if tid == MAIN_LANE.load(Ordering::SeqCst) {
                        // SAFETY: `tid` is the pthread_t (PyThread_get_thread_ident is
                        // pthread_self on POSIX) of the main-lane thread, alive: it is inside a
                        // step of this cell and cannot leave it while we hold the guard lock.
                        unsafe {
                            libc::pthread_kill(tid as libc::pthread_t, libc::SIGINT);
                        }
                    }
                }
                match (&s.task, &s.event_loop) {
                    (Some(t), Some(l)) => Some((t.clone_ref(py), l.clone_ref(py))),
                    _ => None,
                }
            };
            if let Some((task, event_loop)) = cancel {
                // A suspended coroutine cell is cancelled on its loop; if it is inside a step,
                // the injected exception stops it and this cancel is a no-op on a done task.
                let cancel = task.bind(py).getattr("cancel");
                if let Ok(cancel) = cancel {
                    let _ = event_loop
                        .bind(py)
                        .call_method1("call_soon_threadsafe", (cancel,));
                }
            }
            let _ = self.wake.send(CellMsg::Wake);
            true
        })
    }

    /// The cell finished: no further stop applies. Returns the stop reason requested (if any),
    /// whether the cell had been abandoned, and whether it had already finished before.
    pub(crate) fn finish(&self) -> (Option<StopReason>, bool, bool) {
        let mut s = self.lock();
        let was_done = s.done;
        s.done = true;
        s.task = None;
        s.event_loop = None;
        (s.requested, s.abandoned, was_done)
    }

    /// Whether the cell finished.
    pub(crate) fn is_done(&self) -> bool {
        self.lock().done
    }

    /// Give up waiting for the cell: true if it had not finished (it is now abandoned).
    pub(crate) fn abandon(&self) -> bool {
        let mut s = self.lock();
        if s.done {
            return false;
        }
        s.abandoned = true;
        true
    }

    /// The stop request, if the calling thread is inside a step of this cell.
    pub(crate) fn pending_on_current_thread(&self) -> Option<StopReason> {
        let s = self.lock();
        if s.done || s.thread != Some(thread_ident()) {
            return None;
        }
        s.requested
    }

    /// The stop request, if any.
    pub(crate) fn requested(&self) -> Option<StopReason> {
        self.lock().requested
    }
}
