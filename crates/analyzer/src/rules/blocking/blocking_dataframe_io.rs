//! Rule PR210 `blocking-dataframe-io`.

crate::declare_rule! {
    /// ## What it does
    /// Finds data-file I/O of pandas (`read_*`, `DataFrame.to_*` with a path), polars (`read_*`,
    /// `write_*`, `LazyFrame.collect`) and numpy (`load`, `save`, `loadtxt`...).
    ///
    /// ## Why is this bad?
    /// While the call waits, the thread that runs it can do nothing else. On the session's event loop
    /// that would stall every background task, so pyrepl3 runs the cell on a worker thread instead (or,
    /// when the cell must stay on the loop, warns with PR102).
    ///
    /// ## Example
    /// ```python
    /// import pandas as pd
    /// df = pd.read_csv("big.csv")
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// import asyncio, pandas as pd
    /// df = await asyncio.to_thread(pd.read_csv, "big.csv")
    /// ```
    pub struct BlockingDataframeIo { code: "PR210", name: "blocking-dataframe-io", severity: Info }
}
