//! Names a cell binds at module scope, and writes to the namespace that bypass bindings.
//!
//! The executor uses these to find what a cell changed without diffing the whole namespace:
//! every name the cell can bind or delete in the module namespace is listed, and anything the
//! syntax cannot pin down (`globals()[...] = ...`, `exec`, `from m import *`...) is reported as a
//! dynamic write.
//!
//! The rules live in [`Binder`], which a walk feeds node by node. The analysis feeds it from the
//! compile-error check's code-generation walk ([`crate::syntax::check`]), which visits every
//! statement and expression anyway, so the cell's tree is not walked again for its bindings;
//! [`collect`] feeds it from a walk of its own (what that walk does not evaluate, such as
//! annotations under `from __future__ import annotations`, it hands to [`walk_expr`]).

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{
    self as ast, Expr, ExprContext, Identifier, ModModule, Parameters, Pattern, Stmt,
};
use ruff_text_size::{Ranged, TextRange};

use crate::span::Span;
use crate::stack;

/// What a cell does to the module namespace, as far as the syntax shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ModuleBindings {
    /// Every name bound (or deleted) at module scope, sorted and deduplicated.
    pub(crate) names: Vec<crate::BoundName>,
    /// Dynamic writes (`globals()[...] = ...`, `exec`, `from m import *`...), with a description.
    pub(crate) dynamic_writes: Vec<(Span, String)>,
    /// `async def` statements at module level: name and span of the definition header.
    pub(crate) coroutine_defs: Vec<(String, Span)>,
}

/// Collect the module-scope bindings of `module` with a walk of their own.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn collect(module: &ModModule) -> ModuleBindings {
    collect_in(module, true)
}

/// Whether `name` is one of the names every dynamic write this module reports is made of (as a
/// called name, a name or an attribute): `exec`, `eval`, `globals`, `vars`, `locals`, `modules`.
///
/// Code in nested scopes (function and class bodies, lambdas, comprehensions) and expressions
/// can change what [`collect`] finds only through a `global` declaration, an assignment
/// expression, or one of these names; without any of them a walk can skip those parts of the
/// tree ([`crate::parse::ParsedCell::bindings_need_full_walk`], [`Binder::new`]). The token scan
/// asks this of every name 4, 6 or 7 bytes long, so it compares fixed-size arrays (a length
/// test and an integer compare or two; matching `&str` literals calls `memcmp` per candidate).
#[inline]
pub(crate) fn is_namespace_name(name: &[u8]) -> bool {
    if let Ok(b) = <[u8; 4]>::try_from(name) {
        b == *b"exec" || b == *b"eval" || b == *b"vars"
    } else if let Ok(b) = <[u8; 6]>::try_from(name) {
        b == *b"locals"
    } else if let Ok(b) = <[u8; 7]>::try_from(name) {
        b == *b"globals" || b == *b"modules"
    } else {
        false
    }
}

/// [`collect`], walking into expressions and nested scopes only when `full` (see
/// [`is_namespace_name`]); module-level statements, their targets and patterns are always walked.
#[cfg_attr(not(any(test, debug_assertions)), allow(dead_code))]
pub(crate) fn collect_in(module: &ModModule, full: bool) -> ModuleBindings {
    let found = collect_walk(module, full);
    // Every test that analyzes a cell checks that the short walk finds what the full one does.
    #[cfg(debug_assertions)]
    if !full {
        debug_assert_eq!(found, collect_walk(module, true));
    }
    found
}

#[cfg_attr(not(any(test, debug_assertions)), allow(dead_code))]
fn collect_walk(module: &ModModule, full: bool) -> ModuleBindings {
    let mut binder = Binder::new(module, full);
    Collector {
        b: &mut binder,
        level: 0,
    }
    .visit_body(&module.body);
    binder.finish()
}

/// Feed `binder` with `e`, an expression the caller's walk does not visit (an annotation that is
/// not evaluated), as [`collect`] would visit it at this point of its walk.
pub(crate) fn walk_expr<'a>(binder: &mut Binder<'a>, e: &'a Expr) {
    Collector {
        b: binder,
        level: 0,
    }
    .visit_expr(e);
}

