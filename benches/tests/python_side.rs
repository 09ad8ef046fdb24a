//! The Python side of the comparison agrees with the Rust side on what it times: the
//! predecessor's reimplementation passes the notes' own acceptance cases, and it splits
//! percent-format files into exactly the cells `split_percent` finds.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use pyrepl3_analyzer::Mode;
use pyrepl3_benches::{SIZES, cell, generate, percent_file, split_percent};

fn predecessor() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/predecessor.py")
}

fn python_split(text: &str) -> Vec<String> {
    let mut child = Command::new("python3")
        .arg(predecessor())
        .args(["selftest", "--split"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(out.status.success(), "selftest failed: {out:?}");
    serde_json::from_slice(&out.stdout).expect("a JSON list of cells")
}

#[test]
fn predecessor_passes_the_notes_acceptance_cases() {
    let out = Command::new("python3")
        .arg(predecessor())
        .arg("selftest")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn both_sides_split_the_same_cells() {
    let mut text = percent_file(&generate(100_000, 5));
    // Line endings and separators where str.splitlines and a split at '\n' differ.
    text.push_str("# %% [markdown]\r\nx = 1\r\n#%% not a marker\r\n");
    text.push_str("# %%\ny = '\u{0b}\u{0c}\u{1c}\u{85}\u{2028}'\n  # %% indented: not a marker\n");
    text.push_str("# %%\n\n\n# %%\nlast = 1");
    let rust: Vec<&str> = split_percent(&text).iter().map(|c| c.text).collect();
    let python = python_split(&text);
    assert!(rust.len() > 10);
    assert_eq!(rust, python);
}

/// CPython 3.11 is the oracle: syntax-error cells do not compile even with
/// `PyCF_ALLOW_TOP_LEVEL_AWAIT`, top-level-await cells compile to a coroutine (`CO_COROUTINE`),
/// every other cell compiles to plain module code.
#[test]
fn cpython_agrees_with_the_cells_labels() {
    const CHECK: &str = r#"
import ast, json, sys
for name, src in json.load(sys.stdin):
    try:
        code = compile(src, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
        got = "top_level_await" if code.co_flags & 0x80 else "compiles"
    except SyntaxError:
        got = "syntax_error"
    print(name, got)
"#;
    let mut cells = Vec::new();
    for mode in Mode::ALL {
        for lines in SIZES {
            cells.push((format!("{mode}_{lines}"), cell(mode, lines)));
        }
    }
    let mut child = Command::new("python3")
        .args(["-c", CHECK])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    serde_json::to_writer(child.stdin.take().expect("stdin"), &cells).expect("write stdin");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(out.status.success());
    let verdicts = String::from_utf8(out.stdout).expect("utf-8");
    let verdicts: Vec<&str> = verdicts.lines().collect();
    assert_eq!(verdicts.len(), cells.len());
    for (line, (name, _)) in verdicts.iter().zip(&cells) {
        let expected = if name.starts_with("syntax_error") {
            "syntax_error"
        } else if name.starts_with("top_level_await") {
            "top_level_await"
        } else {
            "compiles"
        };
        assert_eq!(*line, format!("{name} {expected}"));
    }
}
