//! Syntax rules: why CPython would refuse a cell.

mod await_outside_async_function;
mod compile_error;
mod syntax_error;
mod too_deeply_nested;

pub use await_outside_async_function::AwaitOutsideAsyncFunction;
pub use compile_error::CompileError;
pub use syntax_error::SyntaxError;
pub use too_deeply_nested::TooDeeplyNested;

use super::{Rule, RuleMeta};

/// The rules of this group.
pub static RULES: &[&RuleMeta] = &[
    &SyntaxError::META,
    &CompileError::META,
    &AwaitOutsideAsyncFunction::META,
    &TooDeeplyNested::META,
];

#[cfg(test)]
mod tests {
    use crate::{Mode, SessionState, analyze_cell};

    /// Run a fixture: cells separated by `# %% TAG` lines; TAG is the code of the cell's first
    /// reason, or `ok` for a cell that compiles. Returns the rendered diagnostics.
    fn run_fixture(text: &str) -> String {
        let mut out = String::new();
        let mut cells: Vec<(usize, &str, String)> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if let Some(tag) = line.strip_prefix("# %% ") {
                cells.push((i + 2, tag.trim(), String::new()));
            } else if let Some((_, _, src)) = cells.last_mut() {
                src.push_str(line);
                src.push('\n');
            }
        }
        assert!(!cells.is_empty(), "fixture has no cells");
        for (first_line, tag, src) in &cells {
            let a = analyze_cell(src, &mut SessionState::new());
            if *tag == "ok" {
                assert_ne!(a.mode, Mode::SyntaxError, "line {first_line}: {src}");
                out.push_str(&format!("line {first_line}: ok ({})\n", a.mode.as_str()));
                continue;
            }
            assert_eq!(a.mode, Mode::SyntaxError, "line {first_line}: {src}");
            let r = &a.reasons[0];
            assert_eq!(r.code(), *tag, "line {first_line}: {src}");
            let pos = a.line_index.cpython(r.span.start);
            out.push_str(&format!(
                "line {}:{}: {} {}\n",
                first_line + pos.line as usize - 1,
                pos.col + 1,
                r.code(),
                r.message
            ));
            if let Some(help) = &r.help {
                out.push_str(&format!("    help: {help}\n"));
            }
        }
        out
    }

    #[test]
    fn compile_error_fixture() {
        insta::assert_snapshot!(run_fixture(include_str!("fixtures/compile_error.py")));
    }

    #[test]
    fn await_outside_async_function_fixture() {
        insta::assert_snapshot!(run_fixture(include_str!(
            "fixtures/await_outside_async_function.py"
        )));
    }
}
