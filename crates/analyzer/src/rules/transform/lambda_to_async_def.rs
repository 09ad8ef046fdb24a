//! Rule PR301 `lambda-to-async-def`.

crate::declare_rule! {
    /// ## What it does
    /// Reports a `lambda` whose body awaits, which pyrepl3 rewrote to an `async def`:
    /// `name = lambda a: await g(a)` becomes `async def name(a): return (await g(a))`; a lambda
    /// used inline moves into a helper `async def` defined just before its statement (in the
    /// same scope, so closures keep working) and the helper's name takes its place.
    ///
    /// ## Why is this bad?
    /// Python has no async lambda: CPython refuses the cell. The rewrite makes it run, but the
    /// function now returns a coroutine that its caller must await.
    ///
    /// ## Example
    /// ```python
    /// get = lambda key: await cache.get(key)
    /// value = get("a")
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// async def get(key):
    ///     return await cache.get(key)
    ///
    /// value = await get("a")
    /// ```
    pub struct LambdaToAsyncDef { code: "PR301", name: "lambda-to-async-def", severity: Info }
}
