//! `pyrepl3-analyze`: tells how each cell of a file or notebook would run, and why.

fn main() -> std::process::ExitCode {
    pyrepl3_cli::analyze::main()
}
