//! Names a cell binds at module scope, and writes to the namespace that bypass bindings.
//!
//! The executor uses these to find what a cell changed without diffing the whole namespace:
//! every name the cell can bind or delete in the module namespace is listed, and anything the
//! syntax cannot pin down (`globals()[...] = ...`, `exec`, `from m import *`...) is reported as a
//! dynamic write.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, ExprContext, ModModule, Pattern, Stmt};
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

/// Collect the module-scope bindings of `module`.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn collect(module: &ModModule) -> ModuleBindings {
    collect_in(module, true)
}

/// Whether `name` is one of the names every dynamic write this module reports is made of (as a
/// called name, a name or an attribute): `exec`, `eval`, `globals`, `vars`, `locals`, `modules`.
///
/// Code in nested scopes (function and class bodies, lambdas, comprehensions) and expressions
/// can change what [`collect`] finds only through a `global` declaration, an assignment
/// expression, or one of these names; without any of them [`collect_in`] can skip those parts
/// of the tree ([`crate::parse::ParsedCell::bindings_need_full_walk`]). The token scan asks this
/// of every name 4, 6 or 7 bytes long, so it matches literals (a length test and an integer
/// compare or two) rather than searching a list (a `memcmp` per candidate).
pub(crate) fn is_namespace_name(name: &str) -> bool {
    matches!(
        name,
        "exec" | "eval" | "globals" | "vars" | "locals" | "modules"
    )
}

/// [`collect`], walking into expressions and nested scopes only when `full` (see
/// [`is_namespace_name`]); module-level statements, their targets and patterns are always walked.
pub(crate) fn collect_in(module: &ModModule, full: bool) -> ModuleBindings {
    let found = collect_walk(module, full);
    // Every test that analyzes a cell checks that the short walk finds what the full one does.
    #[cfg(debug_assertions)]
    if !full {
        debug_assert_eq!(found, collect_walk(module, true));
    }
    found
}

