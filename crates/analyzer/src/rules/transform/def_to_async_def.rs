//! Rule PR300 `def-to-async-def`.

crate::declare_rule! {
    /// ## What it does
    /// Reports a plain `def` that pyrepl3 rewrote to `async def`: its own body uses `await`,
    /// `async for`, `async with` or an async comprehension (which CPython only allows in
    /// `async def`), or it calls a function that was made async and nothing else stops it from
    /// becoming async itself.
    ///
    /// ## Why is this bad?
    /// Nothing is wrong: CPython would refuse the cell (`'await' outside async function`), and
    /// IPython, the asyncio REPL and Pyodide refuse it too. pyrepl3 runs it and says so. The
    /// function now returns a coroutine: pyrepl3 inserts `await` where you call it by name from
    /// the cell's top level or from an `async def` (also in later cells), and warns (PR304)
    /// where it cannot.
    ///
    /// ## Example
    /// ```python
    /// def fetch(url):
    ///     async with session.get(url) as r:
    ///         return await r.text()
    ///
    /// page = fetch("https://example.org")
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// async def fetch(url):
    ///     async with session.get(url) as r:
    ///         return await r.text()
    ///
    /// page = await fetch("https://example.org")
    /// ```
    pub struct DefToAsyncDef { code: "PR300", name: "def-to-async-def", severity: Info }
}
