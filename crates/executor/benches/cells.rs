//! End-to-end in-process latency per cell, and per-cell overhead against namespace size.
//!
//! Compare with `benches/ipython_baseline.py` (IPython's `run_cell` on the same cells).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use pyrepl3_executor::{ExecOptions, Executor, Mode, Status};

fn run(ex: &Executor, src: &str, options: &ExecOptions) {
    let out = ex.execute(src, options).expect("executes");
    assert_eq!(out.status, Status::Ok, "{:?}", out.error);
    black_box(out);
}

fn cells(c: &mut Criterion) {
    let ex = Executor::builder().build().expect("executor");
    run(&ex, "import asyncio, time", &ExecOptions::default());
    let mut g = c.benchmark_group("cell");
    g.bench_function("x = 1 + 1", |b| {
        b.iter(|| run(&ex, "x = 1 + 1", &ExecOptions::default()))
    });
    g.bench_function("await asyncio.sleep(0)", |b| {
        b.iter(|| run(&ex, "await asyncio.sleep(0)", &ExecOptions::default()))
    });
    let uncached = Executor::builder().cache_size(0).build().expect("executor");
    // `x` must exist even when a filter skips the benchmark that binds it.
    run(&uncached, "x = 1", &ExecOptions::default());
    g.bench_function("x = 1 + 1 (compile cache off)", |b| {
        b.iter(|| run(&uncached, "x = 1 + 1", &ExecOptions::default()))
    });
    g.bench_function("x + 1 (trailing expression, compile cache off)", |b| {
        b.iter(|| run(&uncached, "x + 1", &ExecOptions::default()))
    });
    let blocking = ExecOptions::forced(Mode::BlockingSync);
    g.bench_function("blocking time.sleep(0)", |b| {
        b.iter(|| run(&ex, "time.sleep(0)", &blocking))
    });
    g.finish();
}

fn namespace_size(c: &mut Criterion) {
    let mut g = c.benchmark_group("namespace");
    for n in [10usize, 10_000, 1_000_000] {
        let ex = Executor::builder().build().expect("executor");
        run(
            &ex,
            &format!("for _i in range({n}):\n    globals()[f'v{{_i}}'] = _i"),
            &ExecOptions::default(),
        );
        g.bench_with_input(BenchmarkId::new("x = 1 + 1", n), &n, |b, _| {
            b.iter(|| run(&ex, "x = 1 + 1", &ExecOptions::default()))
        });
    }
    g.finish();
}

/// Time from `interrupt()` to the outcome of a busy-looping cell (loop thread and worker).
fn interrupt_latency(c: &mut Criterion) {
    let ex = std::sync::Arc::new(Executor::builder().build().expect("executor"));
    let mut g = c.benchmark_group("interrupt");
    g.sample_size(20);
    for (name, force) in [("loop thread", None), ("worker", Some(Mode::BlockingSync))] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let runner = ex.clone();
                    let (tx, rx) = std::sync::mpsc::channel();
                    let t = std::thread::spawn(move || {
                        let options = ExecOptions {
                            force_mode: force,
                            ..ExecOptions::default()
                        };
                        let out = runner
                            .execute("started = 1\nwhile True:\n    pass", &options)
                            .expect("executes");
                        let _ = tx.send(Instant::now());
                        out.status
                    });
                    // Let the cell start spinning.
                    std::thread::sleep(Duration::from_millis(20));
                    let mut t0 = Instant::now();
                    while !ex.interrupt() {
                        std::thread::sleep(Duration::from_millis(1));
                        t0 = Instant::now();
                    }
                    let ended = rx.recv().expect("cell ends");
                    assert_eq!(t.join().expect("thread"), Status::Interrupted);
                    total += ended - t0;
                }
                total
            })
        });
    }
    g.finish();
}

/// Worst lateness of a 5 ms heartbeat on the loop while a blocking cell sleeps 200 ms.
fn heartbeat_lateness(c: &mut Criterion) {
    let ex = Executor::builder().build().expect("executor");
    run(
        &ex,
        "import asyncio, time\nlate = [0.0]\nasync def beat():\n    while True:\n        t = time.monotonic()\n        await asyncio.sleep(0.005)\n        late[0] = max(late[0], time.monotonic() - t - 0.005)\nhb = asyncio.ensure_future(beat())",
        &ExecOptions::default(),
    );
    let blocking = ExecOptions::forced(Mode::BlockingSync);
    let mut g = c.benchmark_group("heartbeat");
    g.sample_size(10);
    g.bench_function("max lateness during a blocking cell", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                run(&ex, "late[0] = 0.0\ntime.sleep(0.2)", &blocking);
                let out = ex
                    .execute("late[0]", &ExecOptions::default())
                    .expect("executes");
                let secs: f64 = out
                    .result_repr
                    .as_deref()
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0.0);
                total += Duration::from_secs_f64(secs.max(0.0));
            }
            total
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    cells,
    namespace_size,
    interrupt_latency,
    heartbeat_lateness
);
criterion_main!(benches);