/// The name `import a.b.c` or `import a.b as c` binds (`a`, `c`).
pub(crate) fn import_binding(alias: &ast::Alias) -> &str {
    match &alias.asname {
        Some(a) => a.as_str(),
        None => {
            let name = alias.name.as_str();
            &name[..name.bytes().position(|b| b == b'.').unwrap_or(name.len())]
        }
    }
}

/// The first eight bytes of `name`, big-endian, zero-padded: when two names' keys differ, they
/// order the names as [`cmp_names`] does (a shorter name's padding is never above the longer
/// name's byte), so only names with equal keys need comparing.
#[inline]
fn sort_key(name: &str) -> u64 {
    let mut b = [0u8; 8];
    let n = name.len().min(8);
    b[..n].copy_from_slice(&name.as_bytes()[..n]);
    u64::from_be_bytes(b)
}

/// `a.cmp(b)`, byte by byte inline: names are short and usually differ in their first bytes, where
/// a call to `memcmp` per comparison would cost more than the comparison.
fn cmp_names(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// A nested function, lambda, class or comprehension scope and the names declared `global` in it.
///
/// A binding is global when the scope declares the name `global`, usually before (CPython
/// refuses most bindings before the declaration, but not imports, nor an assignment in an
/// `except` handler before a declaration in the `else` branch).
#[derive(Default)]
struct NestedScope<'a> {
    globals: Vec<&'a str>,
    /// Names bound in this scope before any `global` declaration of them.
    bound_before: Vec<&'a str>,
    /// Comprehension scopes pass walrus targets up to the enclosing scope.
    comprehension: bool,
}

/// The module-scope bindings of a cell, gathered node by node by a walk of its tree.
///
/// The walk calls [`Binder::enter`]/[`Binder::exit`] around every nested scope (function and
/// class bodies, lambdas, comprehensions, in CPython's scoping: decorators, defaults, evaluated
/// annotations, class arguments and a comprehension's first iterable outside it), and the other
/// methods for the nodes they name. Within one statement the order of the calls does not matter.
pub(crate) struct Binder<'a> {
    /// Track nested scopes and expressions: without (see [`is_namespace_name`]) only bindings at
    /// module level count, and the expression hooks do nothing.
    full: bool,
    /// How many nested scopes are open.
    nested: u32,
    /// Every module-scope binding, repeats included, with its [`sort_key`]: sorting and
    /// deduplicating once at the end costs less than hashing each binding into a set.
    module_names: Vec<(u64, &'a str)>,
    /// The open nested scopes, innermost last (only when `full`).
    scopes: Vec<NestedScope<'a>>,
    out: ModuleBindings,
}

impl<'a> Binder<'a> {
    /// A binder for `module`. `full` may be false only when the module has no `global`
    /// declaration, no assignment expression and no name [`is_namespace_name`] accepts
    /// ([`crate::parse::ParsedCell::bindings_need_full_walk`]).
    pub(crate) fn new(module: &'a ModModule, full: bool) -> Self {
        // Most statements of a cell bind a name or two: one allocation, not a series as it grows.
        let mut module_names = Vec::with_capacity(module.body.len() + 4);
        if let Some(Stmt::Expr(e)) = module.body.first()
            && e.value.is_string_literal_expr()
        {
            // A docstring sets `__doc__` when the cell's code runs.
            module_names.push((sort_key("__doc__"), "__doc__"));
        }
        Self {
            full,
            nested: 0,
            module_names,
            scopes: Vec::new(),
            out: ModuleBindings::default(),
        }
    }

    /// Whether expressions and nested scopes can bind module names or write the namespace.
    #[inline]
    pub(crate) fn full(&self) -> bool {
        self.full
    }

    /// The walk is in code that runs in the module's frame.
    #[inline]
    fn at_module(&self) -> bool {
        self.nested == 0
    }

