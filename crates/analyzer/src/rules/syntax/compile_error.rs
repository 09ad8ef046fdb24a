//! Rule PR002 `compile-error`.

crate::declare_rule! {
    /// ## What it does
    /// Reports code that parses but that CPython 3.11's compiler rejects: `return` or `yield` outside a
    /// function, `await` in a class body, `nonlocal` at module level, an annotated name declared `global`,
    /// `break` outside a loop, and the like.
    ///
    /// ## Why is this bad?
    /// CPython raises `SyntaxError` when compiling the cell, so none of it runs.
    ///
    /// ## Example
    /// ```python
    /// return 1
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// result = 1
    /// ```
    pub struct CompileError { code: "PR002", name: "compile-error", severity: Error }
}
