//! End-to-end tests of the `pyrepl3-analyze` binary: inputs, cell splitting, positions, the JSON
//! contract, exit codes, colour, and errors. Expectations that depend on a cell's mode use syntax
//! errors (decided by the analyzer's parser today); the snapshots of `examples/` record the
//! analyzer's current decisions and are updated when its passes change.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bin() -> Command {
    let mut cmd = Command::cargo_bin("pyrepl3-analyze").expect("binary built");
    cmd.current_dir(workspace());
    cmd.env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR");
    cmd
}

fn json_of(args: &[&str]) -> (Value, i32) {
    let out = bin()
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().expect("exited normally");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (v, code)
}

fn write(dir: &Path, name: &str, content: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    p.display().to_string()
}

/// What CPython 3.11 says about `src`: `None` when it compiles (with top-level await allowed),
/// else (lineno, offset) of the SyntaxError, offset being CPython's 1-based character column.
fn cpython_error(src: impl AsRef<[u8]>) -> Option<(u64, u64)> {
    let script = r#"
import ast, importlib.util, sys
# Decode as CPython decodes a source file (BOM, coding cookie), then compile the text, so that
# `offset` counts characters.
src = importlib.util.decode_source(sys.stdin.buffer.read())
try:
    compile(src, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    print("ok")
except SyntaxError as e:
    print(e.lineno, e.offset)
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(src.as_ref()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let text = text.trim();
    if text == "ok" {
        return None;
    }
    let mut parts = text.split(' ').map(|p| p.parse::<u64>().unwrap());
    Some((parts.next().unwrap(), parts.next().unwrap()))
}

const THREE_CELLS: &str = "import os\n\n# %% second\nx = 1\n\n# %%\ny = (\n";

#[test]
fn percent_cells_get_file_lines_indices_and_one_session() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "three.py", THREE_CELLS.as_bytes());
    let (v, code) = json_of(&[&path]);
    assert_eq!(code, 1, "the third cell is a syntax error");
    assert_eq!(v["version"], 1);
    let file = &v["files"][0];
    assert_eq!(file["path"], path);
    let cells = file["cells"].as_array().unwrap();
    let lines: Vec<_> = cells
        .iter()
        .map(|c| (c["index"].clone(), c["line"].clone()))
        .collect();
    assert_eq!(
        lines,
        [
            (0.into(), 1.into()),
            (1.into(), 3.into()),
            (2.into(), 6.into())
        ]
    );
    let modes: Vec<_> = cells.iter().map(|c| c["mode"].as_str().unwrap()).collect();
    assert_eq!(modes[2], "syntax_error");
    assert_ne!(modes[0], "syntax_error");
    assert_ne!(modes[1], "syntax_error");
    for c in &cells[..2] {
        assert_eq!(c["error"], Value::Null);
        assert!(
            !c["reasons"].as_array().unwrap().is_empty(),
            "every decision has a reason"
        );
    }
}

#[test]
fn a_file_without_markers_is_one_cell() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "one.py", b"x = 1\n\n\ny = 2\n");
    let (v, code) = json_of(&[&path]);
    assert_eq!(code, 0);
    let cells = v["files"][0]["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 1);
    assert_eq!(cells[0]["line"], 1);
    assert_eq!(cells[0]["end_line"], 4);
}

#[test]
fn syntax_error_positions_agree_with_cpython_in_file_coordinates() {
    // The error is after multi-byte characters, in the third cell, which starts at line 5.
    let cells = [
        "import time\n",
        "# %% two\nnom = 'Zoë'\n\n",
        "# %% three\ncafé = 'crème brûlée'\nx = ('日本', 'ü' + )\n",
    ];
    let src = cells.concat();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "err.py", src.as_bytes());
    let (v, code) = json_of(&[&path]);
    assert_eq!(code, 1);
    let cell = &v["files"][0]["cells"][2];
    assert_eq!(cell["line"], 5);
    assert_eq!(cell["mode"], "syntax_error");
    let (line, col) = cpython_error(cells[2]).expect("CPython refuses the cell");
    let error = &cell["error"];
    assert_eq!(error["line"], line + 4, "{error}");
    assert_eq!(error["column"], col, "{error}");
    // The same place, counted by hand: the `)` after `'ü' + `.
    let text_line = "x = ('日本', 'ü' + )";
    let by_hand = text_line[..text_line.rfind(')').unwrap()].chars().count() + 1;
    assert_eq!(error["column"], by_hand as u64);
    assert_eq!(error["line"], 7);
    let reason = &cell["reasons"][0];
    assert_eq!(reason["severity"], "error");
    assert_eq!(
        (reason["line"].clone(), reason["column"].clone()),
        (7.into(), (by_hand as u64).into())
    );
    assert!(error["message"].as_str().unwrap().len() > 3);
    // The other cells are analyzed as usual.
    assert_ne!(v["files"][0]["cells"][0]["mode"], "syntax_error");
    assert_ne!(v["files"][0]["cells"][1]["mode"], "syntax_error");
}

