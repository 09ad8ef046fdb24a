//! Rule PR003 `await-outside-async-function`.

crate::declare_rule! {
    /// ## What it does
    /// Finds `await`, `async for`, `async with` and async comprehensions in a plain `def` or `lambda`.
    ///
    /// ## Why is this bad?
    /// CPython refuses the whole cell: `'await' outside async function`. The top-level-await flag only
    /// allows `await` at module level.
    ///
    /// ## Example
    /// ```python
    /// def f():
    ///     return await g()
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// async def f():
    ///     return await g()
    ///
    /// await f()
    /// ```
    pub struct AwaitOutsideAsyncFunction { code: "PR003", name: "await-outside-async-function", severity: Error }
}
