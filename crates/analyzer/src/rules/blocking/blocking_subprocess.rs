//! Rule PR204 `blocking-subprocess`.

crate::declare_rule! {
    /// ## What it does
    /// Finds calls that start or wait for processes: `subprocess.*` (`run`, `check_output`, `Popen`
    /// and its `wait`/`communicate`), `os.system`, `os.popen`, `os.spawn*`, `os.wait*`,
    /// `os.posix_spawn*`.
    ///
    /// ## Why is this bad?
    /// While the call waits, the thread that runs it can do nothing else. On the session's event loop
    /// that would stall every background task, so pyrepl3 runs the cell on a worker thread instead (or,
    /// when the cell must stay on the loop, warns with PR102).
    ///
    /// ## Example
    /// ```python
    /// import subprocess
    /// out = subprocess.check_output(["ls"])
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// import asyncio
    /// proc = await asyncio.create_subprocess_exec("ls", stdout=asyncio.subprocess.PIPE)
    /// out, _ = await proc.communicate()
    /// ```
    pub struct BlockingSubprocess { code: "PR204", name: "blocking-subprocess", severity: Info }
}
