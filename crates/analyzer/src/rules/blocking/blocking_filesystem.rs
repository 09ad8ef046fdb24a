//! Rule PR206 `blocking-filesystem`.

crate::declare_rule! {
    /// ## What it does
    /// Finds filesystem queries and changes: `os.path.exists` and the other `os.path` queries,
    /// `os.listdir`/`os.stat`/`os.mkdir`..., `pathlib.Path.exists`/`iterdir`/`glob`..., `shutil`,
    /// `glob` and `tempfile`. Pure path arithmetic (`os.path.join`, `normpath`, `basename`,
    /// `expanduser`, `Path.with_suffix`...) is allowed.
    ///
    /// ## Why is this bad?
    /// While the call waits, the thread that runs it can do nothing else. On the session's event loop
    /// that would stall every background task, so pyrepl3 runs the cell on a worker thread instead (or,
    /// when the cell must stay on the loop, warns with PR102).
    ///
    /// ## Example
    /// ```python
    /// import os
    /// if os.path.exists("out"):
    ///     files = os.listdir("out")
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// import anyio
    /// if await anyio.Path("out").exists():
    ///     files = [p async for p in anyio.Path("out").iterdir()]
    /// ```
    pub struct BlockingFilesystem { code: "PR206", name: "blocking-filesystem", severity: Info }
}
