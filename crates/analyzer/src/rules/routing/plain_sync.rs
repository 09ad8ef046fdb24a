//! Rule PR104 `plain-sync`.

crate::declare_rule! {
    /// ## What it does
    /// Explains that a cell has no top-level await, no blocking call on its execution path and no coroutine
    /// function definitions.
    ///
    /// ## Why is this bad?
    /// Nothing is wrong: the cell runs directly on the loop thread, which is the cheapest path.
    ///
    /// ## Example
    /// ```python
    /// x = 1 + 1
    /// ```
    pub struct PlainSync { code: "PR104", name: "plain-sync", severity: Info }
}