fn collect_walk(module: &ModModule, full: bool) -> ModuleBindings {
    let mut c = Collector {
        full,
        level: 0,
        module_names: Vec::new(),
        scopes: Vec::new(),
        depth: ScopeDepth::Module,
        out: ModuleBindings::default(),
    };
    if let Some(Stmt::Expr(e)) = module.body.first()
        && e.value.is_string_literal_expr()
    {
        // A docstring sets `__doc__` when the cell's code runs.
        c.module_names.push("__doc__");
    }
    c.visit_body(&module.body);
    let mut names = c.module_names;
    names.sort_unstable_by(|a, b| cmp_names(a, b));
    names.dedup();
    c.out.names = names.into_iter().map(crate::BoundName::from).collect();
    c.out.dynamic_writes.sort_by_key(|(s, _)| (s.start, s.end));
    c.out
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScopeDepth {
    /// Code that runs in the module's frame.
    Module,
    /// Code inside a function, lambda, class body or comprehension.
    Nested,
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

/// Walks check for stack space every this many levels (a check costs more than a level).
const GUARD_EVERY: u32 = 8;

struct Collector<'a> {
    /// Walk expressions and nested scopes (see [`needs_full_walk`]).
    full: bool,
    /// Recursion depth of the walk, to check the stack every [`GUARD_EVERY`] levels.
    level: u32,
    /// Every module-scope binding, repeats included: sorting and deduplicating once at the end
    /// costs less than hashing each binding into a set.
    module_names: Vec<&'a str>,
    scopes: Vec<NestedScope<'a>>,
    depth: ScopeDepth,
    out: ModuleBindings,
}

impl<'a> Collector<'a> {
    fn bind_in(&mut self, scope: Option<usize>, name: &'a str) {
        match scope {
            None => {
                self.module_names.push(name);
            }
            Some(i) => {
                let s = &mut self.scopes[i];
                if s.globals.contains(&name) {
                    self.module_names.push(name);
                } else {
                    s.bound_before.push(name);
                }
            }
        }
    }

    fn bind(&mut self, name: &'a str) {
        let scope = self.scopes.len().checked_sub(1);
        self.bind_in(scope, name);
    }

    /// A walrus target binds in the nearest enclosing scope that is not a comprehension.
    fn bind_walrus(&mut self, name: &'a str) {
        let scope = self.scopes.iter().rposition(|s| !s.comprehension);
        self.bind_in(scope, name);
    }

    fn target(&mut self, e: &'a Expr) {
        stack::guard(|| match e {
            Expr::Name(n) => self.bind(n.id.as_str()),
            Expr::Tuple(t) => t.elts.iter().for_each(|e| self.target(e)),
            Expr::List(l) => l.elts.iter().for_each(|e| self.target(e)),
            Expr::Starred(s) => self.target(&s.value),
            other => self.visit_expr(other),
        });
    }

    fn dynamic(&mut self, range: TextRange, what: impl Into<String>) {
        self.out
            .dynamic_writes
            .push((Span::from(range), what.into()));
    }

    fn enter(&mut self, comprehension: bool) -> ScopeDepth {
        self.scopes.push(NestedScope {
            comprehension,
            ..NestedScope::default()
        });
        std::mem::replace(&mut self.depth, ScopeDepth::Nested)
    }

    fn exit(&mut self, depth: ScopeDepth) {
        self.depth = depth;
        if let Some(s) = self.scopes.pop() {
            for g in s.globals {
                if s.bound_before.contains(&g) {
                    self.module_names.push(g);
                }
            }
        }
    }

    fn pattern(&mut self, p: &'a Pattern) {
        stack::guard(|| {
            match p {
                Pattern::MatchAs(a) => {
                    if let Some(n) = &a.name {
                        self.bind(n.as_str());
                    }
                }
                Pattern::MatchStar(s) => {
                    if let Some(n) = &s.name {
                        self.bind(n.as_str());
                    }
                }
                Pattern::MatchMapping(m) => {
                    if let Some(r) = &m.rest {
                        self.bind(r.as_str());
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
        let depth = self.enter(true);
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
        self.exit(depth);
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
            "vars" | "locals" => self.depth == ScopeDepth::Module,
            _ => false,
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

    /// A mapping that is the module namespace: `globals()`, `vars()`, `sys.modules[__name__].__dict__`.
    fn is_namespace_mapping(&self, e: &Expr) -> bool {
        if self.is_namespace_dict(e) {
            return true;
        }
        matches!(e, Expr::Attribute(a)
            if a.attr.as_str() == "__dict__" && Self::is_this_module(&a.value))
    }
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

impl<'a> Visitor<'a> for Collector<'a> {
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
        if !self.full {
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

impl<'a> Collector<'a> {
    fn stmt_inner(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(f) => {
                if f.is_async && self.scopes.is_empty() {
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
                self.bind(f.name.as_str());
                if !self.full {
                    return;
                }
                let depth = self.enter(false);
                for param in p.iter() {
                    self.bind(param.name().as_str());
                }
                self.visit_body(&f.body);
                self.exit(depth);
            }
            Stmt::ClassDef(c) => {
                for d in &c.decorator_list {
                    self.visit_expr(&d.expression);
                }
                if let Some(args) = &c.arguments {
                    self.visit_arguments(args);
                }
                self.bind(c.name.as_str());
                if !self.full {
                    return;
                }
                let depth = self.enter(false);
                self.visit_body(&c.body);
                self.exit(depth);
            }
            Stmt::Global(g) => {
                if let Some(s) = self.scopes.last_mut() {
                    s.globals.extend(g.names.iter().map(|n| n.as_str()));
                }
            }
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
                if a.simple && self.scopes.is_empty() {
                    self.module_names.push("__annotations__");
                }
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
                        self.bind(n.as_str());
                    }
                    self.visit_body(&h.body);
                }
                self.visit_body(&t.orelse);
                self.visit_body(&t.finalbody);
            }
            Stmt::Import(i) => {
                for alias in &i.names {
                    let name = match &alias.asname {
                        Some(a) => a.as_str(),
                        None => alias.name.split('.').next().unwrap_or_default(),
                    };
                    self.bind(name);
                }
            }
            Stmt::ImportFrom(i) => {
                for alias in &i.names {
                    if alias.name.as_str() == "*" {
                        if self.scopes.is_empty() {
                            let module = i.module.as_deref().unwrap_or("");
                            let dots = ".".repeat(i.level as usize);
                            self.dynamic(
                                stmt.range(),
                                format!("`from {dots}{module} import *` binds names the syntax does not show"),
                            );
                        }
                    } else {
                        let name = alias.asname.as_ref().unwrap_or(&alias.name);
                        self.bind(name.as_str());
                    }
                }
            }
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
                    self.bind_walrus(t.id.as_str());
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
                let depth = self.enter(false);
                if let Some(p) = &l.parameters {
                    for param in p.iter() {
                        self.bind(param.name().as_str());
                    }
                }
                self.visit_expr(&l.body);
                self.exit(depth);
            }
            Expr::ListComp(c) => self.comprehension(&c.generators, &[&c.elt]),
            Expr::SetComp(c) => self.comprehension(&c.generators, &[&c.elt]),
            Expr::Generator(c) => self.comprehension(&c.generators, &[&c.elt]),
            Expr::DictComp(c) => match c.key.as_deref() {
                Some(k) => self.comprehension(&c.generators, &[k, &c.value]),
                None => self.comprehension(&c.generators, &[&c.value]),
            },
            Expr::Subscript(s)
                if s.ctx != ExprContext::Load && self.is_namespace_mapping(&s.value) =>
            {
                self.dynamic(
                    expr.range(),
                    "writes the module namespace through a mapping",
                );
                visitor::walk_expr(self, expr);
            }
            Expr::Attribute(a) if a.ctx != ExprContext::Load && Self::is_this_module(&a.value) => {
                self.dynamic(expr.range(), "sets an attribute of the module object");
                visitor::walk_expr(self, expr);
            }
            Expr::Call(call) => {
                match call.func.as_ref() {
                    Expr::Name(n) => match n.id.as_str() {
                        "exec" | "eval" => {
                            self.dynamic(expr.range(), format!("`{}` can bind any name", n.id));
                        }
                        "setattr" | "delattr"
                            if call
                                .arguments
                                .args
                                .first()
                                .is_some_and(Self::is_this_module) =>
                        {
                            self.dynamic(expr.range(), format!("`{}` on the module object", n.id));
                        }
                        _ => {}
                    },
                    Expr::Attribute(a)
                        if MUTATING_METHODS.contains(&a.attr.as_str())
                            && self.is_namespace_mapping(&a.value) =>
                    {
                        self.dynamic(
                            expr.range(),
                            format!("`.{}()` on the module namespace", a.attr),
                        );
                    }
                    _ => {}
                }
                visitor::walk_expr(self, expr);
            }
            _ => visitor::walk_expr(self, expr),
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
