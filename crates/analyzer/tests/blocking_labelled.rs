//! Precision and recall of blocking-I/O detection on fifteen labelled corpora (one session per
//! file, cells labelled `blocking` or `clean`): `tests/fixtures/labelled/`, written with the
//! engine, and `tests/fixtures/labelled_blind/` to `labelled_blind14/`, each written by another
//! author without reading the engine (their READMEs say how, and what the first evaluation
//! found).
//!
//! Run with `cargo test -p pyrepl3-analyzer --test blocking_labelled -- --nocapture` to see the
//! figures and every misclassified cell.

use std::path::Path;

use pyrepl3_analyzer::{CellOptions, SessionState, analyze_cell_with};

/// One labelled cell.
struct Cell {
    file: String,
    line: u32,
    source: String,
    blocking: bool,
}

fn corpus(name: &str) -> Vec<Vec<Cell>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    let mut sessions = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable corpus file");
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut cells: Vec<Cell> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if let Some(label) = line.strip_prefix("# %%") {
                let blocking = match label.trim() {
                    "blocking" => true,
                    "clean" => false,
                    other => panic!("{file}:{}: unknown label {other:?}", i + 1),
                };
                cells.push(Cell {
                    file: file.clone(),
                    line: i as u32 + 2,
                    source: String::new(),
                    blocking,
                });
            } else if let Some(cell) = cells.last_mut() {
                cell.source.push_str(line);
                cell.source.push('\n');
            } else {
                assert!(line.trim().is_empty(), "{file}: text before the first cell");
            }
        }
        sessions.push(cells);
    }
    sessions
}

/// Precision and recall on one corpus; prints the figures and every misclassified cell.
fn measure(name: &str) -> (u32, f64, f64) {
    let (mut tp, mut fp, mut fn_, mut tn) = (0u32, 0u32, 0u32, 0u32);
    let mut misses = Vec::new();
    for session in corpus(name) {
        let mut state = SessionState::new();
        for cell in session {
            let options = CellOptions {
                first_line: cell.line,
                ipython: false,
                ..CellOptions::default()
            };
            let a = analyze_cell_with(&cell.source, &mut state, &options);
            assert!(
                a.error.is_none(),
                "{}:{}: {:?}",
                cell.file,
                cell.line,
                a.error
            );
            let found = !a.blocking_calls.is_empty();
            match (cell.blocking, found) {
                (true, true) => tp += 1,
                (false, false) => tn += 1,
                (false, true) => {
                    fp += 1;
                    let names: Vec<_> = a.blocking_calls.iter().map(|c| &c.name).collect();
                    misses.push(format!("FP {}:{} {names:?}", cell.file, cell.line));
                }
                (true, false) => {
                    fn_ += 1;
                    misses.push(format!("FN {}:{}\n{}", cell.file, cell.line, cell.source));
                }
            }
        }
    }
    let precision = f64::from(tp) / f64::from(tp + fp);
    let recall = f64::from(tp) / f64::from(tp + fn_);
    println!(
        "{name}: cells: {} (blocking {}, clean {}); tp {tp} fp {fp} fn {fn_} tn {tn}; precision {precision:.3} recall {recall:.3}",
        tp + fp + fn_ + tn,
        tp + fn_,
        tn + fp
    );
    for m in &misses {
        println!("{m}");
    }
    (tp + fp + fn_ + tn, precision, recall)
}

/// The bar (precision >= 0.97, recall >= 0.95) on corpus `name`, which holds at least
/// `min_cells` cells.
fn meets_the_bar(name: &str, min_cells: u32) {
    let (cells, precision, recall) = measure(name);
    assert!(
        cells >= min_cells,
        "{name} has at least {min_cells} cells, not {cells}"
    );
    assert!(precision >= 0.97, "{name}: precision {precision:.3} < 0.97");
    assert!(recall >= 0.95, "{name}: recall {recall:.3} < 0.95");
}

#[test]
fn precision_and_recall_on_the_labelled_corpus() {
    meets_the_bar("labelled", 250);
}

/// The blind set is the honest estimate of how the engine does on code it was not tuned on;
/// it must clear the bar (precision >= 0.97, recall >= 0.95) too.
#[test]
fn precision_and_recall_on_the_blind_corpus() {
    meets_the_bar("labelled_blind", 300);
}