    /// The bindings found, names sorted and deduplicated, dynamic writes in source order.
    pub(crate) fn finish(self) -> ModuleBindings {
        let mut names = self.module_names;
        // Most comparisons are decided by the keys, without reading the names.
        names.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| cmp_names(a.1, b.1)));
        names.dedup_by(|a, b| a.1 == b.1);
        let mut out = self.out;
        out.names = names
            .into_iter()
            .map(|(_, n)| crate::BoundName::from(n))
            .collect();
        out.dynamic_writes.sort_by_key(|(s, _)| (s.start, s.end));
        out
    }

    /// Open a nested scope (a comprehension's when `comprehension`).
    #[inline]
    pub(crate) fn enter(&mut self, comprehension: bool) {
        self.nested += 1;
        if self.full {
            self.scopes.push(NestedScope {
                comprehension,
                ..NestedScope::default()
            });
        }
    }

    /// Close the innermost nested scope.
    #[inline]
    pub(crate) fn exit(&mut self) {
        self.nested = self.nested.saturating_sub(1);
        if self.full {
            self.exit_scope();
        }
    }

    /// Names declared `global` in the scope being closed, and bound in it before that, are
    /// module names.
    fn exit_scope(&mut self) {
        if let Some(s) = self.scopes.pop() {
            for g in s.globals {
                if s.bound_before.contains(&g) {
                    self.push_module(g);
                }
            }
        }
    }

    /// `name` is bound at module scope.
    #[inline]
    fn push_module(&mut self, name: &'a str) {
        self.module_names.push((sort_key(name), name));
    }

    fn bind_in(&mut self, scope: Option<usize>, name: &'a str) {
        match scope {
            None => self.push_module(name),
            Some(i) => {
                let s = &mut self.scopes[i];
                if s.globals.contains(&name) {
                    self.push_module(name);
                } else {
                    s.bound_before.push(name);
                }
            }
        }
    }

    /// `name` is bound (or deleted) in the current scope.
    #[inline]
    pub(crate) fn bind(&mut self, name: &'a str) {
        if self.at_module() {
            self.push_module(name);
        } else if self.full {
            self.bind_in(Some(self.scopes.len() - 1), name);
        }
    }

    /// `name` is an assignment expression's target: it binds in the nearest enclosing scope that
    /// is not a comprehension.
    pub(crate) fn bind_walrus(&mut self, name: &'a str) {
        if self.at_module() {
            self.push_module(name);
        } else if self.full {
            let scope = self.scopes.iter().rposition(|s| !s.comprehension);
            self.bind_in(scope, name);
        }
    }

    /// The parameters of the function or lambda whose scope was just entered.
    #[inline]
    pub(crate) fn bind_params(&mut self, p: &'a Parameters) {
        if self.full && !self.at_module() {
            for param in p.iter() {
                self.bind(param.name().as_str());
            }
        }
    }

    /// A `global` declaration of `names` in the current scope.
    pub(crate) fn global(&mut self, names: &'a [Identifier]) {
        if let Some(s) = self.scopes.last_mut() {
            s.globals.extend(names.iter().map(|n| n.as_str()));
        }
    }

    /// A `def` or `async def` statement in the current scope (the walk enters its body apart).
    pub(crate) fn function_def(&mut self, f: &'a ast::StmtFunctionDef) {
        if f.is_async && self.at_module() {
            let end = f.returns.as_deref().map_or(f.parameters.end(), Ranged::end);
            let start = f
                .decorator_list
                .last()
                .map_or(f.start(), |_| f.name.start());
            self.out.coroutine_defs.push((
                f.name.to_string(),
                Span::from(TextRange::new(start.min(end), end)),
            ));
        }
        self.bind(f.name.as_str());
    }

    /// An annotated assignment statement (`simple`: its target is a plain name).
    #[inline]
    pub(crate) fn annotated(&mut self, simple: bool) {
        if simple && self.at_module() {
            self.push_module("__annotations__");
        }
    }

    /// An `import` statement.
    fn import(&mut self, i: &'a ast::StmtImport) {
        for alias in &i.names {
            self.bind(import_binding(alias));
        }
    }

    /// A `from ... import` statement.
    fn import_from(&mut self, i: &'a ast::StmtImportFrom) {
        for alias in &i.names {
            if alias.name.as_str() == "*" {
                self.star_import(i);
            } else {
                let name = alias.asname.as_ref().unwrap_or(&alias.name);
                self.bind(name.as_str());
            }
        }
    }

    /// `from m import *` (the statement `i`) binds names the syntax does not show.
    #[cold]
    pub(crate) fn star_import(&mut self, i: &'a ast::StmtImportFrom) {
        if self.at_module() {
            let module = i.module.as_deref().unwrap_or("");
            let dots = ".".repeat(i.level as usize);
            self.dynamic(
                i.range(),
                format!("`from {dots}{module} import *` binds names the syntax does not show"),
            );
        }
    }

    /// An assignment target (of `=`, augmented or annotated `=`, `del`, `for`, `with ... as`
    /// or a comprehension's `for`): the names it binds, and whether it writes the namespace.
    /// Not its children (subscripts, attribute owners): the walk visits those as expressions.
    #[inline]
    pub(crate) fn target(&mut self, t: &'a Expr) {
        match t {
            Expr::Name(n) => self.bind(n.id.as_str()),
            Expr::Subscript(_) | Expr::Attribute(_) => {
                if self.full {
                    self.expr_node(t);
                }
            }
            _ => self.target_parts(t),
        }
    }

    fn target_parts(&mut self, t: &'a Expr) {
        match t {
            Expr::Name(n) => self.bind(n.id.as_str()),
            Expr::Tuple(tuple) => tuple.elts.iter().for_each(|e| self.nested_target(e)),
            Expr::List(list) => list.elts.iter().for_each(|e| self.nested_target(e)),
            Expr::Starred(s) => self.nested_target(&s.value),
            Expr::Subscript(_) | Expr::Attribute(_) => self.expr_node(t),
            _ => {}
        }
    }

    /// A part of a target: a name, or a deeper part (with a stack check).
    fn nested_target(&mut self, t: &'a Expr) {
        match t {
            Expr::Name(n) => self.bind(n.id.as_str()),
            _ => stack::guard(|| self.target_parts(t)),
        }
    }

    /// A match-pattern capture (`case x`, `case [*rest]`, `case {**rest}`, `case P() as x`).
    #[inline]
    pub(crate) fn capture(&mut self, name: &'a str) {
        self.bind(name);
    }

    /// A call expression: `exec(...)`, `setattr(sys.modules[__name__], ...)`,
    /// `globals().update(...)` write the namespace.
    #[inline]
    pub(crate) fn call(&mut self, call: &'a ast::ExprCall) {
        if self.full {
            self.call_full(call);
        }
    }

    /// A subscript expression that is a target: `globals()[...] = ...` writes the namespace.
    #[inline]
    fn subscript_target(&mut self, s: &'a ast::ExprSubscript) {
        if self.full && self.is_namespace_mapping(&s.value) {
            self.dynamic(s.range, "writes the module namespace through a mapping");
        }
    }

    /// An attribute expression that is a target: `sys.modules[__name__].x = ...` writes the
    /// namespace.
    #[inline]
    fn attribute_target(&mut self, a: &'a ast::ExprAttribute) {
        if self.full && is_this_module(&a.value) {
            self.dynamic(a.range, "sets an attribute of the module object");
        }
    }

    /// The node `e` itself (not its children): [`Binder::call`], [`Binder::subscript_target`]
    /// or [`Binder::attribute_target`] by its kind and context.
    pub(crate) fn expr_node(&mut self, e: &'a Expr) {
        match e {
            Expr::Call(c) => self.call(c),
            Expr::Subscript(s) if s.ctx != ExprContext::Load => self.subscript_target(s),
            Expr::Attribute(a) if a.ctx != ExprContext::Load => self.attribute_target(a),
            _ => {}
        }
    }

    fn call_full(&mut self, call: &'a ast::ExprCall) {
        match call.func.as_ref() {
            Expr::Name(n) => match n.id.as_str() {
                "exec" | "eval" => {
                    self.dynamic(call.range(), format!("`{}` can bind any name", n.id));
                }
                "setattr" | "delattr"
                    if call.arguments.args.first().is_some_and(is_this_module) =>
                {
                    self.dynamic(call.range(), format!("`{}` on the module object", n.id));
                }
                _ => {}
            },
            Expr::Attribute(a)
                if MUTATING_METHODS.contains(&a.attr.as_str())
                    && self.is_namespace_mapping(&a.value) =>
            {
                self.dynamic(
                    call.range(),
                    format!("`.{}()` on the module namespace", a.attr),
                );
            }
            _ => {}
        }
    }

    #[cold]
    fn dynamic(&mut self, range: TextRange, what: impl Into<String>) {
        self.out
            .dynamic_writes
            .push((Span::from(range), what.into()));
    }

    /// `globals()`, or (at module level) `vars()` / `locals()`: the module's namespace dict.
    fn is_namespace_dict(&self, e: &Expr) -> bool {
        let Expr::Call(call) = e else { return false };
        if !call.arguments.is_empty() {
            return false;
        }
        let Expr::Name(n) = call.func.as_ref() else {
            return false;
        };
        match n.id.as_str() {
            "globals" => true,
            "vars" | "locals" => self.at_module(),
            _ => false,
        }
    }

    /// A mapping that is the module namespace: `globals()`, `vars()`, `sys.modules[__name__].__dict__`.
    fn is_namespace_mapping(&self, e: &Expr) -> bool {
        if self.is_namespace_dict(e) {
            return true;
        }
        matches!(e, Expr::Attribute(a)
            if a.attr.as_str() == "__dict__" && is_this_module(&a.value))
    }
}

