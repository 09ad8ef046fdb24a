//! Rule PR202 `blocking-input`.

crate::declare_rule! {
    /// ## What it does
    /// Finds calls that wait for a person: `input`, `getpass.getpass`, reading `sys.stdin`,
    /// `breakpoint` and `pdb.set_trace`.
    ///
    /// ## Why is this bad?
    /// While the call waits, the thread that runs it can do nothing else. On the session's event loop
    /// that would stall every background task, so pyrepl3 runs the cell on a worker thread instead (or,
    /// when the cell must stay on the loop, warns with PR102).
    ///
    /// ## Example
    /// ```python
    /// name = input("name? ")
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// name = await asyncio.to_thread(input, "name? ")
    /// ```
    pub struct BlockingInput { code: "PR202", name: "blocking-input", severity: Info }
}