#[test]
fn json_follows_the_version_1_contract() {
    let (v, code) = json_of(&[
        "examples/tour.py",
        "examples/errors.py",
        "examples/notebook.ipynb",
        "examples/transforms.py",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["version"], 1);
    let kinds = [
        "def_to_async_def",
        "lambda_to_async_def",
        "await_inserted",
        "wrap_with_globals",
    ];
    let mut saw_transform = false;
    let modes = [
        "top_level_await",
        "blocking_sync",
        "async_def",
        "simple_sync",
        "syntax_error",
    ];
    let uint = |x: &Value| x.as_u64().is_some_and(|n| n >= 1);
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 4);
    let mut saw_error = false;
    for file in files {
        assert!(file["path"].is_string());
        for (i, cell) in file["cells"].as_array().unwrap().iter().enumerate() {
            assert_eq!(cell["index"], i as u64);
            assert!(uint(&cell["line"]));
            assert!(modes.contains(&cell["mode"].as_str().unwrap()), "{cell}");
            let reasons = cell["reasons"].as_array().unwrap();
            assert!(!reasons.is_empty(), "every decision is explained: {cell}");
            for r in reasons {
                assert!(r["code"].as_str().unwrap().starts_with("PR"));
                assert!(["info", "warning", "error"].contains(&r["severity"].as_str().unwrap()));
                assert!(!r["message"].as_str().unwrap().is_empty());
                for k in ["line", "column", "end_line", "end_column"] {
                    assert!(uint(&r[k]), "{k} in {r}");
                }
                assert!(
                    (r["line"].as_u64(), r["column"].as_u64())
                        <= (r["end_line"].as_u64(), r["end_column"].as_u64()),
                    "{r}"
                );
            }
            for b in cell["blocking_calls"].as_array().unwrap() {
                assert!(b["name"].is_string() && b["via"].is_string(), "{b}");
                assert!(uint(&b["line"]) && uint(&b["column"]), "{b}");
            }
            // Transforms: always a list; `transformed_source` only with `--transform`.
            for t in cell["transforms"]
                .as_array()
                .expect("transforms on every cell")
            {
                saw_transform = true;
                assert!(kinds.contains(&t["kind"].as_str().unwrap()), "{t}");
                assert!(uint(&t["line"]) && uint(&t["column"]), "{t}");
                assert!(!t["message"].as_str().unwrap().is_empty());
            }
            assert!(cell.get("transformed_source").is_none(), "{cell}");
            match &cell["error"] {
                Value::Null => assert_ne!(cell["mode"], "syntax_error"),
                e => {
                    saw_error = true;
                    assert_eq!(cell["mode"], "syntax_error");
                    assert!(e["message"].is_string());
                    assert!(uint(&e["line"]) && uint(&e["column"]), "{e}");
                }
            }
        }
    }
    assert!(saw_error);
    // Without `--transform` every verdict is CPython's: nothing is rewritten.
    assert!(!saw_transform);

    // With it, the rewrites are listed (and `transformed_source` is on every cell).
    let (v, _) = json_of(&["--transform", "examples/transforms.py"]);
    let cells = v["files"][0]["cells"].as_array().unwrap();
    let listed: Vec<&str> = cells
        .iter()
        .flat_map(|c| c["transforms"].as_array().unwrap())
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert!(!listed.is_empty());
    assert!(listed.iter().all(|k| kinds.contains(k)), "{listed:?}");
    assert!(cells.iter().all(|c| c.get("transformed_source").is_some()));
}

