//! Rule PR106 `unresolved-call`.

crate::declare_rule! {
    /// ## What it does
    /// Notes calls whose target cannot be resolved statically (a call on a value of unknown type, a name
    /// bound dynamically), where blocking I/O may hide.
    ///
    /// ## Why is this bad?
    /// pyrepl3 does not guess: it reports what it cannot see so that you know the routing is based on what it
    /// could see.
    ///
    /// ## Example
    /// ```python
    /// handler = registry[name]
    /// handler()  # unknown target
    /// ```
    pub struct UnresolvedCall { code: "PR106", name: "unresolved-call", severity: Info }
}
