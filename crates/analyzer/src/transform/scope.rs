//! Scopes, bindings, functions, lambdas and call sites of one cell: what the transforms decide on.
//!
//! One walk over the tree records, for every scope Python creates (module, function, lambda,
//! class, comprehension), the names it binds and declares; for every `def` and `lambda` whether
//! its own scope awaits, yields or returns a value; and for every call of a plain name where it
//! is, whether it could be awaited there and how it is used.

use ruff_python_ast::helpers::is_compound_statement;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Comprehension, ExceptHandler, Expr, ExprContext, Parameters, Pattern, Stmt};
use ruff_text_size::{Ranged, TextRange};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::stack;

/// Index of a scope in [`CellScopes::scopes`]; the module is `0`.
pub(crate) type ScopeId = usize;
/// Index of a function in [`CellScopes::funcs`].
pub(crate) type FuncId = usize;
/// Index of a lambda in [`CellScopes::lambdas`].
pub(crate) type LambdaId = usize;

/// What kind of scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScopeKind {
    Module,
    Function(FuncId),
    Lambda(LambdaId),
    Class,
    /// A comprehension; `generator` for generator expressions.
    Comprehension {
        generator: bool,
    },
}

/// What binds a name in a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binder {
    /// A `def` statement.
    Def(FuncId),
    /// `name = lambda ...` (a single plain-name target).
    Lambda(LambdaId),
    /// Anything else: assignment, import, class, parameter, `for` target, `del`...
    Other,
}

/// One scope.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub(crate) kind: ScopeKind,
    pub(crate) parent: Option<ScopeId>,
    pub(crate) binders: FxHashMap<String, Vec<Binder>>,
    pub(crate) globals: FxHashSet<String>,
    pub(crate) nonlocals: FxHashSet<String>,
}

/// Where an `await` at some position would be compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AwaitCtx {
    /// Module level of the cell (top-level await).
    Module,
    /// The own scope of a function.
    Func(FuncId),
    /// The body of a lambda.
    Lambda(LambdaId),
    /// A class body or a generator expression: `await` cannot go there.
    Never,
}

/// A `def` statement.
#[derive(Debug, Clone)]
pub(crate) struct FuncInfo {
    pub(crate) name: String,
    pub(crate) name_range: TextRange,
    /// Offset of the `def` keyword.
    pub(crate) def_kw: u32,
    pub(crate) is_async: bool,
    /// The scope the `def` statement is in.
    pub(crate) parent: ScopeId,
    /// The first `await`, `async for`, `async with` or async comprehension of its own scope.
    pub(crate) own_async: Option<(TextRange, &'static str)>,
    pub(crate) yields: Option<TextRange>,
    pub(crate) yield_from: Option<TextRange>,
    pub(crate) return_value: Option<TextRange>,
    /// The first parameter of a method (`self`, `cls`): the def is directly in a class body and
    /// is not a `staticmethod`.
    pub(crate) self_param: Option<String>,
    /// Decorators as dotted text (`property`, `functools.cache`, `x.setter`), `?` when not dotted.
    pub(crate) decorators: Vec<(String, TextRange)>,
}

/// A `lambda` expression.
#[derive(Debug, Clone)]
pub(crate) struct LambdaInfo {
    pub(crate) range: TextRange,
    pub(crate) params: Option<TextRange>,
    pub(crate) has_defaults: bool,
    pub(crate) body: TextRange,
    pub(crate) parent: ScopeId,
    pub(crate) scope: ScopeId,
    pub(crate) own_async: Option<(TextRange, &'static str)>,
    pub(crate) yields: bool,
    /// `name = lambda ...`: the name, and the assignment statement.
    pub(crate) assigned: Option<(String, TextRange)>,
    /// `assigned` comes from a plain assignment (not an annotated one): the statement can be
    /// rewritten in place as `async def name(...)`.
    pub(crate) in_place: bool,
    /// The scope holding the statement the lambda is in (module, function or class).
    pub(crate) stmt_scope: ScopeId,
    /// Statements of `stmt_scope` enclosing the lambda, outermost first: range and whether the
    /// statement is simple (not compound) and not an expression statement.
    pub(crate) stmts: Vec<(TextRange, bool)>,
    /// Names the lambda reads (body and defaults, nested scopes included).
    pub(crate) reads: FxHashSet<String>,
}

/// How a call's value is consumed by its parent expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Operand of `await`.
    Awaited,
    /// Value of an attribute, subscript or call: `await` needs parentheses here.
    Primary,
    /// The callee of a call.
    CallFunc,
    /// Iterated synchronously: the iterable of a `for` or comprehension, or an argument of a
    /// builtin that iterates (`list(...)`, `sum(...)`, `next(...)`...).
    SyncIter,
    /// The iterable of `async for` or an async comprehension.
    AsyncIter,
}

/// A call whose callee is a plain name: `f(...)`.
#[derive(Debug, Clone)]
pub(crate) struct CallSite {
    pub(crate) name: String,
    pub(crate) range: TextRange,
    pub(crate) scope: ScopeId,
    pub(crate) ctx: AwaitCtx,
    pub(crate) role: Option<Role>,
    /// An argument of a call that expects a coroutine (`asyncio.create_task(f())`).
    pub(crate) consumed: bool,
    /// `self.name(...)` inside a method of this class scope.
    pub(crate) via_self: Option<ScopeId>,
    /// `x.name(...)` (`Instance`) or `C(...).name(...)` (`Class`): a method call on an instance
    /// of a class, when that class turns out to be defined in the cell.
    pub(crate) via_instance: Option<Receiver>,
    /// `(lambda ...)(...)`: the lambda called, by its range.
    pub(crate) callee_lambda: Option<TextRange>,
    /// `asyncio.run(f(...))`: the range of the `asyncio.run(...)` call and how its value is used.
    pub(crate) run_by: Option<(TextRange, Option<Role>)>,
}

/// The receiver of a method call `r.name(...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Receiver {
    /// A name bound by `x = C(...)`.
    Instance(String),
    /// A direct constructor call `C(...)`.
    Class(String),
}

