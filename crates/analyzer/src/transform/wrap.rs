//! Transform 3: the whole cell as `async def __pyrepl3_cell__():` with `global` hoisting.
//!
//! The wrapper must leave the same namespace and produce the same value as running the cell
//! directly. Every name the cell binds at module level is declared `global`; annotated
//! assignments of plain names become an assignment plus the `__annotations__` update module
//! level does (a function body cannot annotate a global); statements a function body cannot
//! hold (`from __future__ import ...`, `from m import *`) stay at module level when they lead
//! the cell and are refused elsewhere; `return` and `yield` at cell level are refused with
//! CPython's message.

use std::cell::RefCell;

use ruff_python_ast::visitor::transformer::{self, Transformer};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{
    AtomicNodeIndex, Comprehension, Expr, ExprContext, ExprName, ExprStringLiteral, Identifier,
    ModModule, Stmt, StmtGlobal, StringLiteral, StringLiteralFlags, StringLiteralValue,
};
use ruff_python_codegen::{Generator, Indentation, Mode};
use ruff_source_file::LineEnding;
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::Refusal;
use super::edits::{Edit, Order, Piece};
use super::lines::{LineStart, Lines};
use super::scope::CellScopes;
use crate::span::Span;
use crate::stack;

/// The wrapper function's name; the executor calls it, awaits it and deletes it.
pub const WRAPPER_NAME: &str = "__pyrepl3_cell__";

/// The wrapping edits, or why the cell cannot be wrapped.
pub(crate) struct Wrapped {
    pub(crate) edits: Vec<Edit>,
    pub(crate) globals: Vec<String>,
    pub(crate) returns_value: bool,
}

/// Is `module` already a wrapped cell (so wrapping again would change nothing useful)?
pub(crate) fn is_wrapped(module: &ModModule) -> bool {
    let mut rest = module
        .body
        .iter()
        .enumerate()
        .filter(|(i, s)| !is_kept(s, *i == 0) && !is_annotations_prelude(s));
    matches!(
        (rest.next(), rest.next()),
        (Some((_, Stmt::FunctionDef(d))), None) if d.is_async && d.name.as_str() == WRAPPER_NAME
    )
}

/// `(__pyrepl3_cell__): 0`, which makes CPython set up `__annotations__` at module level.
fn is_annotations_prelude(stmt: &Stmt) -> bool {
    matches!(stmt, Stmt::AnnAssign(a) if !a.simple && a.value.is_none()
        && matches!(&*a.target, Expr::Name(n) if n.id.as_str() == WRAPPER_NAME))
}

fn is_future(stmt: &Stmt) -> bool {
    matches!(stmt, Stmt::ImportFrom(i) if i.module.as_ref().is_some_and(|m| m.as_str() == "__future__") && i.level == 0)
}

fn is_star(stmt: &Stmt) -> bool {
    matches!(stmt, Stmt::ImportFrom(i) if i.names.iter().any(|a| a.name.as_str() == "*"))
}

fn is_docstring(stmt: &Stmt) -> bool {
    matches!(stmt, Stmt::Expr(e) if e.value.is_string_literal_expr())
}

fn is_kept(stmt: &Stmt, first: bool) -> bool {
    is_future(stmt) || is_star(stmt) || (first && is_docstring(stmt))
}

