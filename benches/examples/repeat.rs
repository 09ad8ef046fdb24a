//! Runs `analyze_cell` or a bare `ruff_python_parser::parse_module` on one cell N times, inside
//! one non-inlined function, so `valgrind --tool=callgrind --toggle-collect` counts exactly their
//! instructions: `benches/instructions.sh` divides by N for a deterministic per-cell figure.
//!
//! Usage: `repeat analyze|parse FILE N`. The allocator is the package's (mimalloc unless built
//! with `--no-default-features`); it is named on stderr.

use std::hint::black_box;
use std::process::ExitCode;

use pyrepl3_analyzer::{SessionState, analyze_cell};

/// The measured region: N analyses of `src`, each with a fresh session, as the criterion bench
/// does.
#[inline(never)]
fn pyrepl3_measured_analyze(src: &str, n: usize) -> usize {
    let mut modes = 0;
    for _ in 0..n {
        let mut session = SessionState::new();
        modes += analyze_cell(black_box(src), &mut session).mode as usize;
    }
    modes
}

/// The measured region: N bare parses of `src` (the parsed tree is dropped each time, as in the
/// criterion bench).
#[inline(never)]
fn pyrepl3_measured_parse(src: &str, n: usize) -> usize {
    let mut ok = 0;
    for _ in 0..n {
        ok += usize::from(ruff_python_parser::parse_module(black_box(src)).is_ok());
    }
    ok
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, what, file, n] = &args[..] else {
        eprintln!("usage: repeat analyze|parse FILE N");
        return ExitCode::from(2);
    };
    let Ok(n) = n.parse::<usize>() else {
        eprintln!("repeat: N must be a count, not {n:?}");
        return ExitCode::from(2);
    };
    let src = match std::fs::read_to_string(file) {
        Ok(src) => src,
        Err(e) => {
            eprintln!("repeat: cannot read {file}: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!("repeat: allocator {}", pyrepl3_benches::ALLOCATOR);
    // One unmeasured run first, as criterion's warm-up does: the analyzer's lookup tables are
    // built once per process, not per cell.
    black_box(analyze_cell(&src, &mut SessionState::new()));
    let r = match what.as_str() {
        "analyze" => pyrepl3_measured_analyze(&src, n),
        "parse" => pyrepl3_measured_parse(&src, n),
        other => {
            eprintln!("repeat: expected analyze or parse, not {other:?}");
            return ExitCode::from(2);
        }
    };
    black_box(r);
    ExitCode::SUCCESS
}
