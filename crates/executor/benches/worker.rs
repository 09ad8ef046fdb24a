//! Criterion benchmarks of a worker-backed session (real `pyrepl3-worker` subprocesses):
//! `execute_request` → `execute_reply` round trip of `x = 1`, stream message throughput, and the
//! time from killing a worker to a fresh one being ready.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pyrepl3_transport::session::{Event, ExecuteOptions, Session, SessionConfig, WorkerCommand};

fn config() -> SessionConfig {
    SessionConfig::new(WorkerCommand::new(env!("CARGO_BIN_EXE_pyrepl3-worker")))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `code` and returns the bytes of stream output it produced (panics unless it succeeds).
async fn run(session: &mut Session, code: &str) -> usize {
    let mut ex = session
        .execute(code, &ExecuteOptions::default())
        .await
        .unwrap();
    let mut bytes = 0;
    while let Some(ev) = ex.next().await {
        match ev {
            Event::Stream(s) => bytes += s.text.len(),
            Event::Reply(r) => assert_eq!(r.status, pyrepl3_transport::message::ReplyStatus::Ok),
            Event::Error(e) => panic!("{e:?}"),
            _ => {}
        }
    }
    bytes
}

fn round_trip(c: &mut Criterion) {
    let rt = runtime();
    let mut session = rt.block_on(Session::start(config())).unwrap();
    rt.block_on(run(&mut session, "x = 0"));
    c.bench_function("worker/round_trip x = 1", |b| {
        b.iter(|| rt.block_on(run(&mut session, "x = 1")))
    });
    rt.block_on(session.shutdown());
}

fn stream_throughput(c: &mut Criterion) {
    let rt = runtime();
    let mut session = rt.block_on(Session::start(config())).unwrap();
    let code = "for _ in range(10000):\n    print('y' * 99)";
    let bytes = rt.block_on(run(&mut session, code));
    let mut group = c.benchmark_group("worker/stream");
    group.throughput(Throughput::Elements(20_000)); // print writes text and newline separately
    group.sample_size(20);
    group.bench_function("10k prints of 100 bytes (20k stream messages)", |b| {
        b.iter(|| assert_eq!(rt.block_on(run(&mut session, code)), bytes))
    });
    group.finish();
    rt.block_on(session.shutdown());
}

fn kill_to_ready(c: &mut Criterion) {
    let rt = runtime();
    let mut session = rt.block_on(Session::start(config())).unwrap();
    let mut group = c.benchmark_group("worker/recovery");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("SIGKILL to fresh worker ready", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let pid = session.pid().unwrap();
                let started = Instant::now();
                // SAFETY: kills the worker this benchmark's session spawned.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                rt.block_on(async {
                    session.wait_worker_death().await.unwrap();
                    session.ready().await.unwrap().unwrap();
                });
                total += started.elapsed();
                rt.block_on(run(&mut session, "x = 1"));
            }
            total
        })
    });
    group.bench_function("SIGKILL to detected", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                rt.block_on(session.ready()).unwrap();
                let pid = session.pid().unwrap();
                let started = Instant::now();
                // SAFETY: kills the worker this benchmark's session spawned.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                rt.block_on(session.wait_worker_death()).unwrap();
                total += started.elapsed();
            }
            total
        })
    });
    group.finish();
    rt.block_on(session.shutdown());
}

criterion_group!(benches, round_trip, stream_throughput, kill_to_ready);
criterion_main!(benches);
