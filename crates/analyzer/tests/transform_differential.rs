//! Differential tests of the transforms against CPython 3.11 (`python3` on PATH).
//!
//! * Every transformed cell of `tests/transform/await_cells.py` compiles with
//!   `ast.PyCF_ALLOW_TOP_LEVEL_AWAIT` (from a tree carrying the user's positions), runs in one
//!   asyncio loop with one globals dict per session to the value the cell expects, and
//!   tracebacks point at the user's lines; refused cells are refused with the expected reason.
//! * The wrapper path and the direct path leave the same namespace and value on every cell of
//!   `tests/transform/wrap_corpus.py` (at least 100 cells).

use std::io::Write;
use std::process::Command;

use pyrepl3_analyzer::SessionState;
use pyrepl3_analyzer::transform::{TransformOptions, TransformResult, transform_cell};
use serde_json::{Value, json};

const HARNESS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/transform/harness.py");

/// One cell of a corpus and what it expects.
#[derive(Debug, Clone)]
struct Cell {
    source: String,
    expect: Option<String>,
    refuse: Option<String>,
    raises: Option<(String, u32)>,
}

/// Sessions of a corpus file: `# === name` starts a session, `# %%` a cell.
fn sessions(text: &str) -> Vec<(String, Vec<Cell>)> {
    let mut out: Vec<(String, Vec<Cell>)> = Vec::new();
    let mut current: Option<(String, Vec<String>)> = None;
    let flush = |cur: Option<(String, Vec<String>)>, out: &mut Vec<(String, Vec<Cell>)>| {
        if let Some((name, cells)) = cur {
            let cells = cells
                .into_iter()
                .filter(|c| !c.trim().is_empty())
                .map(|c| {
                    let mut cell = Cell {
                        source: String::new(),
                        expect: None,
                        refuse: None,
                        raises: None,
                    };
                    for line in c.lines() {
                        if let Some(v) = line.strip_prefix("# expect: ") {
                            cell.expect = Some(v.to_string());
                        } else if let Some(v) = line.strip_prefix("# refuse: ") {
                            cell.refuse = Some(v.to_string());
                        } else if let Some(v) = line.strip_prefix("# raises: ") {
                            let (ty, l) = v.split_once(" line ").expect("raises: Type line N");
                            cell.raises = Some((ty.to_string(), l.parse().expect("line")));
                        } else if let Some(l) = line.strip_suffix("\\r") {
                            // A literal `\r` at a line's end stands for a CRLF line ending.
                            cell.source.push_str(l);
                            cell.source.push_str("\r\n");
                        } else {
                            cell.source.push_str(line);
                            cell.source.push('\n');
                        }
                    }
                    cell
                })
                .collect();
            out.push((name, cells));
        }
    };
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("# === ") {
            flush(current.take(), &mut out);
            current = Some((name.trim().to_string(), vec![String::new()]));
        } else if let Some((_, cells)) = current.as_mut() {
            if line.trim() == "# %%" {
                cells.push(String::new());
            } else {
                let last = cells.last_mut().expect("a cell");
                last.push_str(line);
                last.push('\n');
            }
        }
    }
    flush(current, &mut out);
    out
}

/// Offsets of the transformed text mapped back to the user's (starts and ends).
fn offset_maps(r: &TransformResult) -> (Vec<u32>, Vec<u32>) {
    let len = r.transformed_source.as_ref().map_or(0, |t| t.len()) as u32;
    let starts = (0..=len).map(|o| r.source_map.original_start(o)).collect();
    let ends = (0..=len).map(|o| r.source_map.original_end(o)).collect();
    (starts, ends)
}

