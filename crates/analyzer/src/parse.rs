//! Parsing a cell with ruff's parser, behind guards that match CPython's own limits.

use ruff_python_ast::token::TokenKind;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ModModule, PythonVersion, Stmt};
use ruff_python_parser::{Mode as ParserMode, ParseOptions, Parsed};
use ruff_text_size::{Ranged, TextRange};

use crate::span::Span;
use crate::stack;

/// CPython's tokenizer refuses more than this many nested brackets (`MAXLEVEL`).
pub(crate) const MAX_BRACKET_DEPTH: usize = 200;
/// CPython's tokenizer refuses more than this many indentation levels (`MAXINDENT`).
pub(crate) const MAX_INDENT_DEPTH: usize = 100;
/// Beyond this syntax-tree depth CPython 3.11's parser raises `RecursionError`
/// ("maximum recursion depth exceeded during ast construction"), and so do we.
pub(crate) const MAX_TREE_DEPTH: usize = 1000;

/// Why a cell could not be turned into a tree we analyze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseFailure {
    /// CPython's exception type: `SyntaxError`, `IndentationError`, `RecursionError`.
    pub(crate) kind: &'static str,
    pub(crate) message: String,
    pub(crate) span: Span,
    /// `true` when a nesting limit (not a grammar error) was hit.
    pub(crate) too_deep: bool,
}

/// A parsed cell and the depth of its tree. Dropping it is safe however deep the tree is.
pub(crate) struct ParsedCell {
    parsed: Option<Parsed<ModModule>>,
    depth: usize,
}

impl ParsedCell {
    /// The module.
    pub(crate) fn module(&self) -> &ModModule {
        self.parsed.as_ref().expect("present until drop").syntax()
    }

    /// The parse result (tokens, errors).
    pub(crate) fn parsed(&self) -> &Parsed<ModModule> {
        self.parsed.as_ref().expect("present until drop")
    }
}

impl Drop for ParsedCell {
    fn drop(&mut self) {
        if let Some(p) = self.parsed.take() {
            stack::drop_deep(p, self.depth);
        }
    }
}

/// Parse `source` as a Python 3.11 module (or an IPython cell when `ipython` is set).
///
/// Returns the tree, or the first error CPython would report. Never panics, never overflows the
/// stack (the parser itself grows its stack with `stacker`; we measure the depth before anyone
/// walks the tree).
pub(crate) fn parse_cell(source: &str, ipython: bool) -> Result<ParsedCell, ParseFailure> {
    let mode = if ipython {
        ParserMode::Ipython
    } else {
        ParserMode::Module
    };
    let options = ParseOptions::from(mode).with_target_version(PythonVersion::PY311);
    let parsed = ruff_python_parser::parse_unchecked(source, options)
        .try_into_module()
        .expect("Mode::Module and Mode::Ipython always give a module");

    // Tokenizer limits first: CPython's tokenizer runs before its parser.
    if let Some(f) = nesting_failure(&parsed) {
        let depth = measure_depth(parsed.syntax());
        stack::drop_deep(parsed, depth);
        return Err(f);
    }

    let depth = measure_depth(parsed.syntax());
    let cell = ParsedCell {
        parsed: Some(parsed),
        depth,
    };
    if depth > MAX_TREE_DEPTH {
        return Err(ParseFailure {
            kind: "RecursionError",
            message: "maximum recursion depth exceeded during ast construction".to_string(),
            span: Span::new(0, source.len() as u32),
            too_deep: true,
        });
    }

    let p = cell.parsed();
    let first_error = p
        .errors()
        .iter()
        .map(|e| (e.location, e.error.to_string()))
        .chain(
            p.unsupported_syntax_errors()
                .iter()
                .map(|e| (e.range, e.to_string())),
        )
        .min_by_key(|(r, _)| (r.start(), r.end()));
    if let Some((range, message)) = first_error {
        return Err(ParseFailure {
            kind: error_kind(&message),
            message: cpython_message(&message),
            span: Span::from(range),
            too_deep: false,
        });
    }
    Ok(cell)
}

fn error_kind(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("indent") {
        "IndentationError"
    } else {
        "SyntaxError"
    }
}

/// Ruff's messages, reworded where CPython's wording is well known.
fn cpython_message(message: &str) -> String {
    message.to_string()
}

/// Bracket and indentation limits of CPython's tokenizer, checked on ruff's tokens.
fn nesting_failure(parsed: &Parsed<ModModule>) -> Option<ParseFailure> {
    let mut brackets = 0usize;
    let mut indents = 0usize;
    for tok in parsed.tokens().iter() {
        match tok.kind() {
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => {
                brackets += 1;
                if brackets > MAX_BRACKET_DEPTH {
                    return Some(ParseFailure {
                        kind: "SyntaxError",
                        message: "too many nested parentheses".to_string(),
                        span: Span::from(tok.range()),
                        too_deep: true,
                    });
                }
            }
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => {
                brackets = brackets.saturating_sub(1);
            }
            TokenKind::Indent => {
                indents += 1;
                if indents >= MAX_INDENT_DEPTH {
                    return Some(ParseFailure {
                        kind: "IndentationError",
                        message: "too many levels of indentation".to_string(),
                        span: Span::from(tok.range()),
                        too_deep: true,
                    });
                }
            }
            TokenKind::Dedent => indents = indents.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Maximum nesting depth of statements and expressions.
fn measure_depth(module: &ModModule) -> usize {
    struct Depth {
        current: usize,
        max: usize,
    }
    impl<'a> Visitor<'a> for Depth {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            self.current += 1;
            self.max = self.max.max(self.current);
            stack::guard(|| visitor::walk_stmt(self, stmt));
            self.current -= 1;
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            self.current += 1;
            self.max = self.max.max(self.current);
            stack::guard(|| visitor::walk_expr(self, expr));
            self.current -= 1;
        }
    }
    let mut d = Depth { current: 0, max: 0 };
    d.visit_body(&module.body);
    d.max
}

/// The range of the whole cell, for errors about the cell as a whole.
#[allow(dead_code)]
pub(crate) fn whole(source: &str) -> TextRange {
    TextRange::up_to(ruff_text_size::TextSize::new(source.len() as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_over_cpython_limit_are_refused() {
        let ok = format!("{}1{}", "(".repeat(199), ")".repeat(199));
        assert!(parse_cell(&ok, false).is_ok());
        let bad = format!("{}1{}", "(".repeat(201), ")".repeat(201));
        let err = parse_cell(&bad, false).err().expect("refused");
        assert_eq!(err.message, "too many nested parentheses");
    }

    #[test]
    fn very_deep_expressions_do_not_overflow() {
        // 200k terms of a left-deep binary chain: deeper than any default stack can walk naively.
        let src = vec!["1"; 200_000].join("+");
        let err = parse_cell(&src, false).err().expect("too deep for CPython");
        assert_eq!(err.kind, "RecursionError");
        let src = format!("x = {}y", "not ".repeat(100_000));
        assert!(parse_cell(&src, false).is_err());
    }

    #[test]
    fn deep_indentation_is_refused() {
        let mut src = String::new();
        for i in 0..101 {
            src.push_str(&" ".repeat(i));
            src.push_str("if x:\n");
        }
        src.push_str(&" ".repeat(101));
        src.push_str("pass\n");
        let err = parse_cell(&src, false).err().expect("refused");
        assert_eq!(err.kind, "IndentationError");
    }
}