/// The text of the file between two (line, character column) positions on one line.
fn text_at(src: &str, line: u64, column: u64, end_column: u64) -> String {
    let text = src.lines().nth(line as usize - 1).expect("line exists");
    text.chars()
        .skip(column as usize - 1)
        .take((end_column - column) as usize)
        .collect()
}

#[test]
fn json_positions_point_at_the_source_text() {
    // Every blocking call the analyzer finds, in the tour and in a file with multi-byte characters
    // before the call, is located at the text of the call itself (character columns, file lines).
    // Which calls are found is the analyzer's business; where they are reported is the CLI's.
    let dir = tempfile::tempdir().unwrap();
    let src = "import time as t\n# %% café\nlabel = \"naïve ☕ crème\"; t.sleep(1)\n";
    let path = write(dir.path(), "mb.py", src.as_bytes());
    for (path, src) in [
        (path, src.to_string()),
        (
            "examples/tour.py".to_string(),
            std::fs::read_to_string(workspace().join("examples/tour.py")).unwrap(),
        ),
    ] {
        let (v, code) = json_of(&[&path]);
        assert_eq!(code, 0);
        for cell in v["files"][0]["cells"].as_array().unwrap() {
            let (first, last) = (
                cell["line"].as_u64().unwrap(),
                cell["end_line"].as_u64().unwrap(),
            );
            for call in cell["blocking_calls"].as_array().unwrap() {
                let line = call["line"].as_u64().unwrap();
                assert!((first..=last).contains(&line), "{call}");
                assert_eq!(call["end_line"], line, "calls in these files fit on a line");
                let text = text_at(
                    &src,
                    line,
                    call["column"].as_u64().unwrap(),
                    call["end_column"].as_u64().unwrap(),
                );
                assert!(text.ends_with(')'), "{call} -> {text:?}");
                if call["name"] == "time.sleep" {
                    assert!(text.starts_with("t.sleep("), "{call} -> {text:?}");
                }
            }
            for reason in cell["reasons"].as_array().unwrap() {
                let line = reason["line"].as_u64().unwrap();
                assert!((first..=last).contains(&line), "{reason}");
            }
        }
    }
}

#[test]
fn text_output_points_at_the_file_line_and_character_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "e.py",
        "a = 1\n# %%\ns = 'ééé' + )\n".as_bytes(),
    );
    bin()
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!("--> {path}:3:13")))
        .stdout(predicate::str::contains("3 | s = 'ééé' + )"))
        .stdout(predicate::str::contains(format!(
            "{path}:2 · cell 1 · syntax_error"
        )))
        .stdout(predicate::str::contains("Analyzed 2 cells in 1 file"))
        .stderr("");
}

#[test]
fn crlf_files_split_and_count_lines_like_lf_files() {
    let lf = "import os\n# %%\nx = 1\n# %%\ny = ('é' +\n";
    let crlf = lf.replace('\n', "\r\n");
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "lf.py", lf.as_bytes());
    let b = write(dir.path(), "crlf.py", crlf.as_bytes());
    let (v, code) = json_of(&[&a, &b]);
    assert_eq!(code, 1);
    let strip = |f: &Value| {
        let mut f = f.clone();
        f["path"] = Value::Null;
        f
    };
    assert_eq!(strip(&v["files"][0]), strip(&v["files"][1]));
    assert_eq!(v["files"][1]["cells"][2]["line"], 4);
    assert_eq!(v["files"][1]["cells"][2]["error"]["line"], 5);
    // Text output shows no carriage returns.
    let out = bin().arg(&b).output().unwrap();
    assert!(!out.stdout.contains(&b'\r'));
}

