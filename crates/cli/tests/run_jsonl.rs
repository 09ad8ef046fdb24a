//! `pyrepl3 run --format jsonl` over real cells in real embedded CPython: one record per cell,
//! statuses, results, late output, timeouts, `input()` from standard input, tracebacks, exit
//! codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn pyrepl3() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pyrepl3"))
}

/// Run `pyrepl3 run FILE --format jsonl ARGS` on `source`, with `stdin` as standard input.
fn run_jsonl(source: &str, args: &[&str], stdin: &str) -> (Output, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cells.py");
    std::fs::write(&path, source).unwrap();
    let mut child = pyrepl3()
        .arg("run")
        .arg(&path)
        .args(["--format", "jsonl"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let records = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (out, records)
}

fn cells(records: &[Value]) -> Vec<&Value> {
    records.iter().filter(|r| r.get("late").is_none()).collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn one_record_per_cell_with_statuses_results_and_file_lines() {
    one_record_per_cell(&[]);
}

#[test]
fn one_record_per_cell_in_process() {
    one_record_per_cell(&["--in-process"]);
}

fn one_record_per_cell(args: &[&str]) {
    let src = "\
import asyncio
x = 1
# %%
x + 1
# %%
x + 1;
# %%
None
# %%
print('out'); import sys; print('err', file=sys.stderr)
# %%
await asyncio.sleep(0, 'slept')
# %%
async def double(n):
    return 2 * n
# %%
y = await double(x)
y
# %%
1 / 0
# %%
x = = 2
# %%
'still' + ' alive'
";
    let (out, records) = run_jsonl(src, args, "");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let cells = cells(&records);
    assert_eq!(cells.len(), 11, "{records:#?}");
    let keys = [
        "cell",
        "line",
        "mode",
        "status",
        "result",
        "stdout",
        "stderr",
        "error",
        "duration_ms",
    ];
    for (i, c) in cells.iter().enumerate() {
        let obj = c.as_object().unwrap();
        assert_eq!(obj.keys().collect::<Vec<_>>().len(), keys.len(), "{c}");
        for k in keys {
            assert!(obj.contains_key(k), "{k} missing in {c}");
        }
        assert_eq!(c["cell"], i);
        assert!(c["duration_ms"].as_f64().unwrap() >= 0.0);
    }
    let lines: Vec<u64> = cells.iter().map(|c| c["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [1, 3, 5, 7, 9, 11, 13, 16, 19, 21, 23]);
    let field = |i: usize, k: &str| cells[i][k].clone();
    assert_eq!(field(0, "status"), "ok");
    assert_eq!(field(0, "result"), Value::Null);
    assert_eq!(field(1, "result"), "2");
    assert_eq!(field(2, "result"), Value::Null, "a trailing ; suppresses");
    assert_eq!(field(3, "result"), Value::Null, "None shows nothing");
    assert_eq!(field(4, "stdout"), "out\n");
    assert_eq!(field(4, "stderr"), "err\n");
    assert_eq!(field(5, "mode"), "top_level_await");
    assert_eq!(field(5, "result"), "'slept'");
    assert_eq!(field(6, "mode"), "async_def");
    assert_eq!(field(7, "result"), "2");
    assert_eq!(field(8, "status"), "error");
    assert_eq!(field(8, "error")["type"], "ZeroDivisionError");
    assert_eq!(field(8, "error")["message"], "division by zero");
    assert_eq!(field(9, "status"), "error");
    assert_eq!(field(9, "mode"), "syntax_error");
    assert_eq!(field(9, "error")["type"], "SyntaxError");
    assert_eq!(
        field(10, "status"),
        "ok",
        "a syntax error does not break the session"
    );
    assert_eq!(field(10, "result"), "'still alive'");
    for i in 0..8 {
        assert_eq!(field(i, "error"), Value::Null, "cell {i}");
        assert_eq!(field(i, "status"), "ok", "cell {i}");
    }
}

#[test]
fn tracebacks_name_the_users_lines_at_their_file_line_numbers() {
    let src = "\
def f(n):
    return 10 / n
# %%
x = 3
# %%

f(0)
";
    let (out, records) = run_jsonl(src, &[], "");
    assert_eq!(out.status.code(), Some(1));
    let error = &cells(&records)[2]["error"];
    let tb = error["traceback"].as_str().unwrap();
    assert!(tb.contains("line 7"), "{tb}");
    assert!(tb.contains("    f(0)"), "{tb}");
    assert!(tb.contains("line 2, in f"), "{tb}");
    assert!(tb.contains("return 10 / n"), "{tb}");
    assert!(
        tb.trim_end()
            .ends_with("ZeroDivisionError: division by zero"),
        "{tb}"
    );
    // No frame of the runtime itself.
    assert!(!tb.contains("support"), "{tb}");

    let (_, records) = run_jsonl("x = 1\n# %%\n\n\nx = = 2\n", &[], "");
    let tb = cells(&records)[1]["error"]["traceback"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(tb.contains("line 5"), "{tb}");
    assert!(tb.contains("x = = 2"), "{tb}");
}

#[test]
fn every_cell_ok_exits_0_and_a_file_without_markers_is_one_cell() {
    let (out, records) = run_jsonl("a = 2\nb = 3\na * b\n", &[], "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["result"], "6");
    assert_eq!(records[0]["line"], 1);
}

#[test]
fn late_output_of_a_background_task_gets_its_own_record() {
    let src = "\
import asyncio, time
async def bg():
    await asyncio.sleep(0.05)
    print('late hello')
    print('late err', file=__import__('sys').stderr)
task = asyncio.get_running_loop().create_task(bg())
# %%
print('cell one')
time.sleep(2)
# %%
# However slow the machine, the task has written before this cell ends.
await asyncio.wait_for(task, 60)
'done'
";
    let (out, records) = run_jsonl(src, &[], "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let late: Vec<&Value> = records.iter().filter(|r| r.get("late").is_some()).collect();
    assert!(!late.is_empty(), "{records:#?}");
    let stdout: String = late.iter().map(|r| r["stdout"].as_str().unwrap()).collect();
    let err: String = late.iter().map(|r| r["stderr"].as_str().unwrap()).collect();
    assert_eq!(stdout, "late hello\n");
    assert_eq!(err, "late err\n");
    for r in &late {
        assert_eq!(
            r["cell"], 0,
            "attributed to the cell that started the task: {r}"
        );
        assert_eq!(r["late"], true);
        assert!(r.get("status").is_none(), "{r}");
    }
    let cells = cells(&records);
    assert_eq!(cells.len(), 3);
    assert_eq!(
        cells[1]["stdout"], "cell one\n",
        "not mixed into the running cell"
    );
    assert_eq!(cells[1]["mode"], "blocking_sync");
}

#[test]
fn timeouts_stop_cells_in_every_mode_and_later_cells_run() {
    let src = "\
import asyncio, time
# %%
time.sleep(60)
# %%
await asyncio.sleep(60)
# %%
while True:
    pass
# %%
'after'
";
    let started = Instant::now();
    let (out, records) = run_jsonl(src, &["--timeout", "0.5"], "");
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "cells were not stopped"
    );
    assert_eq!(out.status.code(), Some(1));
    let cells = cells(&records);
    assert_eq!(cells.len(), 5, "{records:#?}");
    for (i, c) in cells.iter().enumerate().skip(1).take(3) {
        assert_eq!(c["status"], "timeout", "cell {i}: {c}");
        assert!(c["error"].is_object(), "{c}");
        assert!(c["duration_ms"].as_f64().unwrap() >= 450.0, "{c}");
    }
    assert_eq!(cells[4]["status"], "ok");
    assert_eq!(cells[4]["result"], "'after'");
}

#[test]
fn input_reads_lines_from_standard_input() {
    let src = "\
a = input('first? ')
b = input()
(a, b)
# %%
input('more? ')
";
    let (out, records) = run_jsonl(src, &[], "one\r\ntwo\n");
    assert_eq!(out.status.code(), Some(1));
    let cells = cells(&records);
    assert_eq!(cells[0]["status"], "ok", "{}", cells[0]);
    assert_eq!(cells[0]["result"], "('one', 'two')");
    // Standard input is exhausted: input() raises EOFError, as in CPython.
    assert_eq!(cells[1]["status"], "error");
    assert_eq!(cells[1]["error"]["type"], "EOFError");
}

#[test]
fn usage_and_io_errors_exit_2_with_one_line() {
    let cases: Vec<Vec<&str>> = vec![
        vec!["run", "/nonexistent/cells.py"],
        vec!["run"],
        vec!["run", "x.py", "--format", "yaml"],
        vec!["run", "x.py", "--timeout", "soon"],
        vec!["run", "x.py", "--timeout", "-1"],
        vec!["frobnicate"],
    ];
    for args in cases {
        let out = pyrepl3().args(&args).stdin(Stdio::null()).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!err.trim().is_empty(), "{args:?}");
    }
    let out = pyrepl3()
        .args(["run", "/nonexistent/cells.py"])
        .output()
        .unwrap();
    assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.py");
    std::fs::write(&bad, b"x = '\xff\xfe'\n").unwrap();
    let out = pyrepl3().arg("run").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("'utf-8' codec can't decode byte 0xff"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).trim().lines().count(), 1);
}

#[test]
fn text_format_shows_output_and_results_as_a_repl_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.py");
    std::fs::write(
        &path,
        "print('hi')\n1 + 1\n# %%\nNone\n# %%\n'x';\n# %%\n[1, 2]\n# %%\n1/0\n",
    )
    .unwrap();
    let out = pyrepl3().arg("run").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n2\n[1, 2]\n");
    let err = stderr(&out);
    assert!(err.contains("Traceback (most recent call last):"), "{err}");
    assert!(err.contains("ZeroDivisionError: division by zero"), "{err}");
}

#[test]
fn piped_standard_input_without_a_command_runs_as_a_script() {
    let mut child = pyrepl3()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"import asyncio\nx = await asyncio.sleep(0, 21)\n# %%\nprint(x * 2)\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n");
}

#[test]
fn sigint_interrupts_the_running_cell_and_stops_the_run() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.py");
    std::fs::write(
        &path,
        "import time\nprint('started', flush=True)\ntime.sleep(60)\n# %%\nprint('never')\n",
    )
    .unwrap();
    let started = Instant::now();
    let mut child = pyrepl3()
        .arg("run")
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "started\n");
    // SAFETY: kill(2) with the pid of our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "{}",
        stderr(&out)
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!rest.contains("never"), "{rest}");
    assert!(
        stderr(&out).contains("KeyboardInterrupt"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn atexit_handlers_run_when_the_run_ends() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("atexit-ran");
    let src = format!(
        "import atexit\natexit.register(lambda: open({:?}, 'w').write('yes'))\n",
        marker.display().to_string()
    );
    let (out, _) = run_jsonl(&src, &[], "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "yes");
}

/// In the worker, descriptor 1 is a pipe the worker reads itself and forwards on its one ordered
/// connection: what is written there lands in the cell's `stdout`, in the order it was written
/// relative to `print`, never in the middle of a record or after the cell's reply.
#[test]
fn output_written_around_sys_stdout_lands_in_the_cells_stdout_in_order_with_the_worker() {
    let src = "\
import os, subprocess, sys
print('first')
os.system('echo from-a-shell')
print('second')
subprocess.run(['echo', 'from-a-child'])
os.write(1, b'raw fd write\\n')
sys.__stdout__.write('dunder stdout\\n'); sys.__stdout__.flush()
print('captured')
os.write(1, 'caf\\u00e9 last\\n'.encode())
";
    for _ in 0..3 {
        let (out, records) = run_jsonl(src, &[], "");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(records.len(), 1, "{records:#?}");
        assert_eq!(
            records[0]["stdout"],
            "first\nfrom-a-shell\nsecond\nfrom-a-child\nraw fd write\ndunder stdout\ncaptured\n\
             caf\u{e9} last\n",
            "{records:#?}"
        );
    }
}

/// In process, descriptor 1 carries the records: what is written there directly goes to
/// standard error instead.
#[test]
fn output_written_around_sys_stdout_does_not_break_the_records_in_process() {
    let src = "\
import os, subprocess, sys
os.system('echo from-a-shell')
subprocess.run(['echo', 'from-a-child'])
os.write(1, b'raw fd write\\n')
sys.__stdout__.write('dunder stdout\\n'); sys.__stdout__.flush()
print('captured')
";
    let (out, records) = run_jsonl(src, &["--in-process"], "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["stdout"], "captured\n");
    let err = stderr(&out);
    for text in [
        "from-a-shell",
        "from-a-child",
        "raw fd write",
        "dunder stdout",
    ] {
        assert!(err.contains(text), "{text} missing from stderr: {err}");
    }
}

#[test]
fn help_and_version_exit_0() {
    for args in [&["--help"][..], &["--version"], &["run", "--help"]] {
        let out = pyrepl3().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
    let out = pyrepl3().args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--format", "--timeout", "--in-process", "jsonl"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn sigint_gives_the_running_cell_status_interrupted_in_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let path = dir.path().join("cells.py");
    std::fs::write(
        &path,
        format!(
            "x = 1\n# %%\nimport asyncio\nopen({:?}, 'w').close()\nawait asyncio.sleep(60)\n# %%\nx\n",
            marker.display().to_string()
        ),
    )
    .unwrap();
    let child = pyrepl3()
        .arg("run")
        .arg(&path)
        .args(["--format", "jsonl"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the cell never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) with the pid of our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{records:#?}");
    assert_eq!(records[0]["status"], "ok");
    assert_eq!(records[1]["status"], "interrupted");
    assert_eq!(records[1]["mode"], "top_level_await");
    assert!(records[1]["error"].is_object());
}

#[test]
fn a_cell_that_swallows_its_timeout_is_abandoned_and_does_not_hold_the_exit() {
    let src = "\
import time
while True:
    try:
        time.sleep(120)
    except BaseException:
        pass
";
    let started = Instant::now();
    let (out, records) = run_jsonl(src, &["--timeout", "0.5"], "");
    assert!(
        started.elapsed() < Duration::from_secs(100),
        "the exit waited for the abandoned cell"
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["status"], "timeout");
    let message = records[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("abandoned"), "{message}");
}
