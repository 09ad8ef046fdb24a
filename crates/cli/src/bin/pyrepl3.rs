//! `pyrepl3`: the interactive REPL, `pyrepl3 run FILE` for percent-format files, and `pyrepl3
//! worker`, the worker process of a session.

fn main() -> std::process::ExitCode {
    if pyrepl3_cli::pyrepl3::is_worker_invocation() {
        // SAFETY: this is the first thing `main` does, on the process's main thread: no other
        // thread exists yet and Python is not initialised (nothing before this line starts
        // either), and nothing else in this process touches the inherited transport fd.
        return unsafe { pyrepl3_executor::worker::run_from_env() };
    }
    pyrepl3_cli::pyrepl3::main()
}
