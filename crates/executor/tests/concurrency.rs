//! The session's concurrency against real embedded CPython: background tasks, output
//! attribution, input routing, timeouts and interrupts in every mode.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyrepl3_executor::{ExecOptions, ExecOutcome, Executor, Mode, Status, Stream};

fn exec(ex: &Executor, src: &str) -> ExecOutcome {
    ex.execute(src, &ExecOptions::default())
        .expect("executor runs cells")
}

fn ok(ex: &Executor, src: &str) -> Option<String> {
    let out = exec(ex, src);
    assert_eq!(out.status, Status::Ok, "{src:?} failed: {:?}", out.error);
    out.result_repr
}

fn blocking(ex: &Executor, src: &str) -> ExecOutcome {
    ex.execute(src, &ExecOptions::forced(Mode::BlockingSync))
        .unwrap()
}

#[test]
fn heartbeat_keeps_ticking_during_a_blocking_cell() {
    let ex = Executor::builder().build().unwrap();
    ok(
        &ex,
        "import asyncio, time\nticks = []\nasync def beat():\n    while True:\n        ticks.append(time.monotonic())\n        await asyncio.sleep(0.01)\nhb = asyncio.ensure_future(beat())",
    );
    let out = blocking(
        &ex,
        "t0 = time.monotonic()\ntime.sleep(0.4)\nt1 = time.monotonic()",
    );
    assert_eq!(out.status, Status::Ok, "{:?}", out.error);
    assert_eq!(out.mode, Mode::BlockingSync);
    let during: usize = ok(&ex, "len([t for t in ticks if t0 <= t <= t1])")
        .unwrap()
        .parse()
        .unwrap();
    // A frozen loop would tick at most once; a running one about 40 times.
    assert!(
        during >= 5,
        "only {during} ticks while the blocking cell ran"
    );
    // The task survives between cells and is still running.
    assert_eq!(ok(&ex, "hb.done()"), Some("False".into()));
    ok(&ex, "hb.cancel()");
}

