//! The `Session` the front ends use, in both backends (the embedded executor, and a `pyrepl3
//! worker` process): output streams to the live sink as it is written, in order with `input()`
//! requests; late output is tagged with the starting execution; interrupts reach the running
//! cell; a worker that dies under a cell gives that cell `WorkerDied` and the next runs afresh.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyrepl3_cli::session::{self, Backend, CellStatus, Session, SessionConfig, Stream};
use pyrepl3_cli::worker_session::Worker;

fn pyrepl3() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pyrepl3"))
}

fn start(worker: bool, config: SessionConfig) -> Box<dyn Session> {
    if worker {
        Box::new(Worker::start_program(pyrepl3(), config, false, Default::default()).unwrap())
    } else {
        session::start(Backend::InProcess, config).unwrap()
    }
}

fn live_output_and_input_prompts(worker: bool) {
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let (live_log, input_log) = (log.clone(), log.clone());
    let config = SessionConfig {
        live: Some(Arc::new(move |stream, text: &str| {
            let tag = if stream == Stream::Stdout {
                "out"
            } else {
                "err"
            };
            live_log.lock().unwrap().push(format!("{tag}:{text}"));
        })),
        input: Some(Arc::new(move |prompt: &str| {
            input_log.lock().unwrap().push(format!("input:{prompt}"));
            Some("typed".into())
        })),
        notice: None,
    };
    let s = start(worker, config);
    let out = s
        .execute(
            "import sys\nprint('a', end='')\nprint('b', end='', file=sys.stderr)\nx = input('p? ')\nprint(x, end='')\nx",
            1,
            None,
        )
        .unwrap();
    assert_eq!(out.status, CellStatus::Ok, "{out:?}");
    assert_eq!(out.result.as_deref(), Some("'typed'"));
    assert_eq!(
        *log.lock().unwrap(),
        ["out:a", "err:b", "input:p? ", "out:typed"]
    );
    assert_eq!(out.stdout, "atyped");
    assert_eq!(out.stderr, "b");
    s.shutdown();
}

#[test]
fn live_output_and_input_prompts_arrive_in_the_order_the_cell_made_them() {
    live_output_and_input_prompts(false);
}

#[test]
fn worker_live_output_and_input_prompts_arrive_in_the_order_the_cell_made_them() {
    live_output_and_input_prompts(true);
}

fn late_output_and_interrupts(worker: bool) {
    let s = start(worker, SessionConfig::default());
    let first = s
        .execute(
            "import asyncio\nasync def bg():\n    await asyncio.sleep(0.05)\n    print('later')\nt = asyncio.get_running_loop().create_task(bg())",
            1,
            None,
        )
        .unwrap();
    let late = s.late_output();
    let got = late.recv_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!(got.execution_id, Some(first.execution_id));
    assert_eq!(got.text, "later");

    let interrupt = s.interrupter();
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    let stopper = std::thread::spawn(move || {
        // Keep interrupting until the cell has ended (an interrupt sent before the cell starts
        // finds nothing to stop).
        let mut sent = false;
        for _ in 0..6000 {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            sent |= interrupt();
            std::thread::sleep(Duration::from_millis(20));
        }
        sent
    });
    let out = s.execute("while True:\n    pass", 1, None).unwrap();
    done.store(true, Ordering::SeqCst);
    assert!(stopper.join().unwrap());
    assert_eq!(out.status, CellStatus::Interrupted);
    assert_eq!(out.error.unwrap().type_name, "KeyboardInterrupt");
    // The session goes on after the interrupt.
    let next = s.execute("1 + 1", 1, None).unwrap();
    assert_eq!(next.result.as_deref(), Some("2"));
    s.shutdown();
}

#[test]
fn late_output_names_the_execution_that_started_it_and_interrupts_stop_cells() {
    late_output_and_interrupts(false);
}

#[test]
fn worker_late_output_names_the_execution_that_started_it_and_interrupts_stop_cells() {
    late_output_and_interrupts(true);
}

#[test]
fn worker_death_fails_only_its_cell_and_restart_forgets_names() {
    let notes: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = notes.clone();
    let config = SessionConfig {
        notice: Some(Arc::new(move |t: &str| seen.lock().unwrap().push(t.into()))),
        ..SessionConfig::default()
    };
    let s = start(true, config);
    assert_eq!(s.execute("x = 5", 1, None).unwrap().status, CellStatus::Ok);
    let died = s.execute("import os\nos._exit(7)", 1, None).unwrap();
    assert_eq!(died.status, CellStatus::Error);
    let error = died.error.unwrap();
    assert_eq!(error.type_name, "WorkerDied");
    assert!(
        error.message.contains("exit code 7") || error.message.contains("code 7"),
        "{error:?}"
    );
    let after = s.execute("'x' in globals()", 1, None).unwrap();
    assert_eq!(after.result.as_deref(), Some("False"));
    assert_eq!(
        notes.lock().unwrap().len(),
        1,
        "{:?}",
        notes.lock().unwrap()
    );
    assert_eq!(s.execute("y = 1", 1, None).unwrap().status, CellStatus::Ok);
    assert!(s.restart().unwrap());
    let fresh = s.execute("'y' in globals()", 1, None).unwrap();
    assert_eq!(fresh.result.as_deref(), Some("False"));
    s.shutdown();
    assert!(s.execute("1", 1, None).is_err());
}
