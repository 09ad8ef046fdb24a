//! Criterion benchmarks of a worker-backed session (filled in below).
fn main() {}
