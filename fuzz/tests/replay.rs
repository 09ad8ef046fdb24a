//! Replays the seed inputs (`fuzz/seeds/`) through every fuzz target, and every saved crash
//! input (`fuzz/regressions/<target>/`) through its target, without libFuzzer: a fixed analyzer
//! bug stays fixed. Run with `cargo test --manifest-path fuzz/Cargo.toml`.

use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use pyrepl3_fuzz::structured::{Cell, analyze_structured_target};
use pyrepl3_fuzz::{analyze_bytes_target, analyze_str_session_target, transform_target};

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.file_name().is_none_or(|n| n != ".keep"))
        .collect();
    out.sort();
    out
}

/// The same decoding libfuzzer-sys applies to a `|text: &str|` target.
fn as_str(data: &[u8]) -> &str {
    <&str as Arbitrary>::arbitrary_take_rest(Unstructured::new(data)).unwrap_or("")
}

fn structured(data: &[u8]) {
    if let Ok(cells) = Vec::<Cell>::arbitrary_take_rest(Unstructured::new(data)) {
        analyze_structured_target(&cells);
    }
}

#[test]
fn seeds_pass_every_target() {
    let seeds = files("seeds");
    assert!(seeds.len() >= 30, "seeds missing: {}", seeds.len());
    for path in seeds {
        let data = std::fs::read(&path).expect("seed");
        eprintln!("seed {}", path.display());
        analyze_bytes_target(&data);
        analyze_str_session_target(as_str(&data));
        structured(&data);
        transform_target(&data);
    }
}

#[test]
fn regressions_stay_fixed() {
    for path in files("regressions/analyze_bytes") {
        eprintln!("regression {}", path.display());
        analyze_bytes_target(&std::fs::read(&path).expect("input"));
    }
    for path in files("regressions/analyze_str_session") {
        eprintln!("regression {}", path.display());
        analyze_str_session_target(as_str(&std::fs::read(&path).expect("input")));
    }
    for path in files("regressions/transform_cell") {
        eprintln!("regression {}", path.display());
        transform_target(&std::fs::read(&path).expect("input"));
    }
    for path in files("regressions/analyze_structured") {
        eprintln!("regression {}", path.display());
        structured(&std::fs::read(&path).expect("input"));
    }
}

#[test]
fn structured_cells_render_to_python() {
    // Pseudo-random bytes must yield varied cells, every one rendered to some source.
    let data: Vec<u8> = (0u32..8192)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut u = Unstructured::new(&data);
    let mut sources = Vec::new();
    for _ in 0..20 {
        let cell = Cell::arbitrary(&mut u).expect("cell");
        sources.push(pyrepl3_fuzz::structured::render(&cell));
    }
    assert!(sources.iter().all(|s| !s.trim().is_empty()));
    assert!(sources.iter().any(|s| s.lines().count() > 1), "{sources:?}");
}
