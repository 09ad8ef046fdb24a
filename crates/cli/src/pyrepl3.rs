//! The `pyrepl3` program: the interactive REPL, and `pyrepl3 run FILE`.
//!
//! - `pyrepl3` with standard input a terminal: the REPL ([`crate::repl`]).
//! - `pyrepl3` with standard input not a terminal (a pipe, a file): standard input is read whole
//!   and run as a script, exactly as `pyrepl3 run -` (text format) runs it; `input()` then sees
//!   end of input. This is what `python3 < script.py` does.
//! - `pyrepl3 run FILE` ([`crate::run`]).
//! - `pyrepl3 worker` (hidden from `--help`): the worker process a session starts
//!   ([`pyrepl3_executor::worker::run_from_env`]); it talks to its session over the socket the
//!   session hands it (fd and key in the environment), not to a person. Checked first thing in
//!   the binary's `main`, before Python or any thread starts.
//!
//! Sessions run in a worker subprocess by default ([`crate::worker_session`]); `run
//! --in-process` uses the embedded executor instead.
//!
//! Exit status of `run`: 0 when every cell succeeded, 1 otherwise, 2 for usage or I/O errors
//! (one line on standard error). The REPL exits 0.

use pyrepl3_transport::session::Limits;
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
        /// Run the cells in this process's embedded executor instead of a worker process (a
        /// crashing cell then ends `pyrepl3` too).
        #[arg(long)]
        in_process: bool,
        /// Checkpoint the namespace before each cell, so that after a worker crash the next
        /// cells see the names as they were before the crashing cell (off: they start afresh).
        #[arg(long, conflicts_with = "in_process")]
        checkpoint: bool,
        /// Limit the worker's address space (`RLIMIT_AS`) to this many MiB: a cell that allocates
        /// past it gets `MemoryError`; a worker that dies of it is reported as `WorkerDied`.
        #[arg(long, value_name = "MIB", conflicts_with = "in_process", value_parser = clap::value_parser!(u64).range(64..))]
        memory_limit: Option<u64>,
        /// Limit the worker's CPU time (`RLIMIT_CPU`) to this many seconds over its life; past it
        /// the worker is killed (`SIGXCPU`), the cell reports `WorkerDied` and a fresh worker runs
        /// the next cell.
        #[arg(long, value_name = "SECONDS", conflicts_with = "in_process", value_parser = clap::value_parser!(u64).range(1..))]
        cpu_limit: Option<u64>,
    },
    /// The worker process of a session (started by `pyrepl3` itself; not for people).
    #[command(hide = true)]
    Worker,
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

/// Whether this process was started as `pyrepl3 worker`.
pub fn is_worker_invocation() -> bool {
    std::env::args_os().nth(1).as_deref() == Some("worker".as_ref())
}

/// The entry point of the `pyrepl3` binary (after the `worker` check in `src/bin/pyrepl3.rs`).
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
            checkpoint,
            memory_limit,
            cpu_limit,
        }) => {
            let backend = if in_process {
                Backend::InProcess
            } else {
                Backend::Worker {
                    checkpoint,
                    limits: Limits {
                        memory_bytes: memory_limit.map(|mib| mib.saturating_mul(1024 * 1024)),
                        cpu_seconds: cpu_limit,
                    },
                }
            };
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
        Some(Command::Worker) => {
            // Only reached when `worker` is not the first argument (e.g. after an option).
            eprintln!("pyrepl3: `worker` must be the first argument");
            EXIT_USAGE
        }
        None if std::io::stdin().is_terminal() => repl(WORKER),
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
                    backend: WORKER,
                },
            )
        }
    }
}

/// The default session: a worker process, no checkpointing.
const WORKER: Backend = Backend::Worker {
    checkpoint: false,
    limits: Limits {
        memory_bytes: None,
        cpu_seconds: None,
    },
};

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
