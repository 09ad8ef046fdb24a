//! Running one cell: the sync runner (loop thread or worker thread), the coroutine wrapper that
//! drives a top-level-await cell as an asyncio task, and completion (result, error data,
//! history, change tracking, context hand-over).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyRuntimeError, PyStopIteration};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyrepl3_analyzer::Mode;
use pyrepl3_namespace::{ChangeTracker, Changes};

use crate::executor::Shared;
use crate::guard::{CellGuard, Entry, StopReason};
use crate::outcome::{ExecError, OutputEvent, Status};
use crate::support::support;

/// Messages to the thread waiting in `execute` (crossbeam, sync -> sync: senders are Python
/// threads holding the GIL, which must never block; the receiver is a plain thread).
pub(crate) enum CellMsg {
    /// Output of the running cell, in order.
    Output(OutputEvent),
    /// The cell completed; always after all of its output.
    Done(Box<Done>),
    /// A stop was requested: start the grace period.
    Wake,
}

/// What a completed cell reports.
pub(crate) struct Done {
    pub(crate) status: Status,
    pub(crate) result: Option<Py<PyAny>>,
    pub(crate) result_repr: Option<String>,
    pub(crate) error: Option<ExecError>,
    pub(crate) warnings: Vec<String>,
    pub(crate) changes: Changes,
}

/// One execution in flight.
pub(crate) struct CellRun {
    pub(crate) id: u64,
    pub(crate) mode: Mode,
    /// The cell up to its trailing expression statement.
    pub(crate) code: Py<PyAny>,
    /// The trailing expression statement ('eval' mode): its value is the cell's result.
    pub(crate) expr: Option<Py<PyAny>>,
    /// Why the value of the trailing expression could not be captured, if so.
    pub(crate) note: Option<String>,
    /// The cell's `contextvars.Context`: a copy of the session context naming this execution;
    /// it becomes the session context when the cell completes.
    pub(crate) ctx: Py<PyAny>,
    pub(crate) guard: CellGuard,
    pub(crate) shared: Arc<Shared>,
    pub(crate) tracker: Mutex<Option<ChangeTracker>>,
    pub(crate) started: Instant,
    pub(crate) timeout: Option<Duration>,
}

/// The cell running on the main lane (see `Executor::serve_blocking_on_this_thread`).
static MAIN_LANE_RUN: Mutex<Option<Weak<CellRun>>> = Mutex::new(None);

/// Run a blocking cell on the main lane (the calling thread is Python's main thread).
pub(crate) fn run_on_main_lane(run: &Arc<CellRun>) {
    *MAIN_LANE_RUN.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::downgrade(run));
    Python::attach(|py| run_sync(py, run));
    *MAIN_LANE_RUN.lock().unwrap_or_else(PoisonError::into_inner) = None;
}

/// For the SIGINT handler: 1 to raise `KeyboardInterrupt`, 2 to raise `CellTimeout`, 0 to
/// ignore the signal (no cell of this thread has a pending stop request).
#[pyfunction]
pub(crate) fn pending_stop() -> u8 {
    let run = MAIN_LANE_RUN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .and_then(Weak::upgrade);
    match run.and_then(|r| r.guard.pending_on_current_thread()) {
        Some(StopReason::Interrupt) => 1,
        Some(StopReason::Timeout) => 2,
        None => 0,
    }
}

/// Run a sync cell to completion on the calling thread (GIL held).
pub(crate) fn run_sync(py: Python<'_>, run: &Arc<CellRun>) {
    let result = match run.guard.enter(py) {
        Entry::Skip => return,
        Entry::Run(Some(reason)) => {
            run.guard.exit(py);
            Err(stopped_before_start(py, reason))
        }
        Entry::Run(None) => {
            let r = support(py).and_then(|sup| {
                let ctx = run.ctx.bind(py);
                let ns = run.shared.ns.dict(py);
                ctx.call_method1("run", (sup.eval.bind(py), run.code.bind(py), &ns))?;
                match &run.expr {
                    Some(expr) => Ok(Some(
                        ctx.call_method1("run", (sup.eval.bind(py), expr.bind(py), &ns))?
                            .unbind(),
                    )),
                    None => Ok(None),
                }
            });
            // Nothing runs between the cell's last bytecode and this exit: no stale stop.
            run.guard.exit(py);
            r
        }
    };
    complete(py, run, result);
}

