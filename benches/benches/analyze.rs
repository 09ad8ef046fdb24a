//! Criterion benches of the analyzer's public API: routing overhead per cell (5, 30 and 300
//! lines of every mode, each next to a bare `ruff_python_parser::parse_module` of the same text)
//! and throughput over megabytes of cells.
//!
//! Groups: `<mode>_<lines>/{analyze,bare_parse}`, `throughput_generated/{analyze,bare_parse}`
//! and, when `PYREPL3_BENCH_CORPUS` names a directory of percent-format `.py` files (see
//! `benches/python/make_corpus.py`), `throughput_corpus/{analyze,bare_parse}`.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pyrepl3_analyzer::{Mode, SessionState, analyze_cell};
use pyrepl3_benches::{SIZES, cell, generate, split_percent};

/// Cells per session in the throughput benches (one notebook's worth).
const CELLS_PER_SESSION: usize = 20;

fn per_cell(c: &mut Criterion) {
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

fn throughput_of(c: &mut Criterion, name: &str, cells: &[String]) {
    let bytes: usize = cells.iter().map(String::len).sum();
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
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

fn throughput(c: &mut Criterion) {
    throughput_of(c, "throughput_generated", &generate(4_000_000, 1));

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

criterion_group!(benches, per_cell, throughput);
criterion_main!(benches);