#[test]
fn bom_and_invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let bom_src = b"\xEF\xBB\xBFx = 1 + )\n";
    let bom = write(dir.path(), "bom.py", bom_src);
    let (v, code) = json_of(&[&bom]);
    assert_eq!(code, 1);
    // CPython does not count the BOM.
    let error = &v["files"][0]["cells"][0]["error"];
    assert_eq!(cpython_error(bom_src), Some((1, 9)));
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(1), Some(9))
    );
    let bad = write(dir.path(), "latin1.py", b"x = 1\n# %%\ns = 'caf\xe9'\n");
    let (v, code) = json_of(&[&bad]);
    assert_eq!(code, 1);
    let cells = &v["files"][0]["cells"];
    assert_ne!(cells[0]["mode"], "syntax_error");
    assert_eq!(cells[1]["mode"], "syntax_error");
    assert_eq!(cells[1]["error"]["line"], 3);
    assert_eq!(cells[1]["error"]["column"], 9, "{}", cells[1]["error"]);
    // The text renderer copes with the undecodable byte too.
    bin()
        .arg(&bad)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!("--> {bad}:3:9")));
}

#[test]
fn a_latin_1_coding_cookie_is_honoured_like_cpython() {
    let dir = tempfile::tempdir().unwrap();
    let ok = b"# -*- coding: latin-1 -*-\ns = 'caf\xe9'\n";
    let bad = b"# -*- coding: latin-1 -*-\n# %%\ns = 'caf\xe9' + )\n";
    assert_eq!(cpython_error(ok), None);
    let ok_path = write(dir.path(), "ok.py", ok);
    let (v, code) = json_of(&[&ok_path]);
    assert_eq!(code, 0, "{v}");
    let bad_path = write(dir.path(), "bad.py", bad);
    let (v, code) = json_of(&[&bad_path]);
    assert_eq!(code, 1);
    let error = &v["files"][0]["cells"][1]["error"];
    // CPython sees the whole file; the cell starts at line 2 and the cookie is in cell 0.
    let (line, col) = cpython_error(bad).unwrap();
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(line), Some(col))
    );
    assert_eq!(col, 14);
    // Text output shows the character, not mojibake.
    bin()
        .arg(&bad_path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("s = 'café' + )"));
}

const NOTEBOOK: &str = r##"{
 "nbformat": 4, "nbformat_minor": 5, "metadata": {},
 "cells": [
  {"cell_type": "markdown", "metadata": {}, "source": ["# Title\n", "text"]},
  {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 1,
   "source": ["%timeit sum(range(10))\n", "!ls -l\n", "x = 1\n", "x?"]},
  {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 2,
   "source": "%%bash\necho hi\n"},
  {"cell_type": "raw", "metadata": {}, "source": "not code"},
  {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 3,
   "source": ["y = 2\n", "def f(:\n", "    pass\n"]}
 ]
}"##;

#[test]
fn a_notebook_escape_after_an_unfinished_lambda_is_a_syntax_error_not_a_panic() {
    // pyrepl3-analyze panicked inside ruff's IPython-mode parser on this notebook (a fuzz find).
    let nb = r#"{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
      {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 1,
       "source": ["import time\n", "?time.sleep\n", ";print a b\n", "time.sleep(1)\n"]},
      {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 2,
       "source": ["f = lambda x\n", ",g\n"]}]}"#;
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "lambda.ipynb", nb.as_bytes());
    let (v, code) = json_of(&[&path]);
    assert_eq!(code, 1);
    let cells = v["files"][0]["cells"].as_array().unwrap();
    assert_eq!(cells[0]["mode"], "blocking_sync");
    let escapes: Vec<_> = cells[0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["code"] == "PR107")
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(escapes, [2, 3]);
    assert_eq!(cells[1]["mode"], "syntax_error");
    assert_eq!(cells[1]["error"]["line"], 1);
}

