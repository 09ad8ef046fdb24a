//! The process-wide Python side of the executor: the `pyrepl3` support module (support.py),
//! loaded once per process, and handles to the objects the runtime calls often.

use std::ffi::CString;

use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyModule, PyType};
use pyrepl3_analyzer::pyast;
use pyrepl3_analyzer::transform::WRAPPER_NAME;

const SOURCE: &str = include_str!("support.py");

/// Handles into the support module and the builtins the runtime uses.
pub(crate) struct Support {
    pub(crate) prepare: Py<PyAny>,
    pub(crate) prepare_tree: Py<PyAny>,
    pub(crate) prepare_wrapped: Py<PyAny>,
    pub(crate) run_wrapped_async: Py<PyAny>,
    pub(crate) run_wrapped_sync: Py<PyAny>,
    pub(crate) refusal: Py<PyAny>,
    pub(crate) describe_error: Py<PyAny>,
    pub(crate) is_coroutine: Py<PyAny>,
    pub(crate) new_context: Py<PyAny>,
    pub(crate) base_context: Py<PyAny>,
    pub(crate) new_loop: Py<PyAny>,
    pub(crate) report_escape: Py<PyAny>,
    pub(crate) shutdown_loop: Py<PyAny>,
    pub(crate) pending_tasks: Py<PyAny>,
    pub(crate) ainput: Py<PyAny>,
    pub(crate) eval: Py<PyAny>,
    pub(crate) partial: Py<PyAny>,
    pub(crate) current_task: Py<PyAny>,
    pub(crate) keyboard_interrupt: Py<PyType>,
    pub(crate) cell_timeout: Py<PyType>,
    pub(crate) cancelled_error: Py<PyType>,
    pub(crate) run_cell_async: Py<PyAny>,
    pub(crate) enter_session_thread: Py<PyAny>,
    pub(crate) sigint_handler: Py<PyAny>,
    pub(crate) is_main_thread: Py<PyAny>,
}

static SUPPORT: PyOnceLock<Support> = PyOnceLock::new();

/// The support module, loaded (and its process-wide hooks installed) on first use.
pub(crate) fn support(py: Python<'_>) -> PyResult<&'static Support> {
    SUPPORT.get_or_try_init(py, || load(py))
}

fn load(py: Python<'_>) -> PyResult<Support> {
    let code = CString::new(SOURCE).expect("support.py has no NUL byte");
    let module = PyModule::from_code(py, &code, c"<pyrepl3 support>", c"pyrepl3")?;
    // `import pyrepl3` in a cell gives `CellTimeout` and `ainput`.
    PyModule::import(py, "sys")?
        .getattr("modules")?
        .set_item("pyrepl3", &module)?;
    module.add_function(wrap_pyfunction!(crate::run::pending_stop, &module)?)?;
    // Transformed cells arrive as the analyzer's pyast wire text; its decoder builds `ast`
    // objects from it (once per interpreter).
    let decoder_source = CString::new(pyast::WIRE_DECODER).expect("the decoder has no NUL byte");
    let decoder = PyModule::from_code(
        py,
        &decoder_source,
        c"<pyrepl3 pyast decoder>",
        c"pyrepl3._pyast",
    )?;
    module.setattr("pyast_build", decoder.getattr("pyast_build")?)?;
    module.setattr("WRAPPER_NAME", WRAPPER_NAME)?;
    module.getattr("install")?.call0()?;
    let get = |name: &str| -> PyResult<Py<PyAny>> { Ok(module.getattr(name)?.unbind()) };
    let builtins = PyModule::import(py, "builtins")?;
    let asyncio = PyModule::import(py, "asyncio")?;
    Ok(Support {
        prepare: get("prepare")?,
        prepare_tree: get("prepare_tree")?,
        prepare_wrapped: get("prepare_wrapped")?,
        run_wrapped_async: get("run_wrapped_async")?,
        run_wrapped_sync: get("run_wrapped_sync")?,
        refusal: get("refusal")?,
        describe_error: get("describe_error")?,
        is_coroutine: get("is_coroutine")?,
        new_context: get("new_context")?,
        base_context: get("base_context")?,
        new_loop: get("new_loop")?,
        report_escape: get("report_escape")?,
        shutdown_loop: get("shutdown_loop")?,
        pending_tasks: get("pending_tasks")?,
        ainput: get("ainput")?,
        eval: builtins.getattr("eval")?.unbind(),
        partial: PyModule::import(py, "functools")?
            .getattr("partial")?
            .unbind(),
        current_task: asyncio.getattr("current_task")?.unbind(),
        keyboard_interrupt: py.get_type::<PyKeyboardInterrupt>().unbind(),
        cell_timeout: module
            .getattr("CellTimeout")?
            .cast_into::<PyType>()?
            .unbind(),
        cancelled_error: asyncio
            .getattr("CancelledError")?
            .cast_into::<PyType>()?
            .unbind(),
        run_cell_async: get("run_cell_async")?,
        enter_session_thread: get("enter_session_thread")?,
        sigint_handler: get("sigint_handler")?,
        is_main_thread: get("is_main_thread")?,
    })
}
