//! Rule PR107 `ipython-escape`.

crate::declare_rule! {
    /// ## What it does
    /// Finds IPython-only syntax in notebook cells: `%magic`, `%%cell_magic`, `!shell`, `?help`.
    ///
    /// ## Why is this bad?
    /// These lines are not Python. pyrepl3 analyzes the rest of the cell and reports them, but does not run them.
    ///
    /// ## Example
    /// ```python
    /// %timeit sum(range(10))
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// import timeit
    /// timeit.timeit(lambda: sum(range(10)))
    /// ```
    pub struct IpythonEscape { code: "PR107", name: "ipython-escape", severity: Warning }
}
