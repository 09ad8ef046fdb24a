//! Rule PR302 `await-inserted`.

crate::declare_rule! {
    /// ## What it does
    /// Reports an `await` pyrepl3 inserted before a call of a function it made async (in this
    /// cell or an earlier one), where the call is by name and `await` can go: at the cell's top
    /// level or inside an `async def`.
    ///
    /// ## Why is this bad?
    /// Nothing is wrong: you wrote a plain function and call it for its value; after the rewrite
    /// the call returns a coroutine, so pyrepl3 awaits it for you. Calls that hand the coroutine
    /// to `asyncio.create_task`, `gather`, `wait_for`... are left alone. `asyncio.run(f())` of
    /// such a function at the cell's top level becomes `await f()`: the session's event loop is
    /// already running, and `asyncio.run()` cannot start another inside it.
    ///
    /// ## Example
    /// ```python
    /// def total():
    ///     return sum(await fetch_all())
    ///
    /// print(total())
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// async def total():
    ///     return sum(await fetch_all())
    ///
    /// print(await total())
    /// ```
    pub struct AwaitInserted { code: "PR302", name: "await-inserted", severity: Info }
}
