//! Rule PR100 `top-level-await`.

crate::declare_rule! {
    /// ## What it does
    /// Finds the `await`, `async for`, `async with` or async comprehension that makes CPython compile the cell as a coroutine.
    ///
    /// ## Why is this bad?
    /// Nothing is wrong: the cell is compiled with `ast.PyCF_ALLOW_TOP_LEVEL_AWAIT` and awaited as a task on the
    /// session's event loop. CPython decides this (it sets `CO_COROUTINE` on the module code); pyrepl3
    /// predicts exactly that, quirks included (an `await` inside a module-level generator expression does not
    /// make the cell a coroutine).
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    /// await asyncio.sleep(1)
    /// ```
    pub struct TopLevelAwait { code: "PR100", name: "top-level-await", severity: Info }
}
