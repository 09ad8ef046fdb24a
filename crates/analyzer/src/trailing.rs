//! The cell's trailing expression statement (whose value is the cell's result), and whether a
//! trailing `;` suppresses it — decided on the parser's tokens, as a REPL user expects.
//!
//! The executor splits the cell at [`TrailingExpression::span`] instead of parsing the cell a
//! second time with Python's `ast`: the statements before it run in `'exec'` mode, the
//! expression in `'eval'` mode, both at their original lines and columns.

use ruff_python_ast::token::{TokenKind, Tokens};
use ruff_python_ast::{ModModule, Stmt};
use ruff_text_size::Ranged;

use crate::span::Span;

/// The last top-level statement of a cell, when it is an expression statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrailingExpression {
    /// The expression statement, as CPython's `ast.Expr` locates it (including parentheses
    /// around the expression, excluding a `;`, comments and whitespace after it).
    pub span: Span,
    /// The last significant token of the cell is `;` (comments and whitespace after it do
    /// not count): the value is not shown (`x;`, `x  ;  # comment`).
    pub suppressed: bool,
}

/// The trailing expression statement of a parsed cell.
pub(crate) fn find(module: &ModModule, tokens: &Tokens) -> Option<TrailingExpression> {
    let Some(Stmt::Expr(last)) = module.body.last() else {
        return None;
    };
    let significant = tokens.iter().rev().find(|t| {
        !matches!(
            t.kind(),
            TokenKind::Newline
                | TokenKind::NonLogicalNewline
                | TokenKind::Comment
                | TokenKind::Indent
                | TokenKind::Dedent
                | TokenKind::EndOfFile
        )
    });
    Some(TrailingExpression {
        span: Span::from(last.range()),
        suppressed: significant.is_some_and(|t| t.kind() == TokenKind::Semi),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::{Command, Stdio};

    use crate::{SessionState, analyze_cell};

    /// `(start, end, suppressed)` of each cell's trailing expression, by the analyzer.
    fn ours(cell: &str) -> Option<(u32, u32, bool)> {
        let a = analyze_cell(cell, &mut SessionState::new());
        a.trailing_expression
            .map(|t| (t.span.start, t.span.end, t.suppressed))
    }

    #[test]
    fn expression_statements_and_suppression() {
        assert_eq!(ours("1 + 1"), Some((0, 5, false)));
        assert_eq!(ours("1 + 1;"), Some((0, 5, true)));
        assert_eq!(ours("x  ;  # comment"), Some((0, 1, true)));
        assert_eq!(ours("x  # ;"), Some((0, 1, false)));
        assert_eq!(ours("x = 1"), None);
        assert_eq!(ours("x = 1; x"), Some((7, 8, false)));
        assert_eq!(ours("x; y = 1"), None);
        assert_eq!(ours("if x:\n    x\n"), None);
        assert_eq!(ours("(1 +\n 2);\n\n"), Some((0, 8, true)));
        assert_eq!(ours("';'"), Some((0, 3, false)));
        assert_eq!(ours(""), None);
        assert_eq!(ours("# only a comment\n"), None);
        // Syntax errors have no trailing expression.
        assert_eq!(ours("x +"), None);
    }

    #[test]
    fn transformed_cells_locate_it_in_the_users_text() {
        let options = crate::CellOptions {
            transform: true,
            ..crate::CellOptions::default()
        };
        let mut state = SessionState::new();
        let src = "import asyncio\ndef f():\n    await asyncio.sleep(0)\n    return 1\nf()  ;\n";
        let a = crate::analyze_cell_with(src, &mut state, &options);
        assert!(a.transform.is_some());
        let t = a.trailing_expression.expect("trailing expression");
        assert_eq!(&src[t.span.start as usize..t.span.end as usize], "f()");
        assert!(t.suppressed);
        // A later cell calling it: `await` is inserted, the value is still the result.
        let later = crate::analyze_cell_with("f() + 1", &mut state, &options);
        assert!(later.transform.is_some());
        let t = later.trailing_expression.expect("trailing expression");
        assert_eq!((t.span.start, t.span.end, t.suppressed), (0, 7, false));
    }

    /// CPython's verdict on each cell: the last statement's `Expr` position as byte offsets, and
    /// whether the last significant token (per `tokenize`) is `;`.
    const ORACLE: &str = r#"
import ast, io, json, sys, tokenize
cells = json.load(sys.stdin)
out = []
for src in cells:
    tree = ast.parse(src)
    raw = src.encode()
    starts = [0]
    for line in raw.splitlines(True):
        starts.append(starts[-1] + len(line))
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr):
        out.append(None)
        continue
    skip = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER}
    toks = [t for t in tokenize.generate_tokens(io.StringIO(src).readline) if t.type not in skip]
    out.append([starts[last.lineno - 1] + last.col_offset,
                starts[last.end_lineno - 1] + last.end_col_offset,
                toks[-1].string == ";"])
print(json.dumps(out))
"#;

    fn cpython(cells: &[&str]) -> Vec<Option<(u32, u32, bool)>> {
        let mut child = Command::new("python3")
            .args(["-c", ORACLE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let input = format!(
            "[{}]",
            cells
                .iter()
                .map(|c| json_string(c))
                .collect::<Vec<_>>()
                .join(",")
        );
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("writes");
        let out = child.wait_with_output().expect("python3 finishes");
        assert!(out.status.success(), "oracle failed");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v.as_array()
            .expect("list")
            .iter()
            .map(|e| {
                e.as_array().map(|t| {
                    (
                        t[0].as_u64().expect("start") as u32,
                        t[1].as_u64().expect("end") as u32,
                        t[2].as_bool().expect("suppressed"),
                    )
                })
            })
            .collect()
    }

    fn json_string(s: &str) -> String {
        serde_json::Value::String(s.to_string()).to_string()
    }

    #[test]
    fn matches_cpython() {
        let cells = [
            "1 + 1",
            "1 + 1;",
            "1 + 1 ;",
            "1 + 1 ;  # done",
            "x  ;  # comment",
            "x  # ;",
            "x = 1",
            "x = 1;",
            "x = 1; x",
            "x = 1; x;",
            "x; y = 1",
            "';'",
            "'''a;\n'''",
            "'''a;\n''';",
            "(1 +\n 2);\n\n",
            "(1 +\n 2)\n# trailing comment;\n",
            "((x))",
            "(x)(y)",
            "(x) + (y);",
            "[\n  1,\n  2,\n]",
            "x \\\n  + 1",
            "x \\\n  ;",
            "await f()",
            "await f();",
            "lambda: 1",
            "f'{x};'",
            "f'{x}' ;",
            "é = 1\né",
            "'é' + 'ü' ; # é",
            "if x:\n    y\n",
            "if x:\n    y;\n",
            "def f():\n    return 1\nf()\n",
            "class C: pass\nC\n    \n",
            "x\n\n\n# c\n\n",
            "\n\n  # c\nx",
            "x if y else z",
            "*a, b = c\na",
            "...",
            "x\r\ny;\r\n",
            "a;b;c",
            "a;b;c;",
            "not x",
            "-x ;",
            "x[1:2]",
            "x.y.z;",
            "(x for x in y)",
            "\"doc\"",
        ];
        let expected = cpython(&cells);
        for (cell, want) in cells.iter().zip(expected) {
            assert_eq!(ours(cell), want, "cell {cell:?}");
        }
    }
}