/// `sys.modules[__name__]` (or `sys.modules["__main__"]`).
fn is_this_module(e: &Expr) -> bool {
    let Expr::Subscript(s) = e else { return false };
    let Expr::Attribute(a) = s.value.as_ref() else {
        return false;
    };
    if a.attr.as_str() != "modules" {
        return false;
    }
    let sys = matches!(a.value.as_ref(), Expr::Name(n) if n.id.as_str() == "sys");
    let key = match s.slice.as_ref() {
        Expr::Name(n) => n.id.as_str() == "__name__",
        Expr::StringLiteral(l) => l.value.to_str() == "__main__",
        _ => false,
    };
    sys && key
}

const MUTATING_METHODS: &[&str] = &[
    "update",
    "setdefault",
    "pop",
    "popitem",
    "clear",
    "__setitem__",
    "__delitem__",
    "__ior__",
];

/// Walks check for stack space every this many levels (a check costs more than a level).
const GUARD_EVERY: u32 = 8;

/// [`collect`]'s own walk, in source order, feeding a [`Binder`]: module-level statements always,
/// expressions and nested scopes only when the binder is [`Binder::full`].
struct Collector<'b, 'a> {
    b: &'b mut Binder<'a>,
    /// Recursion depth of the walk, to check the stack every [`GUARD_EVERY`] levels.
    level: u32,
}

