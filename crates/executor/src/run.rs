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
    /// The wrapper fallback compiled the cell: `code` defines `__pyrepl3_cell__`, whose
    /// coroutine runs it; `Some(true)` when its return value is the cell's result.
    pub(crate) wrapped: Option<bool>,
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
    let rendered = match run.guard.enter(py) {
        Entry::Skip => return,
        Entry::Run(Some(reason)) => {
            run.guard.exit(py);
            render(py, run, Err(stopped_before_start(py, reason)))
        }
        Entry::Run(None) => {
            let r = support(py).and_then(|sup| {
                let ctx = run.ctx.bind(py);
                let ns = run.shared.ns.dict(py);
                if let Some(keep_value) = run.wrapped {
                    let value = ctx.call_method1(
                        "run",
                        (sup.run_wrapped_sync.bind(py), run.code.bind(py), &ns),
                    )?;
                    return Ok(keep_value.then(|| value.unbind()));
                }
                ctx.call_method1("run", (sup.eval.bind(py), run.code.bind(py), &ns))?;
                match &run.expr {
                    Some(expr) => Ok(Some(
                        ctx.call_method1("run", (sup.eval.bind(py), expr.bind(py), &ns))?
                            .unbind(),
                    )),
                    None => Ok(None),
                }
            });
            // The value's repr() and the error's str() are user code: still inside the step,
            // so a stop request reaches them too.
            let rendered = render(py, run, r);
            // Nothing runs between the cell's last bytecode and this exit: no stale stop.
            run.guard.exit(py);
            rendered
        }
    };
    complete(py, run, rendered);
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
        let rendered = match result {
            Ok(yielded) => {
                run.guard.exit(py);
                return Ok(yielded.unbind());
            }
            Err(e) if e.is_instance_of::<PyStopIteration>(py) => {
                let keep_value = run.expr.is_some() || run.wrapped == Some(true);
                let value = match keep_value {
                    true => e.value(py).getattr("value").map(|v| Some(v.unbind())),
                    false => Ok(None),
                };
                render(py, run, value)
            }
            Err(e) => render(py, run, Err(e)),
        };
        run.guard.exit(py);
        complete(py, run, rendered);
        Err(PyStopIteration::new_err(()))
    }
}

