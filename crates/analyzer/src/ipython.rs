//! IPython escape commands (`%magic`, `!shell`, `?help`) found in notebook cells.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ModModule, Stmt};
use ruff_text_size::Ranged;

use crate::span::Span;
use crate::stack;

/// Spans of every IPython escape command in `module` (parsed in IPython mode).
pub(crate) fn escape_commands(module: &ModModule) -> Vec<Span> {
    struct Finder(Vec<Span>);
    impl<'a> Visitor<'a> for Finder {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if let Stmt::IpyEscapeCommand(c) = stmt {
                self.0.push(Span::from(c.range()));
            }
            stack::guard(|| visitor::walk_stmt(self, stmt));
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::IpyEscapeCommand(c) = expr {
                self.0.push(Span::from(c.range()));
            }
            stack::guard(|| visitor::walk_expr(self, expr));
        }
    }
    let mut f = Finder(Vec::new());
    f.visit_body(&module.body);
    f.0
}