#[test]
fn notebooks_report_ipython_escapes_and_keep_cell_positions() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "nb.ipynb", NOTEBOOK.as_bytes());
    let (v, code) = json_of(&[&path]);
    assert_eq!(code, 1, "the last code cell is a syntax error");
    let file = &v["files"][0];
    assert_eq!(file["kind"], "notebook");
    let cells = file["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 3, "markdown and raw cells are not analyzed");
    let positions: Vec<_> = cells
        .iter()
        .map(|c| c["notebook_cell"].as_u64().unwrap())
        .collect();
    assert_eq!(positions, [1, 2, 4]);
    // Magics, shell escapes and help are reported, and the cell is not a syntax error.
    let first = &cells[0];
    assert_ne!(first["mode"], "syntax_error");
    let escapes: Vec<_> = first["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["code"] == "PR107")
        .map(|r| (r["line"].as_u64().unwrap(), r["column"].as_u64().unwrap()))
        .collect();
    assert_eq!(escapes, [(1, 1), (2, 1), (4, 1)]);
    assert_ne!(
        cells[1]["mode"], "syntax_error",
        "a cell magic is reported, not an error"
    );
    // Lines in a notebook count from the start of the cell.
    let last = &cells[2];
    assert_eq!(last["line"], 1);
    assert_eq!(last["mode"], "syntax_error");
    let (line, col) = cpython_error("y = 2\ndef f(:\n    pass\n").unwrap();
    assert_eq!(
        (
            last["error"]["line"].as_u64().unwrap(),
            last["error"]["column"].as_u64().unwrap()
        ),
        (line, col)
    );
    // Text output names the cell.
    bin()
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!("--> {path}:cell 0:1:1")))
        .stdout(predicate::str::contains("2 | !ls -l\n  | ^^^^^^"))
        .stdout(predicate::str::contains(format!("--> {path}:cell 2:2:7")))
        .stdout(predicate::str::contains(format!(
            "{path}:cell 2 · syntax_error"
        )));
}

#[test]
fn malformed_notebooks_are_one_line_errors_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in [
        (
            "trunc.ipynb",
            &br#"{"cells": [{"cell_type": "code", "source": "x"#[..],
        ),
        ("nocells.ipynb", br#"{"nbformat": 4}"#),
        (
            "badsource.ipynb",
            br#"{"cells": [{"cell_type": "code", "source": 42}]}"#,
        ),
        ("binary.ipynb", b"\x00\xff\xfe"),
    ] {
        let path = write(dir.path(), name, content);
        let out = bin().arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: {path}: not a valid notebook: ")),
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "{name}");
    }
}

#[test]
fn a_bad_input_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.py", b"x = 1\n");
    let bad = write(dir.path(), "bad.ipynb", b"{");
    let missing = dir.path().join("missing.py").display().to_string();
    let out = bin()
        .args(["--format", "json", &missing, &good, &bad])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0]["error"], "no such file or directory");
    assert_eq!(files[1]["path"], good);
    assert_eq!(files[1]["cells"].as_array().unwrap().len(), 1);
    assert!(
        files[2]["error"]
            .as_str()
            .unwrap()
            .starts_with("not a valid notebook")
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
}

#[test]
fn stdin_is_read_with_dash() {
    bin()
        .arg("-")
        .write_stdin("x = 1\n# %%\ny = )\n")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "<stdin>:2 · cell 1 · syntax_error",
        ))
        .stdout(predicate::str::contains("--> <stdin>:3:5"));
    let out = bin()
        .args(["--format", "json", "--stdin-filename", "cell.py", "-"])
        .write_stdin("x = 1\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"][0]["path"], "cell.py");
    // A notebook on stdin.
    bin()
        .args(["--stdin-filename", "nb.ipynb", "-"])
        .write_stdin(NOTEBOOK)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("nb.ipynb:cell 0 · "));
}

#[test]
fn directories_are_searched_recursively_in_sorted_order() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "b.py", b"x = 1\n");
    write(root, "a/z.ipynb", br#"{"cells": []}"#);
    write(root, "a/m.py", b"y = 2\n");
    write(root, "README.md", b"# not python\n");
    write(root, "c.txt", b"not python (\n");
    write(root, ".hidden/h.py", b"bad (\n");
    write(root, "__pycache__/p.py", b"bad (\n");
    write(root, ".ipynb_checkpoints/nb-checkpoint.ipynb", b"{");
    let (v, code) = json_of(&[&root.display().to_string()]);
    assert_eq!(code, 0);
    let paths: Vec<String> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            Path::new(f["path"].as_str().unwrap())
                .strip_prefix(root)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(paths, ["a/m.py", "a/z.ipynb", "b.py"]);
    // Deterministic: the same bytes every run.
    let once = bin().arg(root).output().unwrap().stdout;
    let twice = bin().arg(root).output().unwrap().stdout;
    assert_eq!(once, twice);
}

