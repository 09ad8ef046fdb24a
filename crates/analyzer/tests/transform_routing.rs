//! `analyze_cell` applies the transforms and routes the code that will run (CPython decides).
//!
//! For every session of `tests/transform/await_cells.py` (cells CPython refuses as written),
//! each cell is analyzed in order with one `SessionState`; the tree of the code to run
//! (`CellAnalysis::transformed_tree`, positions moved back to the user's text) is compiled and
//! run by CPython 3.11 in one loop and one globals dict per session. Checked: the tree compiles
//! with `PyCF_ALLOW_TOP_LEVEL_AWAIT`, `CO_COROUTINE` agrees with the predicted mode, the value is
//! the one the corpus expects, every name sits on the user's own text, and tracebacks name the
//! user's line and show the user's source.

use std::io::Write;
use std::process::{Command, Stdio};

use pyrepl3_analyzer::{CellAnalysis, CellOptions, Mode, SessionState, pyast};

/// Analyze with the transforms on, as the executor does.
fn analyze_cell(source: &str, state: &mut SessionState) -> CellAnalysis {
    let options = CellOptions {
        transform: true,
        ..CellOptions::default()
    };
    pyrepl3_analyzer::analyze_cell_with(source, state, &options)
}
use serde_json::{Value, json};

const CORPUS: &str = include_str!("transform/await_cells.py");
const RUNNER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/routing/run_trees.py");

#[derive(Debug, Default, Clone)]
struct Cell {
    source: String,
    expect: Option<String>,
    refuse: bool,
    raises: Option<(String, u64)>,
}

fn sessions() -> Vec<(String, Vec<Cell>)> {
    let mut out: Vec<(String, Vec<Cell>)> = Vec::new();
    for line in CORPUS.lines() {
        if let Some(name) = line.strip_prefix("# === ") {
            out.push((name.to_string(), vec![Cell::default()]));
            continue;
        }
        let Some((_, cells)) = out.last_mut() else {
            continue;
        };
        if line.starts_with("# %%") {
            cells.push(Cell::default());
            continue;
        }
        let cell = cells.last_mut().expect("a cell");
        if let Some(v) = line.strip_prefix("# expect: ") {
            cell.expect = Some(v.to_string());
        } else if line.starts_with("# refuse: ") {
            cell.refuse = true;
        } else if let Some(v) = line.strip_prefix("# raises: ") {
            let (ty, l) = v.split_once(" line ").expect("raises: Type line N");
            cell.raises = Some((ty.to_string(), l.parse().expect("line")));
        } else if let Some(l) = line.strip_suffix("\\r") {
            cell.source.push_str(l);
            cell.source.push_str("\r\n");
        } else {
            cell.source.push_str(line);
            cell.source.push('\n');
        }
    }
    for (_, cells) in &mut out {
        cells.retain(|c| !c.source.trim().is_empty());
    }
    out
}

/// A session's cells with their predicted mode and the wire text of their tree (if transformed).
type AnalyzedSession = (String, Vec<(Cell, Mode, Option<String>)>);

