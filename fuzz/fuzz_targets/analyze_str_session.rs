//! Fuzz target: text split at NUL characters into cells analyzed in one session. See
//! `pyrepl3_fuzz::analyze_str_session_target`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| pyrepl3_fuzz::analyze_str_session_target(text));
