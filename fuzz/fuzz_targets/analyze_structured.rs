//! Fuzz target: structured Python cells rendered to source and analyzed in one session. See
//! `pyrepl3_fuzz::structured`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyrepl3_fuzz::structured::{Cell, analyze_structured_target};

fuzz_target!(|cells: Vec<Cell>| analyze_structured_target(&cells));
