//! End-to-end in-process latency per cell, and per-cell overhead against namespace size.
//!
//! Compare with `benches/ipython_baseline.py` (IPython's `run_cell` on the same cells).

use std::hint::black_box;

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

criterion_group!(benches, cells, namespace_size);
criterion_main!(benches);
