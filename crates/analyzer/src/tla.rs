//! Top-level await: predicts exactly when CPython sets `CO_COROUTINE` on the module code.
//!
//! CPython 3.11 (compiling with `PyCF_ALLOW_TOP_LEVEL_AWAIT`) marks the module a coroutine when
//! code that runs in the module's own frame
//! - awaits (`await` anywhere in module-scope expressions: statements at any nesting of
//!   `if`/`while`/`for`/`try`/`with`/`match`, default values, decorators, class bases and
//!   keywords, evaluated annotations, f-strings, the first iterable of a comprehension);
//! - has an `async for` or `async with` statement;
//! - contains a comprehension — *including a generator expression* — that is asynchronous
//!   (an `async for` clause, an `await` in the comprehension's own scope, or a nested
//!   non-generator comprehension that is asynchronous). The generator-expression case is a
//!   quirk of CPython 3.11's code generator: `(x async for x in aiter())` at top level makes
//!   the module a coroutine although nothing is awaited when the cell runs.
//!
//! Code in `def`, `lambda` and `class` bodies runs in its own frame and never counts; neither do
//! annotations under `from __future__ import annotations` (they are not evaluated).

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, ModModule, Parameters, Stmt};
use ruff_text_size::{Ranged, TextRange};

use crate::span::Span;
use crate::stack;

/// One construct that makes the module a coroutine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopLevelAwait {
    /// The `await` expression, `async for`, `async with` or async comprehension.
    pub(crate) span: Span,
    /// The reason's message: what it is (e.g. "`await` expression") and what that means.
    pub(crate) message: &'static str,
}

/// The reason's message for a construct `$what` (a fixed text: no allocation per reason).
macro_rules! at_top_level {
    ($what:literal) => {
        concat!(
            $what,
            " at top level: the cell is compiled as a coroutine and awaited on the session's \
             event loop"
        )
    };
}

/// Every construct (in source order) that makes CPython 3.11 compile `module` as a coroutine
/// when `PyCF_ALLOW_TOP_LEVEL_AWAIT` is set. Empty when `CO_COROUTINE` would not be set.
///
/// `async_offsets` are where the cell's `async` and `await` keywords start, in order
/// ([`crate::parse::ParsedCell::async_offsets`]): statements and expressions whose range holds
/// none of them are skipped, so the walk goes only down the paths to those keywords.
///
/// Assumes the module compiles (see [`crate::syntax::check`]).
pub(crate) fn find(module: &ModModule, async_offsets: &[u32]) -> Vec<TopLevelAwait> {
    let found = find_walk(module, Some(async_offsets));
    // Every test that analyzes a cell checks that skipping changes nothing.
    debug_assert_eq!(found, find_walk(module, None));
    found
}

fn find_walk(module: &ModModule, async_offsets: Option<&[u32]>) -> Vec<TopLevelAwait> {
    if async_offsets.is_some_and(<[u32]>::is_empty) {
        return Vec::new();
    }
    let mut f = Finder {
        out: Vec::new(),
        future_annotations: crate::syntax::future_annotations(module),
        async_offsets,
    };
    f.visit_body(&module.body);
    f.out.sort_by_key(|a| (a.span.start, a.span.end));
    f.out
}

struct Finder<'o> {
    out: Vec<TopLevelAwait>,
    future_annotations: bool,
    /// See [`find`]; `None` walks everything.
    async_offsets: Option<&'o [u32]>,
}

impl Finder<'_> {
    /// Whether `range` holds an `async` or `await` keyword (or the walk is not pruned).
    fn may_hold_async(&self, range: TextRange) -> bool {
        self.async_offsets.is_none_or(|offsets| {
            let i = offsets.partition_point(|&o| o < range.start().to_u32());
            offsets.get(i).is_some_and(|&o| o < range.end().to_u32())
        })
    }

    fn push(&mut self, range: TextRange, message: &'static str) {
        self.out.push(TopLevelAwait {
            span: Span::from(range),
            message,
        });
    }

    fn parameters(&mut self, p: &Parameters, annotations: bool) {
        for d in p
            .iter_non_variadic_params()
            .filter_map(|p| p.default.as_deref())
        {
            self.visit_expr(d);
        }
        if annotations && !self.future_annotations {
            for param in p.iter() {
                if let Some(a) = param.annotation() {
                    self.visit_expr(a);
                }
            }
        }
    }

    fn comprehension(&mut self, e: &Expr, generators: &[ast::Comprehension], is_genexp: bool) {
        let Some(first) = generators.first() else {
            return;
        };
        if comprehension_is_async(e) {
            self.push(
                e.range(),
                if is_genexp {
                    at_top_level!("asynchronous generator expression")
                } else {
                    at_top_level!("asynchronous comprehension")
                },
            );
        }
        // Only the first iterable is evaluated in the module's frame.
        self.visit_expr(&first.iter);
    }
}

