//! Shared by the oracle tests: CPython's verdicts (as recorded or asked live) and the comparison
//! of the analyzer's answer with them.

#![allow(dead_code)] // each test binary uses a different part

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pyrepl3_analyzer::{CellAnalysis, Mode, SessionState, analyze_bytes, analyze_cell};
use serde::Deserialize;

/// CPython's answer for one cell (see `corpus/oracle.py`).
#[derive(Debug, Clone, Deserialize)]
pub struct Verdict {
    pub ast_ok: bool,
    pub ok: bool,
    pub plain_ok: Option<bool>,
    pub coroutine: Option<bool>,
    pub error: Option<ErrorInfo>,
}

/// CPython's exception for a refused cell.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorInfo {
    #[serde(rename = "type")]
    pub kind: String,
    pub msg: String,
    pub lineno: Option<i64>,
    pub offset: Option<i64>,
    pub line_ascii: Option<bool>,
}

/// One recorded cell of `corpus/expected.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Cell {
    pub name: String,
    pub source: String,
    pub expected: Verdict,
}

#[derive(Debug, Deserialize)]
struct Recording {
    python: String,
    flag: u32,
    cells: Vec<Cell>,
}

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// The checked-in corpus.
pub fn recorded_cells() -> Vec<Cell> {
    let text = std::fs::read_to_string(corpus_dir().join("expected.json"))
        .expect("tests/corpus/expected.json is checked in");
    let rec: Recording = serde_json::from_str(&text).expect("expected.json parses");
    assert!(
        rec.python.starts_with("3.11."),
        "recorded with {}",
        rec.python
    );
    assert_eq!(rec.flag, 0x2000);
    rec.cells
}

/// Ask a live CPython 3.11 (one process) about `input` (JSON) in `mode` (`serve` or `files`).
pub fn ask_python<T: serde::Serialize>(mode: &str, input: &T) -> Vec<Verdict> {
    let script = corpus_dir().join("oracle.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 (CPython 3.11) must be on PATH: it is the oracle");
    let payload = serde_json::to_vec(input).expect("serializable");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || {
        stdin.write_all(&payload).expect("write to python3");
    });
    let out = child.wait_with_output().expect("python3 runs");
    writer.join().expect("writer thread");
    assert!(out.status.success(), "oracle.py {mode} failed");
    serde_json::from_slice(&out.stdout).expect("oracle.py answers JSON")
}

/// What we check about the analyzer's answer against CPython's.
#[derive(Debug, Clone, Copy)]
pub struct Strictness {
    /// Compare the message and position of compiler (not parser) errors.
    pub compile_error_details: bool,
}

/// Known, documented differences: CPython's verdict and ours differ for a reason outside the
/// analyzer's control. Returns the reason when `source` is such a case.
pub fn known_exception(source: &str, a: &CellAnalysis, v: &Verdict) -> Option<&'static str> {
    // CPython 3.11 compiles an f-string replacement field as if parenthesized, so a bare
    // generator expression is valid there (`f'{x for x in y}'`); ruff's parser rejects it and
    // parse.rs re-parses such f-strings rewritten in place, except when they are implicitly
    // concatenated with other string literals (`f'{x for x in y}' 'z'`).
    let parser_error =
        a.mode == Mode::SyntaxError && a.reasons.first().is_some_and(|r| r.code() == "PR001");
    if parser_error && v.ast_ok && has_bare_genexp_field(source) {
        return Some("bare generator expression as an f-string replacement field");
    }
    None
}

/// Whether an f-string replacement field of `source` starts a bare `... for ...` expression.
fn has_bare_genexp_field(source: &str) -> bool {
    let b = source.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'{' {
            // Skip `{{` escapes.
            let mut j = i;
            while j < b.len() && b[j] == b'{' {
                j += 1;
            }
            if (j - i) % 2 == 1 {
                let rest = &source[j..];
                let end = rest.find('}').unwrap_or(rest.len());
                let field = &rest[..end];
                let opens = field.matches(['(', '[', '{']).count();
                if opens == 0 && (field.contains(" for ") || field.contains(" async for ")) {
                    return true;
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }
    false
}

/// Compare one analysis with CPython's verdict; `None` when they agree.
pub fn disagreement(a: &CellAnalysis, v: &Verdict, s: Strictness) -> Option<String> {
    let ours = match (&a.mode, &a.error) {
        (Mode::SyntaxError, Some(e)) => format!("{}: {}", e.kind, e.message),
        (m, _) => m.as_str().to_string(),
    };
    if v.ok {
        if a.mode == Mode::SyntaxError {
            return Some(format!("CPython compiles it, we say {ours}"));
        }
        let co = v.coroutine.unwrap_or(false);
        if co != (a.mode == Mode::TopLevelAwait) {
            return Some(format!("CPython CO_COROUTINE={co}, we say {ours}"));
        }
        return None;
    }
    let e = v.error.as_ref().expect("refused cells carry an error");
    let theirs = format!("{}: {} @{:?}:{:?}", e.kind, e.msg, e.lineno, e.offset);
    if a.mode != Mode::SyntaxError {
        return Some(format!("CPython refuses ({theirs}), we say {ours}"));
    }
    if v.ast_ok && s.compile_error_details {
        let err = a.error.as_ref().expect("syntax errors carry an error");
        if err.kind != e.kind || err.message != e.msg {
            return Some(format!("message: CPython {theirs}, we say {ours}"));
        }
        let pos = a.line_index.cpython(err.span.start);
        // CPython sometimes has no location (lineno -1, e.g. after unwinding an `async with`).
        if e.lineno.is_some_and(|l| l <= 0) {
            return None;
        }
        if e.lineno.is_some_and(|l| l != i64::from(pos.line)) {
            return Some(format!(
                "line: CPython {theirs}, we say {}:{}",
                pos.line,
                pos.col + 1
            ));
        }
        if e.line_ascii == Some(true) && e.offset.is_some_and(|o| o != i64::from(pos.col) + 1) {
            return Some(format!(
                "column: CPython {theirs}, we say {}:{}",
                pos.line,
                pos.col + 1
            ));
        }
    }
    None
}

/// Analyze a cell in a fresh session.
pub fn analyze(source: &str) -> CellAnalysis {
    analyze_cell(source, &mut SessionState::new())
}

/// Analyze a file's bytes as one cell in a fresh session.
pub fn analyze_file(bytes: &[u8]) -> CellAnalysis {
    analyze_bytes(bytes, &mut SessionState::new(), &Default::default())
}

/// CPython's symbol-table view of what a cell binds (see `module_bindings` in `oracle.py`).
#[derive(Debug, Clone, Deserialize)]
pub struct Bindings {
    pub names: Vec<String>,
    pub annotation_only: Vec<String>,
}

/// Ask a live CPython 3.11 for the module bindings of each source (`None`: does not compile).
pub fn ask_bindings(sources: &[String]) -> Vec<Option<Bindings>> {
    let script = corpus_dir().join("oracle.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .arg("bindings")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 (CPython 3.11) must be on PATH: it is the oracle");
    let payload = serde_json::to_vec(sources).expect("serializable");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || {
        stdin.write_all(&payload).expect("write to python3");
    });
    let out = child.wait_with_output().expect("python3 runs");
    writer.join().expect("writer thread");
    assert!(out.status.success(), "oracle.py bindings failed");
    serde_json::from_slice(&out.stdout).expect("oracle.py answers JSON")
}
