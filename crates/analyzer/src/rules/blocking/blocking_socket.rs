//! Rule PR207 `blocking-socket`.

crate::declare_rule! {
    /// ## What it does
    /// Finds blocking socket work: `socket.create_connection`, name resolution
    /// (`socket.gethostbyname`, `getaddrinfo`...), the `connect`/`accept`/`recv`/`send*` methods of
    /// sockets, TLS handshakes, `serve_forever` of socket servers.
    ///
    /// ## Why is this bad?
    /// While the call waits, the thread that runs it can do nothing else. On the session's event loop
    /// that would stall every background task, so pyrepl3 runs the cell on a worker thread instead (or,
    /// when the cell must stay on the loop, warns with PR102).
    ///
    /// ## Example
    /// ```python
    /// import socket
    /// s = socket.create_connection(("example.org", 80))
    /// s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// import asyncio
    /// reader, writer = await asyncio.open_connection("example.org", 80)
    /// ```
    pub struct BlockingSocket { code: "PR207", name: "blocking-socket", severity: Info }
}