impl<'a> Visitor<'a> for Finder<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        // A `def` or `class` statement's range may not cover its decorators: those are checked
        // expression by expression.
        if !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_))
            && !self.may_hold_async(stmt.range())
        {
            return;
        }
        stack::guard(|| match stmt {
            Stmt::FunctionDef(f) => {
                for d in &f.decorator_list {
                    self.visit_expr(&d.expression);
                }
                self.parameters(&f.parameters, true);
                if !self.future_annotations
                    && let Some(r) = &f.returns
                {
                    self.visit_expr(r);
                }
            }
            Stmt::ClassDef(c) => {
                for d in &c.decorator_list {
                    self.visit_expr(&d.expression);
                }
                if let Some(args) = &c.arguments {
                    self.visit_arguments(args);
                }
            }
            Stmt::For(f) if f.is_async => {
                self.push(
                    TextRange::new(f.start(), f.iter.end()),
                    at_top_level!("`async for` loop"),
                );
                visitor::walk_stmt(self, stmt);
            }
            Stmt::With(w) if w.is_async => {
                let end = w.items.last().map_or(w.start(), |i| i.end());
                self.push(
                    TextRange::new(w.start(), end),
                    at_top_level!("`async with` statement"),
                );
                visitor::walk_stmt(self, stmt);
            }
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    self.visit_expr(v);
                }
                self.visit_expr(&a.target);
                if !self.future_annotations {
                    self.visit_expr(&a.annotation);
                }
            }
            _ => visitor::walk_stmt(self, stmt),
        });
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if !self.may_hold_async(expr.range()) {
            return;
        }
        stack::guard(|| match expr {
            Expr::Await(a) => {
                self.push(a.range, at_top_level!("`await` expression"));
                self.visit_expr(&a.value);
            }
            Expr::Lambda(l) => {
                if let Some(p) = &l.parameters {
                    self.parameters(p, false);
                }
            }
            Expr::ListComp(c) => self.comprehension(expr, &c.generators, false),
            Expr::SetComp(c) => self.comprehension(expr, &c.generators, false),
            Expr::DictComp(c) => self.comprehension(expr, &c.generators, false),
            Expr::Generator(c) => self.comprehension(expr, &c.generators, true),
            _ => visitor::walk_expr(self, expr),
        });
    }
}

/// Whether a comprehension's own scope is a coroutine (CPython's `ste_coroutine` for it).
pub(crate) fn comprehension_is_async(e: &Expr) -> bool {
    let (generators, parts): (&[ast::Comprehension], Vec<&Expr>) = match e {
        Expr::ListComp(c) => (&c.generators, vec![&*c.elt]),
        Expr::SetComp(c) => (&c.generators, vec![&*c.elt]),
        Expr::Generator(c) => (&c.generators, vec![&*c.elt]),
        Expr::DictComp(c) => {
            let mut v: Vec<&Expr> = vec![&*c.value];
            if let Some(k) = c.key.as_deref() {
                v.push(k);
            }
            (&c.generators, v)
        }
        _ => return false,
    };
    if generators.iter().any(|g| g.is_async) {
        return true;
    }
    let mut scan = ScopeAwait { found: false };
    for (i, g) in generators.iter().enumerate() {
        if i > 0 {
            scan.visit_expr(&g.iter);
        }
        scan.visit_expr(&g.target);
        for cond in &g.ifs {
            scan.visit_expr(cond);
        }
    }
    for p in parts {
        scan.visit_expr(p);
    }
    scan.found
}

/// Looks for what makes a comprehension's scope a coroutine, without entering nested scopes
/// other than through their parts evaluated in this scope.
struct ScopeAwait {
    found: bool,
}

impl<'a> Visitor<'a> for ScopeAwait {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.found {
            return;
        }
        stack::guard(|| match expr {
            Expr::Await(_) => self.found = true,
            Expr::Lambda(l) => {
                if let Some(p) = &l.parameters {
                    for d in p
                        .iter_non_variadic_params()
                        .filter_map(|p| p.default.as_deref())
                    {
                        self.visit_expr(d);
                    }
                }
            }
            Expr::ListComp(ast::ExprListComp { generators, .. })
            | Expr::SetComp(ast::ExprSetComp { generators, .. })
            | Expr::DictComp(ast::ExprDictComp { generators, .. }) => {
                if comprehension_is_async(expr) {
                    self.found = true;
                } else if let Some(first) = generators.first() {
                    self.visit_expr(&first.iter);
                }
            }
            Expr::Generator(ast::ExprGenerator { generators, .. }) => {
                // An asynchronous generator expression stays a generator: it does not make the
                // enclosing comprehension a coroutine.
                if let Some(first) = generators.first() {
                    self.visit_expr(&first.iter);
                }
            }
            _ => visitor::walk_expr(self, expr),
        });
    }
}