#[test]
fn output_is_ordered_and_attributed_to_the_cell() {
    let ex = Executor::builder().build().unwrap();
    let out = exec(
        &ex,
        "import sys\nprint('a')\nprint('b', file=sys.stderr)\nsys.stdout.write('c')\n42",
    );
    assert_eq!(out.stdout(), "a\nc");
    assert_eq!(out.stderr(), "b\n");
    let order: Vec<(Stream, &str)> = out
        .output
        .iter()
        .map(|e| (e.stream, e.text.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            (Stream::Stdout, "a"),
            (Stream::Stdout, "\n"),
            (Stream::Stderr, "b"),
            (Stream::Stderr, "\n"),
            (Stream::Stdout, "c")
        ]
    );
    assert!(out.output.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(
        out.output
            .iter()
            .all(|e| e.execution_id == Some(out.execution_id))
    );
    assert_eq!(out.result_repr.as_deref(), Some("42"));
    // Output of every mode is captured.
    let out = exec(&ex, "import asyncio\nawait asyncio.sleep(0)\nprint('tla')");
    assert_eq!(out.stdout(), "tla\n");
    let out = blocking(&ex, "print('worker')");
    assert_eq!(out.stdout(), "worker\n");
}

#[test]
fn background_task_output_is_attributed_to_its_cell() {
    let ex = Executor::builder().build().unwrap();
    let late = ex.late_output();
    let first = exec(
        &ex,
        "import asyncio, time\nasync def talk():\n    for i in range(3):\n        await asyncio.sleep(0.05)\n        print('bg', i)\nt = asyncio.ensure_future(talk())\nprint('started')",
    );
    assert_eq!(first.stdout(), "started\n");
    let second = blocking(&ex, "time.sleep(0.4)\nprint('second')");
    assert_eq!(
        second.stdout(),
        "second\n",
        "background output is not the second cell's"
    );
    let mut bg = String::new();
    while let Ok(ev) = late.recv_timeout(Duration::from_secs(5)) {
        assert_eq!(ev.execution_id, Some(first.execution_id));
        bg.push_str(&ev.text);
        if bg.contains("bg 2\n") {
            break;
        }
    }
    assert_eq!(bg, "bg 0\nbg 1\nbg 2\n");
}

#[test]
fn threads_started_by_a_cell_inherit_its_attribution() {
    let ex = Executor::builder().build().unwrap();
    let late = ex.late_output();
    let out = exec(
        &ex,
        "import threading, time\ndef work():\n    print('in thread')\n    time.sleep(0.1)\n    print('later')\nth = threading.Thread(target=work)\nth.start()\ntime.sleep(0.05)",
    );
    assert_eq!(out.stdout(), "in thread\n");
    let ev = late.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(ev.execution_id, Some(out.execution_id));
    assert_eq!(ev.text, "later");
    ok(&ex, "th.join()");
}

#[test]
fn input_is_routed_to_the_embedder() {
    let prompts = Arc::new(Mutex::new(Vec::new()));
    let seen = prompts.clone();
    let ex = Executor::builder()
        .input_handler(move |req| {
            seen.lock()
                .unwrap()
                .push((req.execution_id, req.prompt.clone()));
            match req.prompt.as_str() {
                "refuse> " => None,
                _ => Some("21\n".to_string()),
            }
        })
        .build()
        .unwrap();
    let out = blocking(&ex, "n = int(input('n? '))\nn * 2");
    assert_eq!(out.result_repr.as_deref(), Some("42"), "{:?}", out.error);
    assert_eq!(
        prompts.lock().unwrap()[0],
        (Some(out.execution_id), "n? ".to_string())
    );
    let out = blocking(&ex, "input('refuse> ')");
    assert_eq!(out.status, Status::Error);
    assert_eq!(out.error.unwrap().type_name, "EOFError");
    // ainput does not block the loop.
    let out = exec(&ex, "await ainput('a? ')");
    assert_eq!(out.result_repr.as_deref(), Some("'21'"), "{:?}", out.error);
    let out = exec(&ex, "import pyrepl3\nawait pyrepl3.ainput('b? ')");
    assert_eq!(out.result_repr.as_deref(), Some("'21'"), "{:?}", out.error);
}

#[test]
fn input_is_refused_without_a_handler() {
    let ex = Executor::builder().build().unwrap();
    let out = blocking(&ex, "input()");
    assert_eq!(out.error.unwrap().type_name, "EOFError");
}

fn quick() -> Executor {
    Executor::builder()
        .stop_grace(Duration::from_millis(500))
        .build()
        .unwrap()
}

fn assert_timeout(out: &ExecOutcome, mode: Mode) {
    assert_eq!(out.status, Status::Timeout, "{:?}", out.error);
    assert_eq!(out.mode, mode);
    let err = out.error.as_ref().unwrap();
    assert_eq!(err.type_name, "pyrepl3.CellTimeout");
    let note = err.notes.join("\n");
    assert!(
        note.contains(&format!("execution {}", out.execution_id)),
        "{note}"
    );
    assert!(note.contains(mode.as_str()), "{note}");
}

#[test]
fn timeouts_in_every_mode() {
    let ex = quick();
    let t = Duration::from_millis(200);
    ok(
        &ex,
        "import asyncio, time\nbeats = 0\nasync def beat():\n    global beats\n    while True:\n        beats += 1\n        await asyncio.sleep(0.01)\nhb = asyncio.ensure_future(beat())",
    );
    // Sync on the loop thread, busy in Python.
    let out = ex
        .execute("while True:\n    pass", &ExecOptions::with_timeout(t))
        .unwrap();
    assert_timeout(&out, Mode::SimpleSync);
    let tb = out.error.unwrap().traceback;
    assert!(tb.contains("line ") && tb.contains("in <module>"), "{tb}");
    // On a worker thread.
    let out = ex
        .execute(
            "while True:\n    pass",
            &ExecOptions {
                timeout: Some(t),
                force_mode: Some(Mode::BlockingSync),
                first_line: 1,
            },
        )
        .unwrap();
    assert_timeout(&out, Mode::BlockingSync);
    // An awaiting coroutine cell is cancelled.
    let out = ex
        .execute("await asyncio.sleep(30)", &ExecOptions::with_timeout(t))
        .unwrap();
    assert_timeout(&out, Mode::TopLevelAwait);
    // A coroutine cell stuck in sync code inside its task.
    let out = ex
        .execute(
            "await asyncio.sleep(0)\nwhile True:\n    pass",
            &ExecOptions::with_timeout(t),
        )
        .unwrap();
    assert_timeout(&out, Mode::TopLevelAwait);
    // The user's own catch-all does not swallow the runtime timeout.
    let out = ex
        .execute(
            "try:\n    while True:\n        pass\nexcept Exception:\n    caught = True",
            &ExecOptions::with_timeout(t),
        )
        .unwrap();
    assert_timeout(&out, Mode::SimpleSync);
    // The user's own TimeoutError is an ordinary error.
    let out = exec(&ex, "raise TimeoutError('mine')");
    assert_eq!(out.status, Status::Error);
    assert_eq!(out.error.unwrap().type_name, "TimeoutError");
    // Nothing leaks into later cells; the loop and the background task survive.
    let before: u64 = ok(&ex, "beats").unwrap().parse().unwrap();
    for _ in 0..5 {
        assert_eq!(ok(&ex, "1 + 1"), Some("2".into()));
    }
    ok(&ex, "await asyncio.sleep(0.1)");
    let after: u64 = ok(&ex, "beats").unwrap().parse().unwrap();
    assert!(after > before, "heartbeat stopped: {before} -> {after}");
    assert_eq!(ok(&ex, "hb.done()"), Some("False".into()));
    // Executor-wide default timeout.
    let ex2 = Executor::builder()
        .timeout(t)
        .stop_grace(Duration::from_millis(500))
        .build()
        .unwrap();
    let out = exec(&ex2, "while True: pass");
    assert_eq!(out.status, Status::Timeout);
    let s = ex.stats();
    assert_eq!(s.timeouts, 5);
}

#[test]
fn a_blocking_c_call_that_cannot_be_broken_is_abandoned() {
    let ex = quick();
    let out = ex
        .execute(
            "import time\ntime.sleep(1.5)\nfinished = True",
            &ExecOptions {
                timeout: Some(Duration::from_millis(100)),
                force_mode: Some(Mode::BlockingSync),
                first_line: 1,
            },
        )
        .unwrap();
    assert_eq!(out.status, Status::Timeout);
    assert!(out.error.unwrap().message.contains("abandoned"));
    assert_eq!(ex.stats().abandoned, 1);
    // The session keeps working meanwhile, and the abandoned cell is stopped when it wakes.
    assert_eq!(ok(&ex, "2 + 2"), Some("4".into()));
    let out = blocking(&ex, "time.sleep(1.6)\n'finished' in globals()");
    assert_eq!(out.result_repr.as_deref(), Some("False"));
}

fn interrupt_after(ex: &Executor, delay: Duration) -> std::thread::JoinHandle<bool> {
    let handle = ex.interrupt_handle();
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        handle.interrupt()
    })
}

