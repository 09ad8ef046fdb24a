//! Whether the REPL's input so far is a complete statement, or it should ask for more lines.
//!
//! The rules follow CPython's interactive prompt:
//! - a line ending in a backslash continues;
//! - input the parser rejects only because it ended too early (an unclosed bracket or
//!   triple-quoted string, a compound statement's header without its body) continues;
//! - input that starts with a compound statement (`if`, `for`, `def`, `class`, `with`, `try`,
//!   `while`, `match`, `async ...`, a decorator) continues until an empty line, as in CPython,
//!   since more clauses (`else:`, more body lines) may follow;
//! - anything else is complete, including input with a syntax error that is not at its end
//!   (running it reports the error).
//!
//! The parse is the analyzer's (`pyrepl3-analyzer`), which never fails: its syntax error says
//! where the input went wrong, and an error at the very end means "unexpected end of input".

use pyrepl3_analyzer::{Mode, SessionState, analyze_cell};

/// What the REPL should do with the input so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    /// Run it.
    Complete,
    /// Show the continuation prompt and read another line.
    Incomplete,
}

/// Keywords that open a compound statement at the start of a line.
const COMPOUND: [&str; 9] = [
    "if", "for", "while", "def", "class", "with", "try", "async", "match",
];

/// The first logical line's statement is a compound statement (or a decorator).
fn starts_compound(source: &str) -> bool {
    let Some(first) = source
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
    else {
        return false;
    };
    if first.starts_with('@') {
        return true;
    }
    let word: String = first
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if !COMPOUND.contains(&word.as_str()) {
        return false;
    }
    // `match` is a soft keyword: `match = 1` or `match(x)` are simple statements; a match
    // statement's header ends with a colon.
    word != "match" || first.trim_end().ends_with(':')
}

/// The text at `offset` starts a triple-quoted string (after its prefix letters, e.g. `rb"""`):
/// an unclosed one there continues on the next line.
fn opens_triple_quote(text: &str, offset: usize) -> bool {
    let Some(rest) = text.get(offset..) else {
        return false;
    };
    let rest = rest.trim_start_matches(|c: char| "rRbBuUfF".contains(c));
    rest.starts_with("\"\"\"") || rest.starts_with("'''")
}

/// Decide whether `source` (the lines typed so far, joined with `\n`, without a final newline)
/// is complete.
pub fn completeness(source: &str) -> Completeness {
    if source.trim().is_empty() {
        return Completeness::Complete;
    }
    // An empty last line ends any block (CPython's rule for the interactive prompt), but not an
    // open bracket or string, nor a header still waiting for its body.
    let ended_by_blank = source.contains('\n')
        && source
            .rsplit('\n')
            .next()
            .is_some_and(|l| l.trim().is_empty());
    if source.ends_with('\\') {
        return Completeness::Incomplete;
    }
    let text = format!("{source}\n");
    let analysis = analyze_cell(&text, &mut SessionState::new());
    if analysis.mode == Mode::SyntaxError {
        if let Some(error) = &analysis.error {
            let at_end = error.span.start as usize >= source.trim_end().len();
            let unterminated = opens_triple_quote(&text, error.span.start as usize)
                || error
                    .message
                    .starts_with("unterminated triple-quoted string");
            // CPython reports an open bracket at the bracket, not at the end of the input.
            let open_bracket = error.message.ends_with("was never closed");
            if unterminated || at_end || open_bracket {
                return Completeness::Incomplete;
            }
        }
        return Completeness::Complete;
    }
    if ended_by_blank {
        return Completeness::Complete;
    }
    if starts_compound(source) {
        return Completeness::Incomplete;
    }
    Completeness::Complete
}

#[cfg(test)]
mod tests {
    use super::*;
    use Completeness::*;

    #[track_caller]
    fn check(src: &str, want: Completeness) {
        assert_eq!(completeness(src), want, "{src:?}");
    }

    #[test]
    fn simple_statements_are_complete() {
        check("x = 1", Complete);
        check("print('hi')", Complete);
        check("await asyncio.sleep(0)", Complete);
        check("match = 3", Complete);
        check("", Complete);
        check("# just a comment", Complete);
    }

    #[test]
    fn open_brackets_and_strings_continue() {
        check("x = (1,", Incomplete);
        check("f(1,\n  2", Incomplete);
        check("f(1,\n  2)", Complete);
        check("d = {", Incomplete);
        check("s = '''abc", Incomplete);
        check("s = '''abc\ndef'''", Complete);
        check("x = 1 + \\", Incomplete);
    }

    #[test]
    fn compound_statements_wait_for_a_blank_line() {
        check("if x:", Incomplete);
        check("for i in range(3):\n    print(i)", Incomplete);
        check("for i in range(3):\n    print(i)\n", Complete);
        check("def f():\n    return 1\n", Complete);
        check("class A: pass", Incomplete);
        check("class A: pass\n", Complete);
        check("@dec", Incomplete);
        check("async def f():", Incomplete);
        check("try:\n    x\nexcept E:", Incomplete);
        check("match x:", Incomplete);
    }

    #[test]
    fn errors_before_the_end_run_and_report() {
        check("x = = 1", Complete);
        check("1 +* 2", Complete);
        check(")", Complete);
    }

    #[test]
    fn an_unclosed_single_quoted_string_is_an_error_not_more_input() {
        check("s = 'abc", Complete);
        check("s = rb'''abc", Incomplete);
    }
}
