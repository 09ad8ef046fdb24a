//! Prints the Python cells a structured fuzz input (an `analyze_structured` artifact or corpus
//! file) stands for, and how long the analyzer takes on each, for reporting and reproducing
//! findings: `cargo run --release --manifest-path fuzz/Cargo.toml --example render -- FILE`.

use std::io::Write;
use std::time::Instant;

use arbitrary::{Arbitrary, Unstructured};
use pyrepl3_analyzer::{CellOptions, SessionState, analyze_cell_with};
use pyrepl3_fuzz::structured::{Cell, render};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: render FILE");
        std::process::exit(2);
    };
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("render: cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let Ok(cells) = Vec::<Cell>::arbitrary_take_rest(Unstructured::new(&data)) else {
        eprintln!("render: the input decodes to no cells");
        std::process::exit(1);
    };
    let mut out = std::io::stdout().lock();
    let mut session = SessionState::new();
    for (i, cell) in cells.iter().take(8).enumerate() {
        let src = render(cell);
        let options = CellOptions {
            first_line: 1,
            ipython: cell.ipython,
            transform: cell.transform,
        };
        let start = Instant::now();
        let a = analyze_cell_with(&src, &mut session, &options);
        let shown = writeln!(
            out,
            "# %% cell {i} ({} bytes, ipython={}, transform={}): {} in {:.3?}",
            src.len(),
            cell.ipython,
            cell.transform,
            a.mode,
            start.elapsed()
        )
        .and_then(|()| out.write_all(src.as_bytes()));
        if shown.is_err() {
            return; // stdout closed (e.g. piped into `head`)
        }
    }
}
