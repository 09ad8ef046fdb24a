//! Fault injection against real `pyrepl3-worker` subprocesses: crashes, kills, limits, floods,
//! hangs and interrupts, each followed by cells that run fine in the fresh (or same) worker.

use std::time::{Duration, Instant};

use pyrepl3_transport::message::StreamName;
use pyrepl3_transport::session::*;

fn config() -> SessionConfig {
    SessionConfig::new(WorkerCommand::new(env!("CARGO_BIN_EXE_pyrepl3-worker")))
}

const NO_INPUT: fn(&pyrepl3_transport::message::InputRequest) -> Option<String> = |_| None;

async fn run(s: &mut Session, code: &str) -> Outcome {
    s.run(code, &ExecuteOptions::default(), NO_INPUT)
        .await
        .unwrap()
}

/// A cell after a fault runs in a fresh worker, which says so.
async fn runs_fresh(s: &mut Session, old_pid: u32) -> Outcome {
    let o = run(s, "21 * 2").await;
    assert_eq!(o.status, CellStatus::Ok, "{o:?}");
    assert_eq!(o.result.as_deref(), Some("42"));
    assert!(o.restarted.is_some(), "{o:?}");
    assert_ne!(s.pid(), Some(old_pid));
    o
}

fn died(o: &Outcome) -> &pyrepl3_transport::message::ErrorContent {
    assert_eq!(o.status, CellStatus::WorkerDied, "{o:?}");
    let e = o.error.as_ref().expect("an error");
    assert_eq!(e.ename, "WorkerDied");
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn os_exit_reports_exit_code_and_keeps_prior_output() {
    let mut s = Session::start(config()).await.unwrap();
    let pid = s.pid().unwrap();
    let o = run(&mut s, "import os\nprint('before')\nos._exit(3)").await;
    assert!(died(&o).evalue.contains("exited with code 3"), "{o:?}");
    assert_eq!(o.stdout, "before\n");
    assert_eq!(o.reply.metadata["exit_code"], 3);
    let o = runs_fresh(&mut s, pid).await;
    assert!(o.restarted.unwrap().cause.contains("exited with code 3"));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segfault_names_the_signal() {
    let mut s = Session::start(config()).await.unwrap();
    let pid = s.pid().unwrap();
    let o = run(&mut s, "import ctypes\nctypes.string_at(0)").await;
    let e = died(&o);
    assert!(e.evalue.contains("SIGSEGV (11)"), "{o:?}");
    assert_eq!(o.reply.metadata["signal"], 11);
    // Python's fatal-error report (faulthandler, on the worker's stderr) is in the traceback.
    assert!(
        e.traceback.iter().any(|l| l.contains("Segmentation fault")),
        "{:?}",
        e.traceback
    );
    runs_fresh(&mut s, pid).await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_from_outside_is_seen_at_once() {
    let mut s = Session::start(config()).await.unwrap();
    let pid = s.pid().unwrap();
    let mut ex = s
        .execute(
            "import time\nprint('sleeping', flush=True)\ntime.sleep(100)",
            &ExecuteOptions::default(),
        )
        .await
        .unwrap();
    // Wait for the cell to be running, then kill the worker from outside.
    loop {
        match ex.next().await.unwrap() {
            Event::Stream(s) if s.text.contains("sleeping") => break,
            Event::Reply(r) => panic!("unexpected reply {r:?}"),
            _ => {}
        }
    }
    let killed = Instant::now();
    // SAFETY: sends SIGKILL to the worker process this test's session spawned.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let o = ex.collect().await;
    let seen = killed.elapsed();
    assert!(died(&o).evalue.contains("SIGKILL (9)"), "{o:?}");
    assert!(seen < Duration::from_secs(5), "took {seen:?}");
    runs_fresh(&mut s, pid).await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_worker_is_detected_by_missed_heartbeats() {
    let mut s = Session::start(config()).await.unwrap();
    let pid = s.pid().unwrap();
    let ex = s
        .execute("import time\ntime.sleep(100)", &ExecuteOptions::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // SAFETY: stops the worker process this test's session spawned.
    unsafe { libc::kill(pid as i32, libc::SIGSTOP) };
    let stopped = Instant::now();
    let o = ex.collect().await;
    // 4 missed 200 ms heartbeats: about a second (generous bound for a loaded machine; the
    // criterion bench measures it).
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "{:?}",
        stopped.elapsed()
    );
    let e = died(&o);
    assert!(e.evalue.contains("answered no heartbeat"), "{o:?}");
    assert!(e.evalue.contains("SIGKILL"), "{o:?}");
    runs_fresh(&mut s, pid).await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bomb_under_the_limit_is_a_memory_error() {
    let mut s = Session::start(config().limits(Limits {
        memory_bytes: Some(1 << 30),
        cpu_seconds: None,
    }))
    .await
    .unwrap();
    let pid = s.pid().unwrap();
    let o = run(&mut s, "x = 1\nb = bytearray(4 * 1024 ** 3)").await;
    assert_eq!(o.status, CellStatus::Error, "{o:?}");
    assert_eq!(o.error.unwrap().ename, "MemoryError");
    let o = run(
        &mut s,
        "chunks = []\nwhile True:\n    chunks.append(bytearray(50 * 1024 ** 2))",
    )
    .await;
    assert_eq!(o.status, CellStatus::Error, "{o:?}");
    assert_eq!(o.error.unwrap().ename, "MemoryError");
    // The same worker goes on.
    let o = run(&mut s, "del chunks\nx + 1").await;
    assert_eq!(o.result.as_deref(), Some("2"), "{o:?}");
    assert_eq!(s.pid(), Some(pid));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_limit_kills_with_sigxcpu() {
    let mut s = Session::start(config().limits(Limits {
        memory_bytes: None,
        cpu_seconds: Some(2),
    }))
    .await
    .unwrap();
    let pid = s.pid().unwrap();
    let o = run(&mut s, "while True:\n    pass").await;
    let e = died(&o);
    assert!(
        e.evalue.contains("SIGXCPU") && e.evalue.contains("CPU-time limit of 2 s"),
        "{o:?}"
    );
    runs_fresh(&mut s, pid).await;
    s.shutdown().await;
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_output_flood_has_bounded_memory_and_stops_on_interrupt() {
    let mut s = Session::start(config()).await.unwrap();
    let pid = s.pid().unwrap();
    let interrupter = s.interrupter();
    let mut ex = s
        .execute(
            "line = 'x' * 200 + '\\n'\nwhile True:\n    print(line, end='')",
            &ExecuteOptions::default(),
        )
        .await
        .unwrap();
    let mut bytes = 0usize;
    while bytes < 20 << 20 {
        match ex.next().await.unwrap() {
            Event::Stream(s) => bytes += s.text.len(),
            other => panic!("unexpected {other:?}"),
        }
    }
    // Stop reading: the worker must block instead of buffering.
    let before = rss_kib(pid);
    let me_before = rss_kib(std::process::id());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = rss_kib(pid);
    let me_after = rss_kib(std::process::id());
    assert!(
        after < before + 20_000,
        "worker RSS {before} -> {after} KiB"
    );
    assert!(
        me_after < me_before + 20_000,
        "session RSS {me_before} -> {me_after} KiB"
    );
    // Still alive (heartbeats are not confused by backpressure) and interruptible.
    assert!(interrupter.interrupt().await);
    let mut reply = None;
    while let Some(ev) = ex.next().await {
        if let Event::Reply(r) = ev {
            reply = Some(r);
        }
    }
    let reply = reply.unwrap();
    assert_eq!(CellStatus::of(&reply), CellStatus::Interrupted, "{reply:?}");
    let o = run(&mut s, "'still here'").await;
    assert_eq!(o.result.as_deref(), Some("'still here'"));
    assert_eq!(s.pid(), Some(pid));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupt_while_input_is_pending() {
    let mut s = Session::start(config()).await.unwrap();
    let pid = s.pid().unwrap();
    let mut ex = s
        .execute("name = input('name? ')", &ExecuteOptions::default())
        .await
        .unwrap();
    match ex.next().await.unwrap() {
        Event::InputRequest(r) => assert_eq!(r.prompt, "name? "),
        other => panic!("unexpected {other:?}"),
    }
    assert!(ex.interrupt().await);
    // The interrupt cancelled the pending input promise.
    assert!(matches!(
        ex.answer_input("late").await,
        Err(SessionError::InputNotPending(_))
    ));
    let o = ex.collect().await;
    assert_eq!(o.status, CellStatus::Interrupted, "{o:?}");
    assert_eq!(o.error.unwrap().ename, "KeyboardInterrupt");
    let o = s
        .run("input('again? ') + '!'", &ExecuteOptions::default(), |_| {
            Some("yes".into())
        })
        .await
        .unwrap();
    assert_eq!(o.result.as_deref(), Some("'yes!'"), "{o:?}");
    assert_eq!(s.pid(), Some(pid));
    s.shutdown().await;
}

async fn interrupt_after(s: &mut Session, code: &str, after: Duration) -> (Outcome, Duration) {
    let interrupter = s.interrupter();
    let ex = s.execute(code, &ExecuteOptions::default()).await.unwrap();
    let t = tokio::spawn(async move {
        tokio::time::sleep(after).await;
        (Instant::now(), interrupter.interrupt().await)
    });
    let o = ex.collect().await;
    let (sent, ok) = t.await.unwrap();
    assert!(ok);
    (o, sent.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupt_breaks_time_sleep_and_asyncio_sleep() {
    let mut s = Session::start(config()).await.unwrap();
    let pid = s.pid().unwrap();
    let (o, took) = interrupt_after(
        &mut s,
        "import time\ntime.sleep(100)",
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(o.status, CellStatus::Interrupted, "{o:?}");
    assert_eq!(o.error.as_ref().unwrap().ename, "KeyboardInterrupt");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(o.mode.as_deref(), Some("blocking_sync"));
    assert!(o.duration_ms.unwrap() >= 250.0, "{o:?}");

    let (o, took) = interrupt_after(
        &mut s,
        "import asyncio\nawait asyncio.sleep(100)",
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(o.status, CellStatus::Interrupted, "{o:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");

    let o = run(&mut s, "import asyncio\nawait asyncio.sleep(0.01, 'ok')").await;
    assert_eq!(o.result.as_deref(), Some("'ok'"), "{o:?}");
    assert_eq!(o.mode.as_deref(), Some("top_level_await"));
    // An un-awaited coroutine as the value comes with a warning.
    let o = run(&mut s, "async def f():\n    return 1\nf()").await;
    assert_eq!(o.status, CellStatus::Ok, "{o:?}");
    assert!(!o.warnings.is_empty(), "{o:?}");
    let o = run(&mut s, "time.sleep(0.01)\n'fine'").await;
    assert_eq!(o.result.as_deref(), Some("'fine'"), "{o:?}");
    assert_eq!(s.pid(), Some(pid));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_stop_the_cell_or_escalate_to_kill() {
    // The grace is what the worker gets to act on its own timeout before the session interrupts
    // it, and again before it kills it. 800 ms was not enough once in a CI run with this binary's
    // twenty tests and other jobs sharing two cores: the worker was killed while it was stopping
    // `time.sleep(100)` by itself. The regex case below waits for both graces, ~4.3 s.
    let mut s = Session::start(config().kill_grace(Duration::from_secs(2)))
        .await
        .unwrap();
    let pid = s.pid().unwrap();
    let o = s
        .run(
            "import time\ntime.sleep(100)",
            &ExecuteOptions::with_timeout(Duration::from_millis(300)),
            NO_INPUT,
        )
        .await
        .unwrap();
    assert_eq!(o.status, CellStatus::Timeout, "{o:?}");
    assert_eq!(o.error.unwrap().ename, "pyrepl3.CellTimeout");
    assert_eq!(s.pid(), Some(pid));
    // A regular expression that backtracks for ages holds the GIL in C: neither the timeout nor
    // the interrupt can stop it, so the session kills the worker.
    let o = s
        .run(
            "import re\nre.match(r'(a+)+$', 'a' * 40 + 'b')",
            &ExecuteOptions::with_timeout(Duration::from_millis(300)),
            NO_INPUT,
        )
        .await
        .unwrap();
    let e = died(&o);
    assert!(e.evalue.contains("ran past its timeout"), "{o:?}");
    runs_fresh(&mut s, pid).await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_is_restored_after_a_crash_naming_what_was_lost() {
    let mut s = Session::start(config().checkpointing(true)).await.unwrap();
    let pid = s.pid().unwrap();
    let o = run(
        &mut s,
        "import math\nfrom fractions import Fraction\nx = 41\nq = Fraction(1, 3)\nclass P:\n    pass\np = P()\nf = open('/dev/null')\ng = (i for i in range(3))",
    )
    .await;
    assert_eq!(o.status, CellStatus::Ok, "{o:?}");
    let o = run(&mut s, "x = 1000\nimport os\nos._exit(7)").await;
    assert!(died(&o).evalue.contains("code 7"));
    let o = run(&mut s, "(x + 1, q * 3, math.floor(2.5))").await;
    assert_eq!(
        o.result.as_deref(),
        Some("(42, Fraction(1, 1), 2)"),
        "{o:?}"
    );
    let report = o.restarted.unwrap();
    assert!(report.restored_checkpoint);
    assert!(report.restored.iter().any(|n| n == "x"), "{report:?}");
    let lost: Vec<&str> = report
        .not_restored
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    // Open files and generators cannot be pickled; a class defined in a cell (and its instances)
    // is pickled by reference to a class the fresh worker does not have.
    for name in ["f", "g", "P", "p"] {
        assert!(lost.contains(&name), "{name} in {report:?}");
    }
    assert_ne!(s.pid(), Some(pid));
    let o = run(&mut s, "f").await;
    assert_eq!(o.error.unwrap().ename, "NameError");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_is_ordered_and_late_output_is_attributed() {
    let mut s = Session::start(config()).await.unwrap();
    let mut ex = s
        .execute(
            "import sys\nprint('a')\nsys.stderr.write('b\\n')\nprint('c')\n1/0",
            &ExecuteOptions::default(),
        )
        .await
        .unwrap();
    // Adjacent writes to one stream are joined (print writes its text and its end separately).
    let mut seen: Vec<String> = Vec::new();
    while let Some(ev) = ex.next().await {
        let item = match ev {
            Event::Stream(s) => {
                let tag = format!("{:?}:", s.name);
                if let Some(last) = seen.last_mut()
                    && last.starts_with(&tag)
                {
                    last.push_str(&s.text);
                    continue;
                }
                format!("{tag}{}", s.text)
            }
            Event::Error(e) => format!("error:{}", e.ename),
            Event::Reply(r) => format!("reply:{:?}", r.status),
            other => format!("{other:?}"),
        };
        seen.push(item);
    }
    assert_eq!(
        seen,
        [
            "Stdout:a\n",
            "Stderr:b\n",
            "Stdout:c\n",
            "error:ZeroDivisionError",
            "reply:Error"
        ]
    );
    let first = s
        .execute(
            "import asyncio\nasync def later():\n    await asyncio.sleep(0.2)\n    print('from the background')\nt = asyncio.create_task(later())",
            &ExecuteOptions::default(),
        )
        .await
        .unwrap();
    let first_id = first.id().to_owned();
    assert_eq!(first.collect().await.status, CellStatus::Ok);
    let o = run(&mut s, "import time\ntime.sleep(0.6)\n'done'").await;
    assert_eq!(o.result.as_deref(), Some("'done'"));
    assert_eq!(o.stdout, "");
    assert!(!o.late.is_empty());
    assert!(
        o.late
            .iter()
            .all(|l| l.execution_id.as_deref() == Some(first_id.as_str())
                && l.name == StreamName::Stdout)
    );
    let late: String = o.late.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(late, "from the background\n");
    // C-level writes to the worker's own stdout are captured, not lost or mixed into the wire.
    let o = run(
        &mut s,
        "import os\nos.write(1, b'raw fd write\\n')\nos.system('echo from a child')",
    )
    .await;
    let all: String =
        o.stdout.clone() + &o.late.iter().map(|l| l.text.as_str()).collect::<String>();
    let all = all
        + &s.take_late_output()
            .iter()
            .map(|l| l.text.clone())
            .collect::<String>();
    assert_eq!(o.status, CellStatus::Ok, "{o:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let all = all
        + &s.take_late_output()
            .iter()
            .map(|l| l.text.clone())
            .collect::<String>();
    assert!(
        all.contains("raw fd write") && all.contains("from a child"),
        "{all:?} {o:?}"
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_gives_a_fresh_namespace_and_shutdown_ends_the_worker() {
    let mut s = Session::start(config()).await.unwrap();
    let pid = s.pid().unwrap();
    run(&mut s, "y = 5").await;
    s.restart().await.unwrap();
    assert_ne!(s.pid(), Some(pid));
    let o = run(&mut s, "y").await;
    assert_eq!(o.error.unwrap().ename, "NameError");
    let pid = s.pid().unwrap();
    s.shutdown().await;
    // The worker process is gone (reaped: kill(pid, 0) fails).
    // SAFETY: signal 0 only checks whether the process exists.
    assert_ne!(unsafe { libc::kill(pid as i32, 0) }, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_from_outside_interrupts_like_an_interrupt_request() {
    let mut s = Session::start(config()).await.unwrap();
    let pid = s.pid().unwrap();
    for code in [
        "import time\ntime.sleep(100)",
        "import asyncio\nawait asyncio.sleep(100)",
        "while True:\n    pass",
    ] {
        let ex = s.execute(code, &ExecuteOptions::default()).await.unwrap();
        let t = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            // SAFETY: sends SIGINT to the worker process this test's session spawned.
            unsafe { libc::kill(pid as i32, libc::SIGINT) };
        });
        let o = ex.collect().await;
        t.await.unwrap();
        assert_eq!(o.status, CellStatus::Interrupted, "{code}: {o:?}");
    }
    // No stale interrupt lands in later cells.
    for _ in 0..3 {
        let o = run(&mut s, "import time\ntime.sleep(0.05)\n'ok'").await;
        assert_eq!(o.result.as_deref(), Some("'ok'"), "{o:?}");
    }
    assert_eq!(s.pid(), Some(pid));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_cannot_start_is_a_clear_error() {
    let missing = SessionConfig::new(WorkerCommand::new("/nonexistent/pyrepl3-worker"));
    let err = Session::start(missing).await.unwrap_err().to_string();
    assert!(
        err.contains("cannot start the worker /nonexistent/pyrepl3-worker"),
        "{err}"
    );
    let broken = SessionConfig::new(
        WorkerCommand::new("/bin/sh")
            .arg("-c")
            .arg("echo no python here >&2; exit 1"),
    );
    let err = Session::start(broken).await.unwrap_err().to_string();
    assert!(err.contains("handshake failed"), "{err}");
    assert!(err.contains("no python here"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_session_kills_its_worker() {
    let s = Session::start(config()).await.unwrap();
    let pid = s.pid().unwrap();
    drop(s);
    let gone = async {
        // SAFETY: signal 0 only checks whether the process exists.
        while unsafe { libc::kill(pid as i32, 0) } == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), gone)
        .await
        .expect("the worker exited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cell_holding_the_gil_for_seconds_is_not_mistaken_for_a_dead_worker() {
    let mut s = Session::start(config()).await.unwrap();
    let pid = s.pid().unwrap();
    // Regex backtracking runs in C without releasing the GIL for well over the 0.8 s heartbeat
    // allowance; the worker's transport answers heartbeats without the GIL.
    let started = Instant::now();
    let o = run(
        &mut s,
        "import re\nre.match(r'(a+)+$', 'a' * 26 + 'b') is None",
    )
    .await;
    assert_eq!(o.result.as_deref(), Some("True"), "{o:?}");
    assert!(
        started.elapsed() > Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(s.pid(), Some(pid));
    assert_eq!(s.workers_started(), 1);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_output_while_idle_can_be_awaited() {
    let mut s = Session::start(config()).await.unwrap();
    let late = s.late_output();
    let ex = s
        .execute(
            "import asyncio\nasync def tick():\n    for i in range(3):\n        await asyncio.sleep(0.1)\n        print('tick', i)\nt = asyncio.create_task(tick())",
            &ExecuteOptions::default(),
        )
        .await
        .unwrap();
    let id = ex.id().to_owned();
    assert_eq!(ex.collect().await.status, CellStatus::Ok);
    let mut text = String::new();
    while !text.ends_with("tick 2\n") {
        tokio::time::timeout(Duration::from_secs(5), late.wait())
            .await
            .expect("late output arrives while idle");
        for piece in late.take() {
            assert_eq!(piece.execution_id.as_deref(), Some(id.as_str()));
            text.push_str(&piece.text);
        }
    }
    assert_eq!(text, "tick 0\ntick 1\ntick 2\n");
    assert_eq!(late.dropped(), 0);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_input_never_wedges_the_session() {
    let mut s = Session::start(config()).await.unwrap();
    // Unanswered input() under a timeout: the cell times out.
    let mut ex = s
        .execute(
            "input('never answered? ')",
            &ExecuteOptions::with_timeout(Duration::from_millis(300)),
        )
        .await
        .unwrap();
    let mut status = None;
    while let Some(ev) = ex.next().await {
        if let Event::Reply(r) = ev {
            status = Some(CellStatus::of(&r));
        }
    }
    assert_eq!(status, Some(CellStatus::Timeout));
    // The worker dies while input() waits: the execution ends with WorkerDied and the input
    // promise is rejected.
    let pid = s.pid().unwrap();
    let mut ex = s
        .execute("input('? ')", &ExecuteOptions::default())
        .await
        .unwrap();
    assert!(matches!(ex.next().await, Some(Event::InputRequest(_))));
    // SAFETY: kills the worker process this test's session spawned.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let mut last = None;
    while let Some(ev) = ex.next().await {
        last = Some(ev);
    }
    match last {
        Some(Event::Reply(r)) => assert_eq!(CellStatus::of(&r), CellStatus::WorkerDied),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        ex.answer_input("too late").await,
        Err(SessionError::InputNotPending(_))
    ));
    drop(ex);
    runs_fresh(&mut s, pid).await;
    s.shutdown().await;
}

const HOST_ENV: &str = "PYREPL3_TEST_ORPHAN_HOST";

/// A host process killed while its worker runs a cell does not leave the worker behind. This test
/// runs itself again as the host (selected by an environment variable): the host starts a
/// session, starts `time.sleep(100)`, prints the worker's pid, and is then SIGKILLed.
#[test]
fn a_killed_host_leaves_no_orphan_worker() {
    if std::env::var_os(HOST_ENV).is_some() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut s = Session::start(config()).await.unwrap();
            let pid = s.pid().unwrap();
            let mut ex = s
                .execute(
                    "import time\nprint('go', flush=True)\ntime.sleep(100)",
                    &ExecuteOptions::default(),
                )
                .await
                .unwrap();
            let _ = ex.next().await;
            println!("WORKER_PID={pid}");
            use std::io::Write;
            std::io::stdout().flush().unwrap();
            tokio::time::sleep(Duration::from_secs(100)).await;
        });
        return;
    }
    let mut host = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_killed_host_leaves_no_orphan_worker",
            "--nocapture",
        ])
        .env(HOST_ENV, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(host.stdout.take().unwrap());
    let mut pid = None;
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0 {
        if let Some(p) = line.trim().strip_prefix("WORKER_PID=") {
            pid = Some(p.parse::<i32>().unwrap());
            break;
        }
        line.clear();
    }
    let pid = pid.expect("the host printed its worker's pid");
    host.kill().unwrap();
    host.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    // SAFETY: signal 0 only checks whether the process exists (a zombie reaped by init goes away).
    while unsafe { libc::kill(pid, 0) } == 0 {
        assert!(Instant::now() < deadline, "worker {pid} outlived its host");
        std::thread::sleep(Duration::from_millis(50));
    }
}
