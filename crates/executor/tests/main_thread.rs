//! Blocking cells served on Python's main thread, where a stop request breaks `time.sleep`.
//!
//! A custom test harness: `main` must be the process's main thread and initialise Python.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use pyrepl3_executor::{ExecOptions, Executor, Mode, Status};

fn blocking(timeout: Option<Duration>) -> ExecOptions {
    ExecOptions {
        timeout,
        force_mode: Some(Mode::BlockingSync),
        first_line: 1,
    }
}

fn drive(ex: &Executor) {
    while !ex.main_lane_active() {
        thread::sleep(Duration::from_millis(5));
    }
    let out = ex
        .execute(
            "import threading, time\nthreading.current_thread() is threading.main_thread()",
            &blocking(None),
        )
        .unwrap();
    assert_eq!(out.result_repr.as_deref(), Some("True"), "{:?}", out.error);

    // An interrupt breaks time.sleep on the main thread (it would be abandoned elsewhere).
    let handle = ex.interrupt_handle();
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        handle.interrupt()
    });
    let out = ex.execute("time.sleep(30)", &blocking(None)).unwrap();
    assert!(t.join().unwrap());
    assert_eq!(out.status, Status::Interrupted, "{:?}", out.error);
    assert_eq!(out.error.unwrap().type_name, "KeyboardInterrupt");

    // So does a timeout.
    let out = ex
        .execute(
            "time.sleep(30)",
            &blocking(Some(Duration::from_millis(200))),
        )
        .unwrap();
    assert_eq!(out.status, Status::Timeout, "{:?}", out.error);
    assert!(out.error.unwrap().traceback.contains("time.sleep(30)"));
    assert_eq!(ex.stats().abandoned, 0, "stopped, not abandoned");

    // No stale interrupt in later cells.
    for _ in 0..3 {
        let out = ex.execute("time.sleep(0.05)\n1", &blocking(None)).unwrap();
        assert_eq!(out.result_repr.as_deref(), Some("1"), "{:?}", out.error);
    }

    // A SIGINT from outside is ignored by the cell (use `interrupt` instead).
    let t = thread::spawn(|| {
        thread::sleep(Duration::from_millis(100));
        // SAFETY: sends a signal to our own process; the installed handler ignores it.
        unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
    });
    let out = ex
        .execute("time.sleep(0.4)\n'slept'", &blocking(None))
        .unwrap();
    t.join().unwrap();
    assert_eq!(
        out.result_repr.as_deref(),
        Some("'slept'"),
        "{:?}",
        out.error
    );
    // The loop is unaffected by all of this.
    let out = ex
        .execute(
            "import asyncio\nawait asyncio.sleep(0.01, 'loop ok')",
            &ExecOptions::default(),
        )
        .unwrap();
    assert_eq!(out.result_repr.as_deref(), Some("'loop ok'"));
}

fn main() {
    // Initialise Python on the process's main thread.
    pyo3::Python::attach(|_| {});
    let ex = Arc::new(
        Executor::builder()
            .stop_grace(Duration::from_secs(3))
            .build()
            .expect("executor builds"),
    );
    let other = ex.clone();
    let refused = thread::spawn(move || other.serve_blocking_on_this_thread().is_err());
    assert!(refused.join().unwrap(), "only the main thread may serve");
    let driver = {
        let ex = ex.clone();
        thread::spawn(move || {
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| drive(&ex)));
            ex.shutdown();
            r
        })
    };
    ex.serve_blocking_on_this_thread()
        .expect("main thread serves");
    match driver.join().expect("driver thread") {
        Ok(()) => println!("test main_thread ... ok"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
