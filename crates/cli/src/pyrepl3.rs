//! The `pyrepl3` program: the interactive REPL, and `pyrepl3 run FILE`.
//!
//! - `pyrepl3` with standard input a terminal: the REPL ([`crate::repl`]).
//! - `pyrepl3` with standard input not a terminal (a pipe, a file): standard input is read whole
//!   and run as a script, exactly as `pyrepl3 run -` (text format) runs it; `input()` then sees
//!   end of input. This is what `python3 < script.py` does.
//! - `pyrepl3 run FILE` ([`crate::run`]).
//!
//! Exit status of `run`: 0 when every cell succeeded, 1 otherwise, 2 for usage or I/O errors
//! (one line on standard error). The REPL exits 0.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};

use crate::run::{EXIT_USAGE, RunFormat, RunOptions};
use crate::session::Backend;

/// pyrepl3: an async-first Python REPL around embedded CPython.
///
/// Without a command, runs the interactive REPL when standard input is a terminal, and otherwise
/// reads standard input whole and runs it as a script (like `pyrepl3 run -`).
#[derive(Debug, Parser)]
#[command(name = "pyrepl3", version, max_term_width = 100)]
pub struct Cli {
    /// What to do (default: the REPL).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands of `pyrepl3`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the cells of a percent-format Python file (`# %%` lines start cells; a file without
    /// them is one cell) in one session, in order.
    ///
    /// `input()` reads lines from standard input. Ctrl-C interrupts the running cell and stops
    /// the run. Exit status: 0 when every cell succeeded, 1 otherwise, 2 for usage or I/O errors.
    Run {
        /// The file (`-` reads standard input).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// `text`: output and results as a REPL shows them; `jsonl`: one JSON object per cell.
        #[arg(long, value_enum, default_value_t = RunFormat::Text, value_name = "FORMAT")]
        format: RunFormat,
        /// Stop a cell that runs longer than this many seconds (status `timeout`).
        #[arg(long, value_name = "SECONDS", value_parser = parse_timeout)]
        timeout: Option<Duration>,
        /// Run the cells in this process's embedded executor (today the only session kind).
        #[arg(long)]
        in_process: bool,
    },
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !secs.is_finite() || secs <= 0.0 || secs > 1e9 {
        return Err(format!("`{s}` is not a positive number of seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The entry point of the `pyrepl3` binary.
pub fn main() -> ExitCode {
    let code = match Cli::try_parse() {
        Ok(cli) => {
            let code = dispatch(cli);
            // Every session is shut down by now: run the interpreter's `atexit` handlers, as
            // CPython does when it exits (pyo3 never finalises the interpreter).
            if crate::session::in_process_started() {
                pyrepl3_executor::run_atexit_handlers();
            }
            code
        }
        Err(e) => usage_error(&e),
    };
    ExitCode::from(code)
}

/// Print a clap error (or `--help`/`--version`); 0 for those, 2 for usage errors.
fn usage_error(e: &clap::Error) -> u8 {
    let code = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
        _ => EXIT_USAGE,
    };
    let _ = e.print();
    code
}

fn dispatch(cli: Cli) -> u8 {
    match cli.command {
        Some(Command::Run {
            file,
            format,
            timeout,
            in_process,
        }) => {
            // Until the worker-backed session lands, both choices run in process.
            let _ = in_process;
            let backend = Backend::InProcess;
            let cells = match crate::run::load(&file) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("pyrepl3: {e}");
                    return EXIT_USAGE;
                }
            };
            crate::run::run_cells(
                &cells,
                &RunOptions {
                    format,
                    timeout,
                    backend,
                },
            )
        }
        None if std::io::stdin().is_terminal() => repl(Backend::InProcess),
        None => {
            let cells = match crate::run::load(std::path::Path::new("-")) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("pyrepl3: {e}");
                    return EXIT_USAGE;
                }
            };
            crate::run::run_cells(
                &cells,
                &RunOptions {
                    format: RunFormat::Text,
                    timeout: None,
                    backend: Backend::InProcess,
                },
            )
        }
    }
}

fn repl(backend: Backend) -> u8 {
    let (session, interrupt) = match crate::repl::start_session(backend) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pyrepl3: cannot start a session: {e}");
            return EXIT_USAGE;
        }
    };
    crate::host::host(session, move |session, server| {
        crate::repl::run(session, server, backend, interrupt)
    })
}