fn run_python(request: &Value) -> Value {
    let mut file = tempfile();
    file.1
        .write_all(request.to_string().as_bytes())
        .expect("write request");
    let out = Command::new("python3")
        .arg(HARNESS)
        .arg(&file.0)
        .output()
        .expect("python3 must be on PATH: CPython is the oracle of these tests");
    let _ = std::fs::remove_file(&file.0);
    assert!(
        out.status.success(),
        "harness failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).expect("harness answers JSON");
    assert!(
        answer["python"].as_str().unwrap_or("").starts_with("3.11"),
        "the oracle is CPython 3.11, got {}",
        answer["python"]
    );
    answer
}

fn tempfile() -> (std::path::PathBuf, std::fs::File) {
    let dir = std::env::temp_dir();
    for i in 0.. {
        let p = dir.join(format!("pyrepl3-transform-{}-{i}.json", std::process::id()));
        if let Ok(f) = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
        {
            return (p, f);
        }
    }
    unreachable!()
}

#[test]
fn transformed_cells_compile_and_run_to_the_expected_values() {
    let corpus = sessions(include_str!("transform/await_cells.py"));
    assert!(corpus.len() >= 30, "corpus has {} sessions", corpus.len());
    let mut request = Vec::new();
    let mut expectations = Vec::new();
    let mut refusals = 0;
    for (name, cells) in &corpus {
        let mut state = SessionState::new();
        let mut wrap_state = SessionState::new();
        let mut cells_json = Vec::new();
        let mut wrapped_json = Vec::new();
        let mut expects = Vec::new();
        for cell in cells {
            let r = transform_cell(&cell.source, &mut state, &TransformOptions::default());
            let w = transform_cell(
                &cell.source,
                &mut wrap_state,
                &TransformOptions { wrap: true },
            );
            if let Some(want) = &cell.refuse {
                let err = r
                    .refused
                    .as_ref()
                    .unwrap_or_else(|| panic!("{name}: expected a refusal, got {r:#?}"));
                assert!(
                    err.message.contains(want.as_str()),
                    "{name}: refusal `{}` does not mention `{want}`",
                    err.message
                );
                assert!(r.transformed_source.is_none());
                assert!(
                    r.reasons
                        .iter()
                        .any(|d| d.code() == "PR305"
                            && d.help.as_ref().is_some_and(|h| !h.is_empty()))
                );
                refusals += 1;
                continue;
            }
            assert!(r.refused.is_none(), "{name}: refused: {:?}", r.refused);
            let transformed = r
                .transformed_source
                .clone()
                .unwrap_or_else(|| panic!("{name}: nothing was transformed in {:?}", cell.source));
            // Idempotent: transforming the transformed source again changes nothing.
            let mut again_state = SessionState::new();
            let again =
                transform_cell(&transformed, &mut again_state, &TransformOptions::default());
            assert!(
                again.transformed_source.is_none()
                    || again.transformed_source.as_deref() == Some(&transformed),
                "{name}: second transform changed\n{transformed}\ninto\n{:?}",
                again.transformed_source
            );
            let (starts, ends) = offset_maps(&r);
            cells_json.push(json!({
                "source": cell.source,
                "transformed": transformed,
                "starts": starts,
                "ends": ends,
            }));
            // The same cell through the wrapper: same value, same traceback lines.
            assert!(
                w.refused.is_none(),
                "{name}: wrapper refused: {:?}",
                w.refused
            );
            let (starts, ends) = offset_maps(&w);
            wrapped_json.push(json!({
                "source": cell.source,
                "transformed": w.transformed_source,
                "starts": starts,
                "ends": ends,
            }));
            expects.push(cell.clone());
        }
        if !cells_json.is_empty() {
            request.push(json!({"id": name, "mode": "run", "cells": cells_json}));
            expectations.push((name.clone(), expects.clone()));
            request.push(json!({"id": format!("{name} (wrapped)"), "mode": "run", "wrapped": true, "cells": wrapped_json}));
            expectations.push((format!("{name} (wrapped)"), expects));
        }
    }
    assert!(refusals >= 8, "only {refusals} refusals checked");
    let answer = run_python(&json!({ "sessions": request }));
    let sessions = answer["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), expectations.len());
    let mut checked = 0;
    for ((name, cells), got) in expectations.iter().zip(sessions) {
        let got = got["cells"].as_array().expect("cells");
        for (cell, g) in cells.iter().zip(got) {
            assert_eq!(
                g["compiled"], true,
                "{name}: does not compile: {}",
                g["error"]
            );
            if let Some(want) = &cell.expect {
                assert_eq!(g["exc"], Value::Null, "{name}: raised");
                assert_eq!(g["value"].as_str(), Some(want.as_str()), "{name}");
                checked += 1;
            } else if let Some((ty, line)) = &cell.raises {
                let exc = g["exc"].as_str().unwrap_or_default();
                assert!(exc.starts_with(ty.as_str()), "{name}: raised {exc}");
                let lines = g["tb_lines"].as_array().expect("tb lines");
                assert_eq!(
                    lines.last().and_then(Value::as_u64),
                    Some(u64::from(*line)),
                    "{name}: traceback lines {lines:?}"
                );
                // The line shown is the user's own line.
                let shown = g["tb_text"].as_array().expect("tb text");
                let user_line = cell.source.lines().nth(*line as usize - 1).unwrap_or("");
                assert_eq!(
                    shown.last().and_then(Value::as_str),
                    Some(user_line.trim()),
                    "{name}"
                );
                checked += 1;
            } else {
                assert_eq!(g["exc"], Value::Null, "{name}: raised {}", g["exc"]);
            }
        }
    }
    assert!(checked >= 25, "only {checked} values checked");
}

/// Cells whose wrapper path is known to differ from the direct path, and why.
/// (None today: lambdas and generator expressions created at cell level would carry the
/// wrapper's name in `__qualname__`; the executor strips it from the compiled code, as the
/// harness does.)
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

#[test]
fn wrapper_and_direct_path_agree_on_namespace_and_value() {
    let corpus = sessions(include_str!("transform/wrap_corpus.py"));
    let mut request = Vec::new();
    let mut n_cells = 0;
    for (name, cells) in &corpus {
        let mut state = SessionState::new();
        let mut cells_json = Vec::new();
        for cell in cells {
            let r = transform_cell(&cell.source, &mut state, &TransformOptions { wrap: true });
            if let Some(want) = &cell.refuse {
                let err = r.refused.as_ref().unwrap_or_else(|| {
                    panic!("{name}: expected the wrapper to be refused: {r:#?}")
                });
                assert!(
                    err.message.contains(want.as_str()),
                    "{name}: {}",
                    err.message
                );
            } else {
                assert!(r.refused.is_none(), "{name}: refused: {:?}", r.refused);
                assert!(
                    r.transforms
                        .iter()
                        .any(|t| t.kind.as_str() == "wrap_with_globals"),
                    "{name}: not wrapped"
                );
                // Wrapping the wrapped source again changes nothing.
                let w = r.transformed_source.clone().expect("wrapped source");
                let again = transform_cell(
                    &w,
                    &mut SessionState::new(),
                    &TransformOptions { wrap: true },
                );
                assert!(
                    again.transformed_source.is_none()
                        || again.transformed_source.as_deref() == Some(w.as_str()),
                    "{name}: rewrapped"
                );
            }
            cells_json.push(json!({"source": cell.source, "wrapped": r.transformed_source}));
            n_cells += 1;
        }
        request.push(json!({"id": name, "mode": "compare", "cells": cells_json}));
    }
    assert!(n_cells >= 100, "the corpus has only {n_cells} cells");
    let answer = run_python(&json!({ "sessions": request }));
    let mut differences = Vec::new();
    let mut agreed = 0;
    for ((name, cells), got) in corpus
        .iter()
        .zip(answer["sessions"].as_array().expect("sessions"))
    {
        for (i, (cell, g)) in cells
            .iter()
            .zip(got["cells"].as_array().expect("cells"))
            .enumerate()
        {
            if cell.refuse.is_some() {
                continue;
            }
            if g["same"] == true {
                agreed += 1;
            } else {
                differences.push((name.clone(), i, g.clone()));
            }
        }
    }
    let unexpected: Vec<_> = differences
        .iter()
        .filter(|(name, _, _)| !KNOWN_DIFFERENCES.iter().any(|(k, _)| name == k))
        .collect();
    assert!(
        unexpected.is_empty(),
        "wrapper and direct path differ:\n{}",
        unexpected
            .iter()
            .map(|(n, i, g)| format!(
                "{n} cell {i}:\n  direct:  {}\n  wrapped: {}",
                g["direct"], g["wrapped"]
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The known differences are real (if one disappears, update the list and the docs).
    for (k, _) in KNOWN_DIFFERENCES {
        assert!(
            differences.iter().any(|(n, _, _)| n == k),
            "known difference `{k}` no longer differs"
        );
    }
    assert!(agreed >= 100, "only {agreed} cells agreed");
}

/// Pure-Python modules of CPython's standard library, run as one cell each.
const STDLIB_MODULES: &[&str] = &[
    "string",
    "textwrap",
    "colorsys",
    "keyword",
    "fnmatch",
    "functools",
    "abc",
    "numbers",
    "fractions",
    "statistics",
    "random",
    "enum",
    "dataclasses",
    "typing",
    "json/decoder",
    "json/encoder",
    "collections/__init__",
    "contextlib",
    "copy",
    "pprint",
    "reprlib",
    "shlex",
    "glob",
    "genericpath",
    "linecache",
    "token",
    "difflib",
    "graphlib",
    "ipaddress",
    "calendar",
    "gettext",
    "argparse",
    "optparse",
    "configparser",
    "csv",
    "html/__init__",
    "html/parser",
    "base64",
    "quopri",
    "stringprep",
    "weakref",
    "types",
    "inspect",
    "opcode",
    "traceback",
    "warnings",
    "zipfile",
    "tarfile",
    "shutil",
    "tempfile",
    "pathlib",
    "uuid",
    "hashlib",
    "hmac",
    "secrets",
    "cmd",
    "code",
    "codeop",
    "sched",
    "queue",
    "threading",
    "selectors",
    "socketserver",
    "bisect",
    "heapq",
    "operator",
    "struct",
    "posixpath",
    "tokenize",
    "datetime",
];

#[test]
fn wrapper_and_direct_path_agree_on_stdlib_modules() {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .expect("python3 must be on PATH");
    let root = String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    let mut request = Vec::new();
    let mut refused = Vec::new();
    for m in STDLIB_MODULES {
        let path = format!("{root}/{m}.py");
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let r = transform_cell(
            &source,
            &mut SessionState::new(),
            &TransformOptions { wrap: true },
        );
        match (&r.transformed_source, &r.refused) {
            (Some(w), None) => {
                let name = format!(
                    "{}_pyrepl3_check",
                    m.trim_end_matches("/__init__").replace('/', ".")
                );
                request.push(json!({
                    "id": m, "mode": "compare", "module_name": name,
                    "cells": [{"source": source, "wrapped": w}],
                }));
            }
            (None, Some(e)) => {
                // Refusals must be the documented ones.
                assert!(
                    e.message.contains("import *") || e.message.contains("namespace"),
                    "{m}: unexpected refusal {}",
                    e.message
                );
                refused.push(*m);
            }
            other => panic!("{m}: {other:?}"),
        }
    }
    assert!(
        request.len() >= 55,
        "only {} modules wrapped (refused: {refused:?})",
        request.len()
    );
    let answer = run_python(&json!({ "sessions": request }));
    let mut differ = Vec::new();
    for s in answer["sessions"].as_array().expect("sessions") {
        let cell = &s["cells"][0];
        assert_eq!(
            cell["direct"]["exc"],
            Value::Null,
            "{}: the module itself fails",
            s["id"]
        );
        if cell["same"] != true {
            differ.push(s["id"].to_string());
        }
    }
    assert!(
        differ.is_empty(),
        "wrapper and direct path differ on {differ:?}"
    );
}

/// Files of CPython's standard library (every eighth, to keep the suite quick; all of them pass
/// too) that compile as written still compile once wrapped, or the wrapper is refused with a
/// documented reason.
#[test]
fn wrapped_stdlib_files_compile() {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .expect("python3 must be on PATH");
    let root = std::path::PathBuf::from(String::from_utf8(out.stdout).expect("utf-8").trim());
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if !p.ends_with("site-packages") {
                    dirs.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "py") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(
        files.len() > 1000,
        "found only {} stdlib files",
        files.len()
    );
    let files: Vec<_> = files.into_iter().step_by(8).collect();
    let mut cells = Vec::new();
    let mut names = Vec::new();
    for p in &files {
        let Ok(source) = std::fs::read_to_string(p) else {
            continue;
        };
        let r = transform_cell(
            &source,
            &mut SessionState::new(),
            &TransformOptions { wrap: true },
        );
        if let Some(e) = &r.refused {
            assert!(
                !e.message.contains("transform bug"),
                "{}: {}",
                p.display(),
                e.message
            );
            continue;
        }
        if let Some(w) = r.transformed_source {
            cells.push(json!({"source": source, "wrapped": w}));
            names.push(p.display().to_string());
        }
    }
    let answer = run_python(
        &json!({"sessions": [{"id": "stdlib", "mode": "compile_pairs", "cells": cells}]}),
    );
    let got = answer["sessions"][0]["cells"].as_array().expect("cells");
    let mut compared = 0;
    let mut failures = Vec::new();
    for (g, name) in got.iter().zip(&names) {
        if g["original_ok"] == true {
            compared += 1;
            if g["wrapped_ok"] != true {
                failures.push(format!("{name}: {}", g["error"]));
            }
        }
    }
    assert!(compared > 180, "only {compared} files compared");
    assert!(
        failures.is_empty(),
        "{} wrapped files do not compile:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
