//! Every `.py` file of the CPython 3.11 standard library: the analyzer never panics and accepts
//! or refuses each file exactly as `compile(source, ..., flags=PyCF_ALLOW_TOP_LEVEL_AWAIT)` does
//! (asked of one batched `python3` process).

#[path = "corpus/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::{Strictness, analyze_file, ask_python, disagreement};

fn stdlib_dir() -> PathBuf {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, sysconfig; assert sys.version_info[:2] == (3, 11), sys.version; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .expect("python3 (CPython 3.11) must be on PATH");
    assert!(out.status.success(), "python3 is not CPython 3.11");
    PathBuf::from(String::from_utf8(out.stdout).expect("UTF-8 path").trim())
}

fn python_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("readable stdlib directory")
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            // Third-party packages are not the standard library.
            if e.file_name() != "site-packages" && e.file_name() != "__pycache__" {
                python_files(&path, out);
            }
        } else if ft.is_file() && path.extension().is_some_and(|x| x == "py") {
            out.push(path);
        }
    }
}

#[test]
fn stdlib_accept_reject_matches_cpython() {
    let root = stdlib_dir();
    let mut files = Vec::new();
    python_files(&root, &mut files);
    assert!(
        files.len() > 1000,
        "only {} files under {root:?}",
        files.len()
    );
    let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    // CPython answers in its own process while we analyze.
    let oracle = std::thread::spawn(move || ask_python("files", &paths));
    let analyses: Vec<_> = files
        .iter()
        .map(|path| analyze_file(&std::fs::read(path).expect("readable file")))
        .collect();
    let verdicts = oracle.join().expect("oracle thread");
    assert_eq!(verdicts.len(), files.len());

    let strict = Strictness {
        compile_error_details: true,
    };
    let mut failures = Vec::new();
    let (mut refused, mut compile_errors) = (0, 0);
    for ((path, v), a) in files.iter().zip(&verdicts).zip(&analyses) {
        refused += usize::from(!v.ok);
        compile_errors += usize::from(!v.ok && v.ast_ok);
        if let Some(d) = disagreement(a, v, strict) {
            failures.push(format!("{}: {d}", path.display()));
        }
    }
    eprintln!(
        "{} files, {refused} refused by CPython ({compile_errors} by its compiler); \
         every one answered as CPython answers, coding declarations included",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} stdlib files disagree with CPython:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