impl Drop for CellCoroutine {
    fn drop(&mut self) {
        // The runtime's own coroutines never leak: a cell coroutine that never ran to the end
        // (its task was never started, e.g. at shutdown) is closed, which runs none of it.
        if !self.run.guard.is_done() {
            Python::attach(|py| {
                let _ = self.inner.bind(py).call_method0("close");
            });
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
            let rendered = render(
                py,
                &self.run,
                Err(PyRuntimeError::new_err(
                    "the cell's coroutine was closed before it completed",
                )),
            );
            complete(py, &self.run, rendered);
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

/// A cell's result or error, rendered to data while the cell's step is still guarded (the
/// value's `repr()` and the exception's `str()` run user code).
pub(crate) struct Rendered {
    status: Status,
    value: Option<Py<PyAny>>,
    repr: Option<String>,
    error: Option<ExecError>,
    warnings: Vec<String>,
}

fn internal_error(e: PyErr) -> Rendered {
    Rendered {
        status: Status::Error,
        value: None,
        repr: None,
        error: Some(ExecError {
            type_name: "pyrepl3.InternalError".into(),
            message: format!("the runtime failed to complete the cell: {e}"),
            traceback: String::new(),
            notes: Vec::new(),
        }),
        warnings: Vec::new(),
    }
}

/// Render the outcome of a cell (GIL held, inside the cell's last step).
pub(crate) fn render(
    py: Python<'_>,
    run: &Arc<CellRun>,
    result: PyResult<Option<Py<PyAny>>>,
) -> Rendered {
    render_inner(py, run, result).unwrap_or_else(|e| {
        stopped_while_rendering(py, run, &e).unwrap_or_else(|| internal_error(e))
    })
}

/// A stop (interrupt or timeout) of this cell that arrived while its outcome was being rendered
/// (a second `SIGINT`, say, while its exception was described) still means the cell stopped: it
/// is reported as such, without running more Python, never as a runtime failure.
fn stopped_while_rendering(py: Python<'_>, run: &Arc<CellRun>, e: &PyErr) -> Option<Rendered> {
    let reason = run.guard.requested()?;
    if !is_stop(py, e).ok()? {
        return None;
    }
    let elapsed = run.started.elapsed().as_secs_f64();
    let (status, type_name, message, note) = match reason {
        StopReason::Interrupt => (
            Status::Interrupted,
            "KeyboardInterrupt".to_string(),
            String::new(),
            format!(
                "pyrepl3: execution {} interrupted after {elapsed:.3}s (mode {})",
                run.id, run.mode
            ),
        ),
        StopReason::Timeout => {
            let timeout = run.timeout.unwrap_or_default().as_secs_f64();
            (
                Status::Timeout,
                "pyrepl3.CellTimeout".to_string(),
                format!("execution {} exceeded its timeout of {timeout:.3}s", run.id),
                format!(
                    "pyrepl3: execution {} timed out after {elapsed:.3}s (timeout {timeout:.3}s, mode {})",
                    run.id, run.mode
                ),
            )
        }
    };
    Some(Rendered {
        status,
        value: None,
        repr: None,
        error: Some(ExecError {
            type_name,
            message,
            traceback: String::new(),
            notes: vec![note],
        }),
        warnings: Vec::new(),
    })
}

fn is_stop(py: Python<'_>, e: &PyErr) -> PyResult<bool> {
    let sup = support(py)?;
    Ok(e.is_instance(py, sup.keyboard_interrupt.bind(py))
        || e.is_instance(py, sup.cell_timeout.bind(py))
        || e.is_instance(py, sup.cancelled_error.bind(py)))
}

fn render_inner(
    py: Python<'_>,
    run: &Arc<CellRun>,
    result: PyResult<Option<Py<PyAny>>>,
) -> PyResult<Rendered> {
    let sup = support(py)?;
    let mut out = Rendered {
        status: Status::Ok,
        value: None,
        repr: None,
        error: None,
        warnings: Vec::new(),
    };
    let error = match result {
        Ok(value) => {
            if let Some(note) = &run.note {
                out.warnings.push(note.clone());
            }
            match value.map(|v| v.into_bound(py)).filter(|v| !v.is_none()) {
                None => None,
                Some(v) => match v.repr() {
                    Ok(r) => {
                        out.repr = Some(r.to_str()?.to_string());
                        if sup.is_coroutine.bind(py).call1((&v,))?.is_truthy()? {
                            out.warnings.push(
                                "the cell's value is a coroutine that was never awaited; \
                                 did you mean `await ...`?"
                                    .into(),
                            );
                        }
                        out.value = Some(v.unbind());
                        None
                    }
                    // Stopped while computing repr(): the cell is stopped.
                    Err(e) if run.guard.requested().is_some() && is_stop(py, &e)? => Some(e),
                    Err(e) => {
                        let ty = e.get_type(py).name()?.to_string();
                        out.repr = Some(format!("<repr() failed: {ty}: {}>", e.value(py)));
                        out.value = Some(v.unbind());
                        None
                    }
                },
            }
        }
        Err(e) => Some(e),
    };
    let Some(e) = error else {
        return Ok(out);
    };
    let elapsed = run.started.elapsed();
    let reason = run.guard.requested();
    out.status = match (reason, is_stop(py, &e)?) {
        (Some(StopReason::Timeout), true) => Status::Timeout,
        (Some(StopReason::Interrupt), true) => Status::Interrupted,
        _ => Status::Error,
    };
    let mut notes = Vec::new();
    match out.status {
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
    let (mut type_name, mut message, traceback, notes): (String, String, String, Vec<String>) = sup
        .describe_error
        .bind(py)
        .call1((e.into_value(py), notes))?
        .extract()?;
    if out.status == Status::Timeout {
        type_name = "pyrepl3.CellTimeout".into();
        message = format!(
            "execution {} exceeded its timeout of {:.3}s",
            run.id,
            run.timeout.unwrap_or_default().as_secs_f64()
        );
    }
    out.error = Some(ExecError {
        type_name,
        message,
        traceback,
        notes,
    });
    Ok(out)
}

/// Complete a cell (on the thread that ran its last step, GIL held, after the step) and report
/// to the waiter.
pub(crate) fn complete(py: Python<'_>, run: &Arc<CellRun>, rendered: Rendered) {
    let (_, abandoned, was_done) = run.guard.finish();
    if was_done || abandoned {
        // An abandoned cell's outcome was already reported; its late result is discarded.
        return;
    }
    let done = match completion(py, run, rendered) {
        Ok(done) => done,
        Err(e) => {
            let r = stopped_while_rendering(py, run, &e).unwrap_or_else(|| internal_error(e));
            Done {
                status: r.status,
                result: None,
                result_repr: None,
                error: r.error,
                warnings: Vec::new(),
                changes: Changes::default(),
            }
        }
    };
    run.shared.router.finish(run.id, done);
}

fn completion(py: Python<'_>, run: &Arc<CellRun>, r: Rendered) -> PyResult<Done> {
    if let Some(v) = &r.value {
        run.shared.ns.push_result(py, v.bind(py))?;
    }
    let mut changes = Changes::default();
    let tracker = run
        .tracker
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(tracker) = tracker {
        changes = tracker.finish(
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
    Ok(Done {
        status: r.status,
        result: r.value,
        result_repr: r.repr,
        error: r.error,
        warnings: r.warnings,
        changes,
    })
}
