//! `pyrepl3-analyze` works without a Python library: its binary must not need `libpython`
//! (the package also builds `pyrepl3`, which embeds CPython).

use std::process::Command;

#[test]
fn pyrepl3_analyze_has_no_libpython_needed_entry() {
    let out = Command::new("readelf")
        .args(["-d", env!("CARGO_BIN_EXE_pyrepl3-analyze")])
        .output()
        .expect("readelf runs (binutils; scripts/install-test-deps.sh installs it)");
    assert!(out.status.success());
    let dynamic = String::from_utf8_lossy(&out.stdout);
    let needed: Vec<&str> = dynamic.lines().filter(|l| l.contains("(NEEDED)")).collect();
    assert!(!needed.is_empty(), "no dynamic section read:\n{dynamic}");
    assert!(
        needed.iter().all(|l| !l.contains("libpython")),
        "pyrepl3-analyze links libpython:\n{}",
        needed.join("\n")
    );
}

#[test]
fn pyrepl3_does_link_libpython() {
    // The check above can fail: the sibling binary shows what a libpython entry looks like.
    let out = Command::new("readelf")
        .args(["-d", env!("CARGO_BIN_EXE_pyrepl3")])
        .output()
        .expect("readelf runs");
    assert!(String::from_utf8_lossy(&out.stdout).contains("libpython"));
}

#[test]
fn pyrepl3_analyze_runs_with_no_python_library_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.py");
    std::fs::write(&file, "import asyncio\nawait asyncio.sleep(1)\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pyrepl3-analyze"))
        .args(["--format", "concise"])
        .arg(&file)
        .env("LD_LIBRARY_PATH", dir.path())
        .env("PYTHONHOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("top_level_await"));
}