/// A plain name read that is not the callee of a call: `map(f, xs)`.
#[derive(Debug, Clone)]
pub(crate) struct ValueUse {
    pub(crate) name: String,
    pub(crate) range: TextRange,
    pub(crate) scope: ScopeId,
}

/// Everything the transforms need to know about one cell.
#[derive(Debug, Clone, Default)]
pub(crate) struct CellScopes {
    pub(crate) scopes: Vec<Scope>,
    pub(crate) funcs: Vec<FuncInfo>,
    pub(crate) lambdas: Vec<LambdaInfo>,
    pub(crate) calls: Vec<CallSite>,
    pub(crate) values: Vec<ValueUse>,
    /// Class statements: (scope the `class` statement is in, name) → the class body's scope.
    pub(crate) classes: FxHashMap<(ScopeId, String), ScopeId>,
    /// `x = C(...)`: (scope, `x`) → `C`.
    pub(crate) instances: FxHashMap<(ScopeId, String), String>,
}

/// Where a name read in `scope` is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// In this scope of the cell.
    Scope(ScopeId),
    /// Not bound in the cell: a global from an earlier cell, or a builtin.
    Outside,
}

impl CellScopes {
    /// Python's name resolution, flow-insensitively.
    pub(crate) fn resolve(&self, from: ScopeId, name: &str) -> Resolved {
        let mut s = from;
        loop {
            let sc = &self.scopes[s];
            if sc.globals.contains(name) {
                return self.module_or_outside(name);
            }
            let visible = s == from || !matches!(sc.kind, ScopeKind::Class);
            if visible && !sc.nonlocals.contains(name) && sc.binders.contains_key(name) {
                return Resolved::Scope(s);
            }
            match sc.parent {
                Some(p) => s = p,
                None => return Resolved::Outside,
            }
        }
    }

    fn module_or_outside(&self, name: &str) -> Resolved {
        if self.scopes[0].binders.contains_key(name) {
            Resolved::Scope(0)
        } else {
            Resolved::Outside
        }
    }

    /// The class body scope of the class `name` names when read in `scope`, if it is a class
    /// defined in the cell and nothing else binds that name.
    pub(crate) fn class_named(&self, scope: ScopeId, name: &str) -> Option<ScopeId> {
        let Resolved::Scope(s) = self.resolve(scope, name) else {
            return None;
        };
        let sole = self.scopes[s]
            .binders
            .get(name)
            .is_some_and(|b| b.len() == 1);
        sole.then(|| self.classes.get(&(s, name.to_string())).copied())
            .flatten()
    }

