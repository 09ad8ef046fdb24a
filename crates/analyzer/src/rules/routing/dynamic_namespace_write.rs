//! Rule PR105 `dynamic-namespace-write`.

crate::declare_rule! {
    /// ## What it does
    /// Finds writes to the module namespace that are not visible as bindings: `globals()[...] = ...`, `vars()`,
    /// `exec`/`eval`, `from m import *`, `setattr(sys.modules[__name__], ...)`.
    ///
    /// ## Why is this bad?
    /// The executor tracks what a cell changed from the names it binds. A dynamic write can bind any name, so
    /// the executor falls back to comparing the whole namespace, which costs time in proportion to its size.
    ///
    /// ## Example
    /// ```python
    /// globals()['x'] = 1
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// x = 1
    /// ```
    pub struct DynamicNamespaceWrite { code: "PR105", name: "dynamic-namespace-write", severity: Info }
}
