//! Inputs for pyrepl3's benchmarks: notebook-like cells of each mode and size, a generated corpus
//! of cells, and the percent-format (`# %%`) cell splitting that both benchmark sides use.
//!
//! Everything here is deterministic, so the Rust benches, the whole-process bench binary and the
//! Python comparison script (which reads the files `pyrepl3-bench cells|corpus` writes) all time
//! exactly the same text.

pub mod alloc;
pub mod cells;
pub mod clock;
pub mod corpus;

pub use alloc::ALLOCATOR;
pub use cells::{SIZES, cell};
pub use clock::thread_cpu_ns;
pub use corpus::{CELL_MARKER, PercentCell, generate, percent_file, split_percent};