    /// The class body scope of the receiver of a method call, when the cell shows it.
    pub(crate) fn receiver_class(&self, scope: ScopeId, receiver: &Receiver) -> Option<ScopeId> {
        match receiver {
            Receiver::Class(c) => self.class_named(scope, c),
            Receiver::Instance(x) => {
                let Resolved::Scope(s) = self.resolve(scope, x) else {
                    return None;
                };
                let sole = self.scopes[s].binders.get(x).is_some_and(|b| b.len() == 1);
                let class = self.instances.get(&(s, x.clone()))?;
                if !sole {
                    return None;
                }
                self.class_named(s, class)
            }
        }
    }

    /// Where an `await` at a position in `scope` would be compiled.
    pub(crate) fn await_ctx(&self, mut s: ScopeId) -> AwaitCtx {
        loop {
            let sc = &self.scopes[s];
            match sc.kind {
                ScopeKind::Module => return AwaitCtx::Module,
                ScopeKind::Function(f) => return AwaitCtx::Func(f),
                ScopeKind::Lambda(l) => return AwaitCtx::Lambda(l),
                ScopeKind::Class | ScopeKind::Comprehension { generator: true } => {
                    return AwaitCtx::Never;
                }
                ScopeKind::Comprehension { generator: false } => match sc.parent {
                    Some(p) => s = p,
                    None => return AwaitCtx::Never,
                },
            }
        }
    }
}

/// Walk `body` (a module) and collect its scopes.
pub(crate) fn collect(source: &str, body: &[Stmt]) -> CellScopes {
    let mut w = Walker {
        source,
        out: CellScopes::default(),
        scope: 0,
        frames: Vec::new(),
        roles: FxHashMap::default(),
        consumed: FxHashSet::default(),
        run_args: FxHashMap::default(),
        assigned_lambdas: FxHashMap::default(),
        reads: Vec::new(),
    };
    w.out.scopes.push(Scope {
        kind: ScopeKind::Module,
        parent: None,
        binders: FxHashMap::default(),
        globals: FxHashSet::default(),
        nonlocals: FxHashSet::default(),
    });
    w.visit_body(body);
    w.out
}

/// Calls whose arguments are coroutines handed over, not values the user wants.
const COROUTINE_CONSUMERS: &[&str] = &[
    "create_task",
    "ensure_future",
    "gather",
    "shield",
    "wait_for",
    "wait",
    "as_completed",
    "run",
    "run_until_complete",
    "run_coroutine_threadsafe",
    "iscoroutine",
    "start_soon",
    "timeout",
];

/// Builtins that iterate their arguments synchronously.
const SYNC_ITERATING: &[&str] = &[
    "list",
    "tuple",
    "set",
    "frozenset",
    "dict",
    "sorted",
    "sum",
    "min",
    "max",
    "any",
    "all",
    "next",
    "iter",
    "enumerate",
    "zip",
    "map",
    "filter",
    "reversed",
];

struct Frame {
    range: TextRange,
    /// A simple statement that is not an expression statement (whose value a cell may return).
    simple: bool,
    scope: ScopeId,
}

struct Walker<'a> {
    source: &'a str,
    out: CellScopes,
    scope: ScopeId,
    frames: Vec<Frame>,
    roles: FxHashMap<(u32, u32), Role>,
    consumed: FxHashSet<(u32, u32)>,
    /// Arguments of `asyncio.run(...)`: the `asyncio.run` call and its role.
    run_args: FxHashMap<(u32, u32), (TextRange, Option<Role>)>,
    assigned_lambdas: FxHashMap<(u32, u32), (String, TextRange, bool)>,
    /// Lambdas being walked: names read inside them are recorded on each.
    reads: Vec<LambdaId>,
}

fn key(r: TextRange) -> (u32, u32) {
    (r.start().to_u32(), r.end().to_u32())
}