/// Build the wrapper for `module` (parsed from `source`).
pub(crate) fn wrap(
    source: &str,
    module: &ModModule,
    cs: &CellScopes,
    lines: &Lines,
) -> Result<Wrapped, Refusal> {
    let body = &module.body;
    // Leading statements that stay at module level.
    let mut kept = 0;
    while kept < body.len() {
        let s = &body[kept];
        let last = kept + 1 == body.len();
        if is_future(s) || is_star(s) || (kept == 0 && is_docstring(s) && !last) {
            kept += 1;
        } else {
            break;
        }
    }
    let wrapped = &body[kept..];

    // What a function body cannot hold.
    let mut check = CellLevel::default();
    for s in wrapped {
        check.visit_stmt(s);
    }
    if let Some(r) = check.refusal {
        return Err(r);
    }
    for s in wrapped {
        if is_star(s) {
            return Err(Refusal {
                span: Span::from(s.range()),
                message: "`from ... import *` is only allowed at module level, and here it does not lead the cell: it cannot run inside the wrapper".into(),
                help: "move the star import to the top of the cell (or to a cell of its own), or import the names you need".into(),
            });
        }
        if is_future(s) {
            return Err(Refusal {
                span: Span::from(s.range()),
                message: "from __future__ imports must occur at the beginning of the file".into(),
                help: "move the `from __future__` import to the first line of the cell".into(),
            });
        }
    }
    let future_annotations = body[..kept].iter().any(|s| {
        is_future(s)
            && matches!(s, Stmt::ImportFrom(i) if i.names.iter().any(|a| a.name.as_str() == "annotations"))
    });

    let mut names: Vec<String> = cs.scopes[0].binders.keys().cloned().collect();
    names.sort();
    let prefix = if source
        .lines()
        .any(|l| l.trim_start_matches([' ', '\x0c']).starts_with('\t'))
    {
        "\t"
    } else {
        "    "
    };

    let mut edits = Vec::new();
    let mut header = String::new();
    if check.annotations {
        // The module-level `SETUP_ANNOTATIONS` CPython emits for a module with annotations.
        header.push_str(&format!("({WRAPPER_NAME}): 0\n"));
    }
    header.push_str(&format!("async def {WRAPPER_NAME}():\n"));
    if !names.is_empty() {
        header.push_str(&format!("{prefix}{}\n", global_statement(&names)));
    }
    let first_wrapped_line;
    match wrapped.first() {
        None => {
            header.push_str(&format!("{prefix}pass\n"));
            let at = source.len() as u32;
            let needs_newline = !source.is_empty() && !source.ends_with(['\n', '\r']);
            let text = if needs_newline {
                format!("\n{header}")
            } else {
                header
            };
            edits.push(Edit::insert(at, Order::Statement, text, Span::empty(at)));
            first_wrapped_line = usize::MAX;
        }
        Some(first) => {
            let st = first.start().to_u32();
            let line = lines.line_of(st);
            let line_start = lines.starts[line];
            let anchor = Span::new(st, st);
            // Only white space (or the byte-order mark at the very start) before the statement.
            let before = &source[line_start as usize..st as usize];
            if kept == 0 || before.trim_start_matches('\u{feff}').trim().is_empty() {
                // Own line: the header goes before it (lines before belong to kept statements).
                let bom = if source.starts_with('\u{feff}') { 3 } else { 0 };
                let at = if kept == 0 { bom } else { line_start.max(bom) };
                edits.push(Edit::insert(at, Order::Statement, header, anchor));
                first_wrapped_line = if kept == 0 { 0 } else { line };
            } else {
                // `from m import *; x = 1`: break the line after the kept statement.
                let prev_end = body[kept - 1].end().to_u32();
                edits.push(Edit::replace(
                    prev_end,
                    st,
                    vec![Piece::Text(format!("\n{header}{prefix}"))],
                    anchor,
                ));
                first_wrapped_line = line + 1;
            }
        }
    }

    // Indent every line of the wrapped part that is code (not inside a string).
    for (i, &ls) in lines.starts.iter().enumerate() {
        if i < first_wrapped_line || ls as usize >= source.len() {
            continue;
        }
        if lines.facts[i] == LineStart::InString {
            continue;
        }
        // A form feed resets CPython's indentation count: indent after the last one.
        let base = if ls == 0 && source.starts_with('\u{feff}') {
            3
        } else {
            ls
        };
        let rest = &source[base as usize..];
        let lead = rest.len() - rest.trim_start_matches([' ', '\t', '\x0c']).len();
        let at = rest[..lead]
            .rfind('\x0c')
            .map_or(base, |p| base + p as u32 + 1);
        edits.push(Edit::insert(at, Order::Open, prefix, Span::empty(ls)));
    }

    // Annotated assignments at cell level. Postponed annotations become strings: an annotation
    // CPython refuses must not become a string that compiles.
    if future_annotations {
        for stmt in &check.ann_assigns {
            let mut finder = Forbidden(None);
            finder.visit_expr(&stmt.annotation);
            if let Some((span, what)) = finder.0 {
                return Err(Refusal {
                    span,
                    message: format!("{what} can not be used within an annotation"),
                    help: "move the expression out of the annotation".into(),
                });
            }
        }
    }
    for stmt in &check.ann_assigns {
        annotation_edits(stmt, future_annotations, &mut edits);
    }

    // The trailing expression's value is the cell's value.
    let returns_value = match wrapped.last() {
        Some(Stmt::Expr(e)) => {
            let st = e.start().to_u32();
            edits.push(Edit::insert(st, Order::Open, "return ", Span::new(st, st)));
            true
        }
        _ => false,
    };
    Ok(Wrapped {
        edits,
        globals: names,
        returns_value,
    })
}

