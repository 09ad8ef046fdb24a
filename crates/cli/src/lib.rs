//! `pyrepl3-cli`: the command-line front ends of pyrepl3 (today: `pyrepl3-analyze`).
//!
//! The binary in `src/bin/analyze.rs` only calls [`analyze::main`]. Everything else is a library
//! so the pieces (splitting files into cells, reading notebooks, rendering) can be tested alone.
//! Serialization (serde) lives here, at the edge: the analyzer itself knows nothing of JSON.

#![forbid(unsafe_code)]

pub mod analyze;
pub mod args;
pub mod cells;
pub mod encoding;
pub mod explain;
pub mod inputs;
pub mod json;
pub mod notebook;
pub mod report;
pub mod text;
