//! `pyrepl3 run FILE`: run the cells of a percent-format file in one session, in order.
//!
//! The file is split with [`crate::cells::split_percent`] (a file without `# %%` lines is one
//! cell); each cell runs with its first line set to the file line where it starts, so
//! tracebacks show the file's line numbers. `--format text` shows what a REPL would;
//! `--format jsonl` writes one JSON object per cell, plus one record per stretch of late output
//! (background work of an earlier cell that wrote while no cell of its own was running).
//!
//! `input()` reads lines from standard input. Ctrl-C interrupts the running cell (its status is
//! `interrupted`) and the remaining cells do not run. Exit status: 0 when every cell succeeded, 1 when
//! some cell did not, 2 for usage or I/O errors.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::Receiver;
use serde::Serialize;

use crate::cells::split_percent;
use crate::session::{self, Backend, CellOutcome, LateOutput, Session, SessionConfig, Stream};
use crate::sigint;

/// Every cell succeeded.
pub const EXIT_OK: u8 = 0;
/// Some cell failed, timed out or was interrupted.
pub const EXIT_CELL_FAILED: u8 = 1;
/// Usage or I/O error.
pub const EXIT_USAGE: u8 = 2;

/// How `run` writes its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunFormat {
    /// Each cell's output and result, as a REPL shows them.
    Text,
    /// One JSON object per cell (and per stretch of late output).
    Jsonl,
}

/// What `run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Output format.
    pub format: RunFormat,
    /// Per-cell timeout.
    pub timeout: Option<Duration>,
    /// Which session to run the cells in.
    pub backend: Backend,
}

/// One cell of the file, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCell {
    /// 1-based line of the file where the cell starts.
    pub line: u32,
    /// The cell's text.
    pub source: String,
}

/// Read and split a file into cells (`-` reads standard input). The error is one line.
pub fn load(path: &Path) -> Result<Vec<SourceCell>, String> {
    let bytes = if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        buf
    } else {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
    };
    split_source(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Split the bytes of a file into cells, decoding it as CPython would (BOM, coding declaration).
pub fn split_source(bytes: &[u8]) -> Result<Vec<SourceCell>, String> {
    let text = pyrepl3_analyzer::encoding::decode_source(bytes).map_err(|e| e.message)?;
    Ok(split_percent(text.as_bytes())
        .into_iter()
        .map(|c| SourceCell {
            line: c.line,
            source: text[c.range].to_string(),
        })
        .collect())
}

/// The JSONL record of one cell (field order is the documented one).
#[derive(Debug, Serialize)]
pub struct CellRecord<'a> {
    /// 0-based index of the cell in the file.
    pub cell: usize,
    /// 1-based line where the cell starts.
    pub line: u32,
    /// The mode it ran in.
    pub mode: &'a str,
    /// `ok`, `error`, `timeout` or `interrupted`.
    pub status: &'a str,
    /// `repr()` of the trailing expression, or null.
    pub result: Option<&'a str>,
    /// The cell's own standard output.
    pub stdout: &'a str,
    /// The cell's own standard error.
    pub stderr: &'a str,
    /// The exception that ended the cell, or null.
    pub error: Option<ErrorRecord<'a>>,
    /// Wall-clock milliseconds.
    pub duration_ms: f64,
}

/// The `error` object of a [`CellRecord`].
#[derive(Debug, Serialize)]
pub struct ErrorRecord<'a> {
    /// The exception's type name.
    #[serde(rename = "type")]
    pub type_name: &'a str,
    /// `str()` of the exception.
    pub message: &'a str,
    /// The traceback as Python formats it.
    pub traceback: &'a str,
}

/// The JSONL record of late output.
#[derive(Debug, Serialize)]
pub struct LateRecord {
    /// The cell that started the writer (null: not a cell of this file).
    pub cell: Option<usize>,
    /// Always true.
    pub late: bool,
    /// What it wrote to standard output.
    pub stdout: String,
    /// What it wrote to standard error.
    pub stderr: String,
}