impl Walker<'_> {
    fn push_scope(&mut self, kind: ScopeKind) -> ScopeId {
        self.out.scopes.push(Scope {
            kind,
            parent: Some(self.scope),
            binders: FxHashMap::default(),
            globals: FxHashSet::default(),
            nonlocals: FxHashSet::default(),
        });
        self.out.scopes.len() - 1
    }

    fn bind_in(&mut self, scope: ScopeId, name: &str, binder: Binder) {
        let sc = &self.out.scopes[scope];
        let target = if sc.globals.contains(name) {
            0
        } else if sc.nonlocals.contains(name) {
            // The nearest enclosing function scope (class scopes are skipped).
            let mut p = sc.parent;
            let mut found = scope;
            while let Some(id) = p {
                if matches!(self.out.scopes[id].kind, ScopeKind::Function(_)) {
                    found = id;
                    break;
                }
                p = self.out.scopes[id].parent;
            }
            found
        } else {
            scope
        };
        let binder = if target == scope {
            binder
        } else {
            Binder::Other
        };
        self.out.scopes[target]
            .binders
            .entry(name.to_string())
            .or_default()
            .push(binder);
    }

    fn bind(&mut self, name: &str, binder: Binder) {
        self.bind_in(self.scope, name, binder);
    }

    fn note_async(&mut self, range: TextRange, what: &'static str) {
        match self.out.await_ctx(self.scope) {
            AwaitCtx::Func(f) => {
                let fi = &mut self.out.funcs[f];
                if fi.own_async.is_none() {
                    fi.own_async = Some((range, what));
                }
            }
            AwaitCtx::Lambda(l) => {
                let li = &mut self.out.lambdas[l];
                if li.own_async.is_none() {
                    li.own_async = Some((range, what));
                }
            }
            AwaitCtx::Module | AwaitCtx::Never => {}
        }
    }

    fn innermost_function(&self) -> Option<ScopeKind> {
        let kind = self.out.scopes[self.scope].kind;
        match kind {
            ScopeKind::Function(_) | ScopeKind::Lambda(_) => Some(kind),
            _ => None,
        }
    }

    fn def_keyword(&self, name_start: u32) -> u32 {
        // Walk back over whitespace and line continuations to the `def` keyword.
        let bytes = self.source.as_bytes();
        let mut i = name_start as usize;
        while i > 0 && matches!(bytes[i - 1], b' ' | b'\t' | b'\x0c' | b'\\' | b'\n' | b'\r') {
            i -= 1;
        }
        i.saturating_sub(3) as u32
    }

    fn visit_parameters_outside(&mut self, params: &Parameters) {
        for p in params.iter_non_variadic_params() {
            if let Some(a) = &p.parameter.annotation {
                self.visit_expr(a);
            }
        }
        for p in [&params.vararg, &params.kwarg].into_iter().flatten() {
            if let Some(a) = &p.annotation {
                self.visit_expr(a);
            }
        }
        for p in params.iter_non_variadic_params() {
            if let Some(d) = &p.default {
                self.visit_expr(d);
            }
        }
    }

    fn bind_parameters(&mut self, params: &Parameters) {
        for p in params.iter() {
            self.bind(p.name().as_str(), Binder::Other);
        }
    }

    fn visit_comprehension_scope(
        &mut self,
        generators: &[Comprehension],
        generator: bool,
        elts: &[&Expr],
    ) {
        let Some(first) = generators.first() else {
            return;
        };
        // The first iterable is evaluated in the enclosing scope.
        self.roles.insert(
            key(first.iter.range()),
            if first.is_async {
                Role::AsyncIter
            } else {
                Role::SyncIter
            },
        );
        self.visit_expr(&first.iter);
        let saved = self.scope;
        self.scope = self.push_scope(ScopeKind::Comprehension { generator });
        for (i, g) in generators.iter().enumerate() {
            if i > 0 {
                self.roles.insert(
                    key(g.iter.range()),
                    if g.is_async {
                        Role::AsyncIter
                    } else {
                        Role::SyncIter
                    },
                );
                self.visit_expr(&g.iter);
            }
            if g.is_async {
                self.note_async(g.range, "`async for` comprehension");
            }
            self.visit_expr(&g.target);
            for cond in &g.ifs {
                self.visit_expr(cond);
            }
        }
        for e in elts {
            self.visit_expr(e);
        }
        self.scope = saved;
    }

    /// The class whose method's first parameter is `receiver`, when the current position is in
    /// that method (possibly inside its lambdas and comprehensions).
    fn method_class(&self, receiver: &str) -> Option<ScopeId> {
        let mut s = self.scope;
        loop {
            let sc = &self.out.scopes[s];
            match sc.kind {
                ScopeKind::Function(f) => {
                    let fi = &self.out.funcs[f];
                    return (fi.self_param.as_deref() == Some(receiver)).then_some(fi.parent);
                }
                ScopeKind::Lambda(_) | ScopeKind::Comprehension { .. } => {
                    if sc.binders.contains_key(receiver) {
                        return None;
                    }
                    s = sc.parent?;
                }
                ScopeKind::Module | ScopeKind::Class => return None,
            }
        }
    }

    fn stmt_scope(&self, mut s: ScopeId) -> ScopeId {
        while matches!(
            self.out.scopes[s].kind,
            ScopeKind::Lambda(_) | ScopeKind::Comprehension { .. }
        ) {
            match self.out.scopes[s].parent {
                Some(p) => s = p,
                None => break,
            }
        }
        s
    }
}