/// The second blind set (another author, another round, written without reading the engine):
/// the same bar.
#[test]
fn precision_and_recall_on_the_second_blind_corpus() {
    meets_the_bar("labelled_blind2", 300);
}

/// The third blind set (a third round, realistic sessions from many kinds of notebooks and
/// scripts): the same bar.
#[test]
fn precision_and_recall_on_the_third_blind_corpus() {
    meets_the_bar("labelled_blind3", 250);
}

/// The fourth blind set (a fourth round: the evaluation categories in unusual but real forms,
/// many domains): the same bar.
#[test]
fn precision_and_recall_on_the_fourth_blind_corpus() {
    meets_the_bar("labelled_blind4", 250);
}

/// The fifth blind set (ordinary notebook code spread evenly over the evaluation's categories):
/// the same bar.
#[test]
fn precision_and_recall_on_the_fifth_blind_corpus() {
    meets_the_bar("labelled_blind5", 250);
}

/// The sixth blind set (another writer: incidents, smoke tests, scraping, learning asyncio):
/// the same bar.
#[test]
fn precision_and_recall_on_the_sixth_blind_corpus() {
    meets_the_bar("labelled_blind6", 250);
}

/// The seventh blind set (shells of web apps, DevOps, data science, save files, asyncio
/// exercises, security): the same bar.
#[test]
fn precision_and_recall_on_the_seventh_blind_corpus() {
    meets_the_bar("labelled_blind7", 200);
}

/// The eighth blind set (IoT, bank reporting, bioinformatics, SRE, LLM apps, a chat bot): the
/// same bar.
#[test]
fn precision_and_recall_on_the_eighth_blind_corpus() {
    meets_the_bar("labelled_blind8", 200);
}

/// The ninth blind set (code as the libraries' documentation and tutorials teach it, then
/// adapted): the same bar.
#[test]
fn precision_and_recall_on_the_ninth_blind_corpus() {
    meets_the_bar("labelled_blind9", 200);
}

/// The tenth blind set (when each library really does its I/O: lazy and eager constructors,
/// objects built but not run, lazy results consumed later, in-memory look-alikes): the same
/// bar.
#[test]
fn precision_and_recall_on_the_tenth_blind_corpus() {
    meets_the_bar("labelled_blind10", 200);
}

/// The eleventh blind set (the eight categories as an outside evaluator would write
/// them to compare tools): the same bar.
#[test]
fn precision_and_recall_on_the_eleventh_blind_corpus() {
    meets_the_bar("labelled_blind11", 200);
}

/// The twelfth blind set (code an AI agent's tool runner executes, mistakes included): the
/// same bar.
#[test]
fn precision_and_recall_on_the_twelfth_blind_corpus() {
    meets_the_bar("labelled_blind12", 200);
}

/// The thirteenth blind set (the execution path: dead branches, short circuits, helper chains,
/// constant arguments, dunder protocols, definition time). The one set under the bar:
/// 0.777 / 0.947 on first contact, 0.941 / 0.974 after the fixes its README lists. What is
/// open needs reasoning pyrepl3 does not do: which calls raise (`int("2")` succeeds and
/// `int("two")` does not, so only one `except` branch runs), generators stepped one `next` at a
/// time. This test keeps the figures from falling back.
#[test]
fn precision_and_recall_on_the_thirteenth_blind_corpus_do_not_fall_back() {
    let (cells, precision, recall) = measure("labelled_blind13");
    assert!(
        cells >= 200,
        "labelled_blind13 has at least 200 cells, not {cells}"
    );
    assert!(
        precision >= 0.940,
        "labelled_blind13: precision {precision:.3} < 0.940"
    );
    assert!(
        recall >= 0.973,
        "labelled_blind13: recall {recall:.3} < 0.973"
    );
}

/// The fourteenth blind set (a linter maintainer's benchmark in the eight categories,
/// each blocking pattern paired with a clean near-miss): the same bar.
#[test]
fn precision_and_recall_on_the_fourteenth_blind_corpus() {
    meets_the_bar("labelled_blind14", 200);
}