fn stopped_before_start(py: Python<'_>, reason: StopReason) -> PyErr {
    match support(py) {
        Ok(sup) => {
            let ty = match reason {
                StopReason::Interrupt => sup.keyboard_interrupt.bind(py),
                StopReason::Timeout => sup.cell_timeout.bind(py),
            };
            PyErr::from_type(ty.clone(), "stopped before the cell started")
        }
        Err(e) => e,
    }
}

/// The loop-thread callback of a sync cell (`loop.call_soon_threadsafe(runner)`).
#[pyclass(frozen, module = "pyrepl3")]
pub(crate) struct SyncRunner {
    pub(crate) run: Arc<CellRun>,
}

#[pymethods]
impl SyncRunner {
    fn __call__(&self, py: Python<'_>) {
        run_sync(py, &self.run);
    }
}

/// Drives a top-level-await cell's coroutine as the coroutine of an asyncio task, one guarded
/// step per resumption. It never raises anything but `StopIteration`: every exception of the
/// cell (including `SystemExit`/`KeyboardInterrupt`, which asyncio would re-raise out of the
/// loop) becomes the cell's outcome, so the loop survives.
#[pyclass(frozen, module = "pyrepl3")]
pub(crate) struct CellCoroutine {
    pub(crate) run: Arc<CellRun>,
    pub(crate) inner: Py<PyAny>,
    pub(crate) cancel_thrown: AtomicBool,
}