#[test]
fn interrupts_in_every_mode_without_stale_interrupts() {
    let ex = quick();
    assert!(!ex.interrupt(), "nothing to interrupt between cells");
    ok(&ex, "import asyncio, time");
    let cases: [(&str, Option<Mode>, Mode); 4] = [
        ("while True:\n    pass", None, Mode::SimpleSync),
        (
            "while True:\n    pass",
            Some(Mode::BlockingSync),
            Mode::BlockingSync,
        ),
        ("await asyncio.sleep(30)", None, Mode::TopLevelAwait),
        (
            "await asyncio.sleep(0)\nwhile True:\n    pass",
            None,
            Mode::TopLevelAwait,
        ),
    ];
    for (src, force, mode) in cases {
        let t = interrupt_after(&ex, Duration::from_millis(150));
        let out = ex
            .execute(
                src,
                &ExecOptions {
                    force_mode: force,
                    ..ExecOptions::default()
                },
            )
            .unwrap();
        assert!(t.join().unwrap(), "the interrupt found the running cell");
        assert_eq!(out.status, Status::Interrupted, "{src}: {:?}", out.error);
        assert_eq!(out.mode, mode);
        let err = out.error.unwrap();
        assert!(
            matches!(
                err.type_name.as_str(),
                "KeyboardInterrupt" | "asyncio.exceptions.CancelledError"
            ),
            "{}",
            err.type_name
        );
        // No interrupt lands in later cells, in any mode.
        for _ in 0..3 {
            assert_eq!(ok(&ex, "sum(range(100000)) > 0"), Some("True".into()));
            assert_eq!(ok(&ex, "await asyncio.sleep(0.01, 1)"), Some("1".into()));
            assert_eq!(
                blocking(&ex, "time.sleep(0.01)\n3").result_repr.as_deref(),
                Some("3")
            );
        }
    }
    assert!(!ex.interrupt());
    assert_eq!(ex.stats().interrupts, 4);
}