impl<'a> Collector<'_, 'a> {
    fn target(&mut self, e: &'a Expr) {
        stack::guard(|| match e {
            Expr::Name(n) => self.b.bind(n.id.as_str()),
            Expr::Tuple(t) => t.elts.iter().for_each(|e| self.target(e)),
            Expr::List(l) => l.elts.iter().for_each(|e| self.target(e)),
            Expr::Starred(s) => self.target(&s.value),
            other => self.visit_expr(other),
        });
    }

    fn pattern(&mut self, p: &'a Pattern) {
        stack::guard(|| {
            match p {
                Pattern::MatchAs(a) => {
                    if let Some(n) = &a.name {
                        self.b.capture(n.as_str());
                    }
                }
                Pattern::MatchStar(s) => {
                    if let Some(n) = &s.name {
                        self.b.capture(n.as_str());
                    }
                }
                Pattern::MatchMapping(m) => {
                    if let Some(r) = &m.rest {
                        self.b.capture(r.as_str());
                    }
                }
                _ => {}
            }
            visitor::walk_pattern(self, p);
        });
    }

    fn comprehension(&mut self, generators: &'a [ast::Comprehension], parts: &[&'a Expr]) {
        let Some(first) = generators.first() else {
            return;
        };
        self.visit_expr(&first.iter);
        self.b.enter(true);
        for (i, g) in generators.iter().enumerate() {
            if i > 0 {
                self.visit_expr(&g.iter);
            }
            self.target(&g.target);
            for cond in &g.ifs {
                self.visit_expr(cond);
            }
        }
        for p in parts {
            self.visit_expr(p);
        }
        self.b.exit();
    }
}

