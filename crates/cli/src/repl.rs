//! The interactive REPL of `pyrepl3` (standard input a terminal).
//!
//! - Line editing and persistent history by `rustyline`; the history file is `$PYREPL3_HISTORY`,
//!   else `$XDG_STATE_HOME/pyrepl3/history`, else `~/.pyrepl3_history`.
//! - Multi-line input: `>>>` then `...` until [`crate::complete::completeness`] says the
//!   statement is complete (as CPython's prompt: compound statements end with an empty line).
//! - Output of a cell is printed as it is written; then its result's `repr` (unless `None`) or its
//!   traceback. Output of background tasks while the prompt waits is printed over the prompt
//!   line, and the prompt shown again.
//! - Ctrl-C while a cell runs interrupts it (in every mode, including `time.sleep` and
//!   `await asyncio.sleep`); Ctrl-C at the prompt drops the line being typed; Ctrl-D, `exit()`
//!   or `sys.exit(n)` exit (with status n).
//! - `input()` reads a line at the terminal, with its prompt.
//! - Commands: `:explain [CODE]` shows the analyzer's routing decision for CODE (or for the last
//!   cell run), `:restart` starts a fresh session (a fresh worker process), `:help`, `:quit`.
//! - Cells run in a worker process ([`crate::worker_session`]): a cell that crashes it (a
//!   segfault, `os._exit`) reports `WorkerDied` and the next cell runs in a fresh worker.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crossbeam_channel::Receiver;
use pyrepl3_analyzer::{CellOptions, SessionState, analyze_cell_with};
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use crate::complete::{Completeness, completeness};
use crate::host::Server;
use crate::inputs::Kind;
use crate::report::{CellReport, FileReport};
use crate::session::{
    self, Backend, CellStatus, InterruptFn, LateOutput, Session, SessionConfig, Stream,
};
use crate::sigint;
use crate::text::TextRenderer;

const PROMPT: &str = ">>> ";
const CONTINUATION: &str = "... ";

const HELP: &str = "\
Type Python statements; top-level `await` works. Compound statements end with an empty line.
  :explain [CODE]  how the analyzer routes CODE (default: the last cell run), and why
  :restart         start a fresh session (all names are forgotten)
  :help            this text
  :quit            leave (or Ctrl-D)
Ctrl-C interrupts the running cell, or drops the line being typed.
";