#[test]
fn interrupt_from_many_threads_at_once() {
    let ex = quick();
    let threads: Vec<_> = (0..4)
        .map(|i| interrupt_after(&ex, Duration::from_millis(100 + i * 20)))
        .collect();
    let out = exec(&ex, "while True:\n    pass");
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(out.status, Status::Interrupted);
    for _ in 0..5 {
        assert_eq!(
            ok(&ex, "x = 0\nfor i in range(10000):\n    x += i\nx"),
            Some("49995000".into())
        );
    }
}

#[test]
fn user_code_that_catches_the_interrupt_completes_normally() {
    let ex = quick();
    let t = interrupt_after(&ex, Duration::from_millis(100));
    let out = exec(
        &ex,
        "try:\n    while True:\n        pass\nexcept KeyboardInterrupt:\n    caught = 'yes'\ncaught",
    );
    t.join().unwrap();
    assert_eq!(out.status, Status::Ok);
    assert_eq!(out.result_repr.as_deref(), Some("'yes'"));
}

#[test]
fn shutdown_cancels_background_tasks() {
    let ex = Executor::builder().build().unwrap();
    ok(
        &ex,
        "import asyncio\nstate = []\nasync def forever():\n    try:\n        await asyncio.sleep(3600)\n    finally:\n        state.append('cancelled')\nt = asyncio.ensure_future(forever())",
    );
    assert_eq!(ex.pending_tasks(), 1);
    let state =
        pyo3::Python::attach(|py| ex.namespace().get(py, "state").unwrap().unwrap().unbind());
    ex.shutdown();
    pyo3::Python::attach(|py| {
        assert_eq!(state.bind(py).to_string(), "['cancelled']");
    });
    assert!(ex.execute("1", &ExecOptions::default()).is_err());
}

#[test]
fn async_embedders_use_execute_async_and_a_tokio_late_channel() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let ex = Arc::new(Executor::builder().late_output_to(tx).build().unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let first = ex
            .execute_async(
                "import asyncio\nasync def later():\n    await asyncio.sleep(0.05)\n    print('late')\nt = asyncio.ensure_future(later())".into(),
                ExecOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!(first.status, Status::Ok, "{:?}", first.error);
        let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("late output arrives")
            .unwrap();
        assert_eq!(ev.execution_id, Some(first.execution_id));
        assert_eq!(ev.text, "late");
        let out = ex
            .execute_async("await asyncio.sleep(0, 7)".into(), ExecOptions::default())
            .await
            .unwrap();
        assert_eq!(out.result_repr.as_deref(), Some("7"));
    });
}