impl<'a> CellRecord<'a> {
    /// The record of `outcome`, cell `index` starting at `line`.
    pub fn new(index: usize, line: u32, outcome: &'a CellOutcome) -> Self {
        Self {
            cell: index,
            line,
            mode: &outcome.mode,
            status: outcome.status.as_str(),
            result: outcome.result.as_deref(),
            stdout: &outcome.stdout,
            stderr: &outcome.stderr,
            error: outcome.error.as_ref().map(|e| ErrorRecord {
                type_name: &e.type_name,
                message: &e.message,
                traceback: &e.traceback,
            }),
            duration_ms: (outcome.duration.as_secs_f64() * 1e6).round() / 1e3,
        }
    }
}

/// `input()` for `run`: one line of standard input (without its line ending), `None` at EOF.
fn stdin_line() -> Option<String> {
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            if line.ends_with('\n') {
                line.pop();
                if line.ends_with('\r') {
                    line.pop();
                }
            }
            Some(line)
        }
    }
}

/// Where `run` writes: standard output and error, shared with the live-output hook.
struct Sink {
    stdout: Box<dyn Write + Send>,
    stderr: std::io::Stderr,
    /// A write failed (closed pipe): stop writing.
    broken: bool,
}

impl Sink {
    fn out(&mut self, s: &str) {
        if !self.broken
            && (self.stdout.write_all(s.as_bytes()).is_err() || self.stdout.flush().is_err())
        {
            self.broken = true;
        }
    }

    fn err(&mut self, s: &str) {
        let _ = self.stderr.write_all(s.as_bytes());
        let _ = self.stderr.flush();
    }

    fn stream(&mut self, stream: Stream, s: &str) {
        match stream {
            Stream::Stdout => self.out(s),
            Stream::Stderr => self.err(s),
        }
    }
}

