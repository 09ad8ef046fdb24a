//! Rule PR203 `blocking-http`.

crate::declare_rule! {
    /// ## What it does
    /// Finds synchronous HTTP requests: `requests` (functions and `Session` methods), `httpx`
    /// functions and `httpx.Client`, `urllib.request.urlopen`, `urllib3`, `http.client`, boto3 and
    /// OpenAI sync clients, and reading their responses.
    ///
    /// ## Why is this bad?
    /// While the call waits, the thread that runs it can do nothing else. On the session's event loop
    /// that would stall every background task, so pyrepl3 runs the cell on a worker thread instead (or,
    /// when the cell must stay on the loop, warns with PR102).
    ///
    /// ## Example
    /// ```python
    /// import requests
    /// s = requests.Session()
    /// r = s.get("https://example.org")
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// import httpx
    /// async with httpx.AsyncClient() as client:
    ///     r = await client.get("https://example.org")
    /// ```
    pub struct BlockingHttp { code: "PR203", name: "blocking-http", severity: Info }
}
