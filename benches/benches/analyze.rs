//! Criterion benches of the analyzer's public API: routing overhead per cell (5, 30 and 300
//! lines of every mode, each next to a bare `ruff_python_parser::parse_module` of the same text)
//! and throughput over megabytes of cells.
//!
//! Groups: `<mode>_<lines>/{analyze,bare_parse}`, `throughput_generated/{analyze,bare_parse}`
//! and, when `PYREPL3_BENCH_CORPUS` names a directory of percent-format `.py` files (see
//! `benches/python/make_corpus.py`; give an absolute path, as cargo runs benches from
//! `benches/`), `throughput_corpus/{analyze,bare_parse}`.
//!
//! Allocator: mimalloc, as `pyrepl3-analyze` links, unless built with `--no-default-features`
//! (see `pyrepl3_benches::ALLOCATOR`); the bench prints which on stderr.
//!
//! `PYREPL3_BENCH_MB` sets the size of the generated corpus (default 4 MB; the same seed and size
//! as `pyrepl3-bench corpus` writes for the whole-process comparison).
//!
//! Clock: wall-clock time by default, as criterion does. With `PYREPL3_BENCH_CLOCK=cpu` the
//! benches measure the CPU time of the benchmarking thread instead (`CLOCK_THREAD_CPUTIME_ID`),
//! which stays meaningful on a machine shared with other jobs: time spent descheduled is not
//! counted. `benches/run.sh` uses the CPU clock unless given `--wall`.

use std::hint::black_box;
use std::path::Path;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput};
use pyrepl3_analyzer::{Mode, SessionState, analyze_cell};
use pyrepl3_benches::{ALLOCATOR, SIZES, cell, generate, split_percent, thread_cpu_ns};

/// Cells per session in the throughput benches (one notebook's worth).
const CELLS_PER_SESSION: usize = 20;

/// CPU time consumed by the calling thread, in nanoseconds.
struct ThreadCpuTime {
    /// Values are nanoseconds, like [`WallTime`]'s, so its formatter prints them.
    wall: WallTime,
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

fn per_cell<M: Measurement>(c: &mut Criterion<M>) {
    for mode in Mode::ALL {
        for lines in SIZES {
            let src = cell(mode, lines);
            let mut g = c.benchmark_group(format!("{mode}_{lines}"));
            g.throughput(Throughput::Bytes(src.len() as u64));
            g.bench_function("analyze", |b| {
                b.iter(|| {
                    let mut session = SessionState::new();
                    analyze_cell(black_box(&src), &mut session)
                })
            });
            g.bench_function("bare_parse", |b| {
                b.iter(|| ruff_python_parser::parse_module(black_box(&src)))
            });
            g.finish();
        }
    }
}

fn throughput_of<M: Measurement>(c: &mut Criterion<M>, name: &str, cells: &[String]) {
    let bytes: usize = cells.iter().map(String::len).sum();
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(10);
    g.bench_function("analyze", |b| {
        b.iter(|| {
            let mut modes = [0usize; Mode::ALL.len()];
            for session_cells in cells.chunks(CELLS_PER_SESSION) {
                let mut session = SessionState::new();
                for src in session_cells {
                    modes[analyze_cell(black_box(src), &mut session).mode as usize] += 1;
                }
            }
            modes
        })
    });
    g.bench_function("bare_parse", |b| {
        b.iter(|| {
            cells
                .iter()
                .filter(|src| ruff_python_parser::parse_module(black_box(src)).is_ok())
                .count()
        })
    });
    g.finish();
}

fn throughput<M: Measurement>(c: &mut Criterion<M>) {
    let mb: usize = std::env::var("PYREPL3_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    throughput_of(c, "throughput_generated", &generate(mb * 1_000_000, 1));

    let Some(dir) = std::env::var_os("PYREPL3_BENCH_CORPUS") else {
        eprintln!(
            "note: PYREPL3_BENCH_CORPUS is not set; skipping throughput_corpus (benches/run.sh sets it)"
        );
        return;
    };
    let mut cells = Vec::new();
    load_cells(Path::new(&dir), &mut cells);
    if cells.is_empty() {
        eprintln!(
            "note: no .py files under {}; skipping throughput_corpus",
            Path::new(&dir).display()
        );
        return;
    }
    throughput_of(c, "throughput_corpus", &cells);
}

/// The cells of every UTF-8 `.py` file under `dir`, in file-name order.
fn load_cells(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            load_cells(&p, out);
        } else if p.extension().is_some_and(|x| x == "py")
            && let Ok(text) = std::fs::read_to_string(&p)
        {
            out.extend(split_percent(&text).iter().map(|c| c.text.to_string()));
        }
    }
}

fn run<M: Measurement>(mut c: Criterion<M>) {
    per_cell(&mut c);
    throughput(&mut c);
    c.final_summary();
}

fn main() {
    eprintln!("allocator: {ALLOCATOR}");
    match std::env::var("PYREPL3_BENCH_CLOCK").as_deref() {
        Ok("cpu") => run(Criterion::default()
            .with_measurement(ThreadCpuTime { wall: WallTime })
            .configure_from_args()),
        Ok("wall") | Err(_) => run(Criterion::default().configure_from_args()),
        Ok(other) => {
            eprintln!("PYREPL3_BENCH_CLOCK must be `cpu` or `wall`, not `{other}`");
            std::process::exit(2);
        }
    }
}
