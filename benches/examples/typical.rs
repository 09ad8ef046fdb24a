//! The per-cell cost of `analyze_cell` on real cells of a given size, next to a bare ruff parse of
//! each: the distribution behind "a typical 30-line cell", measured on corpora rather than on the
//! five hand-written benchmark cells.
//!
//! Usage: `typical [--lines MIN..=MAX] PATHS...` (percent-format `.py` files; the cells of one file
//! share one session, in order). Every cell with MIN..=MAX lines (default 25..=35) is analyzed in
//! the session state its file's earlier cells left (cloned, untimed, for each repetition), and
//! parsed bare; both are timed with the CPU-time clock of this thread, in batches, and each cell
//! keeps its median batch. Printed: the median and 90th percentile over cells of the analysis
//! time, the parse time and their ratio.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pyrepl3_analyzer::{SessionState, analyze_cell};
use pyrepl3_benches::{ALLOCATOR, split_percent, thread_cpu_ns};

/// Repetitions per timed batch, and batches per cell.
const BATCH: usize = 16;
const BATCHES: usize = 7;

/// Median over batches of the per-repetition time of `run`, in microseconds. `prepare` builds each
/// repetition's input outside the clock.
fn median_us<T>(mut prepare: impl FnMut() -> T, mut run: impl FnMut(&mut T)) -> f64 {
    let mut batches: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let mut inputs: Vec<T> = (0..BATCH).map(|_| prepare()).collect();
            let start = thread_cpu_ns();
            for input in &mut inputs {
                run(input);
            }
            let ns = thread_cpu_ns() - start;
            drop(inputs);
            ns as f64 / 1e3 / BATCH as f64
        })
        .collect();
    batches.sort_by(f64::total_cmp);
    batches[BATCHES / 2]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            for e in walkdir::WalkDir::new(p)
                .sort_by_file_name()
                .into_iter()
                .flatten()
            {
                if e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "py") {
                    out.push(e.into_path());
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    out
}

fn parse_lines(arg: &str) -> Option<(usize, usize)> {
    let (a, b) = arg.split_once("..=")?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

struct Row {
    analyze: f64,
    parse: f64,
}

fn measure(path: &Path, lines: (usize, usize), rows: &mut Vec<Row>) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut session = SessionState::new();
    for cell in split_percent(&text) {
        let n = cell.text.lines().count();
        if (lines.0..=lines.1).contains(&n) {
            let src = cell.text;
            let analyze = median_us(
                || session.clone(),
                |state| {
                    black_box(analyze_cell(black_box(src), state));
                },
            );
            let parse = median_us(
                || (),
                |()| {
                    black_box(ruff_python_parser::parse_module(black_box(src)).is_ok());
                },
            );
            rows.push(Row { analyze, parse });
        }
        analyze_cell(cell.text, &mut session);
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut lines = (25, 35);
    if args.first().is_some_and(|a| a == "--lines") {
        match args.get(1).and_then(|a| parse_lines(a)) {
            Some(l) => lines = l,
            None => {
                eprintln!("typical: --lines takes MIN..=MAX, e.g. 25..=35");
                return ExitCode::from(2);
            }
        }
        args.drain(..2);
    }
    if args.is_empty() {
        eprintln!("usage: typical [--lines MIN..=MAX] PATHS...");
        return ExitCode::from(2);
    }
    let paths: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
    let mut rows = Vec::new();
    for f in files(&paths) {
        if let Err(message) = measure(&f, lines, &mut rows) {
            eprintln!("typical: {message}");
            return ExitCode::from(2);
        }
    }
    if rows.is_empty() {
        eprintln!("typical: no cell of {}..={} lines", lines.0, lines.1);
        return ExitCode::from(1);
    }
    let mut analyze: Vec<f64> = rows.iter().map(|r| r.analyze).collect();
    let mut parse: Vec<f64> = rows.iter().map(|r| r.parse).collect();
    let mut ratio: Vec<f64> = rows.iter().map(|r| r.analyze / r.parse).collect();
    for v in [&mut analyze, &mut parse, &mut ratio] {
        v.sort_by(f64::total_cmp);
    }
    println!(
        "cells={} lines={}..={} analyze_us median={:.1} p90={:.1} parse_us median={:.1} p90={:.1} ratio median={:.2} p90={:.2} allocator={ALLOCATOR}",
        rows.len(),
        lines.0,
        lines.1,
        percentile(&analyze, 0.5),
        percentile(&analyze, 0.9),
        percentile(&parse, 0.5),
        percentile(&parse, 0.9),
        percentile(&ratio, 0.5),
        percentile(&ratio, 0.9),
    );
    ExitCode::SUCCESS
}
