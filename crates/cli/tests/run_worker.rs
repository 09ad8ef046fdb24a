//! `pyrepl3 run --format jsonl` with its default worker-backed session, on cells that crash,
//! kill, flood and hang their worker: every crashing cell reports `WorkerDied` naming the exit
//! code or signal, every following cell runs in a fresh worker (with a fresh namespace unless
//! `--checkpoint`), nothing is lost or reordered, and the command always ends.

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Generous: a loaded machine is slow, but a hang must still fail the test rather than wedge it.
const LIMIT: Duration = Duration::from_secs(240);

/// Run `pyrepl3 run FILE --format jsonl ARGS` on `source`; kills it and fails after [`LIMIT`].
fn run_jsonl(source: &str, args: &[&str], stdin: &str) -> (Output, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cells.py");
    std::fs::write(&path, source).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pyrepl3"))
        .arg("run")
        .arg(&path)
        .args(["--format", "jsonl"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    // Read both pipes on threads so a big output cannot block the child.
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        out_pipe.read_to_end(&mut buf).unwrap();
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        err_pipe.read_to_end(&mut buf).unwrap();
        buf
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pyrepl3 run did not end within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    };
    let records = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:.300}")))
        .collect();
    (out, records)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The cell records (not late output), checked to be one per cell, in order.
fn cells(records: &[Value], n: usize) -> Vec<&Value> {
    let cells: Vec<&Value> = records.iter().filter(|r| r.get("late").is_none()).collect();
    let order: Vec<u64> = cells.iter().map(|c| c["cell"].as_u64().unwrap()).collect();
    assert_eq!(order, (0..n as u64).collect::<Vec<_>>(), "{records:#?}");
    cells
}

fn assert_worker_died(cell: &Value, what: &str) {
    assert_eq!(cell["status"], "error", "{cell:#}");
    assert_eq!(cell["error"]["type"], "WorkerDied", "{cell:#}");
    let message = cell["error"]["message"].as_str().unwrap();
    assert!(message.contains(what), "{what} not in {message:?}");
    assert!(cell["error"]["traceback"].is_string(), "{cell:#}");
    assert!(cell["mode"].is_string(), "{cell:#}");
}

const CRASHES: &str = "\
x = 1
print('zero')
# %%
import os
print('before exit', flush=True)
os._exit(3)
# %%
print('x' in globals())
x = 2
# %%
import ctypes
ctypes.string_at(0)
# %%
print('x' in globals())
x = 3
x
# %%
import os
print('before the kill')
os.kill(os.getpid(), 9)
# %%
import asyncio
await asyncio.sleep(0)
print('x' in globals())
'last'
";

#[test]
fn crashing_cells_report_worker_died_and_the_next_cells_run_afresh() {
    let (out, records) = run_jsonl(CRASHES, &[], "");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let c = cells(&records, 7);
    assert_eq!(c[0]["status"], "ok");
    assert_eq!(c[0]["stdout"], "zero\n");
    assert_worker_died(c[1], "exited with code 3");
    assert_eq!(
        c[1]["stdout"], "before exit\n",
        "output before the crash is kept"
    );
    assert_eq!(c[2]["status"], "ok", "{:#}", c[2]);
    assert_eq!(
        c[2]["stdout"], "False\n",
        "a fresh worker has a fresh namespace"
    );
    assert_worker_died(c[3], "SIGSEGV");
    assert_eq!(c[4]["status"], "ok", "{:#}", c[4]);
    assert_eq!(c[4]["stdout"], "False\n");
    assert_eq!(c[4]["result"], "3");
    assert_worker_died(c[5], "SIGKILL");
    assert_eq!(
        c[5]["stdout"], "before the kill\n",
        "output before the kill is kept"
    );
    assert_eq!(c[6]["status"], "ok", "{:#}", c[6]);
    assert_eq!(c[6]["mode"], "top_level_await");
    assert_eq!(c[6]["stdout"], "False\n");
    assert_eq!(c[6]["result"], "'last'");
}

#[test]
fn with_checkpoint_the_fresh_worker_gets_the_names_from_before_the_crash() {
    let (out, records) = run_jsonl(CRASHES, &["--checkpoint"], "");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let c = cells(&records, 7);
    assert_worker_died(c[1], "exited with code 3");
    assert_eq!(c[2]["stdout"], "True\n", "{:#}", c[2]);
    assert_worker_died(c[3], "SIGSEGV");
    assert_eq!(c[4]["stdout"], "True\n", "{:#}", c[4]);
    assert_eq!(c[4]["result"], "3");
    assert_worker_died(c[5], "SIGKILL");
    assert_eq!(c[6]["stdout"], "True\n", "{:#}", c[6]);
}

#[test]
fn a_crash_in_text_format_notes_the_fresh_worker_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cells.py");
    std::fs::write(&path, "import os\nos._exit(5)\n# %%\nprint('next')\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pyrepl3"))
        .arg("run")
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "next\n");
    let err = stderr(&out);
    assert!(err.contains("exited with code 5"), "{err}");
    assert!(err.contains("fresh worker"), "{err}");
}

