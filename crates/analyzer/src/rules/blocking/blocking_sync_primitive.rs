//! Rule PR211 `blocking-sync-primitive`.

crate::declare_rule! {
    /// ## What it does
    /// Finds waits on thread synchronisation: `threading.Lock.acquire` (and `with lock:`),
    /// `Event.wait`, `Condition.wait`, `Thread.join`, `queue.Queue.get`, `Future.result`,
    /// `concurrent.futures.wait`, `select.select`. Non-blocking forms (`acquire(False)`,
    /// `get(block=False)`, `wait(0)`) are not flagged. Also finds `trio.run`, which runs trio's
    /// event loop on the calling thread until the function returns: the thread waits for all of
    /// it. (`asyncio.run` and `loop.run_until_complete` raise on the session's loop thread
    /// before running anything, so they are not flagged; the coroutine's own blocking calls
    /// are, as for an awaited one.)
    ///
    /// ## Why is this bad?
    /// While the call waits, the thread that runs it can do nothing else. On the session's event loop
    /// that would stall every background task, so pyrepl3 runs the cell on a worker thread instead (or,
    /// when the cell must stay on the loop, warns with PR102).
    ///
    /// ## Example
    /// ```python
    /// import threading
    /// done = threading.Event()
    /// done.wait()
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// import asyncio
    /// done = asyncio.Event()
    /// await done.wait()
    /// ```
    pub struct BlockingSyncPrimitive { code: "PR211", name: "blocking-sync-primitive", severity: Info }
}