fn annotation_edits(
    stmt: &ruff_python_ast::StmtAnnAssign,
    future_annotations: bool,
    edits: &mut Vec<Edit>,
) {
    let (ss, se) = (stmt.start().to_u32(), stmt.end().to_u32());
    let anchor = Span::new(ss, se);
    let ann = &stmt.annotation;
    let (as_, ae) = (ann.start().to_u32(), ann.end().to_u32());
    let stored: Vec<Piece> = if future_annotations {
        vec![Piece::Text(py_repr(&annotation_string(ann)))]
    } else {
        vec![
            Piece::Text("(".into()),
            Piece::Slice(as_, ae),
            Piece::Text(")".into()),
        ]
    };
    match (&*stmt.target, &stmt.value) {
        (Expr::Name(n), value) if stmt.simple => {
            let key = format!("__annotations__[{}] = ", py_repr(n.id.as_str()));
            match value {
                Some(v) => {
                    let vs = v.start().to_u32();
                    edits.push(Edit::replace(
                        n.end().to_u32(),
                        vs,
                        vec![Piece::Text(" = ".into())],
                        anchor,
                    ));
                    let mut pieces = vec![Piece::Text(format!("; {key}"))];
                    pieces.extend(stored);
                    // After the value (and any closing parentheses around it).
                    edits.push(Edit {
                        start: se,
                        end: se,
                        order: Order::Statement,
                        pieces,
                        anchor,
                        in_place_only: false,
                    });
                }
                None => {
                    let mut pieces = vec![Piece::Text(key)];
                    pieces.extend(stored);
                    edits.push(Edit::replace(ss, se, pieces, anchor));
                }
            }
        }
        _ => {
            // Complex targets are allowed in functions, but module level also evaluates the
            // annotation (unless annotations are postponed).
            if !future_annotations {
                let mut pieces = vec![Piece::Text("; ".into())];
                pieces.extend(stored);
                edits.push(Edit {
                    start: se,
                    end: se,
                    order: Order::Statement,
                    pieces,
                    anchor,
                    in_place_only: false,
                });
            }
        }
    }
}

/// The string CPython stores for an annotation under `from __future__ import annotations`:
/// the output of its C unparser (`Python/ast_unparse.c`). That is ruff's `ast.unparse` mode
/// except that a tuple in a subscript or as a comprehension target has no parentheses, a tuple
/// as the whole annotation has them, starred arguments come before keyword arguments, and
/// implicitly concatenated strings are one string.
pub(crate) fn annotation_string(expr: &Expr) -> String {
    stack::guard(|| {
        let mut e = expr.clone();
        let holes = Normalize(RefCell::new(Vec::new()));
        holes.visit_expr(&mut e);
        let indent = Indentation::default();
        let mut text = Generator::new(&indent, LineEnding::Lf)
            .with_mode(Mode::AstUnparse)
            .expr(&e);
        for (i, elts) in holes.0.into_inner().iter().enumerate() {
            let mut inner = elts
                .iter()
                .map(annotation_string)
                .collect::<Vec<_>>()
                .join(", ");
            if elts.len() == 1 {
                inner.push(',');
            }
            text = text.replacen(&hole_name(i), &inner, 1);
        }
        if matches!(expr, Expr::Tuple(t) if !t.elts.is_empty()) {
            text = format!("({text})");
        }
        text
    })
}