#[test]
fn a_flood_of_output_arrives_whole_and_in_order() {
    let src = "\
import sys
sys.stdout.write('a' * 20_000_000)
print()
# %%
for i in range(200_000):
    print(f'{i:07d}')
# %%
print('after the flood')
";
    let (out, records) = run_jsonl(src, &[], "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let c = cells(&records, 3);
    let big = c[0]["stdout"].as_str().unwrap();
    assert_eq!(big.len(), 20_000_001);
    assert!(big.bytes().take(20_000_000).all(|b| b == b'a'));
    let lines: Vec<&str> = c[1]["stdout"].as_str().unwrap().lines().collect();
    assert_eq!(lines.len(), 200_000);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(*line, format!("{i:07}"), "line {i} out of order");
    }
    assert_eq!(c[2]["stdout"], "after the flood\n");
}

#[test]
fn hanging_cells_time_out_and_the_next_cells_run() {
    let src = "\
x = 'kept'
# %%
while True:
    pass
# %%
import time
time.sleep(100)
# %%
import asyncio
await asyncio.sleep(100)
# %%
x
";
    let started = Instant::now();
    let (out, records) = run_jsonl(src, &["--timeout", "1"], "");
    assert!(started.elapsed() < Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let c = cells(&records, 5);
    for cell in &c[1..4] {
        assert_eq!(cell["status"], "timeout", "{cell:#}");
        assert!(cell["error"].is_object());
    }
    assert_eq!(c[4]["status"], "ok");
    assert_eq!(
        c[4]["result"], "'kept'",
        "a timeout keeps the worker and its names"
    );
}

#[test]
fn interleaved_output_late_output_and_crashes_keep_their_order() {
    let src = "\
import asyncio, sys
async def ticker():
    for i in range(3):
        await asyncio.sleep(0.2)
        print(f'tick {i}')
t = asyncio.get_running_loop().create_task(ticker())
# %%
import time
for i in range(5):
    print(f'out {i}')
    print(f'err {i}', file=sys.stderr)
time.sleep(1)
# %%
import os
print('last words', flush=True)
os._exit(9)
# %%
print('fresh')
";
    let (out, records) = run_jsonl(src, &[], "");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let c = cells(&records, 4);
    let expected_out: String = (0..5).map(|i| format!("out {i}\n")).collect();
    let expected_err: String = (0..5).map(|i| format!("err {i}\n")).collect();
    assert_eq!(c[1]["stdout"], expected_out.as_str());
    assert_eq!(c[1]["stderr"], expected_err.as_str());
    let late: String = records
        .iter()
        .filter(|r| r.get("late").is_some())
        .map(|r| {
            assert_eq!(r["cell"], 0, "{r:#}");
            r["stdout"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(late.starts_with("tick 0\ntick 1\n"), "{records:#?}");
    assert_worker_died(c[2], "exited with code 9");
    assert_eq!(c[2]["stdout"], "last words\n");
    assert_eq!(c[3]["stdout"], "fresh\n");
}

#[test]
fn worker_is_a_hidden_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_pyrepl3"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("run"), "{help}");
    assert!(!help.contains("worker"), "{help}");
    // Started by hand, without a session's socket, it says so and exits 2.
    let out = Command::new(env!("CARGO_BIN_EXE_pyrepl3"))
        .arg("worker")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("pyrepl3 worker"), "{}", stderr(&out));
}

#[test]
fn a_frozen_worker_is_killed_and_reported_and_the_next_cell_runs() {
    // Stopped from outside (a shell the cell waits for), so the worker is frozen mid-cell.
    let src = "\
import os
os.system(f'kill -STOP {os.getpid()}')
# %%
print('next')
";
    let (out, records) = run_jsonl(src, &[], "");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let c = cells(&records, 2);
    assert_worker_died(c[0], "heartbeat");
    assert_eq!(c[1]["status"], "ok");
    assert_eq!(c[1]["stdout"], "next\n");
}

#[test]
fn checkpoint_and_in_process_do_not_go_together() {
    let out = Command::new(env!("CARGO_BIN_EXE_pyrepl3"))
        .args(["run", "-", "--in-process", "--checkpoint"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn memory_and_cpu_limits_are_clear_errors_and_the_run_goes_on() {
    // Past the memory limit the cell gets MemoryError in the same worker.
    let source = "# %%\nx = 1\n# %%\nbig = bytearray(2 * 1024**3)\n# %%\nx + 1\n";
    let (out, records) = run_jsonl(source, &["--memory-limit", "512"], "");
    let mem = cells(&records, 3);
    assert_eq!(mem[1]["status"], "error", "{}", stderr(&out));
    assert_eq!(mem[1]["error"]["type"], "MemoryError");
    assert_eq!(mem[2]["status"], "ok");
    assert_eq!(mem[2]["result"], "2", "the same worker keeps its names");
    assert_eq!(out.status.code(), Some(1));

    // Past the CPU-time limit the worker dies (SIGXCPU); the next cell runs in a fresh one.
    let source = "# %%\nwhile True:\n    pass\n# %%\n40 + 2\n";
    let (out, records) = run_jsonl(source, &["--cpu-limit", "1"], "");
    let cpu = cells(&records, 2);
    assert_eq!(cpu[0]["status"], "error", "{}", stderr(&out));
    assert_eq!(cpu[0]["error"]["type"], "WorkerDied");
    let message = cpu[0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("SIGXCPU") || message.contains("SIGKILL"),
        "{message}"
    );
    assert_eq!(cpu[1]["status"], "ok");
    assert_eq!(cpu[1]["result"], "42");

    // The limits need a worker.
    let status = Command::new(env!("CARGO_BIN_EXE_pyrepl3"))
        .args(["run", "x.py", "--in-process", "--memory-limit", "512"])
        .output()
        .unwrap()
        .status;
    assert_eq!(status.code(), Some(2));
}