#[test]
fn transformed_cells_route_compile_and_run_in_cpython() {
    let sessions = sessions();
    assert!(sessions.len() >= 30, "corpus too small: {}", sessions.len());

    // Analyze every session; refused cells stop their session (later cells depend on them).
    let mut runnable: Vec<AnalyzedSession> = Vec::new();
    let mut transformed = 0;
    for (name, cells) in &sessions {
        let mut state = SessionState::new();
        let mut run = Vec::new();
        for cell in cells {
            let a = analyze_cell(&cell.source, &mut state);
            if cell.refuse {
                assert_eq!(
                    a.mode,
                    Mode::SyntaxError,
                    "{name}: refused cell must be a syntax error"
                );
                assert!(
                    a.reasons.iter().any(|r| r.code() == "PR305"),
                    "{name}: a refusal explains itself: {:?}",
                    a.reasons
                );
                break;
            }
            assert_ne!(
                a.mode,
                Mode::SyntaxError,
                "{name}: {:?}\n{}",
                a.error,
                cell.source
            );
            for r in &a.reasons {
                assert!(
                    r.span.end as usize <= cell.source.len(),
                    "{name}: reason span outside the user's cell: {r:?}"
                );
            }
            let wire = a.transformed_tree().map(|t| {
                transformed += 1;
                let t = t.expect("a transformed cell has a tree");
                assert!(!a.transform.as_ref().expect("transform").records.is_empty());
                t.to_wire()
            });
            run.push((cell.clone(), a.mode, wire));
        }
        runnable.push((name.clone(), run));
    }
    assert!(
        transformed >= 40,
        "only {transformed} cells were transformed"
    );

    let request = json!({
        "decoder": pyast::WIRE_DECODER,
        "sessions": runnable.iter().map(|(_, cells)| cells.iter().map(|(c, mode, wire)| json!({
            "user": c.source, "wire": wire, "mode": mode.as_str(),
        })).collect::<Vec<_>>()).collect::<Vec<_>>(),
    });
    let mut child = Command::new("python3")
        .arg(RUNNER)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 on PATH");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("write request");
    let out = child.wait_with_output().expect("runner finished");
    assert!(out.status.success(), "runner failed");
    let results: Value = serde_json::from_slice(&out.stdout).expect("runner JSON");

    let mut checked_values = 0;
    for ((name, cells), res) in runnable.iter().zip(results.as_array().expect("list")) {
        for ((cell, mode, _), r) in cells.iter().zip(res.as_array().expect("list")) {
            let ctx = format!("session {name}, cell:\n{}\nresult: {r}", cell.source);
            assert!(r.get("compile_error").is_none(), "{ctx}");
            assert_eq!(r["name_mismatches"], json!([]), "{ctx}");
            assert_eq!(
                r["coroutine"].as_bool(),
                Some(*mode == Mode::TopLevelAwait),
                "CO_COROUTINE disagrees with the predicted mode {mode}: {ctx}"
            );
            if let Some((ty, line)) = &cell.raises {
                assert_eq!(r["raised"].as_str(), Some(ty.as_str()), "{ctx}");
                assert_eq!(r["raised_line"].as_u64(), Some(*line), "{ctx}");
                let user_line = cell.source.lines().nth(*line as usize - 1).expect("line");
                assert_eq!(r["raised_text"].as_str(), Some(user_line.trim()), "{ctx}");
            } else {
                assert!(r.get("raised").is_none(), "{ctx}");
            }
            if let Some(expect) = &cell.expect {
                assert_eq!(r["value"].as_str(), Some(expect.as_str()), "{ctx}");
                checked_values += 1;
            }
        }
    }
    assert!(checked_values >= 30, "only {checked_values} values checked");
}

#[test]
fn later_cells_await_functions_an_earlier_cell_made_async() {
    let mut state = SessionState::new();
    let first = analyze_cell(
        "import asyncio\ndef f():\n    return await asyncio.sleep(0, 5)\n",
        &mut state,
    );
    assert_eq!(first.mode, Mode::AsyncDef);
    let t = first.transform.as_ref().expect("rewritten");
    assert_eq!(t.records[0].kind.as_str(), "def_to_async_def");

    let second = analyze_cell("x = f()\n", &mut state);
    assert_eq!(second.mode, Mode::TopLevelAwait);
    let t = second.transform.as_ref().expect("await inserted");
    assert_eq!(t.source, "x = await f()\n");
    // The top-level-await reason points at the user's `f()`.
    let tla = second
        .reasons
        .iter()
        .find(|r| r.code() == "PR100")
        .expect("PR100");
    assert_eq!(
        &"x = f()\n"[tla.span.start as usize..tla.span.end as usize],
        "f()"
    );

    // Without the option, the analysis is CPython's verdict.
    let plain =
        pyrepl3_analyzer::analyze_cell("def g():\n    await h()\n", &mut SessionState::new());
    assert_eq!(plain.mode, Mode::SyntaxError);
    assert!(plain.transform.is_none());

    // A cell that does not call it is not transformed.
    let third = analyze_cell("y = 1\n", &mut state);
    assert!(third.transform.is_none());
    assert_eq!(third.mode, Mode::SimpleSync);
}