fn hole_name(i: usize) -> String {
    format!("__pyrepl3_hole_{i}__")
}

/// Rewrites a copy of an annotation so ruff's generator prints what CPython's unparser prints;
/// tuples printed without parentheses are replaced by placeholder names ("holes") and filled in
/// afterwards.
struct Normalize(RefCell<Vec<Vec<Expr>>>);

impl Normalize {
    fn hole(&self, slot: &mut Expr) {
        if let Expr::Tuple(t) = slot
            && !t.elts.is_empty()
        {
            let elts = std::mem::take(&mut t.elts);
            let mut holes = self.0.borrow_mut();
            let name = hole_name(holes.len());
            holes.push(elts);
            *slot = Expr::Name(ExprName {
                node_index: AtomicNodeIndex::NONE,
                range: TextRange::default(),
                id: ruff_python_ast::name::Name::new(name),
                ctx: ExprContext::Load,
            });
        }
    }
}

impl Transformer for Normalize {
    fn visit_expr(&self, expr: &mut Expr) {
        stack::guard(|| {
            match expr {
                Expr::Subscript(sub) => {
                    self.visit_expr(&mut sub.value);
                    if matches!(&*sub.slice, Expr::Tuple(t) if !t.elts.is_empty()) {
                        self.hole(&mut sub.slice);
                    } else {
                        self.visit_expr(&mut sub.slice);
                    }
                    return;
                }
                Expr::StringLiteral(lit) if lit.value.is_implicit_concatenated() => {
                    let joined: Box<str> = lit.value.to_str().into();
                    lit.value = StringLiteralValue::single(StringLiteral {
                        range: TextRange::default(),
                        node_index: AtomicNodeIndex::NONE,
                        value: joined,
                        flags: StringLiteralFlags::empty(),
                    });
                }
                Expr::Call(call) => {
                    // CPython's tree keeps positional (and starred) arguments apart from
                    // keywords, so its unparser prints all of them first.
                    let after = TextSize::from(u32::MAX);
                    for k in &mut call.arguments.keywords {
                        k.range = TextRange::new(after, after);
                    }
                }
                _ => {}
            }
            transformer::walk_expr(self, expr);
        });
    }

    fn visit_comprehension(&self, comprehension: &mut Comprehension) {
        if matches!(&comprehension.target, Expr::Tuple(t) if !t.elts.is_empty()) {
            self.hole(&mut comprehension.target);
        } else {
            self.visit_expr(&mut comprehension.target);
        }
        self.visit_expr(&mut comprehension.iter);
        for cond in &mut comprehension.ifs {
            self.visit_expr(cond);
        }
    }
}

/// Python's `repr` of a `str`, by ruff's code generator (in `ast.unparse` mode it quotes and
/// escapes strings exactly as `repr` does).
pub(crate) fn py_repr(s: &str) -> String {
    let literal = Expr::StringLiteral(ExprStringLiteral {
        node_index: AtomicNodeIndex::NONE,
        range: TextRange::default(),
        value: StringLiteralValue::single(StringLiteral {
            range: TextRange::default(),
            node_index: AtomicNodeIndex::NONE,
            value: s.into(),
            flags: StringLiteralFlags::empty(),
        }),
    });
    let indent = Indentation::default();
    Generator::new(&indent, LineEnding::Lf)
        .with_mode(Mode::AstUnparse)
        .expr(&literal)
}

/// `global a, b, c`, by ruff's code generator.
fn global_statement(names: &[String]) -> String {
    let stmt = Stmt::Global(StmtGlobal {
        node_index: AtomicNodeIndex::NONE,
        range: TextRange::default(),
        names: names
            .iter()
            .map(|n| Identifier::new(n.as_str(), TextRange::default()))
            .collect(),
    });
    let indent = Indentation::default();
    Generator::new(&indent, LineEnding::Lf).stmt(&stmt)
}

