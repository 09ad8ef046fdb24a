//! Rendering tests that do not depend on what the analyzer's passes find today: the analyses are
//! built by hand, so the text and JSON renderers are checked on every kind of reason (blocking
//! calls with their resolution, related spans, help, multi-byte characters, CRLF, notebooks).

use pyrepl3_analyzer::{
    BlockingCall, CellAnalysis, Diagnostic, LineIndex, Mode, RuleMeta, Severity, Span, rules,
};
use pyrepl3_cli::inputs::Kind;
use pyrepl3_cli::json;
use pyrepl3_cli::report::{CellReport, FileReport};
use pyrepl3_cli::text::TextRenderer;

static BLOCKING_SLEEP: RuleMeta = RuleMeta {
    code: "PR201",
    name: "blocking-sleep",
    severity: Severity::Warning,
    doc: "",
};

fn span_of(src: &str, needle: &str) -> Span {
    let start = src.find(needle).expect("needle in source") as u32;
    Span::new(start, start + needle.len() as u32)
}

fn rule(code: &str) -> &'static RuleMeta {
    rules::find(code).expect("rule exists")
}

/// A top-level-await cell (starting at line 3 of its file) that also blocks.
fn blocking_on_loop_cell(src: &str) -> CellReport {
    let call = span_of(src, "t.sleep(0.5)");
    let import = span_of(src, "import time as t");
    let analysis = CellAnalysis {
        mode: Mode::TopLevelAwait,
        reasons: vec![
            Diagnostic::new(
                rule("PR100"),
                "`await` expression at top level: the cell is awaited on the session's event loop",
                span_of(src, "await asyncio.sleep(0)"),
            ),
            Diagnostic::new(
                rule("PR102"),
                "`time.sleep` blocks while the cell runs on the event loop: the loop stalls here",
                call,
            )
            .with_help(
                "use `await asyncio.sleep(...)`, or `await asyncio.to_thread(time.sleep, ...)`",
            )
            .with_related(import, "`t` is `time`, imported here"),
        ],
        blocking_calls: vec![BlockingCall {
            name: "time.sleep".into(),
            span: call,
            via: "import time as t (line 4)".into(),
            rule: &BLOCKING_SLEEP,
        }],
        bound_names: vec!["t".into()],
        dynamic_writes: false,
        needs_loop_thread: true,
        error: None,
        line_index: LineIndex::new(src),
        transform: None,
        trailing_expression: None,
    };
    CellReport {
        index: 1,
        line: 3,
        notebook_position: None,
        source: src.to_string(),
        analysis,
        transform: Default::default(),
    }
}

const CELL: &str = "# %% naïve café\nimport time as t\nmsg = \"déjà vu\"; await asyncio.sleep(0)\nx = '日本'; t.sleep(0.5)\n";

fn file(cell: CellReport) -> FileReport {
    FileReport {
        path: "demo.py".into(),
        kind: Kind::Python,
        cells: vec![cell],
    }
}

fn plain(s: String) -> String {
    anstream::adapter::strip_str(&s).to_string()
}

#[test]
fn text_renders_blocking_call_related_span_and_help() {
    let out = plain(TextRenderer::new().file(&file(blocking_on_loop_cell(CELL))));
    insta::assert_snapshot!(out);
    // The pointer names the file's line and the character column (not the byte column).
    assert!(out.contains("--> demo.py:6:11"), "{out}");
}

