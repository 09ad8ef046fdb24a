//! Rule fixtures of the transform rules (PR300–PR305), in the way of ruff's linter: each line of
//! `tests/transform/fixtures/PRxxx.py` tagged `# PRxxx` must get a reason of that rule starting on
//! it, lines tagged `# ok: PRxxx` and untagged lines must not; the rendered reasons are snapshotted.

use pyrepl3_analyzer::SessionState;
use pyrepl3_analyzer::rules;
use pyrepl3_analyzer::transform::{TransformOptions, TransformResult, transform_cell};

fn run(code: &str, source: &str) -> TransformResult {
    // The wrapper rule is only raised when wrapping is asked for.
    let wrap = code == "PR303";
    transform_cell(source, &mut SessionState::new(), &TransformOptions { wrap })
}

fn check(code: &str, source: &str) -> String {
    let rule = rules::find(code).expect("rule exists");
    assert!(rule.doc.contains("## Use instead") || code == "PR303");
    let r = run(code, source);
    let lines_with: Vec<u32> = r
        .reasons
        .iter()
        .filter(|d| d.code() == code)
        .map(|d| r.line_index.cpython(d.span.start).line)
        .collect();
    for (i, line) in source.lines().enumerate() {
        let n = i as u32 + 1;
        let tagged = line.trim_end().ends_with(&format!("# {code}"));
        let found = lines_with.contains(&n);
        assert_eq!(
            tagged, found,
            "{code} line {n} `{line}`: tagged {tagged}, reported {found}\nreasons: {:#?}",
            r.reasons
        );
    }
    let mut out = String::new();
    for d in r.reasons.iter().filter(|d| d.code() == code) {
        let s = r.line_index.human(source, d.span.start);
        let text = source.lines().nth(s.line as usize - 1).unwrap_or("");
        out.push_str(&format!(
            "{code} [{}] {}:{}: {}\n  | {text}\n",
            d.severity.as_str(),
            s.line,
            s.column,
            d.message
        ));
        if let Some(h) = &d.help {
            out.push_str(&format!("  = help: {h}\n"));
        }
    }
    out
}

macro_rules! fixture {
    ($name:ident, $code:literal) => {
        #[test]
        fn $name() {
            let src = include_str!(concat!("transform/fixtures/", $code, ".py"));
            insta::assert_snapshot!($code, check($code, src));
        }
    };
}

fixture!(pr300_def_to_async_def, "PR300");
fixture!(pr301_lambda_to_async_def, "PR301");
fixture!(pr302_await_inserted, "PR302");
fixture!(pr303_wrap_with_globals, "PR303");
fixture!(pr304_coroutine_used_synchronously, "PR304");
fixture!(pr305_transform_refused, "PR305");
