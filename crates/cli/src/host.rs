//! The process layout of `pyrepl3`: the front end runs on a thread of its own while the main
//! thread serves the session's blocking cells.
//!
//! CPython 3.11 can only break a blocking call such as `time.sleep` (for Ctrl-C or a timeout) on
//! its main thread, so the in-process session runs blocking cells there
//! ([`Session::main_thread_server`]). Python is initialised by the first session, which must
//! therefore be started on the main thread before [`host`] is called. Later sessions
//! (`:restart`) are handed to the main thread through [`Server::serve`].
//!
//! Channel: serve jobs go from the front-end thread (sync) to the main thread (sync) over a
//! crossbeam channel.

use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::session::Session;
use crate::sigint;

type Job = Box<dyn FnOnce() + Send>;

/// Hands sessions to the main thread to serve their blocking cells.
pub struct Server {
    tx: Sender<Job>,
}

impl Server {
    /// Serve `session`'s blocking cells on the main thread (if it wants that), wait until it
    /// serves, then (re)install the Ctrl-C handler on top of the one Python installed.
    pub fn serve(&self, session: &dyn Session) {
        if let Some(server) = session.main_thread_server()
            && self.tx.send(server.serve).is_ok()
        {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !(server.ready)() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let _ = sigint::install();
    }
}

/// How long the front end waits, once done, for the main thread to finish serving before it ends
/// the process itself: a blocking cell that ignored its interrupt or timeout (abandoned by the
/// executor) can hold the main thread, and must not hold the exit.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// Run `body` on a new thread with `first` (started on this, the main, thread) while this thread
/// serves blocking cells; returns `body`'s exit status. `body` must shut down every session it
/// served before it returns. If the main thread is still held by an abandoned cell
/// [`EXIT_GRACE`] after `body` returned, the process exits from the front-end thread.
pub fn host<F>(first: Box<dyn Session>, body: F) -> u8
where
    F: FnOnce(Box<dyn Session>, Server) -> u8 + Send + 'static,
{
    let (tx, rx) = crossbeam_channel::unbounded::<Job>();
    // Main thread -> front end (sync -> sync, crossbeam): "serving is over".
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(1);
    let front = std::thread::Builder::new()
        .name("pyrepl3-front".into())
        .spawn(move || {
            let code = body(first, Server { tx });
            if done_rx.recv_timeout(EXIT_GRACE).is_err() {
                use std::io::Write;
                let _ = std::io::stdout().flush();
                let _ = std::io::stderr().flush();
                std::process::exit(i32::from(code));
            }
            code
        });
    let front = match front {
        Ok(f) => f,
        Err(e) => {
            eprintln!("pyrepl3: cannot start a thread: {e}");
            return 2;
        }
    };
    for job in rx.iter() {
        job();
    }
    let _ = done_tx.send(());
    front.join().unwrap_or(2)
}
