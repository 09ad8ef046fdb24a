//! Rule PR205 `blocking-file-io`.

crate::declare_rule! {
    /// ## What it does
    /// Finds file I/O: `open`, `io.open`, `os.fdopen`, `os.read`/`os.write`, the methods of file
    /// objects (also across cells and through `with open(p) as f`), `pathlib.Path.read_text` and
    /// friends, compressed and archive files.
    ///
    /// ## Why is this bad?
    /// While the call waits, the thread that runs it can do nothing else. On the session's event loop
    /// that would stall every background task, so pyrepl3 runs the cell on a worker thread instead (or,
    /// when the cell must stay on the loop, warns with PR102).
    ///
    /// ## Example
    /// ```python
    /// with open("data.txt") as f:
    ///     text = f.read()
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// import aiofiles
    /// async with aiofiles.open("data.txt") as f:
    ///     text = await f.read()
    /// ```
    pub struct BlockingFileIo { code: "PR205", name: "blocking-file-io", severity: Info }
}