#[test]
fn io_and_usage_errors_are_one_line_and_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let missing = dir.path().join("nope.py");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![missing.display().to_string()],
            "no such file or directory",
        ),
        (
            vec![empty.display().to_string()],
            "no *.py or *.ipynb files",
        ),
        (
            vec!["--format".into(), "yaml".into(), "x.py".into()],
            "invalid value 'yaml'",
        ),
        (
            vec!["--frmat".into(), "json".into()],
            "unexpected argument '--frmat'",
        ),
        (vec![], "required arguments were not provided"),
        (
            vec!["--explain".into(), "PR999".into()],
            "unknown rule `PR999`",
        ),
        (
            vec!["--color".into(), "sometimes".into(), "x.py".into()],
            "invalid value 'sometimes'",
        ),
    ];
    for (args, needle) in cases {
        let out = bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn unreadable_files_are_reported() {
    // `/proc/self/mem` is a file that even root cannot read from offset 0.
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "file.py", b"x = 1\n");
    let through_file = format!("{file}/inner.py");
    for (path, needle) in [
        ("/proc/self/mem".to_string(), "error: /proc/self/mem: "),
        (
            through_file.clone(),
            &*format!("error: {through_file}: not a directory"),
        ),
    ] {
        let out = bin().arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{path}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(needle), "{stderr}");
        assert!(!stderr.contains("os error"), "{stderr}");
    }
}

#[test]
fn explain_and_list_rules() {
    bin()
        .args(["--explain", "PR100"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("PR100 (top-level-await)"))
        .stdout(predicate::str::contains("## What it does"))
        .stdout(predicate::str::contains("## Why is this bad?"));
    // By name, case-insensitively.
    bin()
        .args(["--explain", "Syntax-Error"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("PR001 (syntax-error)"));
    let out = bin().arg("--list-rules").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for rule in pyrepl3_analyzer::rules::all() {
        assert!(
            text.lines()
                .any(|l| l.starts_with(rule.code) && l.contains(rule.name)),
            "{} missing",
            rule.code
        );
    }
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let has_ansi = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = bin();
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.args(args).output().unwrap();
        out.stdout.contains(&0x1b)
    };
    let f = "examples/errors.py";
    assert!(!has_ansi(&[f], &[]), "a pipe is not a terminal");
    assert!(has_ansi(&["--color", "always", f], &[]));
    assert!(
        has_ansi(&["--color=always", f], &[("NO_COLOR", "1")]),
        "an explicit flag wins"
    );
    assert!(!has_ansi(
        &["--color", "never", f],
        &[("CLICOLOR_FORCE", "1")]
    ));
    assert!(!has_ansi(
        &[f],
        &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]
    ));
    assert!(
        !has_ansi(&["--color", "always", "--format", "json", f], &[]),
        "JSON is never coloured"
    );
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    // Many cells, so the output is far larger than a pipe buffer.
    let mut src = String::new();
    for i in 0..3000 {
        src.push_str(&format!("# %%\nx{i} = (\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "big.py", src.as_bytes());
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pyrepl3-analyze"))
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(status.code(), Some(0), "a vanished reader is not an error");
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_is_a_one_line_error() {
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("pyrepl3-analyze"))
        .current_dir(workspace())
        .arg("examples/tour.py")
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: cannot write output: no space left on device\n"
    );
}

#[test]
fn examples_tour_succeeds() {
    // The README's first command: the tour has no syntax errors.
    bin().arg("examples/tour.py").assert().code(0).stderr("");
}

#[test]
fn snapshot_tour_text() {
    let out = bin().arg("examples/tour.py").output().unwrap();
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn snapshot_tour_json() {
    let out = bin()
        .args(["--format", "json", "examples/tour.py"])
        .output()
        .unwrap();
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn snapshot_errors_and_notebook_text() {
    let out = bin()
        .args(["examples/errors.py", "examples/notebook.ipynb"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn snapshot_concise() {
    let out = bin()
        .args([
            "--format",
            "concise",
            "examples/tour.py",
            "examples/errors.py",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}
