//! End-to-end tests of `pyrepl3-analyze --transform` and `--wrap`: cells whose plain `def` or
//! `lambda` awaits are rewritten, analyzed as rewritten (no longer syntax errors), reported
//! rewrite by rewrite at the user's code, and their transformed source compiles under CPython
//! 3.11 (checked by `python3` itself).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
use serde_json::Value;

const EXAMPLE: &str = "examples/transforms.py";
const WRAP_FIXTURE: &str = "crates/cli/tests/fixtures/wrap.py";

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

fn run(args: &[&str]) -> (String, i32) {
    let out = bin().args(args).output().unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().expect("exited normally"),
    )
}

fn json_of(args: &[&str]) -> (Value, i32) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (out, code) = run(&all);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("stdout is JSON ({e}): {out}"));
    (v, code)
}

fn cells(v: &Value, file: usize) -> &Vec<Value> {
    v["files"][file]["cells"].as_array().unwrap()
}

fn kinds(cell: &Value) -> Vec<&str> {
    cell["transforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect()
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.display().to_string()
}

/// Compile every `(source, flags)` with `compile(src, "<cell>", "exec", flags)` in one `python3`
/// process; returns, for each, `None` when it compiles or the error CPython gives.
fn cpython_compile(jobs: &[(String, u32)]) -> Vec<Option<String>> {
    let script = r#"
import json, sys
out = []
for src, flags in json.load(sys.stdin):
    try:
        compile(src, "<cell>", "exec", flags=flags, dont_inherit=True)
        out.append(None)
    except SyntaxError as e:
        out.append(f"{type(e).__name__}: {e.msg} (line {e.lineno})")
print(json.dumps(out))
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let input = serde_json::to_vec(jobs).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 failed");
    let results: Vec<Option<String>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), jobs.len());
    results
}

const PYCF_ALLOW_TOP_LEVEL_AWAIT: u32 = 0x2000;

#[test]
fn snapshot_transform_text() {
    let (out, code) = run(&["--transform", EXAMPLE]);
    assert_eq!(code, 1, "the refused `__init__` cell is a syntax error");
    insta::assert_snapshot!(out);
}

