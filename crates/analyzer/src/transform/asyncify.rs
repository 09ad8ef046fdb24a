//! Transforms 1 and 2: `def` → `async def`, `lambda` → `async def`, and `await` at call sites.
//!
//! Decisions are made on [`CellScopes`]; the output is a list of text [`Edit`]s, records of every
//! rewrite, warnings, and at most one refusal (the first, in source order).

use ruff_text_size::{Ranged, TextRange};
use rustc_hash::FxHashSet;

use super::edits::{Edit, Order, Piece, line_breaks};
use super::lines::{LineStart, Lines};
use super::scope::{AwaitCtx, Binder, CallSite, CellScopes, FuncId, Resolved, Role, ScopeKind};
use super::{Refusal, RewrittenKind, SessionTransforms, TransformKind, TransformRecord};
use crate::diagnostic::Diagnostic;
use crate::rules::transform::{
    AwaitInserted, CoroutineUsedSynchronously, DefToAsyncDef, LambdaToAsyncDef,
};
use crate::span::{LineIndex, Span};

/// What the pass decided.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) edits: Vec<Edit>,
    pub(crate) records: Vec<TransformRecord>,
    pub(crate) reasons: Vec<Diagnostic>,
    pub(crate) refusals: Vec<Refusal>,
    /// Module-level names this cell binds: `Some(kind)` when bound only by rewritten functions.
    pub(crate) module_names: Vec<(String, Option<RewrittenKind>)>,
}

/// Dunder methods that must be coroutine functions anyway.
const ASYNC_DUNDERS: &[&str] = &["__aenter__", "__aexit__", "__anext__"];

fn is_dunder(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}

fn is_property(decorator: &str) -> bool {
    let last = decorator.rsplit('.').next().unwrap_or(decorator);
    matches!(
        last,
        "property" | "cached_property" | "setter" | "getter" | "deleter" | "abstractproperty"
    )
}

fn is_method_kind(decorator: &str) -> bool {
    matches!(decorator, "staticmethod" | "classmethod")
}

struct Ctx<'a> {
    source: &'a str,
    cs: &'a CellScopes,
    index: LineIndex,
    lines: &'a Lines,
    session: &'a SessionTransforms,
    /// Functions that become (or already are) `async def`, by the pass.
    rewritten: Vec<bool>,
    /// Why each rewritten function was rewritten.
    why: Vec<Option<String>>,
    lambdas: Vec<bool>,
}

