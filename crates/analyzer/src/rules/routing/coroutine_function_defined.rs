//! Rule PR103 `coroutine-function-defined`.

crate::declare_rule! {
    /// ## What it does
    /// Finds `async def` statements at module level of a cell.
    ///
    /// ## Why is this bad?
    /// Nothing is wrong: the cell defines coroutine functions, which later cells can await. It runs on the loop
    /// thread.
    ///
    /// ## Example
    /// ```python
    /// async def fetch(url):
    ///     ...
    /// ```
    pub struct CoroutineFunctionDefined { code: "PR103", name: "coroutine-function-defined", severity: Info }
}