fn dotted(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Name(n) => Some(n.id.to_string()),
        Expr::Attribute(a) => Some(format!("{}.{}", dotted(&a.value)?, a.attr.as_str())),
        Expr::Call(c) => dotted(&c.func),
        _ => None,
    }
}

fn last_segment(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

impl<'a> Visitor<'a> for Walker<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        stack::guard(|| {
            self.frames.push(Frame {
                range: stmt.range(),
                simple: !is_compound_statement(stmt) && !matches!(stmt, Stmt::Expr(_)),
                scope: self.scope,
            });
            self.stmt(stmt);
            self.frames.pop();
        });
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        stack::guard(|| self.expr(expr));
    }

    fn visit_except_handler(&mut self, handler: &'a ExceptHandler) {
        let ExceptHandler::ExceptHandler(h) = handler;
        if let Some(name) = &h.name {
            self.bind(name.as_str(), Binder::Other);
        }
        visitor::walk_except_handler(self, handler);
    }

    fn visit_pattern(&mut self, pattern: &'a Pattern) {
        stack::guard(|| {
            match pattern {
                Pattern::MatchAs(p) => {
                    if let Some(n) = &p.name {
                        self.bind(n.as_str(), Binder::Other);
                    }
                }
                Pattern::MatchStar(p) => {
                    if let Some(n) = &p.name {
                        self.bind(n.as_str(), Binder::Other);
                    }
                }
                Pattern::MatchMapping(p) => {
                    if let Some(n) = &p.rest {
                        self.bind(n.as_str(), Binder::Other);
                    }
                }
                _ => {}
            }
            visitor::walk_pattern(self, pattern);
        });
    }
}

