//! Rule PR209 `blocking-mail-ftp`.

crate::declare_rule! {
    /// ## What it does
    /// Finds mail and file-transfer clients: `smtplib`, `ftplib`, `poplib`, `imaplib`
    /// (connecting constructors and their protocol methods).
    ///
    /// ## Why is this bad?
    /// While the call waits, the thread that runs it can do nothing else. On the session's event loop
    /// that would stall every background task, so pyrepl3 runs the cell on a worker thread instead (or,
    /// when the cell must stay on the loop, warns with PR102).
    ///
    /// ## Example
    /// ```python
    /// import smtplib
    /// with smtplib.SMTP("mail.example.org") as s:
    ///     s.send_message(msg)
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// import aiosmtplib
    /// await aiosmtplib.send(msg, hostname="mail.example.org")
    /// ```
    pub struct BlockingMailFtp { code: "PR209", name: "blocking-mail-ftp", severity: Info }
}