/// The first expression CPython refuses in a postponed annotation.
struct Forbidden(Option<(Span, &'static str)>);

impl<'a> Visitor<'a> for Forbidden {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.0.is_some() {
            return;
        }
        let what = match expr {
            Expr::Named(_) => Some("'named expression'"),
            Expr::Yield(_) | Expr::YieldFrom(_) => Some("'yield expression'"),
            Expr::Await(_) => Some("'await expression'"),
            _ => None,
        };
        match what {
            Some(w) => self.0 = Some((Span::from(expr.range()), w)),
            None => stack::guard(|| visitor::walk_expr(self, expr)),
        }
    }
}

/// Cell-level statements and expressions (not inside `def`, `class`, `lambda` or
/// comprehensions): what a function body would change.
#[derive(Default)]
struct CellLevel<'a> {
    refusal: Option<Refusal>,
    annotations: bool,
    ann_assigns: Vec<&'a ruff_python_ast::StmtAnnAssign>,
}

impl CellLevel<'_> {
    fn refuse(&mut self, span: Span, message: &str, help: &str) {
        if self.refusal.is_none() {
            self.refusal = Some(Refusal {
                span,
                message: message.into(),
                help: help.into(),
            });
        }
    }
}

impl<'a> Visitor<'a> for CellLevel<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        stack::guard(|| {
            match stmt {
            Stmt::FunctionDef(d) => {
                for dec in &d.decorator_list {
                    self.visit_expr(&dec.expression);
                }
                visitor::walk_parameters(self, &d.parameters);
                if let Some(r) = &d.returns {
                    self.visit_expr(r);
                }
            }
            Stmt::ClassDef(c) => {
                for dec in &c.decorator_list {
                    self.visit_expr(&dec.expression);
                }
                if let Some(a) = &c.arguments {
                    self.visit_arguments(a);
                }
            }
            Stmt::Return(r) => self.refuse(
                Span::from(r.range),
                "'return' outside function",
                "a cell has no function to return from: end the cell with the expression whose value you want",
            ),
            Stmt::ImportFrom(i) if i.names.iter().any(|a| a.name.as_str() == "*") => self.refuse(
                Span::from(i.range),
                "`from ... import *` is only allowed at module level, and here it does not lead the cell: it cannot run inside the wrapper",
                "move the star import to the top of the cell (or to a cell of its own), or import the names you need",
            ),
            Stmt::AnnAssign(a) => {
                self.annotations = true;
                self.ann_assigns.push(a);
                visitor::walk_stmt(self, stmt);
            }
            _ => visitor::walk_stmt(self, stmt),
        }
        });
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        stack::guard(|| match expr {
            Expr::Lambda(l) => {
                if let Some(p) = &l.parameters {
                    visitor::walk_parameters(self, p);
                }
            }
            Expr::ListComp(_) | Expr::SetComp(_) | Expr::DictComp(_) | Expr::Generator(_) => {}
            Expr::Yield(y) => self.refuse(
                Span::from(y.range),
                "'yield' outside function",
                "a cell cannot be a generator: define a generator function and call it",
            ),
            Expr::YieldFrom(y) => self.refuse(
                Span::from(y.range),
                "'yield' outside function",
                "a cell cannot be a generator: define a generator function and call it",
            ),
            Expr::Call(c) => {
                if let Expr::Name(n) = &*c.func {
                    let nargs = c.arguments.args.len() + c.arguments.keywords.len();
                    let id = n.id.as_str();
                    let differs = match id {
                        "locals" | "vars" | "dir" => nargs == 0,
                        "exec" | "eval" => nargs < 2,
                        _ => false,
                    };
                    if differs {
                        self.refuse(
                            Span::from(c.range()),
                            &format!(
                                "`{id}(...)` at cell level sees the module namespace, but inside the wrapper it would see the wrapper's local variables: the cell would behave differently"
                            ),
                            &format!(
                                "pass the namespace explicitly (e.g. `{}`), or run the cell directly",
                                match id {
                                    "exec" | "eval" => format!("{id}(code, globals())"),
                                    _ => "globals()".to_string(),
                                }
                            ),
                        );
                    }
                }
                visitor::walk_expr(self, expr);
            }
            _ => visitor::walk_expr(self, expr),
        });
    }
}