impl<'a> Walker<'_> {
    fn stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(def) => {
                for d in &def.decorator_list {
                    self.visit_expr(&d.expression);
                }
                self.visit_parameters_outside(&def.parameters);
                if let Some(r) = &def.returns {
                    self.visit_expr(r);
                }
                let fid = self.out.funcs.len();
                let in_class = matches!(self.out.scopes[self.scope].kind, ScopeKind::Class);
                let is_static = def
                    .decorator_list
                    .iter()
                    .any(|d| dotted(&d.expression).is_some_and(|n| n == "staticmethod"));
                let self_param = (in_class && !is_static)
                    .then(|| {
                        def.parameters
                            .posonlyargs
                            .iter()
                            .chain(&def.parameters.args)
                            .next()
                            .map(|p| p.name().to_string())
                    })
                    .flatten();
                let own = self.push_scope(ScopeKind::Function(fid));
                self.out.funcs.push(FuncInfo {
                    name: def.name.to_string(),
                    name_range: def.name.range(),
                    def_kw: self.def_keyword(def.name.range().start().to_u32()),
                    is_async: def.is_async,
                    parent: self.scope,
                    own_async: None,
                    yields: None,
                    yield_from: None,
                    return_value: None,
                    self_param,
                    decorators: def
                        .decorator_list
                        .iter()
                        .map(|d| {
                            (
                                dotted(&d.expression).unwrap_or_else(|| "?".into()),
                                d.range(),
                            )
                        })
                        .collect(),
                });
                self.bind(def.name.as_str(), Binder::Def(fid));
                let saved = self.scope;
                self.scope = own;
                self.bind_parameters(&def.parameters);
                self.visit_body(&def.body);
                self.scope = saved;
            }
            Stmt::ClassDef(class) => {
                for d in &class.decorator_list {
                    self.visit_expr(&d.expression);
                }
                if let Some(args) = &class.arguments {
                    self.visit_arguments(args);
                }
                self.bind(class.name.as_str(), Binder::Other);
                let saved = self.scope;
                self.scope = self.push_scope(ScopeKind::Class);
                self.out
                    .classes
                    .insert((saved, class.name.to_string()), self.scope);
                self.visit_body(&class.body);
                self.scope = saved;
            }
            Stmt::Global(g) => {
                for n in &g.names {
                    self.out.scopes[self.scope]
                        .globals
                        .insert(n.as_str().to_string());
                    if self.scope != 0 {
                        // A name made global in a nested function is a module-level name.
                        self.out.scopes[0]
                            .binders
                            .entry(n.as_str().to_string())
                            .or_default();
                    }
                }
            }
            Stmt::Nonlocal(g) => {
                for n in &g.names {
                    self.out.scopes[self.scope]
                        .nonlocals
                        .insert(n.as_str().to_string());
                }
            }
            Stmt::Assign(a) => {
                if let ([Expr::Name(target)], Expr::Lambda(l)) = (&a.targets[..], &*a.value) {
                    self.assigned_lambdas
                        .insert(key(l.range), (target.id.to_string(), a.range, true));
                }
                if let ([Expr::Name(target)], Expr::Call(call)) = (&a.targets[..], &*a.value)
                    && let Expr::Name(class) = &*call.func
                {
                    self.out
                        .instances
                        .insert((self.scope, target.id.to_string()), class.id.to_string());
                }
                self.visit_expr(&a.value);
                for t in &a.targets {
                    self.visit_expr(t);
                }
            }
            Stmt::AnnAssign(a) => {
                if let (Expr::Name(target), Some(value)) = (&*a.target, &a.value)
                    && let Expr::Lambda(l) = &**value
                    && a.simple
                {
                    self.assigned_lambdas
                        .insert(key(l.range), (target.id.to_string(), a.range, false));
                }
                visitor::walk_stmt(self, stmt);
            }
            Stmt::For(f) => {
                if f.is_async {
                    self.note_async(f.range, "`async for`");
                }
                self.roles.insert(
                    key(f.iter.range()),
                    if f.is_async {
                        Role::AsyncIter
                    } else {
                        Role::SyncIter
                    },
                );
                visitor::walk_stmt(self, stmt);
            }
            Stmt::With(w) => {
                if w.is_async {
                    self.note_async(w.range, "`async with`");
                }
                visitor::walk_stmt(self, stmt);
            }
            Stmt::Return(r) => {
                if let (Some(v), Some(ScopeKind::Function(f))) =
                    (&r.value, self.innermost_function())
                {
                    self.out.funcs[f].return_value.get_or_insert(v.range());
                }
                visitor::walk_stmt(self, stmt);
            }
            Stmt::Import(i) => {
                for alias in &i.names {
                    let bound = match &alias.asname {
                        Some(a) => a.as_str(),
                        None => alias.name.as_str().split('.').next().unwrap_or_default(),
                    };
                    self.bind(bound, Binder::Other);
                }
            }
            Stmt::ImportFrom(i) => {
                for alias in &i.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                    if bound != "*" {
                        self.bind(bound, Binder::Other);
                    }
                }
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Name(n) => match n.ctx {
                ExprContext::Load => {
                    for &l in &self.reads {
                        self.out.lambdas[l].reads.insert(n.id.to_string());
                    }
                    if self.roles.get(&key(n.range)) != Some(&Role::CallFunc) {
                        self.out.values.push(ValueUse {
                            name: n.id.to_string(),
                            range: n.range,
                            scope: self.scope,
                        });
                    }
                }
                ExprContext::Store | ExprContext::Del => {
                    self.bind(n.id.as_str(), Binder::Other);
                }
                ExprContext::Invalid => {}
            },
            Expr::Named(named) => {
                self.visit_expr(&named.value);
                if let Expr::Name(n) = &*named.target {
                    let s = {
                        let mut s = self.scope;
                        while let ScopeKind::Comprehension { .. } = self.out.scopes[s].kind {
                            match self.out.scopes[s].parent {
                                Some(p) => s = p,
                                None => break,
                            }
                        }
                        s
                    };
                    self.bind_in(s, n.id.as_str(), Binder::Other);
                }
            }
            Expr::Lambda(lambda) => {
                let lid = self.out.lambdas.len();
                if let Some(p) = &lambda.parameters {
                    // Defaults are evaluated where the lambda is created; the lambda reads them.
                    self.reads.push(lid);
                    self.out.lambdas.push(LambdaInfo {
                        range: lambda.range,
                        params: Some(p.range),
                        has_defaults: p.iter_non_variadic_params().any(|p| p.default.is_some()),
                        body: lambda.body.range(),
                        parent: self.scope,
                        scope: 0,
                        own_async: None,
                        yields: false,
                        assigned: None,
                        in_place: false,
                        stmt_scope: 0,
                        stmts: Vec::new(),
                        reads: FxHashSet::default(),
                    });
                    self.visit_parameters_outside(p);
                    self.reads.pop();
                } else {
                    self.out.lambdas.push(LambdaInfo {
                        range: lambda.range,
                        params: None,
                        has_defaults: false,
                        body: lambda.body.range(),
                        parent: self.scope,
                        scope: 0,
                        own_async: None,
                        yields: false,
                        assigned: None,
                        in_place: false,
                        stmt_scope: 0,
                        stmts: Vec::new(),
                        reads: FxHashSet::default(),
                    });
                }
                let stmt_scope = self.stmt_scope(self.scope);
                let stmts = self
                    .frames
                    .iter()
                    .filter(|f| f.scope == stmt_scope)
                    .map(|f| (f.range, f.simple))
                    .collect();
                let own = self.push_scope(ScopeKind::Lambda(lid));
                let (assigned, in_place) =
                    match self.assigned_lambdas.get(&key(lambda.range)).cloned() {
                        Some((name, stmt, in_place)) => (Some((name, stmt)), in_place),
                        None => (None, false),
                    };
                if let Some((name, _)) = &assigned {
                    // Replace the plain binding recorded for the assignment target later: the
                    // target is visited after the value, so record the lambda binder now and
                    // mark the assignment's `Other` to be skipped.
                    self.out.scopes[self.scope]
                        .binders
                        .entry(name.clone())
                        .or_default()
                        .push(Binder::Lambda(lid));
                }
                {
                    let li = &mut self.out.lambdas[lid];
                    li.scope = own;
                    li.stmt_scope = stmt_scope;
                    li.stmts = stmts;
                    li.assigned = assigned;
                    li.in_place = in_place;
                }
                let saved = self.scope;
                self.scope = own;
                if let Some(p) = &lambda.parameters {
                    self.bind_parameters(p);
                }
                self.reads.push(lid);
                self.visit_expr(&lambda.body);
                self.reads.pop();
                self.scope = saved;
            }
            Expr::ListComp(c) => {
                self.visit_comprehension_scope(&c.generators, false, &[&c.elt]);
            }
            Expr::SetComp(c) => {
                self.visit_comprehension_scope(&c.generators, false, &[&c.elt]);
            }
            Expr::DictComp(c) => {
                let mut elts: Vec<&Expr> = vec![&c.value];
                if let Some(k) = &c.key {
                    elts.insert(0, k);
                }
                self.visit_comprehension_scope(&c.generators, false, &elts);
            }
            Expr::Generator(c) => {
                self.visit_comprehension_scope(&c.generators, true, &[&c.elt]);
            }
            Expr::Await(a) => {
                self.note_async(a.range, "`await`");
                self.roles.insert(key(a.value.range()), Role::Awaited);
                self.visit_expr(&a.value);
            }
            Expr::Yield(y) => {
                match self.innermost_function() {
                    Some(ScopeKind::Function(f)) => {
                        self.out.funcs[f].yields.get_or_insert(y.range);
                    }
                    Some(ScopeKind::Lambda(l)) => self.out.lambdas[l].yields = true,
                    _ => {}
                }
                visitor::walk_expr(self, expr);
            }
            Expr::YieldFrom(y) => {
                match self.innermost_function() {
                    Some(ScopeKind::Function(f)) => {
                        self.out.funcs[f].yield_from.get_or_insert(y.range);
                        self.out.funcs[f].yields.get_or_insert(y.range);
                    }
                    Some(ScopeKind::Lambda(l)) => self.out.lambdas[l].yields = true,
                    _ => {}
                }
                visitor::walk_expr(self, expr);
            }
            Expr::Call(call) => {
                self.roles.insert(key(call.func.range()), Role::CallFunc);
                if let Expr::Name(n) = &*call.func
                    && SYNC_ITERATING.contains(&n.id.as_str())
                {
                    for a in &call.arguments.args {
                        self.roles.entry(key(a.range())).or_insert(Role::SyncIter);
                    }
                }
                if let Expr::Name(n) = &*call.func {
                    let range = call.range();
                    self.out.calls.push(CallSite {
                        name: n.id.to_string(),
                        range,
                        scope: self.scope,
                        ctx: self.out.await_ctx(self.scope),
                        role: self.roles.get(&key(range)).copied(),
                        consumed: self.consumed.contains(&key(range)),
                        via_self: None,
                        via_instance: None,
                        callee_lambda: None,
                        run_by: self.run_args.get(&key(range)).copied(),
                    });
                }
                if let Expr::Lambda(l) = &*call.func {
                    let range = call.range();
                    self.out.calls.push(CallSite {
                        name: "<lambda>".to_string(),
                        range,
                        scope: self.scope,
                        ctx: self.out.await_ctx(self.scope),
                        role: self.roles.get(&key(range)).copied(),
                        consumed: self.consumed.contains(&key(range)),
                        via_self: None,
                        via_instance: None,
                        callee_lambda: Some(l.range),
                        run_by: None,
                    });
                }
                if let Expr::Attribute(attr) = &*call.func
                    && let Expr::Name(receiver) = &*attr.value
                    && let Some(class) = self.method_class(receiver.id.as_str())
                {
                    let range = call.range();
                    self.out.calls.push(CallSite {
                        name: attr.attr.to_string(),
                        range,
                        scope: self.scope,
                        ctx: self.out.await_ctx(self.scope),
                        role: self.roles.get(&key(range)).copied(),
                        consumed: self.consumed.contains(&key(range)),
                        via_self: Some(class),
                        via_instance: None,
                        callee_lambda: None,
                        run_by: self.run_args.get(&key(range)).copied(),
                    });
                } else if let Expr::Attribute(attr) = &*call.func {
                    let receiver = match &*attr.value {
                        Expr::Name(n) => Some(Receiver::Instance(n.id.to_string())),
                        Expr::Call(c) => match &*c.func {
                            Expr::Name(n) => Some(Receiver::Class(n.id.to_string())),
                            _ => None,
                        },
                        _ => None,
                    };
                    if receiver.is_some() {
                        let range = call.range();
                        self.out.calls.push(CallSite {
                            name: attr.attr.to_string(),
                            range,
                            scope: self.scope,
                            ctx: self.out.await_ctx(self.scope),
                            role: self.roles.get(&key(range)).copied(),
                            consumed: self.consumed.contains(&key(range)),
                            via_self: None,
                            via_instance: receiver,
                            callee_lambda: None,
                            run_by: self.run_args.get(&key(range)).copied(),
                        });
                    }
                }
                if let Expr::Attribute(attr) = &*call.func
                    && let Expr::Name(module) = &*attr.value
                    && module.id.as_str() == "asyncio"
                    && attr.attr.as_str() == "run"
                    && let [arg] = &*call.arguments.args
                    && call.arguments.keywords.is_empty()
                {
                    let range = call.range();
                    self.run_args.insert(
                        key(arg.range()),
                        (range, self.roles.get(&key(range)).copied()),
                    );
                }
                if last_segment(&call.func).is_some_and(|s| COROUTINE_CONSUMERS.contains(&s)) {
                    for a in &call.arguments.args {
                        self.consumed.insert(key(a.range()));
                    }
                    for k in &call.arguments.keywords {
                        self.consumed.insert(key(k.value.range()));
                    }
                }
                visitor::walk_expr(self, expr);
            }
            Expr::Attribute(a) => {
                self.roles.insert(key(a.value.range()), Role::Primary);
                visitor::walk_expr(self, expr);
            }
            Expr::Subscript(s) => {
                self.roles.insert(key(s.value.range()), Role::Primary);
                visitor::walk_expr(self, expr);
            }
            _ => visitor::walk_expr(self, expr),
        }
    }
}

/// `name = lambda ...` records both a lambda binder and (from the target) a plain binder for the
/// same name; drop the plain one so the name counts as bound by the lambda only.
pub(crate) fn merge_assigned_lambdas(cs: &mut CellScopes) {
    let assigned: Vec<(ScopeId, String)> = cs
        .lambdas
        .iter()
        .filter_map(|l| l.assigned.as_ref().map(|(n, _)| (l.parent, n.clone())))
        .collect();
    for (scope, name) in assigned {
        if let Some(b) = cs.scopes[scope].binders.get_mut(&name)
            && let Some(pos) = b.iter().position(|b| *b == Binder::Other)
        {
            b.remove(pos);
        }
    }
}
