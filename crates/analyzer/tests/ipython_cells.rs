//! Notebook cells (IPython mode): escape commands are reported and the rest is analyzed, also where
//! ruff's IPython parser needs `escape_guard`'s help not to panic.

use pyrepl3_analyzer::{CellAnalysis, CellOptions, Mode, SessionState, analyze_cell_with};

fn notebook(src: &str) -> CellAnalysis {
    let options = CellOptions {
        ipython: true,
        ..CellOptions::default()
    };
    analyze_cell_with(src, &mut SessionState::new(), &options)
}

/// The source text of each escape-command reason.
fn escapes<'a>(a: &CellAnalysis, src: &'a str) -> Vec<&'a str> {
    a.reasons
        .iter()
        .filter(|r| r.rule.code == "PR107")
        .map(|r| &src[r.span.start as usize..r.span.end as usize])
        .collect()
}

#[test]
fn help_and_auto_call_lines_are_reported_and_the_rest_is_analyzed() {
    let src = ";f a b\n?x\nimport time\n/g 1\ntime.sleep(1)\ny?\n";
    let a = notebook(src);
    assert_eq!(a.mode, Mode::BlockingSync, "{:?}", a.reasons);
    assert_eq!(escapes(&a, src), [";f a b", "?x", "/g 1", "y?"]);
    assert_eq!(a.blocking_calls.len(), 1);
    assert_eq!(a.blocking_calls[0].name, "time.sleep");

    // The same lines outside a notebook are not Python.
    let plain = pyrepl3_analyzer::analyze_cell(src, &mut SessionState::new());
    assert_eq!(plain.mode, Mode::SyntaxError);
}

#[test]
fn escape_characters_that_continue_a_line_stay_python() {
    // A backslash continuation and a leading comma inside brackets are not escapes.
    for src in ["x = 1 \\\n, 2\n", "f(a\n  , b)\n", "x = a \\\n/ b\n"] {
        let a = notebook(src);
        assert_eq!(a.mode, Mode::SimpleSync, "{src:?}: {:?}", a.reasons);
        assert!(escapes(&a, src).is_empty(), "{src:?}");
    }
}

#[test]
fn an_escape_after_an_unfinished_lambda_is_a_syntax_error_not_a_panic() {
    // Found by fuzzing: ruff's IPython parser took the escape as the lambda's body and panicked.
    for src in [
        "lambda x\n,f\n",
        "lambda\r,z",
        "y = [lambda\n]\n;f\n",
        "lambda\n# c\n\n?x\n",
        "lambda\n//f\n",
        "lambda\n/=f\n",
    ] {
        let a = notebook(src);
        assert_eq!(a.mode, Mode::SyntaxError, "{src:?}: {:?}", a.reasons);
        assert!(a.error.is_some());
    }
}