/// The history file: `$PYREPL3_HISTORY`, `$XDG_STATE_HOME/pyrepl3/history`, `~/.pyrepl3_history`.
pub fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PYREPL3_HISTORY") {
        return Some(PathBuf::from(p));
    }
    if let Some(state) = std::env::var_os("XDG_STATE_HOME").filter(|s| !s.is_empty()) {
        return Some(PathBuf::from(state).join("pyrepl3").join("history"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyrepl3_history"))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether the last text written ended a line (the next prompt starts on a line of its own).
static AT_LINE_START: AtomicBool = AtomicBool::new(true);

/// A line editor. It does not ask the terminal where the cursor is (rustyline's
/// `check_cursor_position`): the answer races with keys typed ahead, and a late answer turns
/// into garbage input on a slow machine. The REPL tracks line starts itself.
fn new_editor() -> rustyline::Result<DefaultEditor> {
    let config = rustyline::Config::builder()
        .check_cursor_position(false)
        .auto_add_history(false)
        .build();
    DefaultEditor::with_config(config)
}

/// The text written since the last line break (rustyline redraws its prompt from the start of
/// the line, so an `input()` prompt shows it again in front of its own).
static CURRENT_LINE: Mutex<String> = Mutex::new(String::new());

/// Write to standard output or error now (a cell's output as it is produced).
fn write_stream(stream: Stream, text: &str) {
    if let Some(last) = text.chars().last() {
        AT_LINE_START.store(last == '\n', Ordering::SeqCst);
    }
    {
        let mut line = lock(&CURRENT_LINE);
        match text.rfind('\n') {
            Some(i) => *line = text[i + 1..].to_string(),
            None => line.push_str(text),
        }
    }
    match stream {
        Stream::Stdout => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
        Stream::Stderr => {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(text.as_bytes());
            let _ = err.flush();
        }
    }
}

/// The session configuration of the REPL: `input()` at the terminal, output streamed.
fn config(interrupt: Arc<Mutex<Option<InterruptFn>>>) -> SessionConfig {
    let editor: Arc<Mutex<Option<DefaultEditor>>> = Arc::new(Mutex::new(None));
    SessionConfig {
        input: Some(Arc::new(move |prompt: &str| {
            let mut slot = lock(&editor);
            if slot.is_none() {
                *slot = new_editor().ok();
            }
            let editor = slot.as_mut()?;
            let shown = format!("{}{prompt}", std::mem::take(&mut *lock(&CURRENT_LINE)));
            let read = editor.readline(&shown);
            AT_LINE_START.store(true, Ordering::SeqCst);
            match read {
                Ok(line) => Some(line),
                Err(ReadlineError::Interrupted) => {
                    // Ctrl-C at an `input()` prompt interrupts the cell.
                    if let Some(f) = lock(&interrupt).clone() {
                        f();
                    }
                    None
                }
                Err(_) => None,
            }
        })),
        live: Some(Arc::new(write_stream)),
        // A fresh worker replaced a dead one.
        notice: Some(Arc::new(|text: &str| write_stream(Stream::Stderr, text))),
    }
}

/// Late output: printed above the prompt while it waits, directly while a cell runs.
///
/// Not rustyline's `ExternalPrinter`: while one exists, rustyline 17 waits on the terminal with
/// `select` even when keys it already read are buffered, so fast typing (or a paste) stalls.
/// Instead, at the prompt, whole lines are printed over the prompt line, followed by the prompt
/// again; the line being typed reappears with the next key (rustyline redraws its line).
struct LatePrinter {
    /// The prompt being shown (`None`: a cell runs).
    prompt: Mutex<Option<&'static str>>,
    source: Mutex<Receiver<LateOutput>>,
}

impl LatePrinter {
    fn run(self: Arc<Self>) {
        // Text that does not end a line yet, per stream, while at the prompt.
        let mut pending = [String::new(), String::new()];
        loop {
            let rx = lock(&self.source).clone();
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(ev) => {
                    let prompt = lock(&self.prompt);
                    match *prompt {
                        Some(prompt) => {
                            let buf = &mut pending[usize::from(ev.stream == Stream::Stderr)];
                            buf.push_str(&ev.text);
                            if let Some(end) = buf.rfind('\n') {
                                let lines: String = buf.drain(..=end).collect();
                                write_stream(Stream::Stdout, "\r\x1b[K");
                                write_stream(ev.stream, &lines);
                                write_stream(Stream::Stdout, prompt);
                                AT_LINE_START.store(true, Ordering::SeqCst);
                            }
                        }
                        None => {
                            for (buf, stream) in
                                pending.iter_mut().zip([Stream::Stdout, Stream::Stderr])
                            {
                                if !buf.is_empty() {
                                    write_stream(stream, &std::mem::take(buf));
                                }
                            }
                            write_stream(ev.stream, &ev.text);
                        }
                    }
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
}

/// The REPL's state across inputs.
struct Repl {
    session: Box<dyn Session>,
    server: Server,
    backend: Backend,
    interrupt: Arc<Mutex<Option<InterruptFn>>>,
    target: sigint::Target,
    late: Arc<LatePrinter>,
    /// The analyzer's view of the session, for `:explain`.
    analyzer: SessionState,
    last_cell: Option<String>,
}

impl Repl {
    fn adopt(&mut self) {
        let f = self.session.interrupter();
        *lock(&self.interrupt) = Some(f.clone());
        self.target.set(f);
        *lock(&self.late.source) = self.session.late_output();
        self.server.serve(&*self.session);
    }

    /// Run a cell and show what it did; `Some(status)` when it raised `SystemExit` (`exit()`,
    /// `sys.exit(n)`), which ends the REPL as it ends CPython's.
    fn run_cell(&mut self, source: &str) -> Option<u8> {
        self.last_cell = Some(source.to_string());
        let _ = analyze_cell_with(source, &mut self.analyzer, &CellOptions::default());
        let outcome = match self.session.execute(source, 1, None) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("pyrepl3: the session failed: {e}; use :restart");
                return None;
            }
        };
        if let Some(error) = &outcome.error
            && error.type_name == "SystemExit"
        {
            return Some(exit_status(&error.message));
        }
        if let Some(result) = &outcome.result {
            write_stream(Stream::Stdout, &format!("{result}\n"));
        }
        if let Some(error) = &outcome.error {
            let mut text = error.shown();
            if outcome.status == CellStatus::Interrupted {
                // The terminal echoed `^C` where the cursor was: start on a line of its own.
                text.insert(0, '\n');
            }
            if !text.ends_with('\n') {
                text.push('\n');
            }
            write_stream(Stream::Stderr, &text);
        }
        None
    }

    fn explain(&self, code: &str) {
        let code = code.trim();
        let source = if code.is_empty() {
            match &self.last_cell {
                Some(c) => c.clone(),
                None => {
                    eprintln!(":explain needs code, e.g. `:explain await asyncio.sleep(1)`");
                    return;
                }
            }
        } else {
            code.to_string()
        };
        let mut state = self.analyzer.clone();
        // As the session runs it: with pyrepl3's rewrites (an awaiting `def` becomes `async def`).
        let (analysis, transform) = crate::report::transform_and_analyze(
            &source,
            &mut state,
            &CellOptions::default(),
            &crate::report::ReportOptions {
                transform: true,
                wrap: false,
            },
        );
        let report = FileReport {
            path: "<input>".into(),
            kind: Kind::Python,
            cells: vec![CellReport {
                index: 0,
                line: 1,
                notebook_position: None,
                source,
                analysis,
                transform,
            }],
        };
        let text = TextRenderer::new().file(&report);
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let text = if color {
            text
        } else {
            anstream::adapter::strip_str(&text).to_string()
        };
        write_stream(Stream::Stdout, &text);
    }

    fn restart(&mut self) {
        // A worker session restarts in place: a fresh worker, same session (late output, Ctrl-C).
        match self.session.restart() {
            Ok(true) => {
                self.analyzer = SessionState::new();
                self.last_cell = None;
                write_stream(Stream::Stdout, "(fresh session)\n");
                return;
            }
            Ok(false) => {}
            Err(e) => {
                eprintln!("pyrepl3: {e}");
                return;
            }
        }
        self.session.shutdown();
        match session::start(self.backend, config(self.interrupt.clone())) {
            Ok(s) => {
                self.session = s;
                self.analyzer = SessionState::new();
                self.last_cell = None;
                self.adopt();
                write_stream(Stream::Stdout, "(fresh session)\n");
            }
            Err(e) => eprintln!("pyrepl3: cannot start a session: {e}"),
        }
    }
}

/// A command line (`:explain`, ...): `true` to leave the REPL.
fn command(repl: &mut Repl, line: &str) -> bool {
    let line = line.trim();
    let (name, arg) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    match name {
        ":explain" => repl.explain(arg),
        ":restart" => repl.restart(),
        ":help" => write_stream(Stream::Stdout, HELP),
        ":quit" | ":exit" | ":q" => return true,
        _ => eprintln!("unknown command {name}; :help lists the commands"),
    }
    false
}

/// Where the REPL's `input()` prompt finds the interrupter of the current session.
pub type SharedInterrupt = Arc<Mutex<Option<InterruptFn>>>;

/// Start the first session (on the main thread) for [`run`].
pub fn start_session(
    backend: Backend,
) -> Result<(Box<dyn Session>, SharedInterrupt), session::SessionError> {
    let interrupt = Arc::new(Mutex::new(None));
    let session = session::start(backend, config(interrupt.clone()))?;
    Ok((session, interrupt))
}

/// The REPL loop; returns the exit status. Runs on the front-end thread (see [`crate::host`]).
pub fn run(
    session: Box<dyn Session>,
    server: Server,
    backend: Backend,
    interrupt: Arc<Mutex<Option<InterruptFn>>>,
) -> u8 {
    let mut editor = match new_editor() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("pyrepl3: cannot use the terminal: {e}");
            session.shutdown();
            return 2;
        }
    };
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let late = Arc::new(LatePrinter {
        prompt: Mutex::new(None),
        source: Mutex::new(session.late_output()),
    });
    {
        let late = late.clone();
        let _ = std::thread::Builder::new()
            .name("pyrepl3-late-printer".into())
            .spawn(move || late.run());
    }
    let target = sigint::Target::default();
    let _ = sigint::start_watcher(target.clone());
    let mut repl = Repl {
        session,
        server,
        backend,
        interrupt,
        target,
        late,
        analyzer: SessionState::new(),
        last_cell: None,
    };
    repl.adopt();
    write_stream(
        Stream::Stdout,
        &format!(
            "pyrepl3 {} (CPython in a worker process). Top-level await works. :help for commands, Ctrl-D to exit.\n",
            env!("CARGO_PKG_VERSION")
        ),
    );

    let mut buffer = String::new();
    let mut code = 0;
    loop {
        let prompt = if buffer.is_empty() {
            PROMPT
        } else {
            CONTINUATION
        };
        if !AT_LINE_START.swap(true, Ordering::SeqCst) {
            write_stream(Stream::Stdout, "\n");
        }
        *lock(&repl.late.prompt) = Some(prompt);
        let read = editor.readline(prompt);
        *lock(&repl.late.prompt) = None;
        match read {
            Ok(line) => {
                if buffer.is_empty() && line.trim_start().starts_with(':') {
                    let _ = editor.add_history_entry(line.as_str());
                    if command(&mut repl, &line) {
                        break;
                    }
                    continue;
                }
                if buffer.is_empty() && line.trim().is_empty() {
                    continue;
                }
                if !buffer.is_empty() {
                    buffer.push('\n');
                }
                buffer.push_str(&line);
                if completeness(&buffer) == Completeness::Incomplete {
                    continue;
                }
                let cell = std::mem::take(&mut buffer);
                let cell = cell.trim_end().to_string();
                let _ = editor.add_history_entry(cell.as_str());
                if let Some(path) = &history {
                    if let Some(dir) = path.parent() {
                        let _ = std::fs::create_dir_all(dir);
                    }
                    let _ = editor.save_history(path);
                }
                if let Some(status) = repl.run_cell(&cell) {
                    code = status;
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                write_stream(Stream::Stderr, "KeyboardInterrupt\n");
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("pyrepl3: cannot read the terminal: {e}");
                break;
            }
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    repl.session.shutdown();
    code
}

/// The exit status `SystemExit(message)` asks for, as CPython computes it: none or `None` is 0,
/// an integer is itself (as a byte), anything else is printed and gives 1.
fn exit_status(message: &str) -> u8 {
    let message = message.trim();
    if message.is_empty() || message == "None" {
        return 0;
    }
    match message.parse::<i64>() {
        Ok(n) => (n & 0xff) as u8,
        Err(_) => {
            eprintln!("{message}");
            1
        }
    }
}
