//! `pyrepl3-analyze`: tells how each cell of a file or notebook would run, and why.

fn main() {
    let mut state = pyrepl3_analyzer::SessionState::new();
    for path in std::env::args().skip(1) {
        let src = std::fs::read_to_string(&path).unwrap_or_default();
        let a = pyrepl3_analyzer::analyze_cell(&src, &mut state);
        println!("{path}: {}", a.mode);
    }
}