impl<'a> Visitor<'a> for Collector<'_, 'a> {
    fn visit_pattern(&mut self, pattern: &'a Pattern) {
        self.pattern(pattern);
    }

    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        self.level += 1;
        if self.level.is_multiple_of(GUARD_EVERY) {
            stack::guard(|| self.stmt_inner(stmt));
        } else {
            self.stmt_inner(stmt);
        }
        self.level -= 1;
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if !self.b.full() {
            return;
        }
        self.level += 1;
        if self.level.is_multiple_of(GUARD_EVERY) {
            stack::guard(|| self.expr_inner(expr));
        } else {
            self.expr_inner(expr);
        }
        self.level -= 1;
    }
}

impl<'a> Collector<'_, 'a> {
    fn stmt_inner(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(f) => {
                for d in &f.decorator_list {
                    self.visit_expr(&d.expression);
                }
                let p = &f.parameters;
                for d in p
                    .iter_non_variadic_params()
                    .filter_map(|p| p.default.as_deref())
                {
                    self.visit_expr(d);
                }
                for param in p.iter() {
                    if let Some(a) = param.annotation() {
                        self.visit_expr(a);
                    }
                }
                if let Some(r) = &f.returns {
                    self.visit_expr(r);
                }
                self.b.function_def(f);
                if !self.b.full() {
                    return;
                }
                self.b.enter(false);
                self.b.bind_params(p);
                self.visit_body(&f.body);
                self.b.exit();
            }
            Stmt::ClassDef(c) => {
                for d in &c.decorator_list {
                    self.visit_expr(&d.expression);
                }
                if let Some(args) = &c.arguments {
                    self.visit_arguments(args);
                }
                self.b.bind(c.name.as_str());
                if !self.b.full() {
                    return;
                }
                self.b.enter(false);
                self.visit_body(&c.body);
                self.b.exit();
            }
            Stmt::Global(g) => self.b.global(&g.names),
            Stmt::Assign(a) => {
                self.visit_expr(&a.value);
                for t in &a.targets {
                    self.target(t);
                }
            }
            Stmt::AugAssign(a) => {
                self.visit_expr(&a.value);
                self.target(&a.target);
            }
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    self.visit_expr(v);
                    self.target(&a.target);
                } else if !a.target.is_name_expr() {
                    self.visit_expr(&a.target);
                }
                self.visit_expr(&a.annotation);
                self.b.annotated(a.simple);
            }
            Stmt::Delete(d) => {
                for t in &d.targets {
                    self.target(t);
                }
            }
            Stmt::For(f) => {
                self.visit_expr(&f.iter);
                self.target(&f.target);
                self.visit_body(&f.body);
                self.visit_body(&f.orelse);
            }
            Stmt::With(w) => {
                for item in &w.items {
                    self.visit_expr(&item.context_expr);
                    if let Some(v) = &item.optional_vars {
                        self.target(v);
                    }
                }
                self.visit_body(&w.body);
            }
            Stmt::Try(t) => {
                self.visit_body(&t.body);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    if let Some(ty) = &h.type_ {
                        self.visit_expr(ty);
                    }
                    if let Some(n) = &h.name {
                        self.b.bind(n.as_str());
                    }
                    self.visit_body(&h.body);
                }
                self.visit_body(&t.orelse);
                self.visit_body(&t.finalbody);
            }
            Stmt::Import(i) => self.b.import(i),
            Stmt::ImportFrom(i) => self.b.import_from(i),
            Stmt::Match(m) => {
                self.visit_expr(&m.subject);
                for case in &m.cases {
                    self.pattern(&case.pattern);
                    if let Some(g) = &case.guard {
                        self.visit_expr(g);
                    }
                    self.visit_body(&case.body);
                }
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn expr_inner(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Named(n) => {
                self.visit_expr(&n.value);
                if let Expr::Name(t) = n.target.as_ref() {
                    self.b.bind_walrus(t.id.as_str());
                }
            }
            Expr::Lambda(l) => {
                if let Some(p) = &l.parameters {
                    for d in p
                        .iter_non_variadic_params()
                        .filter_map(|p| p.default.as_deref())
                    {
                        self.visit_expr(d);
                    }
                }
                self.b.enter(false);
                if let Some(p) = &l.parameters {
                    self.b.bind_params(p);
                }
                self.visit_expr(&l.body);
                self.b.exit();
            }
            Expr::ListComp(c) => self.comprehension(&c.generators, &[&c.elt]),
            Expr::SetComp(c) => self.comprehension(&c.generators, &[&c.elt]),
            Expr::Generator(c) => self.comprehension(&c.generators, &[&c.elt]),
            Expr::DictComp(c) => match c.key.as_deref() {
                Some(k) => self.comprehension(&c.generators, &[k, &c.value]),
                None => self.comprehension(&c.generators, &[&c.value]),
            },
            _ => {
                self.b.expr_node(expr);
                visitor::walk_expr(self, expr);
            }
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn names(src: &str) -> Vec<String> {
        let parsed = crate::parse::parse_cell(src, false).expect("parses");
        collect(parsed.module())
            .names
            .into_iter()
            .map(String::from)
            .collect()
    }

    fn dynamic(src: &str) -> bool {
        let parsed = crate::parse::parse_cell(src, false).expect("parses");
        !collect(parsed.module()).dynamic_writes.is_empty()
    }

    #[test]
    fn module_bindings() {
        assert_eq!(names("a, (b, *c) = 1, (2, 3)"), ["a", "b", "c"]);
        assert_eq!(names("import os.path, sys as s"), ["os", "s"]);
        assert_eq!(names("from m import a, b as c"), ["a", "c"]);
        assert_eq!(names("x: int"), ["__annotations__"]);
        assert_eq!(names("x: int = 1"), ["__annotations__", "x"]);
        assert_eq!(names("[y := i for i in r]"), ["y"]);
        assert_eq!(
            names("def f():\n    global g\n    g = 1\n    h = 2"),
            ["f", "g"]
        );
        assert_eq!(names("def f():\n    global g\n    print(g)"), ["f"]);
        assert_eq!(
            names("match p:\n    case [a, *b] | {'k': a, **b}: pass\n    case C(x=d): pass"),
            ["a", "b", "d"]
        );
        assert_eq!(
            names("try:\n    pass\nexcept E as e:\n    del q"),
            ["e", "q"]
        );
        assert_eq!(
            names("class A:\n    x = 1\nasync def g(): pass"),
            ["A", "g"]
        );
        assert_eq!(names("\"doc\"\nx = 1"), ["__doc__", "x"]);
    }

    #[test]
    fn dynamic_namespace_writes() {
        assert!(dynamic("globals()['x'] = 1"));
        assert!(dynamic("globals().update(a=1)"));
        assert!(dynamic("vars()['x'] = 1"));
        assert!(!dynamic("def f():\n    vars()['x'] = 1"));
        assert!(dynamic("def f():\n    globals()['x'] = 1"));
        assert!(dynamic("exec('x = 1')"));
        assert!(dynamic("from os import *"));
        assert!(dynamic(
            "import sys\nsetattr(sys.modules[__name__], 'x', 1)"
        ));
        assert!(dynamic("import sys\nsys.modules[__name__].x = 1"));
        assert!(dynamic(
            "import sys\nsys.modules[__name__].__dict__['x'] = 1"
        ));
        assert!(!dynamic("print(globals()['x'])"));
        assert!(!dynamic("x = 1"));
    }

    #[test]
    fn coroutine_defs_at_module_level() {
        let parsed = crate::parse::parse_cell(
            "async def a(): pass\nif x:\n    async def b(): pass\nclass C:\n    async def m(self): pass\ndef f():\n    async def inner(): pass",
            false,
        )
        .expect("parses");
        let defs: Vec<String> = collect(parsed.module())
            .coroutine_defs
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(defs, ["a", "b"]);
    }
}
