//! Fuzz target: cells through the transforms of issue 3 (never panic, output parses again,
//! idempotent). See `pyrepl3_fuzz::transform_target`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pyrepl3_fuzz::transform_target(data));
