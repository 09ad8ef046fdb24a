//! The in-process `Session` the front ends use: output streams to the live sink as it is
//! written, in order with `input()` requests; late output is tagged with the starting execution;
//! interrupts reach the running cell.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyrepl3_cli::session::{self, Backend, CellStatus, SessionConfig, Stream};

#[test]
fn live_output_and_input_prompts_arrive_in_the_order_the_cell_made_them() {
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
    };
    let s = session::start(Backend::InProcess, config).unwrap();
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
fn late_output_names_the_execution_that_started_it_and_interrupts_stop_cells() {
    let s = session::start(Backend::InProcess, SessionConfig::default()).unwrap();
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
    let stopper = std::thread::spawn(move || {
        // Keep asking until a cell is running to take it.
        for _ in 0..6000 {
            if interrupt() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    });
    let out = s.execute("while True:\n    pass", 1, None).unwrap();
    assert!(stopper.join().unwrap());
    assert_eq!(out.status, CellStatus::Interrupted);
    assert_eq!(out.error.unwrap().type_name, "KeyboardInterrupt");
    s.shutdown();
}
