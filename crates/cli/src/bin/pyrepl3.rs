//! `pyrepl3`: the interactive REPL, and `pyrepl3 run FILE` for percent-format files.

fn main() -> std::process::ExitCode {
    pyrepl3_cli::pyrepl3::main()
}