#[test]
fn snapshot_transform_json() {
    let (out, code) = run(&["--transform", "--format", "json", EXAMPLE]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn snapshot_wrap_text() {
    let (out, code) = run(&["--wrap", WRAP_FIXTURE]);
    assert_eq!(code, 0, "a cell the wrapper refuses still runs directly");
    insta::assert_snapshot!(out);
}

#[test]
fn snapshot_wrap_json() {
    let (out, code) = run(&["--wrap", "--format", "json", WRAP_FIXTURE]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn rewritten_cells_are_routed_by_the_code_that_runs() {
    let (v, _) = json_of(&["--transform", EXAMPLE]);
    let cells = cells(&v, 0);
    let modes: Vec<&str> = cells.iter().map(|c| c["mode"].as_str().unwrap()).collect();
    assert_eq!(
        modes,
        [
            "top_level_await", // def fetch made async, `first = await fetch(1)`
            "top_level_await", // later cell: await inserted, fetch_pair made async
            "top_level_await", // assigned lambda
            "top_level_await", // inline lambda (the cell awaits explicitly)
            "syntax_error",    // refused: __init__
            "simple_sync",
        ]
    );
    assert_eq!(
        kinds(&cells[0]),
        ["def_to_async_def", "await_inserted"],
        "{}",
        cells[0]
    );
    assert_eq!(
        kinds(&cells[1]),
        [
            "def_to_async_def",
            "await_inserted",
            "await_inserted",
            "await_inserted",
            "await_inserted"
        ]
    );
    assert_eq!(kinds(&cells[2]), ["lambda_to_async_def", "await_inserted"]);
    assert_eq!(kinds(&cells[3]), ["lambda_to_async_def"]);
    assert!(kinds(&cells[4]).is_empty() && kinds(&cells[5]).is_empty());

    // The refusal is the cell's error, with the rule that explains it.
    let refused = &cells[4];
    assert_eq!(refused["transformed_source"], Value::Null);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`__init__`"),
        "{refused}"
    );
    let codes: Vec<&str> = refused["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"PR305"), "{codes:?}");
    assert_eq!(cells[5]["transformed_source"], Value::Null);

    // Every rewrite is also a reason (PR300-PR302) at the same place.
    for cell in &cells[..4] {
        for t in cell["transforms"].as_array().unwrap() {
            let code = match t["kind"].as_str().unwrap() {
                "def_to_async_def" => "PR300",
                "lambda_to_async_def" => "PR301",
                "await_inserted" => "PR302",
                other => panic!("unexpected kind {other}"),
            };
            assert!(
                cell["reasons"].as_array().unwrap().iter().any(|r| {
                    r["code"] == code
                        && r["line"] == t["line"]
                        && r["column"] == t["column"]
                        && r["message"] == t["message"]
                }),
                "{t} has no matching reason in {cell}"
            );
        }
    }
    assert_eq!(v["summary"]["transformed"], 4);
}

/// The text of line `line` (1-based) of `src`.
fn line_of(src: &str, line: u64) -> &str {
    src.lines().nth(line as usize - 1).expect("line exists")
}

/// The characters of `text` from a 1-based character column on.
fn from_column(text: &str, column: u64) -> String {
    text.chars().skip(column as usize - 1).collect()
}

#[test]
fn transform_positions_point_at_the_user_construct_in_file_lines() {
    let src = std::fs::read_to_string(workspace().join(EXAMPLE)).unwrap();
    let (v, _) = json_of(&["--transform", EXAMPLE]);
    let mut seen = 0;
    for cell in cells(&v, 0) {
        for t in cell["transforms"].as_array().unwrap() {
            seen += 1;
            let at = from_column(
                line_of(&src, t["line"].as_u64().unwrap()),
                t["column"].as_u64().unwrap(),
            );
            match t["kind"].as_str().unwrap() {
                "def_to_async_def" => assert!(at.starts_with("def "), "{t}: {at}"),
                "lambda_to_async_def" => assert!(
                    at.starts_with("lambda ") || at.starts_with("scale = lambda"),
                    "{t}: {at}"
                ),
                "await_inserted" => assert!(
                    at.starts_with("fetch(")
                        || at.starts_with("fetch_pair(")
                        || at.starts_with("scale("),
                    "{t}: {at}"
                ),
                other => panic!("unexpected kind {other}"),
            }
        }
    }
    assert_eq!(seen, 10);
    // Lines mentioned in messages are file lines too: `fetch` is defined at line 9 and awaits on
    // line 10 of the file (lines 4 and 5 of its cell).
    let first = &cells(&v, 0)[0]["transforms"];
    assert_eq!(first[0]["line"], 9);
    assert!(
        first[0]["message"].as_str().unwrap().contains("(line 10)"),
        "{first}"
    );
    assert!(
        first[1]["message"]
            .as_str()
            .unwrap()
            .ends_with("made async at line 9"),
        "{first}"
    );
}

#[test]
fn transformed_source_is_absent_without_the_flag_and_transforms_always_present() {
    let (plain, plain_code) = json_of(&[EXAMPLE, "examples/tour.py"]);
    let (shown, shown_code) = json_of(&["--transform", EXAMPLE, "examples/tour.py"]);
    // Without the flag every verdict is CPython's: the example's awaiting `def`s are syntax
    // errors and nothing is rewritten; with it, they run.
    assert_eq!(plain_code, 1);
    assert_eq!(shown_code, 1, "the example keeps one refused cell");
    for f in 0..2 {
        for (a, b) in cells(&plain, f).iter().zip(cells(&shown, f)) {
            assert!(a.get("transformed_source").is_none(), "{a}");
            assert_eq!(a["transforms"], Value::Array(vec![]), "{a}");
            assert!(
                b.get("transformed_source").is_some(),
                "present (maybe null) with --transform: {b}"
            );
            if b["transforms"].as_array().unwrap().is_empty() && b["mode"] != "syntax_error" {
                // A cell nothing rewrites gets the same analysis either way.
                let mut b = b.clone();
                b.as_object_mut().unwrap().remove("transformed_source");
                assert_eq!(a, &b);
            }
        }
    }
    assert!(
        cells(&plain, 0)
            .iter()
            .filter(|c| c["mode"] == "syntax_error")
            .count()
            > cells(&shown, 0)
                .iter()
                .filter(|c| c["mode"] == "syntax_error")
                .count()
    );
    // The tour needs no rewrite: every cell has an empty list.
    for c in cells(&plain, 1) {
        assert_eq!(c["transforms"], Value::Array(vec![]), "{c}");
        assert_eq!(cells(&shown, 1)[0]["transformed_source"], Value::Null);
    }
}

#[test]
fn exit_status_counts_only_cells_that_stay_syntax_errors() {
    let dir = tempfile::tempdir().unwrap();
    // CPython refuses both cells as written; pyrepl3 runs them.
    let runnable = write(
        dir.path(),
        "runnable.py",
        "import asyncio\n\ndef f():\n    await asyncio.sleep(0)\n    return 1\n\n# %%\nx = f()\ng = lambda: await f()\n",
    );
    let (_, code) = json_of(&[&runnable]);
    assert_eq!(code, 1, "CPython refuses the cells as written");
    let (v, code) = json_of(&["--transform", &runnable]);
    assert_eq!(code, 0, "{v}");
    let runnable_cells = cells(&v, 0);
    assert_eq!(
        runnable_cells[0]["mode"], "async_def",
        "defines `f`, calls nothing"
    );
    assert_eq!(runnable_cells[1]["mode"], "top_level_await");
    assert_eq!(
        kinds(&runnable_cells[1]),
        ["await_inserted", "lambda_to_async_def"]
    );
    for c in runnable_cells {
        assert_eq!(c["error"], Value::Null);
    }
    // A refusal, or an error the rewrites do not touch, is still status 1.
    let refused = write(
        dir.path(),
        "refused.py",
        "class P:\n    @property\n    def v(self):\n        return await g()\n",
    );
    let (v, code) = json_of(&["--transform", &refused]);
    assert_eq!(code, 1);
    assert_eq!(cells(&v, 0)[0]["mode"], "syntax_error");
    assert_eq!(
        cells(&v, 0)[0]["reasons"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["code"],
        "PR305"
    );
    let broken = write(
        dir.path(),
        "broken.py",
        "def f():\n    await g()\n\nreturn 1\n",
    );
    let (v, code) = json_of(&["--transform", &broken]);
    assert_eq!(code, 1);
    let cell = &cells(&v, 0)[0];
    assert_eq!(cell["mode"], "syntax_error");
    assert_eq!(cell["error"]["message"], "'return' outside function");
    assert_eq!(
        cell["error"]["line"], 4,
        "positions in the user's text: {cell}"
    );
}

#[test]
fn every_transformed_source_compiles_under_cpython_3_11() {
    let dir = tempfile::tempdir().unwrap();
    let extra = write(
        dir.path(),
        "more.py",
        "import asyncio\n\
         async def g(x):\n    return x\n\
         # %%\n\
         class Store:\n    def load(self):\n        self.data = await g(1)\n        return self\n\n\
         s = Store().load()\n\
         # %%\n\
         handlers = {'a': lambda e: await g(e)}\n\
         if True: hs = [lambda: await g(2)]\n\
         # %%\n\
         def outer():\n    def inner():\n        return await g(3)\n    return inner()\n\
         print(outer())\n",
    );
    let mut sources = Vec::new();
    let mut wrapped = Vec::new();
    for (flag, into) in [("--transform", &mut sources), ("--wrap", &mut wrapped)] {
        let (v, _) = json_of(&[flag, EXAMPLE, WRAP_FIXTURE, &extra]);
        for f in 0..3 {
            for c in cells(&v, f) {
                if let Some(s) = c["transformed_source"].as_str() {
                    into.push(s.to_string());
                }
            }
        }
    }
    assert_eq!(sources.len(), 8, "rewritten cells: 4 + 1 + 3");
    assert_eq!(wrapped.len(), 10, "wrapped cells: 5 + 1 + 4");
    // One python3 process: every transformed source with the top-level-await flag; every wrapped
    // source also without it (the wrapper is for interpreters without the flag); and, to show
    // the rewrites were needed, cells as users write them, which CPython refuses.
    let originals = [
        "def f():\n    await g()\n".to_string(),
        "f = lambda: await g()\n".to_string(),
    ];
    let mut jobs: Vec<(String, u32)> = Vec::new();
    jobs.extend(
        sources
            .iter()
            .chain(&wrapped)
            .map(|s| (s.clone(), PYCF_ALLOW_TOP_LEVEL_AWAIT)),
    );
    jobs.extend(wrapped.iter().map(|s| (s.clone(), 0)));
    jobs.extend(
        originals
            .iter()
            .map(|s| (s.clone(), PYCF_ALLOW_TOP_LEVEL_AWAIT)),
    );
    let results = cpython_compile(&jobs);
    let (compiled, refused) = results.split_at(jobs.len() - originals.len());
    for ((src, flags), result) in jobs.iter().zip(compiled) {
        assert_eq!(result, &None, "CPython refuses (flags {flags:#x}):\n{src}");
    }
    for (src, result) in originals.iter().zip(refused) {
        assert!(
            result
                .as_deref()
                .is_some_and(|e| e.contains("'await' outside async function")),
            "CPython should refuse {src:?}: {result:?}"
        );
    }
}

#[test]
fn wrapped_cells_keep_the_direct_mode_and_end_with_the_wrapper() {
    let (direct, direct_code) = json_of(&["--transform", EXAMPLE, WRAP_FIXTURE]);
    let (wrapped, wrapped_code) = json_of(&["--wrap", EXAMPLE, WRAP_FIXTURE]);
    assert_eq!(direct_code, wrapped_code);
    for f in 0..2 {
        for (d, w) in cells(&direct, f).iter().zip(cells(&wrapped, f)) {
            assert_eq!(d["mode"], w["mode"]);
            match w["transformed_source"].as_str() {
                Some(src) => {
                    assert!(src.contains("async def __pyrepl3_cell__():"), "{src}");
                    assert_eq!(kinds(w).last(), Some(&"wrap_with_globals"));
                    assert_eq!(&kinds(w)[..kinds(w).len() - 1], &kinds(d)[..]);
                }
                None => assert!(
                    d["mode"] == "syntax_error"
                        || w["reasons"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|r| { r["code"] == "PR305" && r["severity"] == "warning" }),
                    "a cell the direct path runs is wrapped, or says why not: {w}"
                ),
            }
        }
    }
}

/// The transformed section of the coloured text output: for each shown line, its number (None
/// for `+`) and the runs of text copied from the user's cell (pyrepl3's own text is styled
/// apart, and separates the runs).
fn shown_lines(styled: &str) -> Vec<(Option<u64>, Vec<String>)> {
    let added = anstyle::Style::new()
        .fg_color(Some(anstyle::AnsiColor::BrightGreen.into()))
        .effects(anstyle::Effects::BOLD);
    let (open, close) = (added.render().to_string(), added.render_reset().to_string());
    let mut out = Vec::new();
    let mut inside = false;
    for line in styled.lines() {
        let plain = anstream::adapter::strip_str(line).to_string();
        if plain.starts_with("transformed: runs instead of the cell") {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        let Some((number, _)) = plain.split_once(" |") else {
            inside = false;
            continue;
        };
        let number = number.trim();
        if number.is_empty() {
            continue;
        }
        // The text after the gutter, split where pyrepl3's own text was.
        let gutter_end = line.find(" |").expect("gutter") + " |".len();
        let mut runs = Vec::new();
        let mut rest = &line[gutter_end..];
        loop {
            let end = rest.find(&open).unwrap_or(rest.len());
            runs.push(anstream::adapter::strip_str(&rest[..end]).to_string());
            if end == rest.len() {
                break;
            }
            let after = &rest[end + open.len()..];
            rest = after.find(&close).map_or("", |j| &after[j + close.len()..]);
        }
        if let Some(first) = runs.first_mut() {
            // The space after the gutter is the renderer's.
            *first = first.strip_prefix(' ').unwrap_or(first).to_string();
        }
        runs.retain(|r| !r.is_empty());
        out.push((number.parse().ok(), runs));
    }
    out
}

#[test]
fn transformed_lines_are_numbered_with_the_file_lines_they_come_from() {
    for args in [
        &["--transform", "--color", "always", EXAMPLE][..],
        &["--wrap", "--color", "always", EXAMPLE, WRAP_FIXTURE][..],
    ] {
        let (out, _) = run(args);
        let lines = shown_lines(&out);
        assert!(lines.len() >= 20, "{}", lines.len());
        let files: Vec<String> = args[3..]
            .iter()
            .map(|p| std::fs::read_to_string(workspace().join(p)).unwrap())
            .collect();
        let mut added = 0;
        for (number, runs) in &lines {
            match number {
                // Every run of text pyrepl3 copied onto a numbered line is text of that line of
                // the file.
                Some(n) => assert!(
                    files.iter().any(|f| f
                        .lines()
                        .nth(*n as usize - 1)
                        .is_some_and(|l| runs.iter().all(|r| l.contains(r.as_str())))),
                    "line {n}: {runs:?}"
                ),
                None => added += 1,
            }
        }
        assert!(added >= 1, "helper or wrapper lines are marked `+`");
    }
}

#[test]
fn unchanged_cells_say_so_in_one_line() {
    let (out, _) = run(&["--transform", "examples/tour.py"]);
    let notes = out
        .lines()
        .filter(|l| *l == "not transformed: the cell runs as written")
        .count();
    assert_eq!(notes, 13, "one per cell of the tour");
    assert!(!out.contains("transformed: runs instead"));
    // Without the flag, no section at all.
    let (out, _) = run(&[EXAMPLE]);
    assert!(!out.contains("transformed"), "{out}");
}

#[test]
fn notebook_cells_are_transformed_too() {
    let dir = tempfile::tempdir().unwrap();
    let nb = serde_json::json!({
        "cells": [
            {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,
             "source": ["import asyncio\n", "def f():\n", "    return await asyncio.sleep(0, result=1)\n"]},
            {"cell_type": "markdown", "metadata": {}, "source": ["text"]},
            {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,
             "source": ["%time y = 1\n", "x = f()\n"]},
            {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,
             "source": ["x = f()\n"]}
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5
    });
    let path = write(dir.path(), "t.ipynb", &nb.to_string());
    let (v, code) = json_of(&["--transform", &path]);
    assert_eq!(code, 0, "{v}");
    let cells = cells(&v, 0);
    assert_eq!(cells[0]["mode"], "async_def");
    assert_eq!(kinds(&cells[0]), ["def_to_async_def"]);
    assert_eq!(
        cells[0]["transforms"][0]["line"], 2,
        "lines count from the cell's start"
    );
    // A cell with IPython escapes is not rewritten (the transforms parse plain Python).
    assert!(kinds(&cells[1]).is_empty());
    assert_eq!(cells[2]["transformed_source"], "x = await f()\n");
    assert_eq!(cells[2]["mode"], "top_level_await");
}

#[test]
fn the_readme_shows_real_transform_output() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let after = readme
        .split_once("as `--transform` shows it")
        .expect("README has the transform sample")
        .1;
    let sample = after
        .split_once("```text\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a text block")
        .0;
    let (out, _) = run(&["--transform", EXAMPLE]);
    assert!(out.contains(sample), "README sample is not in:\n{out}");
}

#[test]
fn concise_lines_mark_rewritten_cells() {
    let (out, code) = run(&["--transform", "--format", "concise", EXAMPLE]);
    assert_eq!(code, 1);
    let marked: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(" (rewritten) ["))
        .collect();
    assert_eq!(marked.len(), 4, "{out}");
    assert!(marked[0].starts_with(
        "examples/transforms.py:6: cell 0: top_level_await (rewritten) [PR300, PR302"
    ));
    assert!(
        out.contains(
            "cell 4: syntax_error (at 31:5: SyntaxError: `__init__` uses `await` (line 32)"
        )
    );
    assert!(out.ends_with("; 4 cells rewritten to run\n"), "{out}");
}

#[test]
fn syntax_errors_are_not_shown_wrapped() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "w.py",
        "nonlocal x\n# %%\nreturn 1\n# %%\nx = 1\n",
    );
    let (v, code) = json_of(&["--wrap", &path]);
    assert_eq!(code, 1);
    let cells = cells(&v, 0);
    for c in &cells[..2] {
        assert_eq!(c["mode"], "syntax_error");
        assert_eq!(c["transformed_source"], Value::Null, "{c}");
        assert!(kinds(c).is_empty());
        let codes: Vec<&str> = c["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["PR002"], "only CPython's reason: {c}");
    }
    assert_eq!(kinds(&cells[2]), ["wrap_with_globals"]);
    assert!(
        cells[2]["transformed_source"]
            .as_str()
            .unwrap()
            .contains("    global x\n")
    );
}
