//! Rule PR303 `wrap-with-globals`.

crate::declare_rule! {
    /// ## What it does
    /// Reports that the cell was wrapped in `async def __pyrepl3_cell__():` with a `global`
    /// declaration for every name it binds at module level, and that the value of its trailing
    /// expression is returned. Annotated assignments of plain names become an assignment plus
    /// the `__annotations__` update module level does; leading `from __future__` and
    /// `from m import *` imports stay at module level.
    ///
    /// ## Why is this bad?
    /// Nothing is wrong: this is the fallback for interpreters without
    /// `ast.PyCF_ALLOW_TOP_LEVEL_AWAIT`, and the second path when compiling a cell directly
    /// fails unexpectedly. The namespace and value are the same as running the cell directly.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    /// x = await asyncio.sleep(0, 42)
    /// x + 1
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// async def __pyrepl3_cell__():
    ///     global asyncio, x
    ///     import asyncio
    ///     x = await asyncio.sleep(0, 42)
    ///     return x + 1
    /// ```
    pub struct WrapWithGlobals { code: "PR303", name: "wrap-with-globals", severity: Info }
}
