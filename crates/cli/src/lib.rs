//! `pyrepl3-cli`: the command-line front ends of pyrepl3: `pyrepl3-analyze` and `pyrepl3`.
//!
//! The binaries in `src/bin/` only call [`analyze::main`] and [`pyrepl3::main`]. Everything else is a library
//! so the pieces (splitting files into cells, reading notebooks, rendering) can be tested alone.
//! Serialization (serde) lives here, at the edge: the analyzer itself knows nothing of JSON.

// Only `sigint` (the Ctrl-C handler) and `fdio` (file descriptors) need `unsafe`.
#![deny(unsafe_code)]

pub mod analyze;
pub mod args;
pub mod cells;
pub mod complete;
pub mod explain;
#[allow(unsafe_code)]
pub mod fdio;
pub mod host;
pub mod inputs;
pub mod json;
pub mod notebook;
pub mod pyrepl3;
pub mod repl;
pub mod report;
pub mod run;
pub mod session;
#[allow(unsafe_code)]
pub mod sigint;
pub mod text;
pub mod worker_session;
