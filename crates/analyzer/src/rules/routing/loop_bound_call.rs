//! Rule PR101 `loop-bound-call`.

crate::declare_rule! {
    /// ## What it does
    /// Finds module-level calls to asyncio APIs that need the running loop's thread: `asyncio.create_task`,
    /// `ensure_future`, `get_running_loop`, `get_event_loop`, `loop.call_soon`, and the like.
    ///
    /// ## Why is this bad?
    /// These calls must run on the thread of the session's event loop, so the cell cannot be moved to a worker
    /// thread, even if it also blocks.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    /// task = asyncio.create_task(worker())
    /// ```
    pub struct LoopBoundCall { code: "PR101", name: "loop-bound-call", severity: Info }
}
