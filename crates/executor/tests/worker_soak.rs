//! Soak, pool and blocking-facade tests against real `pyrepl3-worker` subprocesses.

use std::sync::Arc;
use std::time::Duration;

use pyrepl3_transport::message::StreamName;
use pyrepl3_transport::session::blocking::BlockingSession;
use pyrepl3_transport::session::pool::Pool;
use pyrepl3_transport::session::*;

fn config() -> SessionConfig {
    SessionConfig::new(WorkerCommand::new(env!("CARGO_BIN_EXE_pyrepl3-worker")))
}

/// Thousands of cells with interleaved stdout, stderr, results and errors: every event of every
/// cell arrives exactly once, in order, and the reply comes last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_nothing_lost_duplicated_or_reordered() {
    const CELLS: usize = 1500;
    let mut s = Session::start(config()).await.unwrap();
    run_setup(&mut s).await;
    for i in 0..CELLS {
        let code = format!(
            "print('o{i}')\nsys.stderr.write('e{i}\\n')\nprint('p{i}', file=sys.stderr if {i} % 3 == 0 else sys.stdout)\n{}",
            if i % 7 == 0 {
                format!("raise ValueError('v{i}')")
            } else {
                format!("{i} * 2")
            }
        );
        let mut ex = s.execute(&code, &ExecuteOptions::default()).await.unwrap();
        let mut got: Vec<String> = Vec::new();
        while let Some(ev) = ex.next().await {
            let item = match ev {
                Event::Stream(st) => {
                    let tag = match st.name {
                        StreamName::Stdout => "out:",
                        StreamName::Stderr => "err:",
                    };
                    if let Some(last) = got.last_mut()
                        && last.starts_with(tag)
                    {
                        last.push_str(&st.text);
                        continue;
                    }
                    format!("{tag}{}", st.text)
                }
                Event::Result(r) => format!("result:{}", r.data["text/plain"].as_str().unwrap()),
                Event::Error(e) => format!("error:{}:{}", e.ename, e.evalue),
                Event::Reply(r) => format!("reply:{:?}", r.status),
                other => panic!("cell {i}: unexpected {other:?}"),
            };
            got.push(item);
        }
        let mut want = vec![format!("out:o{i}\n"), format!("err:e{i}\n")];
        if i % 3 == 0 {
            want[1].push_str(&format!("p{i}\n"));
        } else {
            want.push(format!("out:p{i}\n"));
        }
        if i % 7 == 0 {
            want.push(format!("error:ValueError:v{i}"));
            want.push("reply:Error".into());
        } else {
            want.push(format!("result:{}", i * 2));
            want.push("reply:Ok".into());
        }
        assert_eq!(got, want, "cell {i}");
    }
    assert_eq!(s.workers_started(), 1);
    s.shutdown().await;
}

async fn run_setup(s: &mut Session) {
    let o = s
        .run("import sys", &ExecuteOptions::default(), |_| None)
        .await
        .unwrap();
    assert_eq!(o.status, CellStatus::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_runs_sessions_at_once_each_with_its_own_worker() {
    let pool = Arc::new(Pool::start(config(), 3).await.unwrap());
    assert_eq!(pool.len(), 3);
    let mut tasks = Vec::new();
    for i in 0..9 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            // Each cell sleeps, so the three workers overlap; `mine` is per session. The cell
            // reports when its sleep began and ended on the system-wide monotonic clock.
            let code = format!(
                "import os, time\ntry:\n    mine\nexcept NameError:\n    mine = []\nmine.append({i})\nt0 = time.monotonic()\ntime.sleep(0.2)\n(os.getpid(), len(mine), t0, time.monotonic())"
            );
            pool.run(&code, &ExecuteOptions::default(), |_| None).await.unwrap()
        }));
    }
    let mut pids = std::collections::HashMap::<usize, String>::new();
    let mut spans = Vec::new();
    let mut total = 0;
    for t in tasks {
        let (index, o) = t.await.unwrap();
        assert_eq!(o.status, CellStatus::Ok, "{o:?}");
        let result = o.result.unwrap();
        let fields: Vec<&str> = result
            .trim_matches(|c| c == '(' || c == ')')
            .split(", ")
            .collect();
        let [pid, _, t0, t1] = fields[..] else {
            panic!("unexpected result {result}")
        };
        let known = pids.entry(index).or_insert_with(|| pid.to_string());
        assert_eq!(known, pid, "session {index} kept its worker");
        spans.push((
            index,
            t0.parse::<f64>().unwrap(),
            t1.parse::<f64>().unwrap(),
        ));
        total += 1;
    }
    assert_eq!(total, 9);
    assert_eq!(pids.len(), 3);
    let distinct: std::collections::HashSet<_> = pids.values().collect();
    assert_eq!(distinct.len(), 3, "one worker per session");
    // The sessions ran at once: every session slept while another session slept too (measured
    // on the cells' own clocks, so a loaded machine cannot fake or hide it).
    for &(index, start, end) in &spans {
        assert!(
            spans
                .iter()
                .any(|&(other, s, e)| other != index && s < end && start < e),
            "session {index} never overlapped another: {spans:?}"
        );
    }
    // A crash in one session leaves the others (and their namespaces) alone.
    let mut crashed = pool.checkout().await;
    let crashed_index = crashed.index();
    let o = crashed
        .run("import os\nos._exit(9)", &ExecuteOptions::default(), |_| {
            None
        })
        .await
        .unwrap();
    assert_eq!(o.status, CellStatus::WorkerDied, "{o:?}");
    drop(crashed);
    for index in 0..pool.len() {
        let session = pool.session(index).unwrap();
        let mut session = session.lock().await;
        let o = session
            .run("len(mine)", &ExecuteOptions::default(), |_| None)
            .await
            .unwrap();
        if index == crashed_index {
            assert_eq!(o.error.unwrap().ename, "NameError", "fresh worker");
        } else {
            assert_eq!(o.status, CellStatus::Ok, "{o:?}");
            assert_eq!(o.restarted, None);
        }
    }
    Arc::try_unwrap(pool).unwrap().shutdown().await;
}

#[test]
fn blocking_facade_runs_streams_and_interrupts_from_another_thread() {
    let mut s = BlockingSession::start(config()).unwrap();
    assert!(
        s.info()
            .unwrap()
            .capabilities
            .iter()
            .any(|c| c == "checkpoint")
    );
    let o = s
        .run("print('x')\n6 * 7", &ExecuteOptions::default(), |_| None)
        .unwrap();
    assert_eq!(
        (o.stdout.as_str(), o.result.as_deref()),
        ("x\n", Some("42"))
    );
    let interrupter = s.interrupter();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        interrupter.interrupt_blocking()
    });
    let mut ex = s
        .execute("import time\ntime.sleep(100)", &ExecuteOptions::default())
        .unwrap();
    let mut last = None;
    while let Some(ev) = ex.next() {
        last = Some(ev);
    }
    assert!(t.join().unwrap());
    match last {
        Some(Event::Reply(r)) => assert_eq!(CellStatus::of(&r), CellStatus::Interrupted),
        other => panic!("{other:?}"),
    }
    let o = s
        .run("input('? ')", &ExecuteOptions::default(), |_| {
            Some("typed".into())
        })
        .unwrap();
    assert_eq!(o.result.as_deref(), Some("'typed'"));
    s.shutdown();
}
