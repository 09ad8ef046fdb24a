//! `pyrepl3-analyze`: tells how each cell of a file or notebook would run, and why.

/// mimalloc instead of glibc's malloc: parsing and analyzing a cell make many small, short-lived
/// allocations (the syntax tree), and mimalloc serves them 20–30% faster on the benchmark cells
/// (`benches/run.sh` against `benches/run.sh --system-alloc`). Only this binary: `pyrepl3`
/// and the worker embed CPython, whose memory does not go through Rust's allocator anyway.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    pyrepl3_cli::analyze::main()
}
