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

/// `overhead_by_statement.py` counts a cell and the cell without each statement (here on the
/// debug `repeat` example that `cargo test` builds), and prints one share per statement.
#[test]
fn overhead_by_statement_prints_a_share_per_statement() {
    let repeat = std::env::current_exe()
        .expect("test binary path")
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory")
        .join("examples/repeat");
    assert!(repeat.is_file(), "cargo test builds examples/repeat");
    let dir = std::env::temp_dir().join(format!("pyrepl3-overhead-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cell = dir.join("cell.py");
    std::fs::write(&cell, "import time\ntime.sleep(1)\n").expect("write cell");
    let out = Command::new("python3")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/overhead_by_statement.py"))
        .arg(&cell)
        .args(["--n", "1", "--no-build", "--repeat"])
        .arg(&repeat)
        .output()
        .expect("python3 runs");
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].contains("overhead"), "{text}");
    assert!(lines[1].ends_with("line 1    import time"), "{text}");
    assert!(lines[2].ends_with("line 2    time.sleep(1)"), "{text}");
    // The blocking call's share is positive: analysing it costs more than parsing it.
    let share: f64 = lines[2]
        .split_whitespace()
        .next()
        .expect("a share")
        .replace(',', "")
        .parse()
        .expect("a number");
    assert!(share > 0.0, "{text}");
}
