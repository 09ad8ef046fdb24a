//! `pyrepl3-worker`: a standalone pyrepl3 worker process (the same entry as `pyrepl3 worker`),
//! started by a session with its socket on an inherited fd and its key in the environment.

fn main() -> std::process::ExitCode {
    // SAFETY: first thing in `main`, on the main thread, before any other thread exists or
    // Python is initialised; the inherited fd is owned by nothing else.
    unsafe { pyrepl3_executor::worker::run_from_env() }
}