enum Op<'py> {
    Send(Bound<'py, PyAny>),
    Throw(Bound<'py, PyTuple>),
}

impl CellCoroutine {
    fn step(&self, py: Python<'_>, op: Op<'_>) -> PyResult<Py<PyAny>> {
        let run = &self.run;
        if !run.guard.has_task()
            && let Ok(sup) = support(py)
            && let Ok(task) = sup.current_task.bind(py).call0()
            && !task.is_none()
        {
            run.guard
                .set_task(task.unbind(), run.shared.event_loop.clone_ref(py));
        }
        let inner = self.inner.bind(py);
        let result = match run.guard.enter(py) {
            Entry::Skip => {
                run.guard.exit(py);
                let _ = inner.call_method0("close");
                return Err(PyStopIteration::new_err(()));
            }
            Entry::Run(Some(_)) if !self.cancel_thrown.swap(true, Ordering::SeqCst) => {
                match support(py) {
                    Ok(sup) => match sup.cancelled_error.bind(py).call0() {
                        Ok(exc) => inner.call_method1("throw", (exc,)),
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                }
            }
            Entry::Run(_) => match op {
                Op::Send(v) => inner.call_method1("send", (v,)),
                Op::Throw(args) => inner.call_method1("throw", args),
            },
        };
        run.guard.exit(py);
        match result {
            Ok(yielded) => Ok(yielded.unbind()),
            Err(e) if e.is_instance_of::<PyStopIteration>(py) => {
                let value = match &run.expr {
                    Some(_) => e.value(py).getattr("value").map(|v| Some(v.unbind())),
                    None => Ok(None),
                };
                complete(py, run, value);
                Err(PyStopIteration::new_err(()))
            }
            Err(e) => {
                complete(py, run, Err(e));
                Err(PyStopIteration::new_err(()))
            }
        }
    }
}

#[pymethods]
impl CellCoroutine {
    fn send(&self, py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.step(py, Op::Send(value))
    }

    #[pyo3(signature = (*args))]
    fn throw(&self, py: Python<'_>, args: Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        self.step(py, Op::Throw(args))
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let r = self.inner.bind(py).call_method0("close");
        if !self.run.guard.is_done() {
            complete(
                py,
                &self.run,
                Err(PyRuntimeError::new_err(
                    "the cell's coroutine was closed before it completed",
                )),
            );
        }
        r.map(drop)
    }

    fn __await__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.step(py, Op::Send(py.None().into_bound(py)))
    }
}

/// Complete a cell (on the thread that ran its last step, GIL held) and report to the waiter.
pub(crate) fn complete(py: Python<'_>, run: &Arc<CellRun>, result: PyResult<Option<Py<PyAny>>>) {
    let (reason, abandoned, was_done) = run.guard.finish();
    if was_done {
        return;
    }
    let done = match completion(py, run, result, reason, abandoned) {
        Ok(done) => done,
        Err(e) => Done {
            status: Status::Error,
            result: None,
            result_repr: None,
            error: Some(ExecError {
                type_name: "pyrepl3.InternalError".into(),
                message: format!("the runtime failed to complete the cell: {e}"),
                traceback: String::new(),
                notes: Vec::new(),
            }),
            warnings: Vec::new(),
            changes: Changes::default(),
        },
    };
    if !abandoned {
        run.shared.router.finish(run.id, done);
    }
}

fn completion(
    py: Python<'_>,
    run: &Arc<CellRun>,
    result: PyResult<Option<Py<PyAny>>>,
    reason: Option<StopReason>,
    abandoned: bool,
) -> PyResult<Done> {
    let sup = support(py)?;
    let mut done = Done {
        status: Status::Ok,
        result: None,
        result_repr: None,
        error: None,
        warnings: Vec::new(),
        changes: Changes::default(),
    };
    if abandoned {
        return Ok(done);
    }
    let elapsed = run.started.elapsed();
    match result {
        Ok(value) => {
            if let Some(note) = &run.note {
                done.warnings.push(note.clone());
            }
            if let Some(v) = value.map(|v| v.into_bound(py)).filter(|v| !v.is_none()) {
                run.shared.ns.push_result(py, &v)?;
                done.result_repr = Some(sup.safe_repr.bind(py).call1((&v,))?.extract()?);
                if sup.is_coroutine.bind(py).call1((&v,))?.is_truthy()? {
                    done.warnings.push(
                        "the cell's value is a coroutine that was never awaited; \
                         did you mean `await ...`?"
                            .into(),
                    );
                }
                done.result = Some(v.unbind());
            }
        }
        Err(e) => {
            let is_stop = e.is_instance(py, sup.keyboard_interrupt.bind(py))
                || e.is_instance(py, sup.cell_timeout.bind(py))
                || e.is_instance(py, sup.cancelled_error.bind(py));
            done.status = match (reason, is_stop) {
                (Some(StopReason::Timeout), true) => Status::Timeout,
                (Some(StopReason::Interrupt), true) => Status::Interrupted,
                _ => Status::Error,
            };
            let mut notes = Vec::new();
            match done.status {
                Status::Timeout => notes.push(format!(
                    "pyrepl3: execution {} timed out after {:.3}s (timeout {:.3}s, mode {})",
                    run.id,
                    elapsed.as_secs_f64(),
                    run.timeout.unwrap_or_default().as_secs_f64(),
                    run.mode
                )),
                Status::Interrupted => notes.push(format!(
                    "pyrepl3: execution {} interrupted after {:.3}s (mode {})",
                    run.id,
                    elapsed.as_secs_f64(),
                    run.mode
                )),
                _ => {}
            }
            let (mut type_name, mut message, traceback, notes): (
                String,
                String,
                String,
                Vec<String>,
            ) = sup
                .describe_error
                .bind(py)
                .call1((e.into_value(py), notes))?
                .extract()?;
            if done.status == Status::Timeout {
                type_name = "pyrepl3.CellTimeout".into();
                message = format!(
                    "execution {} exceeded its timeout of {:.3}s",
                    run.id,
                    run.timeout.unwrap_or_default().as_secs_f64()
                );
            }
            done.error = Some(ExecError {
                type_name,
                message,
                traceback,
                notes,
            });
        }
    }
    let tracker = run
        .tracker
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(tracker) = tracker {
        done.changes = tracker.finish(
            py,
            &run.shared.ns,
            format!("execution {} ({})", run.id, run.mode),
        )?;
    }
    // `var.set()` in this cell is visible in the next one.
    *run.shared
        .ctx
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = run.ctx.clone_ref(py);
    Ok(done)
}
