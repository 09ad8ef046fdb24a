//! Rule PR208 `blocking-database`.

crate::declare_rule! {
    /// ## What it does
    /// Finds calls to synchronous database clients: `sqlite3`, `psycopg2`, `psycopg` (sync),
    /// `pymysql`, `MySQLdb`, `mysql.connector`, `pymongo`, `redis` (sync), SQLAlchemy engines
    /// and sessions — connecting, executing, fetching, committing.
    ///
    /// ## Why is this bad?
    /// While the call waits, the thread that runs it can do nothing else. On the session's event loop
    /// that would stall every background task, so pyrepl3 runs the cell on a worker thread instead (or,
    /// when the cell must stay on the loop, warns with PR102).
    ///
    /// ## Example
    /// ```python
    /// import sqlite3
    /// conn = sqlite3.connect("app.db")
    /// rows = conn.execute("select * from t").fetchall()
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// import aiosqlite
    /// async with aiosqlite.connect("app.db") as conn:
    ///     rows = await (await conn.execute("select * from t")).fetchall()
    /// ```
    pub struct BlockingDatabase { code: "PR208", name: "blocking-database", severity: Info }
}
