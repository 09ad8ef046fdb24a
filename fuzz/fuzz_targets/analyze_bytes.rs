//! Fuzz target: arbitrary bytes into `analyze_bytes` (no panic, hang or stack overflow), twice in
//! one session. See `pyrepl3_fuzz::analyze_bytes_target`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pyrepl3_fuzz::analyze_bytes_target(data));