/// Run `cells` and write the results; returns the exit status.
pub fn run_cells(cells: &[SourceCell], options: &RunOptions) -> u8 {
    // JSONL: the records get the real standard output to themselves; anything a cell writes to
    // descriptor 1 directly (os.system, subprocesses) goes to standard error instead.
    let stdout: Box<dyn Write + Send> = match options.format {
        RunFormat::Jsonl => match crate::fdio::take_stdout() {
            Some(file) => Box::new(file),
            None => Box::new(std::io::stdout()),
        },
        RunFormat::Text => Box::new(std::io::stdout()),
    };
    let sink = Arc::new(Mutex::new(Sink {
        stdout,
        stderr: std::io::stderr(),
        broken: false,
    }));
    let live: Option<session::LiveFn> = match options.format {
        RunFormat::Text => {
            let sink = sink.clone();
            Some(Arc::new(move |stream, text: &str| {
                lock(&sink).stream(stream, text);
            }))
        }
        RunFormat::Jsonl => None,
    };
    // Text: a note on standard error when a fresh worker replaces a dead one. JSONL: the dead
    // worker is already in the record of the cell it died under.
    let notice: Option<session::NoticeFn> = match options.format {
        RunFormat::Text => {
            let sink = sink.clone();
            Some(Arc::new(move |text: &str| lock(&sink).err(text)))
        }
        RunFormat::Jsonl => None,
    };
    let config = SessionConfig {
        input: Some(Arc::new(|_prompt: &str| stdin_line())),
        live,
        notice,
    };
    let session = match session::start(options.backend, config) {
        Ok(s) => s,
        Err(e) => {
            lock(&sink).err(&format!("pyrepl3: cannot start a session: {e}\n"));
            return EXIT_USAGE;
        }
    };
    let cells = cells.to_vec();
    let options = options.clone();
    crate::host::host(session, move |session, server| {
        let target = sigint::Target::default();
        target.set(session.interrupter());
        let _ = sigint::start_watcher(target);
        server.serve(&*session);
        let status = run_in(&*session, &cells, &options, &sink);
        session.shutdown();
        status
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn run_in(
    session: &dyn Session,
    cells: &[SourceCell],
    options: &RunOptions,
    sink: &Arc<Mutex<Sink>>,
) -> u8 {
    let late = session.late_output();
    // Execution id -> index of the cell in the file.
    let mut cell_of = std::collections::HashMap::new();
    let mut all_ok = true;
    let mut held = LateBuffer::default();
    for (index, cell) in cells.iter().enumerate() {
        flush_late(&late, &mut held, &cell_of, options.format, sink, false);
        let outcome = match session.execute(&cell.source, cell.line, options.timeout) {
            Ok(o) => o,
            Err(e) => {
                lock(sink).err(&format!("pyrepl3: the session failed: {e}\n"));
                return EXIT_USAGE;
            }
        };
        cell_of.insert(outcome.execution_id, index);
        all_ok &= outcome.status == session::CellStatus::Ok;
        let interrupted = outcome.status == session::CellStatus::Interrupted;
        // Late output that arrived while this cell ran comes before its record.
        flush_late(&late, &mut held, &cell_of, options.format, sink, false);
        let mut out = lock(sink);
        match options.format {
            RunFormat::Jsonl => {
                let record = CellRecord::new(index, cell.line, &outcome);
                let line = serde_json::to_string(&record).unwrap_or_default();
                out.out(&format!("{line}\n"));
            }
            RunFormat::Text => {
                if let Some(result) = &outcome.result {
                    out.out(&format!("{result}\n"));
                }
                if let Some(error) = &outcome.error {
                    out.err(&error.shown());
                }
            }
        }
        drop(out);
        if interrupted {
            // Ctrl-C stops the run, as it stops a script; the remaining cells do not run.
            break;
        }
    }
    // Background work may still be writing; give it no extra time, but report what is there.
    flush_late(&late, &mut held, &cell_of, options.format, sink, true);
    if all_ok { EXIT_OK } else { EXIT_CELL_FAILED }
}

/// Late output received but not written yet.
#[derive(Default)]
struct LateBuffer {
    /// Events held back: the last stretch, while it does not end a line (`print` writes its
    /// text and its newline separately; a record should not split a line).
    held: Vec<LateOutput>,
}

/// Write the late output received so far: one record per stretch of consecutive events of one
/// execution (jsonl), or the text itself (text). `last`: write everything, held text included.
fn flush_late(
    late: &Receiver<LateOutput>,
    buffer: &mut LateBuffer,
    cell_of: &std::collections::HashMap<u64, usize>,
    format: RunFormat,
    sink: &Arc<Mutex<Sink>>,
    last: bool,
) {
    let mut events = std::mem::take(&mut buffer.held);
    events.extend(late.try_iter());
    if events.is_empty() {
        return;
    }
    let mut sink = lock(sink);
    if format == RunFormat::Text {
        for ev in &events {
            sink.stream(ev.stream, &ev.text);
        }
        return;
    }
    // Stretches of consecutive events of one execution.
    let mut stretches: Vec<Vec<LateOutput>> = Vec::new();
    for ev in events {
        match stretches.last_mut() {
            Some(s) if s[0].execution_id == ev.execution_id => s.push(ev),
            _ => stretches.push(vec![ev]),
        }
    }
    if !last
        && let Some(tail) = stretches.last()
        && !tail.last().is_some_and(|ev| ev.text.ends_with('\n'))
    {
        buffer.held = stretches.pop().unwrap_or_default();
    }
    for stretch in stretches {
        let mut record = LateRecord {
            cell: stretch[0]
                .execution_id
                .and_then(|id| cell_of.get(&id).copied()),
            late: true,
            stdout: String::new(),
            stderr: String::new(),
        };
        for ev in stretch {
            match ev.stream {
                Stream::Stdout => record.stdout.push_str(&ev.text),
                Stream::Stderr => record.stderr.push_str(&ev.text),
            }
        }
        let line = serde_json::to_string(&record).unwrap_or_default();
        sink.out(&format!("{line}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_source_keeps_file_lines() {
        let cells = split_source(b"x = 1\n# %%\ny = 2\n# %% [markdown]\n# t\n# %%\nz\n").unwrap();
        assert_eq!(cells.iter().map(|c| c.line).collect::<Vec<_>>(), [1, 2, 6]);
        assert_eq!(cells[1].source, "# %%\ny = 2\n");
    }

    #[test]
    fn split_source_rejects_invalid_utf8_in_one_line() {
        let err = split_source(b"x = '\xff'\n").unwrap_err();
        assert!(
            err.contains("'utf-8' codec can't decode byte 0xff"),
            "{err}"
        );
        assert!(!err.contains('\n'));
        let err = split_source(b"# coding: uft-8\nx = 1\n").unwrap_err();
        assert_eq!(err, "unknown encoding: uft-8");
    }

    #[test]
    fn split_source_honours_a_coding_declaration() {
        let cells = split_source(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n").unwrap();
        assert!(
            cells[0].source.contains("x = '\u{e9}'"),
            "{:?}",
            cells[0].source
        );
    }
}
