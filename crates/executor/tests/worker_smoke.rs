//! Smoke test: a session runs cells in a real `pyrepl3-worker` subprocess.

use pyrepl3_transport::session::*;

fn config() -> SessionConfig {
    SessionConfig::new(WorkerCommand::new(env!("CARGO_BIN_EXE_pyrepl3-worker")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_cells() {
    let mut s = Session::start(config()).await.unwrap();
    let o = s
        .run(
            "x = 20\nprint('hi')\nx * 2 + 2",
            &ExecuteOptions::default(),
            |_| None,
        )
        .await
        .unwrap();
    assert_eq!(o.status, CellStatus::Ok, "{o:?}");
    assert_eq!(o.stdout, "hi\n");
    assert_eq!(o.result.as_deref(), Some("42"));
    let o = s
        .run(
            "import asyncio\nawait asyncio.sleep(0.01)\nx",
            &ExecuteOptions::default(),
            |_| None,
        )
        .await
        .unwrap();
    assert_eq!(o.result.as_deref(), Some("20"), "{o:?}");
    let o = s
        .run(
            "name = input('who? ')\nname.upper()",
            &ExecuteOptions::default(),
            |r| Some(format!("{}bob", r.prompt)),
        )
        .await
        .unwrap();
    assert_eq!(o.result.as_deref(), Some("'WHO? BOB'"), "{o:?}");
    // `await ainput()` asks the session too, without blocking the worker's event loop.
    let o = s
        .run(
            "import asyncio\nticks = []\nasync def tick():\n    while True:\n        ticks.append(1)\n        await asyncio.sleep(0.01)\nt = asyncio.create_task(tick())\nanswer = await ainput('async? ')\nt.cancel()\n(answer, len(ticks) > 3)",
            &ExecuteOptions::default(),
            |r| {
                assert_eq!(r.prompt, "async? ");
                std::thread::sleep(std::time::Duration::from_millis(100));
                Some("yes".into())
            },
        )
        .await
        .unwrap();
    assert_eq!(o.result.as_deref(), Some("('yes', True)"), "{o:?}");
    let o = s
        .run(
            "import os; print('bye', flush=True); os._exit(3)",
            &ExecuteOptions::default(),
            |_| None,
        )
        .await
        .unwrap();
    assert_eq!(o.status, CellStatus::WorkerDied, "{o:?}");
    let o = s
        .run("1 + 1", &ExecuteOptions::default(), |_| None)
        .await
        .unwrap();
    assert_eq!(o.result.as_deref(), Some("2"), "{o:?}");
    assert!(o.restarted.is_some());
    s.shutdown().await;
}
