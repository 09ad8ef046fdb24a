//! Rule PR001 `syntax-error`.

crate::declare_rule! {
    /// ## What it does
    /// Reports code that CPython 3.11's parser rejects, with CPython's message where pyrepl3 knows it.
    ///
    /// ## Why is this bad?
    /// The cell cannot be compiled, so none of it runs.
    ///
    /// ## Example
    /// ```python
    /// x = (1,
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// x = (1,)
    /// ```
    pub struct SyntaxError { code: "PR001", name: "syntax-error", severity: Error }
}