#[test]
fn text_with_crlf_line_endings_matches_lf() {
    let crlf = CELL.replace('\n', "\r\n");
    let lf_out = plain(TextRenderer::new().file(&file(blocking_on_loop_cell(CELL))));
    let crlf_out = plain(TextRenderer::new().file(&file(blocking_on_loop_cell(&crlf))));
    // Same lines, same carets; a CRLF line may only gain a trailing space.
    let norm = |s: &str| {
        s.lines()
            .map(|l| l.trim_end().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(norm(&lf_out), norm(&crlf_out));
    assert!(!crlf_out.contains('\r'));
}

#[test]
fn json_positions_are_file_lines_and_character_columns() {
    let report = file(blocking_on_loop_cell(CELL));
    let value = serde_json::to_value(json::File::new(&report)).unwrap();
    let cell = &value["cells"][0];
    assert_eq!(cell["line"], 3);
    assert_eq!(cell["end_line"], 6);
    assert_eq!(cell["mode"], "top_level_await");
    let call = &cell["blocking_calls"][0];
    assert_eq!(call["name"], "time.sleep");
    assert_eq!(call["via"], "import time as t (line 4)");
    // Line 6 of the file is `x = '日本'; t.sleep(0.5)`: the call starts at character 11.
    let line6 = "x = '日本'; t.sleep(0.5)";
    let expected = line6.find("t.sleep").unwrap();
    let expected_col = line6[..expected].chars().count() + 1;
    assert_eq!(call["line"], 6);
    assert_eq!(call["column"], expected_col as u64);
    assert_eq!(
        call["end_column"],
        (expected_col + "t.sleep(0.5)".len()) as u64
    );
    let reason = &cell["reasons"][1];
    assert_eq!(reason["code"], "PR102");
    assert_eq!(reason["rule"], "blocking-on-loop");
    assert_eq!(reason["severity"], "warning");
    assert_eq!(reason["line"], 6);
    assert_eq!(reason["column"], expected_col as u64);
    assert_eq!(reason["related"][0]["line"], 4);
    assert_eq!(reason["related"][0]["column"], 1);
    // `await` on line 5, after `msg = "déjà vu"; `.
    let line5 = "msg = \"déjà vu\"; await asyncio.sleep(0)";
    let await_col = line5[..line5.find("await").unwrap()].chars().count() + 1;
    assert_eq!(cell["reasons"][0]["line"], 5);
    assert_eq!(cell["reasons"][0]["column"], await_col as u64);
    assert_eq!(cell["error"], serde_json::Value::Null);
}

#[test]
fn notebook_cells_are_named_by_cell_and_count_lines_from_the_cell() {
    let mut cell = blocking_on_loop_cell(CELL);
    cell.line = 1;
    cell.notebook_position = Some(4);
    let report = FileReport {
        path: "nb.ipynb".into(),
        kind: Kind::Notebook,
        cells: vec![cell],
    };
    let out = plain(TextRenderer::new().file(&report));
    assert!(
        out.starts_with("nb.ipynb:cell 1 · top_level_await"),
        "{out}"
    );
    assert!(out.contains("--> nb.ipynb:cell 1:4:11"), "{out}");
    let value = serde_json::to_value(json::File::new(&report)).unwrap();
    assert_eq!(value["kind"], "notebook");
    assert_eq!(value["cells"][0]["notebook_cell"], 4);
    assert_eq!(value["cells"][0]["blocking_calls"][0]["line"], 4);
}

#[test]
fn cell_level_reasons_have_no_snippet_and_severity_colours_are_strippable() {
    let src = "x = 1\n";
    let cell = CellReport {
        index: 0,
        line: 1,
        notebook_position: None,
        source: src.into(),
        analysis: CellAnalysis {
            mode: Mode::SimpleSync,
            reasons: vec![Diagnostic::new(
                rule("PR104"),
                "runs directly",
                Span::empty(0),
            )],
            blocking_calls: vec![],
            bound_names: vec!["x".into()],
            dynamic_writes: false,
            needs_loop_thread: false,
            error: None,
            line_index: LineIndex::new(src),
            transform: None,
            trailing_expression: None,
        },
        transform: Default::default(),
    };
    let styled = TextRenderer::new().file(&file(cell));
    assert!(
        styled.contains('\u{1b}'),
        "styled output carries ANSI codes"
    );
    let out = plain(styled);
    assert_eq!(
        out,
        "demo.py:1 · cell 0 · simple_sync — runs directly on the loop thread\ninfo[PR104]: runs directly\n\n"
    );
}

#[test]
fn identical_reasons_render_as_one_message_with_every_place() {
    let src = "%time x = 1\ny = 2\n!ls\n";
    let escape = |needle: &str| {
        Diagnostic::new(
            rule("PR107"),
            "IPython escape command",
            span_of(src, needle),
        )
    };
    let cell = CellReport {
        index: 0,
        line: 1,
        notebook_position: Some(0),
        source: src.into(),
        analysis: CellAnalysis {
            mode: Mode::SimpleSync,
            reasons: vec![escape("%time x = 1"), escape("!ls")],
            blocking_calls: vec![],
            bound_names: vec![],
            dynamic_writes: false,
            needs_loop_thread: false,
            error: None,
            line_index: LineIndex::new(src),
            transform: None,
            trailing_expression: None,
        },
        transform: Default::default(),
    };
    let report = FileReport {
        path: "nb.ipynb".into(),
        kind: Kind::Notebook,
        cells: vec![cell],
    };
    let out = plain(TextRenderer::new().file(&report));
    assert_eq!(out.matches("warning[PR107]").count(), 1, "{out}");
    assert!(out.contains("1 | %time x = 1\n  | ^^^^^^^^^^^"), "{out}");
    assert!(out.contains("3 | !ls\n  | ^^^"), "{out}");
    // JSON keeps one reason per place.
    let value = serde_json::to_value(json::File::new(&report)).unwrap();
    assert_eq!(value["cells"][0]["reasons"].as_array().unwrap().len(), 2);
}
