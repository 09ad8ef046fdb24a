//! Rule PR102 `blocking-on-loop`.

crate::declare_rule! {
    /// ## What it does
    /// Warns when a cell that must run on the event loop (it awaits at top level, or calls loop-bound asyncio APIs)
    /// also calls blocking I/O.
    ///
    /// ## Why is this bad?
    /// While the blocking call runs, the event loop is stalled: background tasks, timers and other coroutines stop.
    ///
    /// ## Example
    /// ```python
    /// import asyncio, time
    /// await asyncio.sleep(0)
    /// time.sleep(5)  # the loop stalls here
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// import asyncio
    /// await asyncio.sleep(0)
    /// await asyncio.sleep(5)  # or: await asyncio.to_thread(time.sleep, 5)
    /// ```
    pub struct BlockingOnLoop { code: "PR102", name: "blocking-on-loop", severity: Warning }
}
