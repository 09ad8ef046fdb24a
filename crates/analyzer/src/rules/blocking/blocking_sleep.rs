//! Rule PR201 `blocking-sleep`.

crate::declare_rule! {
    /// ## What it does
    /// Finds calls that put the thread to sleep: `time.sleep` (however it was imported or aliased),
    /// `signal.pause`, `signal.sigwait`.
    ///
    /// ## Why is this bad?
    /// While the call waits, the thread that runs it can do nothing else. On the session's event loop
    /// that would stall every background task, so pyrepl3 runs the cell on a worker thread instead (or,
    /// when the cell must stay on the loop, warns with PR102).
    ///
    /// ## Example
    /// ```python
    /// import time as t
    /// t.sleep(1)
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// import asyncio
    /// await asyncio.sleep(1)
    /// ```
    pub struct BlockingSleep { code: "PR201", name: "blocking-sleep", severity: Info }
}
