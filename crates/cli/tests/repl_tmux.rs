//! The interactive REPL driven through a real terminal (tmux) as a person would use it:
//! top-level await, multi-line input, Ctrl-C during `await asyncio.sleep(100)` and during
//! `time.sleep(100)`, Ctrl-C at the prompt, `input()`, `:explain`, `:restart`, background output
//! at the prompt, history, Ctrl-D.
//!
//! Each test has its own tmux server (`-S` socket in a temporary directory). Nothing waits a
//! fixed time: every step polls the screen until the expected text shows (generous limits, for a
//! loaded machine), and keys are only sent once the REPL shows the prompt that reads them.
//! tmux is installed by `scripts/install-test-deps.sh`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long any one expected thing may take to show up.
const PATIENCE: Duration = Duration::from_secs(90);

struct Term {
    socket: PathBuf,
    dir: tempfile::TempDir,
}

impl Term {
    fn start() -> Term {
        Term::start_with_history(None)
    }

    /// Start a REPL whose history file starts as a copy of `history`.
    fn start_with_history(history: Option<&Path>) -> Term {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("tmux.sock");
        if let Some(from) = history {
            std::fs::copy(from, dir.path().join("history")).unwrap();
        }
        let history = dir.path().join("history");
        let shell = format!(
            "env PYREPL3_HISTORY='{}' NO_COLOR=1 '{}'; echo __EXITED__ $?; sleep 600",
            history.display(),
            env!("CARGO_BIN_EXE_pyrepl3"),
        );
        let term = Term { socket, dir };
        let out = term.tmux(&[
            "new-session",
            "-d",
            "-s",
            "repl",
            "-x",
            "160",
            "-y",
            "50",
            &shell,
        ]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        term.wait_for(
            |s| s.contains("Ctrl-D to exit") && prompts(s) >= 1,
            "the banner",
        );
        term
    }

    fn history(&self) -> PathBuf {
        self.dir.path().join("history")
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs (scripts/install-test-deps.sh installs it)")
    }

    /// The whole screen and scrollback, wrapped lines joined.
    fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", "repl"]);
        if !out.status.success() {
            return format!(
                "(capture-pane failed: {})",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Poll the screen until `ok` holds; panic with the screen after [`PATIENCE`].
    fn wait_for(&self, ok: impl Fn(&str) -> bool, what: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited {PATIENCE:?} for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_text(&self, needle: &str) -> String {
        self.wait_for(|s| s.contains(needle), &format!("{needle:?}"))
    }

    /// Type `text` literally, then Enter.
    fn line(&self, text: &str) {
        if !text.is_empty() {
            assert!(
                self.tmux(&["send-keys", "-t", "repl", "-l", text])
                    .status
                    .success()
            );
        }
        assert!(
            self.tmux(&["send-keys", "-t", "repl", "Enter"])
                .status
                .success()
        );
    }

    /// Press keys by tmux name (`C-c`, `C-d`).
    fn key(&self, key: &str) {
        assert!(
            self.tmux(&["send-keys", "-t", "repl", key])
                .status
                .success()
        );
    }

    /// Type a one-line cell at the prompt and wait until it ran and the next prompt shows.
    fn cell(&self, text: &str) -> String {
        let before = prompts(&self.screen());
        self.line(text);
        self.wait_for(
            |s| prompts(s) > before,
            &format!("the prompt after {text:?}"),
        )
    }

    /// Wait until the screen's last line is `prompt` (the REPL reads the next line).
    fn wait_prompt_line(&self, prompt: &str) {
        self.wait_for(
            |s| s.trim_end().lines().last().map(str::trim_end) == Some(prompt.trim_end()),
            &format!("the prompt {prompt:?}"),
        );
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// Number of `>>>` prompts on the screen.
fn prompts(screen: &str) -> usize {
    screen.lines().filter(|l| l.starts_with(">>>")).count()
}

/// The text after the last prompt containing `input`.
fn after<'a>(screen: &'a str, input: &str) -> &'a str {
    let at = screen.rfind(input).unwrap_or(0);
    &screen[at + input.len()..]
}

#[test]
fn top_level_await_and_multi_line_input() {
    let t = Term::start();
    t.cell("import asyncio");
    let s = t.cell("await asyncio.sleep(0.1, 'awaited value')");
    assert!(
        after(&s, "sleep(0.1, 'awaited value')").contains("\n'awaited value'\n"),
        "{s}"
    );

    t.line("async def double(n):");
    t.wait_prompt_line("...");
    t.line("    await asyncio.sleep(0)");
    t.wait_for(
        |s| s.trim_end().ends_with("...") && s.matches("...").count() >= 2,
        "2nd ...",
    );
    t.line("    return 2 * n");
    t.wait_for(|s| s.matches("\n...").count() >= 3, "3rd ...");
    let before = prompts(&t.screen());
    t.line("");
    t.wait_for(|s| prompts(s) > before, "the prompt after the def");
    // An open bracket continues without running anything.
    t.line("x = (1 +");
    t.wait_prompt_line("...");
    let s = t.cell("   20)");
    assert!(!s.contains("Error"), "{s}");
    let s = t.cell("await double(x)");
    assert!(after(&s, "await double(x)").contains("\n42\n"), "{s}");
}

#[test]
fn ctrl_c_interrupts_await_asyncio_sleep_and_the_repl_goes_on() {
    let t = Term::start();
    t.cell("import asyncio");
    let started = Instant::now();
    t.line("print('sleeping', flush=True); await asyncio.sleep(100)");
    // Output shows while the cell runs: the interrupt is sent once the cell is running.
    t.wait_for(|s| s.contains("\nsleeping\n"), "streamed output");
    let before = prompts(&t.screen());
    t.key("C-c");
    let s = t.wait_for(|s| prompts(s) > before, "the prompt after Ctrl-C");
    assert!(started.elapsed() < Duration::from_secs(95));
    let tail = after(&s, "\nsleeping\n");
    assert!(
        tail.contains("KeyboardInterrupt") || tail.contains("CancelledError"),
        "{s}"
    );
    let s = t.cell("'alive'");
    assert!(after(&s, ">>> 'alive'").contains("\n'alive'\n"), "{s}");
}

#[test]
fn ctrl_c_interrupts_time_sleep_and_the_repl_goes_on() {
    let t = Term::start();
    t.cell("import time");
    let started = Instant::now();
    t.line("print('sleeping', flush=True); time.sleep(100)");
    t.wait_for(|s| s.contains("\nsleeping\n"), "streamed output");
    let before = prompts(&t.screen());
    t.key("C-c");
    let s = t.wait_for(|s| prompts(s) > before, "the prompt after Ctrl-C");
    assert!(started.elapsed() < Duration::from_secs(95));
    assert!(
        after(&s, "\nsleeping\n").contains("KeyboardInterrupt"),
        "{s}"
    );
    // The session lives on: names survive, and the next cell runs normally.
    let s = t.cell("time.sleep(0) is None");
    assert!(after(&s, "is None").contains("\nTrue\n"), "{s}");
}

#[test]
fn ctrl_c_at_the_prompt_twice_does_not_end_the_repl() {
    let t = Term::start();
    t.line("x = (1,");
    t.wait_prompt_line("...");
    t.key("C-c");
    t.wait_for(
        |s| s.matches("KeyboardInterrupt").count() >= 1,
        "first Ctrl-C",
    );
    t.wait_prompt_line(">>>");
    t.key("C-c");
    t.wait_for(
        |s| s.matches("KeyboardInterrupt").count() >= 2,
        "second Ctrl-C",
    );
    t.wait_prompt_line(">>>");
    // The dropped `(1,` does not leak into the next input.
    let s = t.cell("6 * 7");
    assert!(after(&s, "6 * 7").contains("\n42\n"), "{s}");
    assert!(!s.contains("__EXITED__"), "{s}");
}

#[test]
fn input_reads_a_line_typed_at_the_terminal() {
    let t = Term::start();
    t.line("name = input('name? ')");
    t.wait_for(|s| s.trim_end().ends_with("name?"), "the input() prompt");
    t.cell("Ada");
    let s = t.cell("name.upper()");
    assert!(after(&s, "name.upper()").contains("\n'ADA'\n"), "{s}");
    // Text printed before the prompt on the same line stays in front of it.
    t.line("print('Your', end=' '); age = input('age? ')");
    t.wait_for(
        |s| s.trim_end().ends_with("Your age?"),
        "the prompt after printed text",
    );
    t.cell("36");
    let s = t.cell("age");
    assert!(after(&s, ">>> age\n").starts_with("'36'\n"), "{s}");
}

#[test]
fn explain_shows_the_routing_decision() {
    let t = Term::start();
    let s = t.cell(":explain await asyncio.sleep(1)");
    let tail = after(&s, ":explain await asyncio.sleep(1)").to_string();
    assert!(tail.contains("top_level_await"), "{s}");
    assert!(tail.contains("PR100"), "{s}");
    t.cell("import time");
    // The analyzer knows the session: `time` is the module imported above.
    let s = t.cell(":explain time.sleep(1)");
    let tail = after(&s, ":explain time.sleep(1)");
    assert!(tail.contains("blocking_sync"), "{s}");
    // Explaining runs nothing.
    let s = t.cell(":explain print('not run')");
    assert!(
        !after(&s, ":explain print('not run')").contains("\nnot run\n"),
        "{s}"
    );
}

#[test]
fn restart_starts_a_fresh_session() {
    let t = Term::start();
    t.cell("x = 5");
    let s = t.cell(":restart");
    assert!(after(&s, ":restart").contains("fresh session"), "{s}");
    let s = t.cell("x");
    assert!(after(&s, ">>> x\n").contains("NameError"), "{s}");
    // Ctrl-C still reaches cells of the new session.
    t.cell("import time");
    t.line("print('sleeping', flush=True); time.sleep(100)");
    t.wait_for(
        |s| after(s, "time.sleep(100)").contains("\nsleeping\n"),
        "output",
    );
    let before = prompts(&t.screen());
    t.key("C-c");
    let s = t.wait_for(|s| prompts(s) > before, "the prompt after Ctrl-C");
    assert!(
        after(&s, "\nsleeping\n").contains("KeyboardInterrupt"),
        "{s}"
    );
}

#[test]
fn background_output_shows_while_the_prompt_waits() {
    let t = Term::start();
    t.cell("import asyncio");
    t.line("async def later():");
    t.wait_prompt_line("...");
    t.line("    await asyncio.sleep(0.2); print('from the background')");
    t.wait_prompt_line("...");
    let before = prompts(&t.screen());
    t.line("");
    t.wait_for(|s| prompts(s) > before, "the prompt after the def");
    t.cell("task = asyncio.get_running_loop().create_task(later())");
    t.wait_text("from the background");
}

#[test]
fn ctrl_d_exits_and_history_is_kept() {
    let t = Term::start();
    t.line("for i in range(2):");
    t.wait_prompt_line("...");
    t.line("    pass");
    t.wait_prompt_line("...");
    let before = prompts(&t.screen());
    t.line("");
    t.wait_for(|s| prompts(s) > before, "the prompt after the loop");
    t.cell("y = 41 + 1");
    t.key("C-d");
    let s = t.wait_text("__EXITED__");
    assert!(s.contains("__EXITED__ 0"), "{s}");
    let history = std::fs::read_to_string(t.history()).unwrap();
    assert!(history.contains("y = 41 + 1"), "{history}");
    assert!(history.contains("for i in range(2):"), "{history}");
    assert_history_reloads(&t.history());
}

/// A new REPL with the same history file recalls the entries with the Up key.
fn assert_history_reloads(history: &Path) {
    let t = Term::start_with_history(Some(history));
    t.key("Up");
    t.wait_for(|s| s.contains(">>> y = 41 + 1"), "the recalled entry");
}

#[test]
fn lines_typed_ahead_of_the_prompt_are_not_lost() {
    let t = Term::start();
    // Typed in one go, without waiting for the prompts in between (a paste, a fast typist).
    t.line("import time");
    t.line("time.sleep(0.3); a = 1");
    t.line("for i in range(3):");
    t.line("    a += i");
    t.line("");
    t.line("a + 38");
    let s = t.wait_text("\n42\n");
    assert!(!s.contains("Error"), "{s}");
}

#[test]
fn sys_exit_ends_the_repl_with_its_status() {
    let t = Term::start();
    t.cell("import sys");
    t.line("sys.exit(3)");
    let s = t.wait_text("__EXITED__");
    assert!(s.contains("__EXITED__ 3"), "{s}");
}

#[test]
fn a_cell_that_kills_its_worker_reports_worker_died_and_the_repl_goes_on() {
    let t = Term::start();
    t.cell("x = 5");
    let s = t.cell("import os; os._exit(3)");
    let tail = after(&s, "os._exit(3)").to_string();
    assert!(tail.contains("WorkerDied"), "{s}");
    assert!(tail.contains("code 3"), "{s}");
    // The next cell runs in a fresh worker (a fresh namespace), and says so.
    let s = t.cell("'x' in globals()");
    let tail = after(&s, ">>> 'x' in globals()");
    assert!(tail.contains("fresh worker"), "{s}");
    assert!(tail.contains("\nFalse\n"), "{s}");
    let s = t.cell("import ctypes; ctypes.string_at(0)");
    assert!(after(&s, "string_at(0)").contains("SIGSEGV"), "{s}");
    let s = t.cell("6 * 7");
    assert!(after(&s, ">>> 6 * 7").contains("\n42\n"), "{s}");
    assert!(!s.contains("__EXITED__"), "{s}");
}

#[test]
fn ctrl_c_at_an_input_prompt_interrupts_the_cell() {
    let t = Term::start();
    t.line("name = input('name? ')");
    t.wait_for(|s| s.trim_end().ends_with("name?"), "the input() prompt");
    let before = prompts(&t.screen());
    t.key("C-c");
    let s = t.wait_for(|s| prompts(s) > before, "the prompt after Ctrl-C");
    assert!(after(&s, "name?").contains("KeyboardInterrupt"), "{s}");
    let s = t.cell("'alive'");
    assert!(after(&s, ">>> 'alive'").contains("\n'alive'\n"), "{s}");
}