impl Ctx<'_> {
    fn line(&self, offset: u32) -> u32 {
        self.index.cpython(offset).line
    }

    fn line_of(&self, r: TextRange) -> u32 {
        self.line(r.start().to_u32())
    }

    fn can_await(&self, ctx: AwaitCtx) -> bool {
        match ctx {
            AwaitCtx::Module => true,
            AwaitCtx::Func(f) => self.cs.funcs[f].is_async || self.rewritten[f],
            AwaitCtx::Lambda(l) => self.lambdas[l],
            AwaitCtx::Never => false,
        }
    }

    /// What a call site calls, when it is a function this session rewrote.
    fn call_target(&self, c: &CallSite) -> Target {
        if let Some(r) = c.callee_lambda {
            return match self.cs.lambdas.iter().position(|l| l.range == r) {
                Some(l) if self.lambdas[l] => Target::Rewritten(RewrittenKind::Coroutine, Some(r)),
                _ => Target::Plain,
            };
        }
        if let Some(r) = &c.via_instance {
            return match self.cs.receiver_class(c.scope, r) {
                Some(class) => self.target_in(class, &c.name),
                None => Target::Plain,
            };
        }
        match c.via_self {
            Some(class) => self.target_in(class, &c.name),
            None => self.target(c.scope, &c.name),
        }
    }

    /// What a call of `name` from `scope` calls, when it is a function this session rewrote.
    fn target(&self, scope: usize, name: &str) -> Target {
        match self.cs.resolve(scope, name) {
            Resolved::Outside => match self.session.rewritten.get(name) {
                Some(kind) => Target::Rewritten(*kind, None),
                None => Target::Plain,
            },
            Resolved::Scope(s) => self.target_in(s, name),
        }
    }

    /// What `name` bound in scope `s` is.
    fn target_in(&self, s: usize, name: &str) -> Target {
        let Some(binders) = self.cs.scopes[s].binders.get(name) else {
            return Target::Plain;
        };
        let mut kind = None;
        let mut all = !binders.is_empty();
        let mut any = false;
        let mut at = None;
        for b in binders {
            match *b {
                Binder::Def(f) if self.rewritten[f] && !self.cs.funcs[f].is_async => {
                    any = true;
                    at = Some(self.cs.funcs[f].name_range);
                    let k = if self.cs.funcs[f].yields.is_some() {
                        RewrittenKind::AsyncGenerator
                    } else {
                        RewrittenKind::Coroutine
                    };
                    kind = Some(match kind {
                        Some(RewrittenKind::AsyncGenerator) => RewrittenKind::AsyncGenerator,
                        _ => k,
                    });
                }
                Binder::Lambda(l) if self.lambdas[l] => {
                    any = true;
                    at = Some(self.cs.lambdas[l].range);
                    kind.get_or_insert(RewrittenKind::Coroutine);
                }
                _ => all = false,
            }
        }
        match (all, any, kind) {
            (true, true, Some(k)) => Target::Rewritten(k, at),
            (false, true, _) => Target::Ambiguous(at),
            _ => Target::Plain,
        }
    }

    fn made_async_at(&self, at: Option<TextRange>) -> String {
        match at {
            Some(r) => format!("made async at line {}", self.line_of(r)),
            None => "made async in an earlier cell".to_string(),
        }
    }

    fn describe_ctx(&self, ctx: AwaitCtx) -> String {
        match ctx {
            AwaitCtx::Func(f) => {
                let fi = &self.cs.funcs[f];
                format!("inside `{}`, which stays a plain function", fi.name)
            }
            AwaitCtx::Lambda(_) => "inside a plain lambda".to_string(),
            AwaitCtx::Never => {
                "in a class body or generator expression, where `await` is not allowed".to_string()
            }
            AwaitCtx::Module => "at module level".to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Plain,
    Rewritten(RewrittenKind, Option<TextRange>),
    /// Bound both by a rewritten function and by something else.
    Ambiguous(Option<TextRange>),
}

fn span(r: TextRange) -> Span {
    Span::from(r)
}

/// Decide and describe every rewrite of transforms 1 and 2 on one cell.
pub(crate) fn run(
    source: &str,
    cs: &CellScopes,
    lines: &Lines,
    session: &SessionTransforms,
) -> Outcome {
    let mut cx = Ctx {
        source,
        cs,
        index: LineIndex::new(source),
        lines,
        session,
        rewritten: vec![false; cs.funcs.len()],
        why: vec![None; cs.funcs.len()],
        lambdas: cs.lambdas.iter().map(|l| l.own_async.is_some()).collect(),
    };
    let mut out = Outcome::default();

    // 1. Functions whose own scope awaits.
    for (f, fi) in cs.funcs.iter().enumerate() {
        if fi.is_async {
            continue;
        }
        if let Some((at, what)) = fi.own_async {
            cx.rewritten[f] = true;
            cx.why[f] = Some(format!(
                "its body uses {what} (line {}), which only an `async def` may",
                cx.line_of(at)
            ));
        }
    }
    refuse_unsound_functions(&cx, &mut out);

    // 2. Fixed point: plain functions whose only obstacle is calling a rewritten function.
    let value_uses: FxHashSet<(usize, String)> = cs
        .values
        .iter()
        .filter_map(|v| match cs.resolve(v.scope, &v.name) {
            Resolved::Scope(s) => Some((s, v.name.clone())),
            Resolved::Outside => None,
        })
        .collect();
    let mut calls_in: Vec<Vec<usize>> = vec![Vec::new(); cs.funcs.len()];
    for (i, c) in cs.calls.iter().enumerate() {
        if let AwaitCtx::Func(f) = c.ctx {
            calls_in[f].push(i);
        }
    }
    let anything_async = cx.rewritten.iter().any(|r| *r)
        || cx.lambdas.iter().any(|l| *l)
        || !session.rewritten.is_empty();
    while anything_async && fixed_point_step(&mut cx, &calls_in, &value_uses) {}

    // 3. Lambdas.
    let mut hoisted_at: FxHashSet<usize> = FxHashSet::default();
    for l in 0..cs.lambdas.len() {
        if cx.lambdas[l] {
            lambda_edits(&cx, l, &mut out, &mut hoisted_at);
        }
    }

    // 4. `def` → `async def`.
    for (f, fi) in cs.funcs.iter().enumerate() {
        if !cx.rewritten[f] || fi.is_async {
            continue;
        }
        let kw = Span::new(fi.def_kw, fi.def_kw + 3);
        out.edits
            .push(Edit::insert(fi.def_kw, Order::Open, "async ", kw));
        let header = Span::new(fi.def_kw, fi.name_range.end().to_u32());
        let why = cx.why[f].clone().unwrap_or_default();
        let kind_word = if fi.yields.is_some() {
            "an async generator (`async def` with `yield`)"
        } else {
            "`async def`"
        };
        let message = format!("made `{}` {kind_word}: {why}", fi.name);
        out.reasons.push(Diagnostic::new(
            DefToAsyncDef::meta(),
            message.clone(),
            header,
        ));
        out.records.push(TransformRecord {
            kind: TransformKind::DefToAsyncDef,
            span: header,
            message,
        });
        if matches!(cs.scopes[fi.parent].kind, ScopeKind::Class) {
            out.reasons.push(
                Diagnostic::new(
                    CoroutineUsedSynchronously::meta(),
                    if fi.self_param.is_some() {
                        format!(
                            "`{}` is a method: calls through `self`, through `C(...)` and through names bound by `x = C(...)` in this cell get `await`; calls through other instances (`obj.{0}(...)`) are not rewritten and now return a coroutine",
                            fi.name
                        )
                    } else {
                        format!(
                            "`{}` is a static method: calls through the class or an instance (`obj.{0}(...)`) are not rewritten and now return a coroutine",
                            fi.name
                        )
                    },
                    header,
                )
                .with_help(format!("write `await obj.{}(...)` where you call it", fi.name)),
            );
        }
        for (d, r) in &fi.decorators {
            if !is_method_kind(d) {
                out.reasons.push(Diagnostic::new(
                    CoroutineUsedSynchronously::meta(),
                    format!(
                        "decorator `{d}` now receives a coroutine function: it must be able to wrap `async def` functions"
                    ),
                    span(*r),
                ));
            }
        }
        if fi.yields.is_some() {
            out.reasons.push(
                Diagnostic::new(
                    CoroutineUsedSynchronously::meta(),
                    format!(
                        "`{}` is now an async generator: iterate it with `async for`",
                        fi.name
                    ),
                    header,
                )
                .with_severity(crate::diagnostic::Severity::Info),
            );
        }
    }

    // 5. Call sites.
    let mut ambiguous_reported: FxHashSet<String> = FxHashSet::default();
    for c in &cs.calls {
        match cx.call_target(c) {
            Target::Plain => {}
            Target::Ambiguous(_) => {
                if ambiguous_reported.insert(c.name.clone()) {
                    out.reasons.push(
                        Diagnostic::new(
                            CoroutineUsedSynchronously::meta(),
                            format!(
                                "`{}` is bound both by a function made async and by something else in this cell: its calls are not awaited automatically",
                                c.name
                            ),
                            span(c.range),
                        )
                        .with_help("use distinct names, or write `await` where you mean it"),
                    );
                }
            }
            Target::Rewritten(RewrittenKind::AsyncGenerator, at) => {
                if c.role == Some(Role::SyncIter) && at.is_none() {
                    out.refusals.push(Refusal {
                        span: span(c.range),
                        message: format!(
                            "`{}` was made an async generator in an earlier cell, but it is consumed synchronously here",
                            c.name
                        ),
                        help: format!(
                            "iterate it with `async for x in {}(...)` (or `[x async for x in {0}(...)]`)",
                            c.name
                        ),
                    });
                } else if c.role != Some(Role::AsyncIter) && at.is_none() {
                    out.reasons.push(
                        Diagnostic::new(
                            CoroutineUsedSynchronously::meta(),
                            format!(
                                "`{}` was made an async generator in an earlier cell: iterating it synchronously fails",
                                c.name
                            ),
                            span(c.range),
                        )
                        .with_help(format!("iterate it with `async for x in {}(...)`", c.name)),
                    );
                }
            }
            Target::Rewritten(RewrittenKind::Coroutine, at) => {
                if let Some((run, run_role)) = c.run_by
                    && c.ctx == AwaitCtx::Module
                    && run_role != Some(Role::Awaited)
                {
                    // `asyncio.run(f())` cannot start a loop inside the session's running one:
                    // the user wants `f()`'s value, which is `await f()`.
                    let (rs, re) = (run.start().to_u32(), run.end().to_u32());
                    let (cs_, ce) = (c.range.start().to_u32(), c.range.end().to_u32());
                    let parens = matches!(run_role, Some(Role::Primary | Role::CallFunc));
                    let anchor = span(run);
                    out.edits.push(Edit::replace(
                        rs,
                        cs_,
                        vec![Piece::Text(
                            if parens { "(await " } else { "await " }.into(),
                        )],
                        anchor,
                    ));
                    out.edits.push(Edit::replace(
                        ce,
                        re,
                        vec![Piece::Text(if parens { ")" } else { "" }.into())],
                        anchor,
                    ));
                    let message = format!(
                        "replaced `asyncio.run({}(...))` by `await {0}(...)`: `{0}` was {}, and the session's event loop is already running, where `asyncio.run()` cannot start another",
                        c.name,
                        cx.made_async_at(at)
                    );
                    out.reasons.push(Diagnostic::new(
                        AwaitInserted::meta(),
                        message.clone(),
                        anchor,
                    ));
                    out.records.push(TransformRecord {
                        kind: TransformKind::AwaitInserted,
                        span: anchor,
                        message,
                    });
                    continue;
                }
                if c.role == Some(Role::Awaited) || c.consumed {
                    continue;
                }
                if cx.can_await(c.ctx) {
                    let start = c.range.start().to_u32();
                    let end = c.range.end().to_u32();
                    let anchor = span(c.range);
                    if matches!(c.role, Some(Role::Primary | Role::CallFunc)) {
                        out.edits
                            .push(Edit::insert(start, Order::Open, "(await ", anchor));
                        out.edits.push(Edit::insert(end, Order::Close, ")", anchor));
                    } else {
                        out.edits
                            .push(Edit::insert(start, Order::Open, "await ", anchor));
                    }
                    let message = if c.callee_lambda.is_some() {
                        "inserted `await` before this call: the lambda it calls was made async"
                            .to_string()
                    } else {
                        format!(
                            "inserted `await` before this call: `{}` was {}",
                            c.name,
                            cx.made_async_at(at)
                        )
                    };
                    out.reasons.push(Diagnostic::new(
                        AwaitInserted::meta(),
                        message.clone(),
                        anchor,
                    ));
                    out.records.push(TransformRecord {
                        kind: TransformKind::AwaitInserted,
                        span: anchor,
                        message,
                    });
                } else {
                    out.reasons.push(
                        Diagnostic::new(
                            CoroutineUsedSynchronously::meta(),
                            format!(
                                "`{}` was {}, so this call returns a coroutine: it is {}",
                                c.name,
                                cx.made_async_at(at),
                                cx.describe_ctx(c.ctx)
                            ),
                            span(c.range),
                        )
                        .with_help(
                            "call it from an `async def` or from the cell's top level, where pyrepl3 awaits it",
                        ),
                    );
                }
            }
        }
    }

    // 6. Rewritten functions used as values.
    for v in &cs.values {
        if let Target::Rewritten(_, at) = cx.target(v.scope, &v.name) {
            out.reasons.push(
                Diagnostic::new(
                    CoroutineUsedSynchronously::meta(),
                    format!(
                        "`{}` is used as a value here; it was {}, so whoever calls it through this reference gets a coroutine, not a result",
                        v.name,
                        cx.made_async_at(at)
                    ),
                    span(v.range),
                )
                .with_help(format!(
                    "make sure whoever calls it awaits the result (e.g. `await asyncio.gather(*map({}, xs))`)",
                    v.name
                )),
            );
        }
    }

    // 7. What later cells should know.
    for (name, binders) in &cs.scopes[0].binders {
        if binders.is_empty() {
            continue;
        }
        let t = cx.target(0, name);
        let kind = match t {
            Target::Rewritten(k, Some(_)) => Some(k),
            _ => None,
        };
        out.module_names.push((name.clone(), kind));
    }
    out.module_names.sort();

    out.reasons.sort_by_key(|d| (d.span.start, d.span.end));
    out
}

/// One round of the fixed point: rewrite every eligible plain function that calls a rewritten
/// one. `true` when something changed.
fn fixed_point_step(
    cx: &mut Ctx<'_>,
    calls_in: &[Vec<usize>],
    value_uses: &FxHashSet<(usize, String)>,
) -> bool {
    let cs = cx.cs;
    let mut changed = false;
    for (f, fi) in cs.funcs.iter().enumerate() {
        if fi.is_async || cx.rewritten[f] || !eligible(cx, f, value_uses) {
            continue;
        }
        let trigger = calls_in[f].iter().map(|i| &cs.calls[*i]).find(|c| {
            c.role != Some(Role::Awaited)
                && !c.consumed
                && matches!(
                    cx.call_target(c),
                    Target::Rewritten(RewrittenKind::Coroutine, _)
                )
        });
        if let Some(c) = trigger {
            let Target::Rewritten(_, at) = cx.call_target(c) else {
                continue;
            };
            cx.rewritten[f] = true;
            cx.why[f] = Some(format!(
                "it calls `{}` (line {}), which was {}; so its result must be awaited",
                c.name,
                cx.line_of(c.range),
                cx.made_async_at(at)
            ));
            changed = true;
        }
    }
    changed
}

/// May a plain function that calls a rewritten one become `async def` itself?
fn eligible(cx: &Ctx<'_>, f: FuncId, value_uses: &FxHashSet<(usize, String)>) -> bool {
    let fi = &cx.cs.funcs[f];
    if is_dunder(&fi.name) || fi.yields.is_some() {
        return false;
    }
    if !fi.decorators.iter().all(|(d, _)| is_method_kind(d)) {
        return false;
    }
    let sole = cx.cs.scopes[fi.parent]
        .binders
        .get(&fi.name)
        .is_some_and(|b| b.iter().all(|b| *b == Binder::Def(f)));
    sole && !value_uses.contains(&(fi.parent, fi.name.clone()))
}

fn refuse_unsound_functions(cx: &Ctx<'_>, out: &mut Outcome) {
    for (f, fi) in cx.cs.funcs.iter().enumerate() {
        if !cx.rewritten[f] {
            continue;
        }
        let header = Span::new(fi.def_kw, fi.name_range.end().to_u32());
        let Some((at, what)) = fi.own_async else {
            continue;
        };
        let uses = format!("`{}` uses {what} (line {})", fi.name, cx.line_of(at));
        if is_dunder(&fi.name) && !ASYNC_DUNDERS.contains(&fi.name.as_str()) {
            out.refusals.push(Refusal {
                span: header,
                message: format!(
                    "{uses}, but it is the special method `{}`: Python calls it synchronously, so as `async def` its coroutine would never run",
                    fi.name
                ),
                help: format!(
                    "do the awaiting in an ordinary `async def` method (e.g. `async def load(self): ...`) before, and let `{}` use the stored result",
                    fi.name
                ),
            });
            continue;
        }
        if let Some((d, r)) = fi.decorators.iter().find(|(d, _)| is_property(d)) {
            out.refusals.push(Refusal {
                span: span(*r),
                message: format!(
                    "{uses}, but it is a property (`@{d}`): attribute access is synchronous and cannot await"
                ),
                help: format!(
                    "make it an `async def {}(self)` method and write `await obj.{}()`, or compute the value beforehand",
                    fi.name, fi.name
                ),
            });
            continue;
        }
        if let Some(r) = fi.yield_from {
            out.refusals.push(Refusal {
                span: span(r),
                message: format!(
                    "{uses} and `yield from`; `yield from` is not allowed in an async generator"
                ),
                help: "replace `yield from it` with `for x in it: yield x` (or `async for` for async iterables)".into(),
            });
            continue;
        }
        if let Some(y) = fi.yields
            && let Some((d, r)) = fi
                .decorators
                .iter()
                .find(|(d, _)| d.rsplit('.').next() == Some("contextmanager"))
        {
            out.refusals.push(Refusal {
                span: span(*r),
                message: format!(
                    "{uses} and `yield` (line {}), so it would become an async generator, but `@{d}` needs a plain generator",
                    cx.line_of(y)
                ),
                help: format!(
                    "decorate it with `@contextlib.asynccontextmanager` and enter it with `async with {}(...) as ...:`",
                    fi.name
                ),
            });
            continue;
        }
        if let Some(y) = fi.yields {
            if let Some(r) = fi.return_value {
                out.refusals.push(Refusal {
                    span: span(r),
                    message: format!(
                        "{uses} and `yield`, so it would become an async generator, where `return` with a value is not allowed"
                    ),
                    help: "return without a value, or yield the final value instead".into(),
                });
                continue;
            }
            // A generator becomes an async generator: every call must be `async for`'s iterable.
            let sync_use = cx.cs.calls.iter().find(|c| {
                let to_it = match (&c.via_self, &c.via_instance) {
                    (Some(class), _) => *class == fi.parent,
                    (None, Some(r)) => cx.cs.receiver_class(c.scope, r) == Some(fi.parent),
                    (None, None) => matches!(cx.cs.resolve(c.scope, &c.name), Resolved::Scope(s) if s == fi.parent),
                };
                c.role == Some(Role::SyncIter) && c.name == fi.name && to_it
            });
            if let Some(c) = sync_use {
                out.refusals.push(Refusal {
                    span: span(c.range),
                    message: format!(
                        "{uses} and `yield` (line {}), so it would become an async generator, but it is consumed synchronously here (line {})",
                        cx.line_of(y),
                        cx.line_of(c.range)
                    ),
                    help: format!(
                        "iterate it with `async for x in {}(...)` (or `[x async for x in {0}(...)]`)",
                        fi.name
                    ),
                });
            }
        }
    }
    for li in &cx.cs.lambdas {
        if li.own_async.is_some() && li.yields {
            out.refusals.push(Refusal {
                span: span(li.range),
                message: "this lambda both awaits and yields: an async generator cannot return the lambda's value".into(),
                help: "write an `async def` generator instead".into(),
            });
        }
    }
}

fn lambda_edits(cx: &Ctx<'_>, l: usize, out: &mut Outcome, hoisted_at: &mut FxHashSet<usize>) {
    let li = &cx.cs.lambdas[l];
    let src = cx.source;
    let (at, what) = li.own_async.expect("only awaiting lambdas are rewritten");
    let uses = format!("this lambda uses {what} (line {})", cx.line_of(at));
    let params = li.params.map(|p| (p.start().to_u32(), p.end().to_u32()));
    let (ls, le) = (li.range.start().to_u32(), li.range.end().to_u32());
    let (bs, be) = (li.body.start().to_u32(), li.body.end().to_u32());
    let lambda_kw_end = ls + "lambda".len() as u32;

    if let Some((name, stmt)) = &li.assigned
        && li.in_place
        && li.parent == li.stmt_scope
        && starts_line(src, stmt.start().to_u32())
    {
        let (ss, se) = (stmt.start().to_u32(), stmt.end().to_u32());
        let before_params = params.map_or(bs, |p| p.0);
        let mut pieces = vec![Piece::Text(format!(
            "async def {name}({}",
            "\n".repeat(line_breaks(&src[ss as usize..before_params as usize]))
        ))];
        let after_params = match params {
            Some((a, b)) => {
                pieces.push(Piece::Slice(a, b));
                b
            }
            None => lambda_kw_end.min(bs),
        };
        pieces.push(Piece::Text(format!(
            "): return ({}",
            "\n".repeat(line_breaks(&src[after_params as usize..bs as usize]))
        )));
        let anchor = Span::new(ss, se);
        out.edits.push(Edit::replace(ss, bs, pieces, anchor));
        out.edits.push(Edit::replace(
            be,
            se,
            vec![Piece::Text(format!(
                "){}",
                "\n".repeat(line_breaks(&src[be as usize..se as usize]))
            ))],
            anchor,
        ));
        let message = format!("rewrote `{name} = lambda ...` as `async def {name}(...)`: {uses}");
        out.reasons.push(Diagnostic::new(
            LambdaToAsyncDef::meta(),
            message.clone(),
            anchor,
        ));
        out.records.push(TransformRecord {
            kind: TransformKind::LambdaToAsyncDef,
            span: anchor,
            message,
        });
        return;
    }

    // Inline: hoist into a helper `async def` before the enclosing statement.
    let mut captured: Vec<(String, bool)> = Vec::new();
    let mut s = li.parent;
    let mut intermediate = false;
    while s != li.stmt_scope {
        intermediate = true;
        let sc = &cx.cs.scopes[s];
        let is_comp = matches!(sc.kind, ScopeKind::Comprehension { .. });
        for name in sc.binders.keys() {
            if li.reads.contains(name) {
                captured.push((name.clone(), is_comp));
            }
        }
        match sc.parent {
            Some(p) => s = p,
            None => break,
        }
    }
    captured.sort();
    if let Some((name, is_comp)) = captured.first() {
        let (whose, instead) = if *is_comp {
            (
                "the comprehension's variable",
                format!(
                    "define `async def helper({name}): ...` before the comprehension and write `[await helper({name}) for {name} in ...]`"
                ),
            )
        } else {
            (
                "a parameter of the enclosing lambda",
                "write the enclosing lambda as an `async def` with a nested `async def`"
                    .to_string(),
            )
        };
        out.refusals.push(Refusal {
            span: span(li.range),
            message: format!(
                "{uses} and reads `{name}`, {whose}: a helper `async def` hoisted out of it could not see `{name}`"
            ),
            help: instead,
        });
        return;
    }
    if li.has_defaults && intermediate {
        out.refusals.push(Refusal {
            span: span(li.range),
            message: format!(
                "{uses} and has default values, which are evaluated each time the lambda is created inside its comprehension or lambda: a hoisted helper would evaluate them once"
            ),
            help: "write an `async def` and pass those values as arguments".into(),
        });
        return;
    }

    // Where the helper goes: the start of the line of the innermost enclosing statement that
    // starts a line (a compound statement written on one line is hoisted over as a whole).
    let mut anchor_stmt = None;
    for i in (0..li.stmts.len()).rev() {
        let (r, _) = li.stmts[i];
        let st = r.start().to_u32();
        let line = cx.lines.line_of(st);
        let line_start = cx.lines.starts[line];
        let first = first_non_ws(src, line_start);
        if first == st {
            anchor_stmt = Some((i, line, line_start, first));
            break;
        }
        if i > 0 && li.stmts[i - 1].0.start().to_u32() == first {
            continue;
        }
        let before = src[..st as usize].trim_end_matches([' ', '\t', '\x0c']);
        if before.ends_with(';') && cx.lines.facts[line] == LineStart::Free {
            anchor_stmt = Some((i, line, line_start, first));
        }
        break;
    }
    let Some((_, line, line_start, first)) = anchor_stmt else {
        out.refusals.push(Refusal {
            span: span(li.range),
            message: format!(
                "{uses}, and it sits in a statement written on the same line as its `def` or `class` header: there is no line to define a helper `async def` on"
            ),
            help: "put the body on its own indented line".into(),
        });
        return;
    };
    let indent = &src[line_start as usize..first as usize];
    let lambda_line = cx.line(ls);
    let helper = format!("_pyrepl3_lambda_{lambda_line}_{}", cx.index.cpython(ls).col);
    let params_text = params
        .map(|(a, b)| &src[a as usize..b as usize])
        .unwrap_or("");
    let body_text = &src[bs as usize..be as usize];
    let one_line = !params_text.contains(['\n', '\r']) && !body_text.contains(['\n', '\r']);
    let mut pieces = vec![Piece::Text(format!("{indent}async def {helper}("))];
    if let Some((a, b)) = params {
        pieces.push(Piece::Slice(a, b));
    }
    pieces.push(Piece::Text("): return (".into()));
    pieces.push(Piece::Slice(bs, be));
    let anchor = span(li.range);
    // A free blank line just above keeps every user line where it was.
    let blank = line.checked_sub(1).filter(|prev| {
        one_line
            && !hoisted_at.contains(prev)
            && cx.lines.facts[*prev] == LineStart::Free
            && cx.lines.facts[line] == LineStart::Free
            && line_text(src, cx.lines, *prev).trim().is_empty()
            && !prev
                .checked_sub(1)
                .is_some_and(|pp| line_text(src, cx.lines, pp).trim_end().ends_with('\\'))
    });
    match blank {
        Some(prev) => {
            hoisted_at.insert(prev);
            let ps = cx.lines.starts[prev];
            let pe = ps + line_text(src, cx.lines, prev).len() as u32;
            pieces.push(Piece::Text(")".into()));
            out.edits.push(Edit::replace(ps, pe, pieces, anchor));
        }
        None => {
            pieces.push(Piece::Text(")\n".into()));
            out.edits.push(Edit {
                start: line_start,
                end: line_start,
                order: Order::Statement,
                pieces,
                anchor,
                in_place_only: false,
            });
        }
    }
    out.edits.push(Edit::replace(
        ls,
        le,
        vec![Piece::Text(helper.clone())],
        anchor,
    ));
    // At module and class level, remove the helper's name again after the statement.
    let stmt_kind = cx.cs.scopes[li.stmt_scope].kind;
    if let Some(&(inner, true)) = li.stmts.last()
        && !intermediate
        && matches!(stmt_kind, ScopeKind::Module | ScopeKind::Class)
    {
        let mut del = Edit::insert(
            inner.end().to_u32(),
            Order::Statement,
            format!("; del {helper}"),
            anchor,
        );
        del.in_place_only = true;
        out.edits.push(del);
    }
    let message = format!(
        "moved this lambda into a helper `async def {helper}` defined just before line {}, and used the helper in its place: {uses}",
        cx.line(first)
    );
    out.reasons.push(Diagnostic::new(
        LambdaToAsyncDef::meta(),
        message.clone(),
        anchor,
    ));
    let called_here = cx
        .cs
        .calls
        .iter()
        .any(|c| c.callee_lambda == Some(li.range) && cx.can_await(c.ctx));
    // Calls through the name a lambda is assigned to are awaited (or warned about) by name.
    if !called_here && li.assigned.is_none() {
        out.reasons.push(Diagnostic::new(
            CoroutineUsedSynchronously::meta(),
            "the lambda is now an async function: whoever calls it gets a coroutine to await",
            anchor,
        ));
    }
    out.records.push(TransformRecord {
        kind: TransformKind::LambdaToAsyncDef,
        span: anchor,
        message,
    });
}

/// Is `offset` the first non-blank character of its line?
fn starts_line(src: &str, offset: u32) -> bool {
    let before = &src[..offset as usize];
    let line_start = before.rfind(['\n', '\r']).map_or(0, |i| i + 1);
    before[line_start..]
        .chars()
        .all(|c| matches!(c, ' ' | '\t' | '\x0c'))
}

fn first_non_ws(src: &str, from: u32) -> u32 {
    let rest = &src[from as usize..];
    let trimmed = rest.trim_start_matches([' ', '\t', '\x0c']);
    from + (rest.len() - trimmed.len()) as u32
}

/// The text of 0-based line `line`, without its line break.
fn line_text<'s>(src: &'s str, lines: &Lines, line: usize) -> &'s str {
    let start = lines.starts[line] as usize;
    let end = lines
        .starts
        .get(line + 1)
        .map_or(src.len(), |e| *e as usize);
    src[start..end].trim_end_matches(['\n', '\r'])
}
