//! The walk over a cell's execution path: evaluates expressions to abstract values, resolves
//! calls, runs the bodies of called user functions, and records blocking calls.

use ruff_python_ast::helpers::is_compound_statement;
use std::borrow::Cow;
use std::sync::Arc;

use ruff_python_ast::name::Name;
use ruff_python_ast::{
    self as ast, Arguments, Expr, ExprCall, InterpolatedStringElement, Operator, Pattern, Stmt,
};
use ruff_text_size::{Ranged, TextRange};

use super::known::{self, Entry, Guard, Kind};
use super::logs;
use super::{
    Attrs, BlockingReport, ClassInfo, DeepTree, FuncBody, FuncInfo, Lit, QStr, SourceBody,
    SymbolTable, Value, Via,
};
use crate::diagnostic::{Diagnostic, Related};
use crate::rules::blocking::for_family;
use crate::rules::routing::UnresolvedCall;
use crate::span::Span;
use crate::{BlockingCall, CellContext, stack};

/// How many function bodies one cell may run (guards against exponential call graphs).
const BUDGET: u32 = 4096;
/// How many statements and expressions of called functions one cell may walk.
const WORK: u32 = 20_000;
/// How deep user calls are followed.
const MAX_CALL_DEPTH: usize = 24;
/// At most this many informational notes per cell.
const MAX_NOTES: usize = 8;

/// A qualified name built on the stack, without allocating.
struct QBuf {
    buf: [u8; 160],
    len: usize,
    overflow: bool,
}

impl QBuf {
    fn new() -> Self {
        Self {
            buf: [0; 160],
            len: 0,
            overflow: false,
        }
    }

    fn push(&mut self, seg: &str) {
        let dot = usize::from(self.len > 0);
        if self.len + dot + seg.len() > self.buf.len() {
            self.overflow = true;
            return;
        }
        if dot == 1 {
            self.buf[self.len] = b'.';
            self.len += 1;
        }
        self.buf[self.len..self.len + seg.len()].copy_from_slice(seg.as_bytes());
        self.len += seg.len();
    }

    fn as_str(&self) -> Option<&str> {
        if self.overflow {
            return None;
        }
        // SAFETY: `push` only ever appends whole `&str`s and ASCII dots, so the first `len`
        // bytes are always valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(&self.buf[..self.len]) })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameKind {
    Function,
    Class,
    Comprehension,
}

/// The local names of a frame: a short list searched in order (most frames bind a handful of
/// names, and hashing costs more than comparing a few), moved to a hash map when it grows.
/// At most one of the two holds entries.
#[derive(Default)]
struct Locals {
    small: Vec<(Name, Value)>,
    big: Attrs,
}

impl Locals {
    /// Names kept in the list before moving to the map.
    const SMALL: usize = 12;

    fn get(&self, name: &str) -> Option<&Value> {
        if self.big.is_empty() {
            self.small
                .iter()
                .find(|(n, _)| n.as_str() == name)
                .map(|(_, v)| v)
        } else {
            self.big.get(name)
        }
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        if self.big.is_empty() {
            self.small
                .iter_mut()
                .find(|(n, _)| n.as_str() == name)
                .map(|(_, v)| v)
        } else {
            self.big.get_mut(name)
        }
    }

    fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Bind `name` (an existing entry keeps its key and gets the new value).
    fn insert(&mut self, name: Name, v: Value) {
        if !self.big.is_empty() {
            self.big.insert(name, v);
        } else if let Some(slot) = self.get_mut(&name) {
            *slot = v;
        } else if self.small.len() < Self::SMALL {
            self.small.push((name, v));
        } else {
            self.big.extend(self.small.drain(..));
            self.big.insert(name, v);
        }
    }

    fn remove(&mut self, name: &str) -> Option<Value> {
        if self.big.is_empty() {
            let i = self.small.iter().position(|(n, _)| n.as_str() == name)?;
            Some(self.small.swap_remove(i).1)
        } else {
            self.big.remove(name)
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&Name, &Value)> {
        self.small
            .iter()
            .map(|(n, v)| (n, v))
            .chain(self.big.iter())
    }

    fn into_attrs(self) -> Attrs {
        if self.big.is_empty() {
            self.small.into_iter().collect()
        } else {
            self.big
        }
    }

    /// Empty, keeping the list's room for the next frame (the map's is given back).
    fn clear(&mut self) {
        self.small.clear();
        self.big = Attrs::default();
    }
}

/// One scope being executed (a called function, a class body, a comprehension).
struct Frame {
    kind: FrameKind,
    locals: Locals,
    /// Names declared `global`.
    globals: Vec<Name>,
    /// The lexically enclosing frame, if it is on the stack.
    parent: Option<usize>,
    closure: Option<Arc<Attrs>>,
    /// The name of the `self` parameter of a method, and what the method assigned to it.
    self_name: Option<Name>,
    ret: Option<Value>,
}

impl Frame {
    fn new(kind: FrameKind, parent: Option<usize>) -> Self {
        Self {
            kind,
            locals: Locals::default(),
            globals: Vec::new(),
            parent,
            closure: None,
            self_name: None,
            ret: None,
        }
    }
}

/// Attribute names after a qualified name, without allocating (`os` `.path` `.exists`): the
/// outermost attribute of the chain and how many attributes it has above the qualified name
/// (read back from the syntax when written out).
#[derive(Clone, Copy)]
struct Segs<'e> {
    top: Option<&'e ast::ExprAttribute>,
    len: usize,
}

impl<'e> Segs<'e> {
    /// At most this many attributes; a longer chain resolves to nothing.
    const MAX: usize = 8;

    fn new() -> Self {
        Self { top: None, len: 0 }
    }

    /// Add `a`, the attribute whose value is the chain so far.
    fn push(&mut self, a: &'e ast::ExprAttribute) {
        self.top = Some(a);
        self.len += 1;
    }

    /// Append `base` and the segments to a qualified-name buffer (most chains have none:
    /// `np.mean` is the base and a method).
    #[inline]
    fn write(&self, base: &str, q: &mut QBuf) {
        q.push(base);
        if self.len > 0 {
            self.write_segs(q);
        }
    }

    /// [`Self::write`] after the base.
    fn write_segs(&self, q: &mut QBuf) {
        if self.len > Self::MAX {
            q.overflow = true;
            return;
        }
        let mut items = [""; Self::MAX];
        let mut at = self.top;
        for item in items[..self.len].iter_mut().rev() {
            let Some(a) = at else { break };
            *item = a.attr.as_str();
            at = match &*a.value {
                Expr::Attribute(inner) => Some(inner),
                _ => None,
            };
        }
        items[..self.len].iter().for_each(|s| q.push(s));
    }
}

/// A receiver on the way to a call: either a value, or a dotted path under a qualified name
/// (kept as segments so that `os.path.exists` is resolved without allocating).
enum Recv<'e> {
    Val(Value),
    Path(QStr, Via, Segs<'e>),
}

/// The syntax of a function to run.
enum BodyRef<'x> {
    Def(&'x ast::StmtFunctionDef),
    Lambda(&'x ast::ExprLambda),
    Genexp(&'x ast::ExprGenerator),
}

/// What a call expression calls.
enum Callee<'e> {
    /// A qualified name (`time.sleep`, `sqlite3.Connection.execute`): `base`, the attributes
    /// in `segs`, then `method` (written out by [`Callee::qname`]).
    Known {
        base: QStr,
        segs: Segs<'e>,
        method: Option<&'e str>,
        via: Via,
        /// The receiver expression, when the name came from a typed value without a binding.
        recv: Option<&'e Expr>,
    },
    /// A value to call.
    Value(Value),
    /// A method of a value of unknown type.
    UnknownMethod(Option<&'e str>, &'e str),
    /// A name no analysed cell binds.
    Undefined(&'e str),
}

impl Callee<'_> {
    /// Write the qualified name of a known callee into `q`.
    fn qname(&self, q: &mut QBuf) {
        if let Callee::Known {
            base, segs, method, ..
        } = self
        {
            segs.write(base.as_str(), q);
            if let Some(m) = method {
                q.push(m);
            }
        }
    }
}

/// Evaluated call arguments, for callees that need them.
#[derive(Default)]
struct Args<'e> {
    pos: Vec<Value>,
    kw: Vec<(&'e str, Value)>,
}

/// Where a name's visible binding lives (see [`Walker::visible`]).
enum Visible<'w> {
    /// A local of the frame at this index, and its value.
    Local(usize, &'w Value),
    /// A variable the running function closed over.
    Closure(&'w Value),
    /// The module's globals (or nowhere in the frames).
    Global,
}

pub(crate) struct Walker<'c, 's> {
    ctx: CellContext<'c>,
    t: &'s mut SymbolTable,
    frames: Vec<Frame>,
    /// The user functions being run on behalf of the module-level call at `site`.
    chain: Vec<Arc<FuncInfo>>,
    site: Span,
    /// How many functions of `chain` come from other cells (their spans are not ours).
    foreign: u32,
    budget: u32,
    /// Nodes left to walk inside called functions.
    work: u32,
    /// The attributes the last completed method run left on its `self`.
    last_self_attrs: Option<Attrs>,
    /// Start of a call whose result is assigned directly (`m = map(f, xs)` stays lazy).
    lazy_site: Option<u32>,
    /// The statement just walked surely left its block (see [`Self::stmts`]).
    ended: bool,
    /// How many enclosing blocks of the function (or module) being walked may not run, or may
    /// stop part-way (branches of an undecided test, loop bodies, `try` bodies and handlers).
    uncertain: u32,
    /// Blocking calls met so far (reported or not, duplicates included).
    hits_seen: u32,
    /// In the handlers of a `try` whose body made no blocking call: sleeps are not reported.
    quiet_sleep: bool,
    /// While a `@contextmanager` generator is entered: the depth of its body's frame in
    /// `chain`, and the first value its own body yields (what `with ... as x` binds).
    yield_capture: Option<(usize, Option<Value>)>,
    /// The arguments being evaluated are those of a callee that calls a lambda argument at
    /// once and keeps nothing (`sorted(key=...)`, `map(...)` not bound): a module-level
    /// lambda among them need not be copied ([`FuncBody::LambdaAt`]).
    lambda_in_place: bool,
    /// The call being dispatched names its callee by a bare name (`real_sleep(1)` after
    /// `real_sleep = time.sleep`): the object was bound then, so later patches of the module
    /// attribute (`time.sleep = fake`) do not apply.
    bare_callee: bool,
    /// How deep the syntax of the function being run nests (a function of an earlier cell can
    /// be far deeper than this cell): copies of its `def`s and lambdas get stack for that.
    body_depth: usize,
    /// The cell's module, to find where it binds a name (for secondary labels).
    module: &'c ast::ModModule,
    /// The name at the root of the module-level call being resolved (`time` in `time.sleep()`).
    call_root: Option<Name>,
    /// The index of the module-level statement being walked.
    top: usize,
    report: BlockingReport,
    notes: Vec<Diagnostic>,
    /// Where the stack was at the last full stack check (see [`stack::Mark`]).
    stack_mark: stack::Mark,
    /// Emptied locals of finished frames, for the next frames (no allocation per call).
    spare: Vec<Locals>,
    /// The first of them, kept apart: most cells finish one frame at a time, and the list
    /// then never allocates.
    spare_one: Option<Locals>,
}

impl<'c, 's> Walker<'c, 's> {
    pub(crate) fn new(
        ctx: &CellContext<'c>,
        module: &'c ast::ModModule,
        t: &'s mut SymbolTable,
    ) -> Self {
        Self {
            ctx: *ctx,
            t,
            frames: Vec::new(),
            chain: Vec::new(),
            site: Span::default(),
            foreign: 0,
            budget: BUDGET,
            work: WORK,
            last_self_attrs: None,
            lazy_site: None,
            yield_capture: None,
            hits_seen: 0,
            ended: false,
            uncertain: 0,
            quiet_sleep: false,
            lambda_in_place: false,
            bare_callee: false,
            body_depth: 0,
            module,
            call_root: None,
            top: 0,
            report: BlockingReport::default(),
            notes: Vec::new(),
            stack_mark: stack::Mark::default(),
            spare: Vec::new(),
            spare_one: None,
        }
    }

    pub(crate) fn finish(mut self) -> BlockingReport {
        let mut report = std::mem::take(&mut self.report);
        // Calls in source order (stable): only reorder when they are not already.
        if report
            .calls
            .windows(2)
            .any(|w| w[0].span.start > w[1].span.start)
        {
            let mut order: Vec<usize> = (0..report.calls.len()).collect();
            order.sort_by_key(|&i| (report.calls[i].span.start, i));
            let calls = std::mem::take(&mut report.calls);
            let reasons = std::mem::take(&mut report.reasons);
            let mut calls: Vec<Option<BlockingCall>> = calls.into_iter().map(Some).collect();
            let mut reasons: Vec<Option<Diagnostic>> = reasons.into_iter().map(Some).collect();
            for i in order {
                report.calls.extend(calls[i].take());
                report.reasons.extend(reasons[i].take());
            }
        }
        self.notes.sort_by_key(|d| d.span.start);
        report.reasons.append(&mut self.notes);
        report.loop_bound.sort_by_key(|(s, _)| s.start);
        report
    }

    /// Run `f` one level deeper in a recursive walk, with enough stack for it (the full check
    /// only runs once the stack has moved far from where it last ran, see [`stack::Mark`]).
    #[inline(always)]
    fn guarded<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        stack::Mark::guard(self, |w| &mut w.stack_mark, f)
    }

    /// A frame for a function or comprehension, reusing the locals of a finished one.
    fn new_frame(&mut self, kind: FrameKind, parent: Option<usize>) -> Frame {
        let mut frame = Frame::new(kind, parent);
        if let Some(locals) = self.spare.pop().or_else(|| self.spare_one.take()) {
            frame.locals = locals;
        }
        frame
    }

    /// Keep the locals of a finished frame for [`Self::new_frame`].
    fn recycle(&mut self, mut locals: Locals) {
        if locals.small.capacity() > 0 && self.spare.len() < 16 {
            locals.clear();
            if self.spare_one.is_none() {
                self.spare_one = Some(locals);
                return;
            }
            self.spare.push(locals);
        }
    }

    // ----- positions and source text -------------------------------------------------------

    /// `true` while walking syntax of the current cell (not a function from an earlier one).
    fn local(&self) -> bool {
        self.foreign == 0
    }

    fn line(&self, range: TextRange) -> u32 {
        self.ctx.file_line(range.start().to_u32())
    }

    fn text(&self, range: TextRange) -> Option<&'c str> {
        if !self.local() {
            return None;
        }
        self.ctx
            .source
            .get(range.start().to_usize()..range.end().to_usize())
    }

    /// A short rendering of an expression for `via` strings (`sqlite3.connect(...)`) as a
    /// name (kept inline, without allocating, when it is short).
    fn short_name(&self, e: &Expr) -> Option<Name> {
        Some(Name::concat(&self.short_parts(e)?))
    }

    /// The pieces of the short rendering of `e`: the source text of `e` (of the callee, for a call) and
    /// `(...)` for a call, cut to 57 bytes and followed by `...` when longer than 60.
    fn short_parts(&self, e: &Expr) -> Option<[&'c str; 3]> {
        let (text, suffix) = match e {
            Expr::Call(c) => (self.text(c.func.range())?, "(...)"),
            _ => (self.text(e.range())?, ""),
        };
        if text.len() + suffix.len() <= 60 {
            return Some([text, suffix, ""]);
        }
        let mut cut = 57;
        if cut >= text.len() {
            // The cut falls in the (ASCII) suffix.
            return Some([text, &suffix[..cut - text.len()], "..."]);
        }
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        Some([&text[..cut], "", "..."])
    }

    // ----- reporting -----------------------------------------------------------------------

    fn hit(
        &mut self,
        span: Span,
        name: &str,
        family: known::Family,
        via: impl FnOnce(&Self) -> String,
    ) {
        self.hits_seen = self.hits_seen.wrapping_add(1);
        if self.quiet_sleep && family == known::Family::Sleep {
            return;
        }
        let span = if self.chain.is_empty() {
            span
        } else {
            self.site
        };
        // A call already reported is not described again.
        if self
            .report
            .calls
            .iter()
            .any(|c| c.span == span && c.name == name)
        {
            return;
        }
        let via = if self.chain.is_empty() {
            via(self)
        } else {
            let mut s = String::with_capacity(48 * self.chain.len() + name.len());
            for (i, f) in self.chain.iter().enumerate() {
                if i > 0 {
                    s.push_str(" → ");
                }
                f.push_label(&mut s);
                s.push_str(" (line ");
                super::push_u32(&mut s, f.line);
                s.push(')');
            }
            s.push_str(" calls ");
            s.push_str(name);
            s
        };
        let (rule, desc) = for_family(family);
        let message = crate::diagnostic::concat(&["`", name, "` blocks (", desc, "); via ", &via]);
        // The related location is made in place (one allocation for the list, exactly sized).
        let related = match &self.call_root {
            Some(root) if self.chain.is_empty() => {
                // With no function running, the call is in module statement `top`: the
                // statements starting before it are those before `top`, and `top` itself
                // unless the call starts it.
                let body = &self.module.body;
                let end = self.top
                    + usize::from(
                        body.get(self.top)
                            .is_some_and(|s| s.range().start().to_u32() < span.start),
                    );
                debug_assert_eq!(
                    end,
                    body.partition_point(|s| s.range().start().to_u32() < span.start)
                );
                match binding_site_in_prefix(&body[..end], root, span.start) {
                    Some((at, label)) if at != span => vec![Related {
                        span: at,
                        message: Cow::Borrowed(label),
                    }],
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        };
        self.report.reasons.push(Diagnostic {
            rule,
            severity: rule.severity,
            message: Cow::Owned(message),
            span,
            help: None,
            related,
        });
        // Most names are in pyrepl3's tables: one hash instead of an allocation and a free.
        let name = match known::static_name(name) {
            Some(st) => Cow::Borrowed(st),
            None => Cow::Owned(name.to_string()),
        };
        self.report.calls.push(BlockingCall {
            name,
            span,
            via,
            rule,
        });
    }

    fn loop_bound(&mut self, span: Span, name: &str) {
        let span = if self.chain.is_empty() {
            span
        } else {
            self.site
        };
        if !self
            .report
            .loop_bound
            .iter()
            .any(|(s, n)| *s == span && n == name)
        {
            self.report.loop_bound.push((span, name.to_string()));
        }
    }

    fn note(&mut self, span: Span, message: impl FnOnce() -> String) {
        if !self.chain.is_empty() || self.notes.len() >= MAX_NOTES {
            return;
        }
        let message = message();
        if self.notes.iter().any(|n| n.message == message) {
            return;
        }
        self.notes
            .push(Diagnostic::new(UnresolvedCall::meta(), message, span));
    }

    // ----- names ---------------------------------------------------------------------------

    /// What `name` is bound to here.
    /// Replaces the value of the binding of `name` that [`Self::lookup`] sees (a local of a
    /// frame on the stack, or a global); a closure's copy is left alone.
    fn rebind_visible(&mut self, name: &str, v: Value) {
        match self.visible(name) {
            Visible::Local(i, _) => {
                if let Some(slot) = self.frames[i].locals.get_mut(name) {
                    *slot = v;
                }
            }
            Visible::Closure(_) => {}
            Visible::Global => {
                if let Some(slot) = self.t.globals.get_mut(name) {
                    *slot = v;
                }
            }
        }
    }

    /// Where the binding of `name` that the running code sees lives: a local of a frame on
    /// the stack, a closure's copy, or (past a `global` declaration or every frame) the module.
    fn visible(&self, name: &str) -> Visible<'_> {
        let mut cur = self.frames.len().checked_sub(1);
        let mut innermost = true;
        while let Some(i) = cur {
            let f = &self.frames[i];
            if f.globals.iter().any(|g| g.as_str() == name) {
                break;
            }
            if f.kind != FrameKind::Class || innermost {
                if let Some(v) = f.locals.get(name) {
                    return Visible::Local(i, v);
                }
                if let Some(v) = f.closure.as_ref().and_then(|c| c.get(name)) {
                    return Visible::Closure(v);
                }
            }
            innermost = false;
            cur = f.parent;
        }
        Visible::Global
    }

    /// The value a name is bound to in the frames or the module, without copying it (builtins
    /// and star imports, which are never constants, are not looked at).
    fn bound_ref(&self, name: &str) -> Option<&Value> {
        if !self.frames.is_empty() {
            match self.visible(name) {
                Visible::Local(_, v) | Visible::Closure(v) => return Some(v),
                Visible::Global => {}
            }
        }
        self.t.globals.get(name)
    }

    fn lookup(&self, name: &str) -> Option<Value> {
        if let Some(v) = self.bound_ref(name) {
            return Some(v.clone());
        }
        for m in &self.t.star_modules {
            let mut q = QBuf::new();
            q.push(m);
            q.push(name);
            if let Some(qs) = q.as_str()
                && known::lookup(qs).is_some()
            {
                let via = Via::Text(format!("from {m} import *").into());
                return Some(Value::Qual(QStr::new(qs), via));
            }
        }
        match known::builtin(name) {
            // Builtins pyrepl3 knows nothing special about are harmless callables.
            Some((_, false)) => Some(Value::Plain),
            Some((name, true)) => Some(Value::Qual(QStr::from_static(name), Via::None)),
            None => None,
        }
    }

    fn bind(&mut self, name: &Name, v: Value) {
        // A constant bound where the code may or may not run (`if <unknown>: compatible =
        // False`) is one of two values afterwards: no test may be decided by it.
        let v = match v {
            Value::Lit(_) | Value::Str(_) if self.uncertain > 0 => Value::Plain,
            v => v,
        };
        if let Some(f) = self.frames.last_mut()
            && !f.globals.iter().any(|g| g == name)
        {
            f.locals.insert(name.clone(), v);
            return;
        }
        // One hash: an existing entry keeps its key and gets the new value.
        self.t.globals.insert(name.clone(), v);
    }

    fn unbind(&mut self, name: &str) {
        if let Some(f) = self.frames.last_mut()
            && !f.globals.iter().any(|g| g.as_str() == name)
        {
            f.locals.remove(name);
            return;
        }
        self.t.globals.remove(name);
    }

    /// Bind an assignment target. `rhs` is the assigned expression (for `via` strings).
    fn bind_target(&mut self, target: &Expr, v: Value, rhs: Option<&Expr>) {
        // A plain name whose value gets no new via (see bind_target_inner) is bound directly.
        if let Expr::Name(n) = target
            && !(rhs.is_some()
                && matches!(v, Value::Instance(..) | Value::Qual(..) | Value::Items(..))
                && self.local())
        {
            return self.bind(&n.id, v);
        }
        self.guarded(|this| this.bind_target_inner(target, v, rhs))
    }

    fn bind_target_inner(&mut self, target: &Expr, v: Value, rhs: Option<&Expr>) {
        match target {
            Expr::Name(n) => {
                let v = match v {
                    Value::Instance(ty, _) if rhs.is_some() && self.local() => {
                        Value::Instance(ty, self.assign_via(&n.id, rhs))
                    }
                    Value::Qual(q, old) if rhs.is_some() && self.local() => {
                        let via = self.assign_via(&n.id, rhs);
                        // A name the tables know always takes the new via.
                        let via = if via.is_none() && !q.is_known() {
                            old
                        } else {
                            via
                        };
                        Value::Qual(q, via)
                    }
                    // `threads = [Thread(...) for ...]`: the items say where they came from.
                    Value::Items(item, index) if rhs.is_some() && self.local() => match *item {
                        Value::Instance(ty, _) => {
                            let via = self.assign_via(&n.id, rhs);
                            Value::Items(Box::new(Value::Instance(ty, via)), index)
                        }
                        other => Value::Items(Box::new(other), index),
                    },
                    other => other,
                };
                self.bind(&n.id, v);
            }
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                let parts = match rhs {
                    Some(Expr::Tuple(t)) if t.elts.len() == elts.len() => Some(&t.elts),
                    Some(Expr::List(l)) if l.elts.len() == elts.len() => Some(&l.elts),
                    _ => None,
                };
                for (i, el) in elts.iter().enumerate() {
                    match parts {
                        // `db, lock = sqlite3.connect(p), threading.Lock()`: each name takes
                        // its item's value (evaluated already), with the item for its `via`.
                        Some(p) => {
                            let pv = match &v {
                                Value::Tuple(items) if items.len() == elts.len() => {
                                    items[i].clone()
                                }
                                _ => self.peek(&p[i]),
                            };
                            self.bind_target(el, pv, Some(&p[i]));
                        }
                        None => {
                            let item = match &v {
                                Value::Tuple(items) if items.len() == elts.len() => {
                                    items[i].clone()
                                }
                                // `primary, replica = caches`: each is an item.
                                Value::Items(item, _) => (**item).clone(),
                                Value::Instance(ty, via) => {
                                    match known::unpack(ty).and_then(|t| t.get(i)) {
                                        Some(&"") | None => Value::Unknown,
                                        Some(t) => Value::Instance(t, via.clone()),
                                    }
                                }
                                Value::Async => Value::Async,
                                _ => Value::Unknown,
                            };
                            self.bind_target(el, item, None)
                        }
                    }
                }
            }
            Expr::Starred(s) => self.bind_target(&s.value, Value::Plain, None),
            Expr::Attribute(a) => {
                // `quiet.propagate = False`: the logger's records no longer reach the root's
                // handlers.
                if a.attr.as_str() == "propagate"
                    && rhs.is_some_and(|e| matches!(e, Expr::BooleanLiteral(b) if !b.value))
                    && matches!(self.peek(&a.value), Value::Instance("logging.Logger", _))
                {
                    let key = self.text(a.value.range()).unwrap_or("?");
                    self.t.logs.get_or_insert_default().stop_propagating(key);
                    return;
                }
                // `self.x = v` in a method: remember it as an attribute of the instance.
                if let Expr::Name(base) = &*a.value
                    && let Some(f) = self.frames.last_mut()
                    && f.self_name.as_ref() == Some(&base.id)
                {
                    if let Some(Value::UserInstance(_, attrs)) = f.locals.get_mut(&base.id) {
                        Arc::make_mut(attrs).insert(a.attr.id.clone(), v);
                    }
                    return;
                }
                // `h.session = sess` on a user object: the object has that attribute now (a
                // value pyrepl3 does not follow is not recorded: the assignment may sit in a
                // branch not taken, as `if f is not None: obj.read = f`).
                if let Expr::Name(base) = &*a.value
                    && let Some(Value::UserInstance(cls, attrs)) = self.lookup(&base.id)
                {
                    // A class that defines `__setattr__` runs it for every assignment.
                    if let Some(Value::Func(f)) = cls.lookup("__setattr__").cloned() {
                        let this = Value::UserInstance(cls.clone(), attrs.clone());
                        let args = Args {
                            pos: vec![Value::Plain, v.clone()],
                            kw: Vec::new(),
                        };
                        self.call_value(
                            Value::Method(f, Box::new(this)),
                            args,
                            None,
                            Span::from(a.range()),
                        );
                    }
                    if !followable(&v) {
                        return;
                    }
                    let mut attrs = Arc::unwrap_or_clone(attrs);
                    attrs.insert(a.attr.id.clone(), v);
                    self.rebind_visible(&base.id, Value::UserInstance(cls, Arc::new(attrs)));
                    return;
                }
                // `time.sleep = fake`: later calls of `time.sleep` call `fake`; assigning the
                // original back (`time.sleep = real_sleep`) undoes it.
                if let Recv::Path(q, _, segs) = self.recv(&a.value) {
                    let mut b = QBuf::new();
                    segs.write(q.as_str(), &mut b);
                    b.push(&a.attr);
                    if let Some(name) = b.as_str() {
                        if matches!(&v, Value::Qual(o, _) if o.as_str() == name) {
                            self.t.patched.remove(name);
                        } else {
                            self.t.patched.insert(name.into(), v);
                        }
                    }
                }
            }
            Expr::Subscript(s) => {
                self.exec(&s.value);
                self.exec(&s.slice);
                let Expr::Name(n) = &*s.value else {
                    return;
                };
                let key = self.subscript_key(&s.slice);
                let table = match (self.lookup(&n.id), key) {
                    // `TOOLS["x"] = f`, or `TOOLS[fn.__name__] = fn` in a registering
                    // decorator: the table holds `f` under that key (a dict that was plain
                    // may hold other values too).
                    (Some(Value::Dict(entries, complete)), Some(k)) => {
                        let mut entries = Arc::unwrap_or_clone(entries);
                        let followed = followable(&v);
                        if followed {
                            entries.insert(k, v);
                        } else {
                            entries.remove(&k);
                        }
                        Value::Dict(Arc::new(entries), complete && followed)
                    }
                    (Some(Value::Plain), Some(k)) if followable(&v) => {
                        let mut entries = Attrs::default();
                        entries.insert(k, v);
                        Value::Dict(Arc::new(entries), false)
                    }
                    // Any other key: the table may now hold a value that is not followed.
                    (Some(Value::Dict(entries, true)), None) => Value::Dict(entries, false),
                    _ => return,
                };
                self.rebind_visible(&n.id, table);
            }
            _ => {}
        }
    }

    fn assign_via(&self, target: &Name, rhs: Option<&Expr>) -> Via {
        let Some(rhs) = rhs else {
            return Via::None;
        };
        let Some(text) = self.short_name(rhs) else {
            return Via::None;
        };
        Via::Assign {
            line: self.line(rhs.range()),
            target: target.clone(),
            text,
        }
    }

    /// The value of an expression that was already evaluated (no calls are reported again):
    /// names, attributes of names, and literals.
    /// The qualified name `unittest.mock.patch("a.b", ...)` or `patch.object(a, "b", ...)`
    /// replaces, for a `with` statement's item.
    fn mock_patch_target(&mut self, e: &Expr) -> Option<Box<str>> {
        let Expr::Call(c) = e else {
            return None;
        };
        // Only a callee spelled `...patch`, `patch` or `....object` is resolved.
        let spelled = match &*c.func {
            Expr::Attribute(a) => matches!(a.attr.as_str(), "patch" | "object"),
            Expr::Name(n) => n.id.as_str() == "patch",
            _ => false,
        };
        if !spelled {
            return None;
        }
        let callee = self.qual_of(&c.func)?;
        let first = c.arguments.args.first();
        match callee.as_str() {
            "unittest.mock.patch" => match first? {
                Expr::StringLiteral(t) => Some(t.value.to_str().into()),
                _ => None,
            },
            "unittest.mock.patch.object" => {
                let obj = self.qual_of(first?)?;
                match c.arguments.args.get(1)? {
                    Expr::StringLiteral(a) => Some(format!("{obj}.{}", a.value.to_str()).into()),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The qualified name a name or attribute chain of modules stands for (`mock.patch` after
    /// `from unittest import mock`), without evaluating anything.
    fn qual_of(&self, e: &Expr) -> Option<String> {
        match e {
            Expr::Name(n) => match self.lookup(&n.id)? {
                Value::Qual(q, _) => Some(q.as_str().to_string()),
                _ => None,
            },
            Expr::Attribute(a) => {
                let base = self.qual_of(&a.value)?;
                Some(format!("{base}.{}", a.attr.as_str()))
            }
            _ => None,
        }
    }

    /// Whether `e` is an in-memory buffer: a name bound to one, or a call making one
    /// (`io.StringIO(text)`, `BytesIO(data)`).
    fn is_buffer(&mut self, e: &Expr) -> bool {
        let is_buffer_type = |q: &str| matches!(q, "io.StringIO" | "io.BytesIO");
        match e {
            Expr::Name(_) => {
                matches!(self.peek(e), Value::Instance(ty, _) if is_buffer_type(ty))
            }
            Expr::Call(c) => {
                let mut q = QBuf::new();
                match &*c.func {
                    Expr::Name(n) => match self.lookup(&n.id) {
                        Some(Value::Qual(m, _)) => q.push(m.as_str()),
                        _ => return false,
                    },
                    Expr::Attribute(a) => match &*a.value {
                        Expr::Name(n) => match self.lookup(&n.id) {
                            Some(Value::Qual(m, _)) => {
                                q.push(m.as_str());
                                q.push(&a.attr);
                            }
                            _ => return false,
                        },
                        _ => return false,
                    },
                    _ => return false,
                }
                q.as_str().is_some_and(is_buffer_type)
            }
            _ => false,
        }
    }

    fn peek(&mut self, e: &Expr) -> Value {
        match e {
            Expr::Name(n) => self.lookup(&n.id).unwrap_or_else(|| Value::Unknown),
            e if is_literal(e) => Value::Plain,
            _ => Value::Unknown,
        }
    }

    // ----- statements ----------------------------------------------------------------------

    /// Walk the cell's module-level statements.
    pub(crate) fn module_stmts(&mut self) {
        let module = self.module;
        for (i, s) in module.body.iter().enumerate() {
            self.top = i;
            self.stmt(s);
            // A `raise` the cell surely reaches ends it.
            if self.ended {
                break;
            }
        }
    }

    /// Walk a block; it stops at a statement that surely leaves it (`return`, `raise`,
    /// `break`, `continue`, or an `if` whose taken branch does), and [`Self::ended`] then tells
    /// the enclosing statement.
    fn stmts(&mut self, body: &[Stmt]) {
        for s in body {
            self.stmt(s);
            if self.ended {
                break;
            }
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        if !self.chain.is_empty() {
            if self.work == 0 {
                return;
            }
            self.work -= 1;
        }
        self.guarded(|this| this.stmt_inner(s))
    }

    fn stmt_inner(&mut self, s: &Stmt) {
        match s {
            Stmt::FunctionDef(def) => self.function_def(def),
            Stmt::ClassDef(def) => self.class_def(def),
            Stmt::Return(r) => {
                let v = match r.value.as_deref() {
                    // `return (l for l in lines if ...)`: a generator, run when consumed.
                    Some(Expr::Generator(g)) => self.lazy_genexp(g),
                    Some(v) => self.eval(v),
                    None => Value::Plain,
                };
                if let Some(f) = self.frames.last_mut()
                    && (f.ret.is_none()
                        || matches!(
                            f.ret,
                            Some(Value::Unknown | Value::Plain | Value::Str(_) | Value::Lit(_))
                        ))
                {
                    f.ret = Some(v);
                }
                self.ended = true;
            }
            Stmt::Delete(d) => {
                for t in &d.targets {
                    match t {
                        Expr::Name(n) => self.unbind(&n.id),
                        other => {
                            self.exec(other);
                        }
                    }
                }
            }
            Stmt::TypeAlias(_) | Stmt::Pass(_) => {}
            Stmt::Break(_) | Stmt::Continue(_) => self.ended = true,
            Stmt::IpyEscapeCommand(_) | Stmt::Nonlocal(_) => {}
            Stmt::Assign(a) => {
                let v = match &*a.value {
                    // `g = (f(x) for x in xs)` and `m = map(f, xs)` are lazy: only the first
                    // iterable is evaluated now.
                    Expr::Generator(g) => self.lazy_genexp(g),
                    Expr::Call(c) => {
                        self.lazy_site = Some(c.range().start().to_u32());
                        let v = self.eval(&a.value);
                        self.lazy_site = None;
                        v
                    }
                    // `action = "save"`: a short string, known as a dict key later; `DEBUG =
                    // False`: a constant that decides the branches testing it.
                    other @ (Expr::StringLiteral(_)
                    | Expr::BooleanLiteral(_)
                    | Expr::NoneLiteral(_)
                    | Expr::NumberLiteral(_)) => self.eval_arg(other),
                    other => self.eval(other),
                };
                // The last target takes the value itself (`a = b = v` clones it once).
                if let Some((last, rest)) = a.targets.split_last() {
                    for t in rest {
                        self.bind_target(t, v.clone(), Some(&a.value));
                    }
                    self.bind_target(last, v, Some(&a.value));
                }
            }
            Stmt::AugAssign(a) => {
                let v = self.eval(&a.value);
                if let Expr::Name(n) = &*a.target {
                    let old = self.lookup(&n.id).unwrap_or_else(|| Value::Unknown);
                    let new = binop(old, a.op, v);
                    self.bind(&n.id, new);
                } else {
                    self.bind_target(&a.target, Value::Unknown, None);
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(value) = &a.value {
                    let v = self.eval(value);
                    self.bind_target(&a.target, v, Some(value));
                }
            }
            Stmt::For(f) => {
                let mut it = self.eval(&f.iter);
                if f.is_async && matches!(it, Value::Coro(..)) {
                    // `async for x in agen()`: the async generator's body runs.
                    it = self.awaited(it, Span::from(f.iter.range()));
                }
                // `for x in []:` never runs its body.
                if self.truth(&f.iter) != Some(false) {
                    let item = self.iterate(&it, f.iter.range());
                    self.uncertain += 1;
                    self.bind_target(&f.target, item, None);
                    self.stmts(&f.body);
                    self.uncertain -= 1;
                    // `break` and `continue` end the body, not what follows the loop.
                    self.ended = false;
                }
                self.stmts(&f.orelse);
            }
            Stmt::While(w) => {
                self.exec(&w.test);
                if self.truth(&w.test) == Some(false) {
                    self.stmts(&w.orelse);
                    return;
                }
                self.uncertain += 1;
                self.stmts(&w.body);
                self.uncertain -= 1;
                self.ended = false;
                self.stmts(&w.orelse);
            }
            Stmt::If(i) => {
                // Branches in order: one whose test is surely false is skipped; one surely
                // true (or the `else` after surely false ones) is the only one taken, and
                // whether it leaves the block is the `if`'s; after a test that depends on what
                // runs, every later branch may be taken and none surely is.
                let mut sure = true;
                let branches = std::iter::once((Some(&*i.test), &i.body)).chain(
                    i.elif_else_clauses
                        .iter()
                        .map(|c| (c.test.as_ref(), &c.body)),
                );
                for (test, body) in branches {
                    let t = match test {
                        Some(test) => {
                            self.exec(test);
                            self.truth(test)
                        }
                        None => Some(true),
                    };
                    match t {
                        Some(false) => continue,
                        Some(true) => {
                            // After an undecided test, this branch may not be the one taken.
                            let may_not_run = u32::from(!sure);
                            self.uncertain += may_not_run;
                            self.stmts(body);
                            self.uncertain -= may_not_run;
                            if !sure {
                                self.ended = false;
                            }
                            return;
                        }
                        None => {
                            self.uncertain += 1;
                            self.stmts(body);
                            self.uncertain -= 1;
                            self.ended = false;
                            sure = false;
                        }
                    }
                }
            }
            Stmt::With(w) => {
                // `with mock.patch("os.listdir", ...):`: the body calls the mock.
                let mut unpatch: Vec<(Box<str>, Option<Value>)> = Vec::new();
                for item in &w.items {
                    if let Some(target) = self.mock_patch_target(&item.context_expr) {
                        let old = self.t.patched.insert(target.clone(), Value::Plain);
                        unpatch.push((target, old));
                    }
                }
                for item in &w.items {
                    let v = self.eval(&item.context_expr);
                    let entered = self.enter(v, &item.context_expr, w.is_async);
                    if let Some(target) = &item.optional_vars {
                        let entered = match (entered, &**target) {
                            (Value::Instance(ty, _), Expr::Name(n)) if self.local() => {
                                let via =
                                    self.short_name(&item.context_expr)
                                        .map_or(Via::None, |text| Via::With {
                                            line: self.line(item.range()),
                                            target: n.id.clone(),
                                            text,
                                        });
                                Value::Instance(ty, via)
                            }
                            (v, _) => v,
                        };
                        self.bind_target(target, entered, None);
                    }
                }
                self.stmts(&w.body);
                for (target, old) in unpatch.into_iter().rev() {
                    match old {
                        Some(v) => self.t.patched.insert(target, v),
                        None => self.t.patched.remove(&target),
                    };
                }
            }
            Stmt::Match(m) => {
                self.exec(&m.subject);
                for case in &m.cases {
                    self.pattern(&case.pattern);
                    if let Some(g) = &case.guard {
                        self.exec(g);
                    }
                    self.uncertain += 1;
                    self.stmts(&case.body);
                    self.uncertain -= 1;
                    self.ended = false;
                }
            }
            Stmt::Raise(r) => {
                if let Some(e) = &r.exc {
                    self.exec(e);
                }
                if let Some(e) = &r.cause {
                    self.exec(e);
                }
                self.ended = true;
            }
            Stmt::Try(t) => {
                let before = self.hits_seen;
                // The body may stop at any statement; handlers and `else` may not run.
                self.uncertain += 1;
                self.stmts(&t.body);
                self.ended = false;
                // A handler runs only when the body raises. A body that made no blocking call
                // is taken to succeed, and a sleep in its handler (a retry's backoff) not to
                // run; anything else the handler does still counts.
                let quiet = self.quiet_sleep || self.hits_seen == before;
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    if let Some(ty) = &h.type_ {
                        self.exec(ty);
                    }
                    if let Some(name) = &h.name {
                        self.bind(&name.id, Value::Plain);
                    }
                    let outer = std::mem::replace(&mut self.quiet_sleep, quiet);
                    self.stmts(&h.body);
                    self.quiet_sleep = outer;
                    self.ended = false;
                }
                self.stmts(&t.orelse);
                self.uncertain -= 1;
                self.ended = false;
                // `finally` always runs; the `try` surely ends when it does.
                self.stmts(&t.finalbody);
            }
            Stmt::Assert(a) => {
                self.exec(&a.test);
                // The message is made only when the test fails.
                if let Some(m) = &a.msg
                    && self.truth(&a.test) != Some(true)
                {
                    self.exec(m);
                }
            }
            Stmt::Import(imp) => {
                for alias in &imp.names {
                    let full = alias.name.as_str();
                    let line = self.line(alias.range());
                    match &alias.asname {
                        Some(asname) => {
                            let module = QStr::new(full);
                            let via = Via::Import {
                                line,
                                module: module.clone(),
                                asname: Some(asname.id.clone()),
                            };
                            self.bind(&asname.id, Value::Qual(module, via));
                        }
                        None => {
                            let top =
                                &full[..full.bytes().position(|b| b == b'.').unwrap_or(full.len())];
                            let module = QStr::new(full);
                            let (top, top_q) = if top.len() == full.len() {
                                (alias.name.id.clone(), module.clone())
                            } else {
                                (Name::new(top), QStr::new(top))
                            };
                            let via = Via::Import {
                                line,
                                module,
                                asname: None,
                            };
                            self.bind(&top, Value::Qual(top_q, via));
                        }
                    }
                }
            }
            Stmt::ImportFrom(imp) => {
                let module = imp.module.as_ref().map_or("", |m| m.as_str());
                for alias in &imp.names {
                    let name = alias.name.as_str();
                    if name == "*" {
                        if imp.level == 0 && self.frames.is_empty() {
                            let m: Arc<str> = module.into();
                            if !self.t.star_modules.contains(&m) {
                                self.t.star_modules.push(m);
                            }
                        }
                        continue;
                    }
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                    if imp.level > 0 {
                        self.bind(&bound.id, Value::Unknown);
                        continue;
                    }
                    let mut q = QBuf::new();
                    q.push(module);
                    q.push(name);
                    let Some(qs) = q.as_str() else {
                        self.bind(&bound.id, Value::Unknown);
                        continue;
                    };
                    let qname = QStr::new(qs);
                    let via = Via::From {
                        line: self.line(alias.range()),
                        qname: qname.clone(),
                        asname: alias.asname.as_ref().map(|a| a.id.clone()),
                    };
                    self.bind(&bound.id, Value::Qual(qname, via));
                }
            }
            Stmt::Global(g) => {
                if let Some(f) = self.frames.last_mut() {
                    f.globals.extend(g.names.iter().map(|n| n.id.clone()));
                }
            }
            Stmt::Expr(e) => {
                self.exec(&e.value);
            }
        }
    }

    fn pattern(&mut self, p: &Pattern) {
        self.guarded(|this| this.pattern_inner(p))
    }

    fn pattern_inner(&mut self, p: &Pattern) {
        match p {
            Pattern::MatchValue(v) => {
                self.exec(&v.value);
            }
            Pattern::MatchSingleton(_) => {}
            Pattern::MatchSequence(s) => s.patterns.iter().for_each(|p| self.pattern(p)),
            Pattern::MatchMapping(m) => {
                m.patterns.iter().for_each(|p| self.pattern(p));
                if let Some(rest) = &m.rest {
                    self.bind(&rest.id, Value::Plain);
                }
            }
            Pattern::MatchClass(c) => {
                c.arguments.patterns.iter().for_each(|p| self.pattern(p));
                c.arguments
                    .keywords
                    .iter()
                    .for_each(|k| self.pattern(&k.pattern));
            }
            Pattern::MatchStar(s) => {
                if let Some(n) = &s.name {
                    self.bind(&n.id, Value::Plain);
                }
            }
            Pattern::MatchAs(a) => {
                if let Some(p) = &a.pattern {
                    self.pattern(p);
                }
                if let Some(n) = &a.name {
                    self.bind(&n.id, Value::Unknown);
                }
            }
            Pattern::MatchOr(o) => o.patterns.iter().for_each(|p| self.pattern(p)),
        }
    }

    fn function_def(&mut self, def: &ast::StmtFunctionDef) {
        // Decorators, defaults and annotations are evaluated when the `def` runs.
        let decorators: Vec<Value> = def
            .decorator_list
            .iter()
            .map(|d| self.eval(&d.expression))
            .collect();
        let mut defaults = Vec::new();
        for p in def.parameters.iter_non_variadic_params() {
            if let Some(d) = &p.default {
                // Constants and short strings too: `cache=True` decides `if cache:` inside.
                let v = self.eval_arg(d);
                if !matches!(v, Value::Unknown | Value::Plain) {
                    defaults.push((p.name().id.clone(), v));
                }
            }
        }
        let deco_is = |names: &[&str]| {
            decorators
                .iter()
                .any(|d| matches!(d, Value::Qual(q, _) if names.contains(&q.as_str())))
        };
        let is_static = deco_is(&["staticmethod"]);
        let is_classmethod = deco_is(&["classmethod"]);
        let is_property = deco_is(&["property", "functools.cached_property"]);
        // `@lru_cache(maxsize=None)` is a call: its callee names it.
        let memo = def.decorator_list.iter().any(|d| {
            let e = match &d.expression {
                Expr::Call(c) => &*c.func,
                e => e,
            };
            matches!(
                self.qual_of(e).as_deref(),
                Some("functools.lru_cache" | "functools.cache" | "functools.cached_property")
            )
        });
        let class = self
            .frames
            .last()
            .filter(|f| f.kind == FrameKind::Class)
            .and_then(|f| f.self_name.clone());
        // With no user function running, the walk is in the cell's module-level code (its
        // statements, class bodies and compound statements), so `def` is in the cell's tree:
        // `run` finds it there again by its offset (see `find_def`).
        let local = self.chain.is_empty();
        debug_assert!(
            !local
                || find_def(&self.module.body, def.range().start().to_u32())
                    .is_some_and(|d| std::ptr::eq(d, def)),
            "a def met with no function running is found again in the cell's tree"
        );
        let is_generator = !def.is_async && self.yields(def);
        self.t.lazy |= is_generator;
        let source = if local { self.source_body(def) } else { None };
        let body = match source {
            Some(src) => FuncBody::Source(src),
            None => FuncBody::Def(Arc::new(DeepTree::copy(def, self.copy_depth()))),
        };
        let info = Arc::new(FuncInfo {
            name: def.name.id.clone(),
            class,
            line: self.line(def.range()),
            is_async: def.is_async,
            is_generator,
            is_static,
            is_classmethod,
            is_property,
            memo,
            defaults,
            body,
            cell: self.current_cell(),
            def_at: local.then(|| def.range().start().to_u32()),
            closure: self.closure_snapshot(),
        });
        let mut v = Value::Func(info);
        for d in decorators.into_iter().rev() {
            v = self.decorate(d, v, def.range());
        }
        self.bind(&def.name.id, v);
    }

    /// The text of a module-level `def` of this cell, to parse again when a later cell calls it.
    fn source_body(&self, def: &ast::StmtFunctionDef) -> Option<SourceBody> {
        let src = self.ctx.source;
        let start = def.range().start().to_usize();
        let end = def.range().end().to_usize();
        let line_start = src.get(..start)?.rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let indent = src.get(line_start..start)?;
        if !indent.chars().all(|c| c == ' ' || c == '\t' || c == '\x0c') {
            return None;
        }
        let body = src.get(line_start..end)?;
        let wrapped = !indent.is_empty();
        let text: Box<str> = if wrapped {
            let mut t = String::with_capacity(body.len() + 6);
            t.push_str("if 1:\n");
            t.push_str(body);
            t.into_boxed_str()
        } else {
            Box::from(body)
        };
        Some(SourceBody {
            text,
            wrapped,
            parsed: std::sync::OnceLock::new(),
        })
    }

    fn current_cell(&self) -> u32 {
        match self.chain.last() {
            Some(f) if !self.local() => f.cell,
            _ => self.t.cells,
        }
    }

    /// The locals of the enclosing function, for a function defined inside it.
    fn closure_snapshot(&self) -> Option<Arc<Attrs>> {
        let f = self
            .frames
            .iter()
            .rev()
            .find(|f| f.kind == FrameKind::Function)?;
        let mut env = f.closure.as_deref().cloned().unwrap_or_default();
        env.extend(f.locals.iter().map(|(k, v)| (k.clone(), v.clone())));
        Some(Arc::new(env))
    }

    /// Apply a decorator to a freshly defined function.
    fn decorate(&mut self, deco: Value, func: Value, range: TextRange) -> Value {
        match deco {
            Value::Func(_) | Value::Method(..) | Value::Partial(_) => {
                let args = Args {
                    pos: vec![func.clone()],
                    kw: Vec::new(),
                };
                match self.call_value(deco, args, None, Span::from(range)) {
                    r @ (Value::Func(_) | Value::Method(..) | Value::Partial(_)) => r,
                    Value::Plain | Value::Unknown => func,
                    other => other,
                }
            }
            // Library decorators (`functools.wraps`, `lru_cache`, `app.route(...)`) keep the
            // function callable as it was.
            _ => func,
        }
    }

    fn class_def(&mut self, def: &ast::StmtClassDef) {
        for d in &def.decorator_list {
            self.exec(&d.expression);
        }
        let mut bases = Vec::new();
        let mut lib_base = None;
        if let Some(args) = &def.arguments {
            for a in &args.args {
                match self.eval(a) {
                    Value::Class(c) => bases.push(c),
                    Value::Qual(q, _) => {
                        if let Some(Entry { ret: Some(ty), .. }) = known::lookup(q.as_str()) {
                            lib_base = lib_base.or(Some(ty));
                        }
                    }
                    _ => {}
                }
            }
            for k in &args.keywords {
                self.exec(&k.value);
            }
        }
        // The class body runs now, in its own scope.
        let parent = self.frames.len().checked_sub(1);
        let mut frame = Frame::new(FrameKind::Class, parent);
        frame.self_name = Some(def.name.id.clone());
        let base = self.frames.len();
        self.frames.push(frame);
        self.stmts(&def.body);
        self.frames.truncate(base + 1);
        // `log: IO = field(default_factory=lambda: open(p))`: the factory, made in the class's
        // scope, runs when an instance is made without that field.
        let factories = self.default_factories(&def.body);
        let attrs = self
            .frames
            .pop()
            .map(|f| f.locals.into_attrs())
            .unwrap_or_default();
        // Annotated names, for a dataclass's generated `__init__` (fields without a default
        // value first is the dataclass rule; their order is the body's).
        let fields = def
            .body
            .iter()
            .filter_map(|s| match s {
                Stmt::AnnAssign(a) => match &*a.target {
                    Expr::Name(n) => Some(n.id.clone()),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let init_subclass = bases
            .iter()
            .find_map(|b| b.lookup("__init_subclass__"))
            .cloned();
        let info = Arc::new(ClassInfo {
            name: def.name.id.clone(),
            attrs,
            bases,
            lib_base,
            fields,
            factories,
        });
        // Making a subclass calls the nearest base's `__init_subclass__` with it.
        if let Some(Value::Func(f)) = init_subclass {
            self.run(
                &f,
                Some(Value::Class(info.clone())),
                Args::default(),
                Span::from(def.range()),
            );
        }
        self.bind(&def.name.id, Value::Class(info));
    }

    /// The `default_factory` of each annotated name of a class body given
    /// `dataclasses.field(default_factory=...)`, evaluated in the class's scope (the innermost
    /// frame).
    fn default_factories(&mut self, body: &[Stmt]) -> Vec<(Name, Value)> {
        let mut out = Vec::new();
        for s in body {
            if let Stmt::AnnAssign(a) = s
                && let Expr::Name(n) = &*a.target
                && let Some(Expr::Call(c)) = a.value.as_deref()
                && let Some(k) = c.arguments.keywords.iter().find(|k| {
                    k.arg
                        .as_ref()
                        .is_some_and(|n| n.as_str() == "default_factory")
                })
                && self.qual_of(&c.func).as_deref() == Some("dataclasses.field")
            {
                let f = self.eval(&k.value);
                if !matches!(f, Value::Unknown | Value::Plain) {
                    out.push((n.id.clone(), f));
                }
            }
        }
        out
    }

    /// The value bound by `with <v> as x`, reporting what entering does.
    fn enter(&mut self, v: Value, e: &Expr, is_async: bool) -> Value {
        match v {
            // `with opened(p) as f:` of a `@contextmanager` generator: entering runs its body
            // up to the `yield` (leaving runs the rest).
            // `as x` binds what the body yields.
            Value::Gen(f, args) if !is_async => {
                let outer = self.yield_capture.replace((self.chain.len() + 1, None));
                self.resume(&f, &args, Span::from(e.range()));
                let captured = std::mem::replace(&mut self.yield_capture, outer);
                captured.and_then(|(_, v)| v).unwrap_or(Value::Unknown)
            }
            Value::Instance(ty, via) => {
                let mut q = QBuf::new();
                q.push(ty);
                q.push("__enter__");
                if let Some(qs) = q.as_str()
                    && let Some(Entry {
                        kind: Kind::Block(fam),
                        ..
                    }) = known::lookup(qs)
                    && !is_async
                {
                    let name = format!("{ty}.acquire");
                    let span = Span::from(e.range());
                    self.hit(span, &name, fam, |w| {
                        w.describe_via(&via, Some(e))
                            .unwrap_or_else(|| "with".into())
                    });
                }
                if let Some((name, fam)) = known::exit_blocks(ty)
                    && !is_async
                {
                    // Leaving the block waits (`ThreadPoolExecutor` shuts down with wait=True).
                    self.hit(Span::from(e.range()), name, fam, |w| {
                        w.describe_via(&via, Some(e))
                            .unwrap_or_else(|| "with".into())
                    });
                }
                match known::enter_type(ty) {
                    Some(t) => Value::Instance(t, via),
                    None => Value::Plain,
                }
            }
            Value::UserInstance(ref cls, _) => {
                let span = Span::from(e.range());
                let (enter, exit) = if is_async {
                    ("__aenter__", "__aexit__")
                } else {
                    ("__enter__", "__exit__")
                };
                let mut entered = v.clone();
                if let Some(Value::Func(f)) = cls.lookup(enter).cloned() {
                    let r = self.call_value(
                        Value::Method(f, Box::new(v.clone())),
                        Args::default(),
                        None,
                        span,
                    );
                    entered = if is_async { self.awaited(r, span) } else { r };
                }
                if let Some(Value::Func(f)) = cls.lookup(exit).cloned() {
                    let r =
                        self.call_value(Value::Method(f, Box::new(v)), Args::default(), None, span);
                    if is_async {
                        self.awaited(r, span);
                    }
                }
                entered
            }
            Value::Async => Value::Async,
            Value::Coro(..) | Value::Gather(_) => Value::Unknown,
            other => other,
        }
    }

    /// `list(v)`, `sorted(v)`...: iterates `v` to the end (reporting blocking iteration) and
    /// keeps the item type of typed iterables.
    fn consume(&mut self, v: Option<&Value>, span: Span) -> Value {
        let Some(v) = v else {
            return Value::Plain;
        };
        let range = TextRange::new(span.start.into(), span.end.into());
        self.iterate(v, range);
        match v {
            // `sorted(root.rglob("*.py"))`: a list of the paths, read once (iterating the list
            // later reads nothing).
            Value::Instance(ty, via) if let Some(item) = known::item_type(ty) => {
                Value::Items(Box::new(Value::Instance(item, via.clone())), true)
            }
            Value::Items(item, _) => Value::Items(item.clone(), true),
            _ => Value::Plain,
        }
    }

    /// The item of `for x in <v>`, reporting blocking iteration (files, cursors).
    fn iterate(&mut self, v: &Value, range: TextRange) -> Value {
        if let Some(item) = same_items(v) {
            return item;
        }
        // `steps = [prep, lambda: nap(1)]`: a loop over it calls each in turn.
        if let Value::Tuple(items) = v
            && items.len() > 1
            && items
                .iter()
                .all(|i| matches!(i, Value::Func(_) | Value::Partial(_) | Value::Method(..)))
        {
            return Value::EachOf(items.clone());
        }
        if let Value::Mapped(f) = v {
            return self.call_value((**f).clone(), Args::default(), None, Span::from(range));
        }
        if let Value::Gen(f, args) = v {
            self.resume(f, args, Span::from(range));
            return Value::Unknown;
        }
        if let Value::UserInstance(cls, _) = v {
            // A user iterable: its `__iter__` runs, then the iterator it returns is iterated
            // (a generator's body, or a user iterator's `__next__`).
            let span = Span::from(range);
            if let Some(Value::Func(f)) = cls.lookup("__iter__").cloned() {
                let it = self.call_value(
                    Value::Method(f, Box::new(v.clone())),
                    Args::default(),
                    None,
                    span,
                );
                if !matches!(&it, Value::UserInstance(c, _) if Arc::ptr_eq(c, cls)) {
                    return self.iterate(&it, range);
                }
            }
            if let Some(Value::Func(f)) = cls.lookup("__next__").cloned() {
                self.call_value(
                    Value::Method(f, Box::new(v.clone())),
                    Args::default(),
                    None,
                    span,
                );
            }
            return Value::Unknown;
        }
        if let Value::Instance(ty, via) = v {
            let mut q = QBuf::new();
            q.push(ty);
            q.push("__iter__");
            if let Some(qs) = q.as_str()
                && let Some(Entry {
                    kind: Kind::Block(fam),
                    ..
                }) = known::lookup(qs)
            {
                // The lazy result of `glob.iglob(...)` is read as the call it came from.
                let qs = if known::lazy_call(ty) {
                    ty.to_string()
                } else {
                    qs.to_string()
                };
                self.hit(Span::from(range), &qs, fam, |w| {
                    w.describe_via(via, None)
                        .unwrap_or_else(|| "iteration".into())
                });
            }
            if let Some(item) = known::item_type(ty) {
                return Value::Instance(item, via.clone());
            }
            return Value::Plain;
        }
        if let Value::Qual(q, via) = v {
            let mut b = QBuf::new();
            b.push(q.as_str());
            b.push("__iter__");
            if let Some(qs) = b.as_str()
                && let Some(Entry {
                    kind: Kind::Block(fam),
                    ..
                }) = known::lookup(qs)
            {
                let qs = qs.to_string();
                self.hit(Span::from(range), &qs, fam, |w| {
                    w.describe_via(via, None).unwrap_or_else(|| qs.clone())
                });
            }
        }
        match v {
            Value::Async => Value::Async,
            _ => Value::Unknown,
        }
    }

    // ----- expressions ---------------------------------------------------------------------

    fn eval(&mut self, e: &Expr) -> Value {
        if !self.chain.is_empty() {
            if self.work == 0 {
                return Value::Unknown;
            }
            self.work -= 1;
        }
        match e {
            // Leaves: no calls, no bindings, no recursion.
            Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::NumberLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_)
            | Expr::IpyEscapeCommand(_)
            | Expr::TString(_) => Value::Plain,
            Expr::Name(n) => self.lookup(&n.id).unwrap_or_else(|| Value::Unknown),
            _ => self.guarded(|this| this.eval_inner(e)),
        }
    }

    /// Evaluate `e` for its effects only, its value being unused. Names and literals have
    /// none and are skipped, and operators and displays only run their operands for their
    /// effects; every node still counts as walked, as [`Self::eval`] counts it (so the work
    /// budget of called functions runs out at the same place).
    fn exec(&mut self, e: &Expr) {
        match e {
            Expr::BoolOp(_)
            | Expr::BinOp(_)
            | Expr::UnaryOp(_)
            | Expr::If(_)
            | Expr::Dict(_)
            | Expr::Set(_)
            | Expr::List(_)
            | Expr::Tuple(_)
            | Expr::Compare(_)
            | Expr::Subscript(_)
            | Expr::ListComp(_)
            | Expr::SetComp(_)
            | Expr::Generator(_)
            | Expr::DictComp(_) => {
                if !self.chain.is_empty() {
                    if self.work == 0 {
                        return;
                    }
                    self.work -= 1;
                }
                self.guarded(|this| this.exec_inner(e));
            }
            // A call whose result is not used: as eval does it, without making a value.
            Expr::Call(c) => {
                if !self.chain.is_empty() {
                    if self.work == 0 {
                        return;
                    }
                    self.work -= 1;
                }
                self.guarded(|this| {
                    this.call(c, false);
                });
            }
            Expr::Name(_)
            | Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::NumberLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_)
            | Expr::IpyEscapeCommand(_)
            | Expr::TString(_) => {
                if !self.chain.is_empty() && self.work > 0 {
                    self.work -= 1;
                }
            }
            _ => {
                self.eval(e);
            }
        }
    }

    /// The operands of an operator or display, in the order [`Self::eval_inner`] evaluates
    /// them, for their effects only (what it computes from their values has none).
    fn exec_inner(&mut self, e: &Expr) {
        match e {
            // `False and f()`, `"main" or g()`: what comes after a deciding operand never runs.
            Expr::BoolOp(b) => {
                let and = b.op == ast::BoolOp::And;
                for v in &b.values {
                    self.exec(v);
                    if self.truth(v) == Some(!and) {
                        break;
                    }
                }
            }
            Expr::BinOp(b) => {
                self.exec(&b.left);
                self.exec(&b.right);
            }
            Expr::UnaryOp(u) => self.exec(&u.operand),
            Expr::If(i) => {
                self.exec(&i.test);
                match self.truth(&i.test) {
                    Some(false) => self.exec(&i.orelse),
                    Some(true) => self.exec(&i.body),
                    None => {
                        self.exec(&i.body);
                        self.exec(&i.orelse);
                    }
                }
            }
            Expr::Dict(d) => {
                for item in &d.items {
                    if let Some(k) = &item.key {
                        self.exec(k);
                    }
                    self.exec(&item.value);
                }
            }
            Expr::Set(ast::ExprSet { elts, .. })
            | Expr::List(ast::ExprList { elts, .. })
            | Expr::Tuple(ast::ExprTuple { elts, .. }) => elts.iter().for_each(|e| self.exec(e)),
            Expr::Compare(c) => {
                self.exec(&c.left);
                c.comparators.iter().for_each(|e| self.exec(e));
            }
            Expr::Subscript(s) => {
                self.exec(&s.value);
                self.exec(&s.slice);
            }
            // A comprehension whose result is unused: its items are made for their effects.
            Expr::ListComp(c) => {
                self.comprehension(&c.generators, &[&c.elt], false);
            }
            Expr::SetComp(c) => {
                self.comprehension(&c.generators, &[&c.elt], false);
            }
            Expr::Generator(c) => {
                self.comprehension(&c.generators, &[&c.elt], false);
            }
            Expr::DictComp(c) => match &c.key {
                Some(k) => {
                    self.comprehension(&c.generators, &[k, &c.value], false);
                }
                None => {
                    self.comprehension(&c.generators, &[&c.value], false);
                }
            },
            other => {
                self.eval_inner(other);
            }
        }
    }

    fn eval_inner(&mut self, e: &Expr) -> Value {
        match e {
            Expr::BoolOp(b) => {
                let and = b.op == ast::BoolOp::And;
                let mut best = Value::Unknown;
                for e in &b.values {
                    let v = self.eval(e);
                    if self.truth(e) == Some(!and) {
                        // This operand is the result, and nothing after it runs.
                        return v;
                    }
                    if matches!(
                        best,
                        Value::Unknown | Value::Plain | Value::Str(_) | Value::Lit(_)
                    ) {
                        best = v;
                    }
                }
                best
            }
            Expr::Named(n) => {
                // A lambda bound to a name may be called after the cell: it is copied.
                let outer = std::mem::replace(&mut self.lambda_in_place, false);
                let v = self.eval(&n.value);
                self.lambda_in_place = outer;
                self.bind_target(&n.target, v.clone(), Some(&n.value));
                v
            }
            Expr::BinOp(b) => {
                let l = self.eval(&b.left);
                let r = self.eval(&b.right);
                binop(l, b.op, r)
            }
            Expr::UnaryOp(u) => {
                self.exec(&u.operand);
                Value::Plain
            }
            Expr::Lambda(l) => {
                if let Some(params) = &l.parameters {
                    for p in params.iter_non_variadic_params() {
                        if let Some(d) = &p.default {
                            self.exec(d);
                        }
                    }
                }
                // Handed to a callee that calls it now, from the cell's own module-level
                // code: found again in the cell's tree when called, not copied.
                let body = if self.lambda_in_place && self.chain.is_empty() && self.foreign == 0 {
                    FuncBody::LambdaAt(l.range().start().to_u32())
                } else {
                    FuncBody::Lambda(Arc::new(DeepTree::copy(l, self.copy_depth())))
                };
                Value::Func(Arc::new(FuncInfo {
                    name: Name::new_static("<lambda>"),
                    class: None,
                    line: self.line(l.range()),
                    is_async: false,
                    is_generator: false,
                    is_static: false,
                    is_classmethod: false,
                    is_property: false,
                    memo: false,
                    defaults: Vec::new(),
                    body,
                    cell: self.current_cell(),
                    def_at: None,
                    closure: self.closure_snapshot(),
                }))
            }
            Expr::If(i) => {
                self.exec(&i.test);
                match self.truth(&i.test) {
                    Some(false) => return self.eval(&i.orelse),
                    Some(true) => return self.eval(&i.body),
                    None => {}
                }
                let a = self.eval(&i.body);
                let b = self.eval(&i.orelse);
                if matches!(
                    a,
                    Value::Unknown | Value::Plain | Value::Str(_) | Value::Lit(_)
                ) {
                    b
                } else {
                    a
                }
            }
            Expr::Dict(d) => {
                let mut known: Option<Attrs> = None;
                let mut keys = ItemType::default();
                let mut complete = true;
                for item in &d.items {
                    if let Some(k) = &item.key {
                        let kv = self.eval(k);
                        keys.add(kv, false);
                    } else {
                        keys.add(Value::Unknown, true);
                    }
                    let v = self.eval_arg(&item.value);
                    if let Some(Expr::StringLiteral(k)) = &item.key
                        && !matches!(v, Value::Plain | Value::Unknown)
                    {
                        known
                            .get_or_insert_with(Attrs::default)
                            .insert(Name::new(k.value.to_str()), v);
                    } else {
                        complete = false;
                    }
                }
                match known {
                    Some(entries) => Value::Dict(Arc::new(entries), complete),
                    None => keys.value(false),
                }
            }
            Expr::Set(s) => {
                let mut items = ItemType::default();
                for e in &s.elts {
                    let v = self.eval(e);
                    items.add(v, matches!(e, Expr::Starred(_)));
                }
                items.value(false)
            }
            Expr::List(l) => {
                let mut items = ItemType::default();
                // `handles = [db, sess]`: values of different types, kept by index (as a
                // tuple display's are) when none is starred.
                let mut by_index: Option<Vec<Value>> = None;
                let mut starred = false;
                for (i, e) in l.elts.iter().enumerate() {
                    let v = self.eval(e);
                    starred |= matches!(e, Expr::Starred(_));
                    if by_index.is_none() && followable(&v) && i < 16 {
                        by_index = Some(vec![Value::Plain; i]);
                    }
                    if let Some(vs) = &mut by_index {
                        vs.push(v.clone());
                    }
                    items.add(v, matches!(e, Expr::Starred(_)));
                }
                match items.value(true) {
                    Value::Plain if !starred => match by_index {
                        Some(vs) if vs.len() == l.elts.len() => Value::Tuple(vs.into()),
                        _ => Value::Plain,
                    },
                    v => v,
                }
            }
            Expr::Tuple(t) => {
                let mut items: Option<Vec<Value>> = None;
                for (i, e) in t.elts.iter().enumerate() {
                    let v = self.eval(e);
                    if matches!(e, Expr::Starred(_)) {
                        items = None;
                        continue;
                    }
                    if items.is_none() && !matches!(v, Value::Plain | Value::Unknown) && i < 16 {
                        items = Some(vec![Value::Plain; i]);
                    }
                    if let Some(items) = &mut items {
                        items.push(v);
                    }
                }
                match items {
                    Some(items) if items.len() == t.elts.len() => Value::Tuple(items.into()),
                    _ => Value::Plain,
                }
            }
            Expr::ListComp(c) => self
                .comprehension(&c.generators, &[&c.elt], true)
                .value(true),
            Expr::SetComp(c) => self
                .comprehension(&c.generators, &[&c.elt], true)
                .value(false),
            Expr::Generator(c) => self
                .comprehension(&c.generators, &[&c.elt], true)
                .value(false),
            Expr::DictComp(c) => match &c.key {
                Some(k) => {
                    let mut items = self.comprehension(&c.generators, &[k, &c.value], true);
                    match items.value.take() {
                        Some(v) => Value::DictOf(Box::new(v)),
                        None => items.value(false),
                    }
                }
                None => self
                    .comprehension(&c.generators, &[&c.value], true)
                    .value(false),
            },
            Expr::Await(a) => {
                let v = self.eval(&a.value);
                self.awaited(v, Span::from(a.range()))
            }
            Expr::Yield(y) => {
                if let Some(v) = &y.value {
                    // The first value a `@contextmanager` body being entered yields is what
                    // `with ... as x` binds.
                    match self.yield_capture {
                        Some((depth, None)) if depth == self.chain.len() => {
                            let v = self.eval(v);
                            if followable(&v)
                                && let Some((_, slot)) = &mut self.yield_capture
                            {
                                *slot = Some(v);
                            }
                        }
                        _ => self.exec(v),
                    }
                }
                Value::Unknown
            }
            // The body runs because the generator is being consumed: `yield from it` consumes
            // `it` too.
            Expr::YieldFrom(y) => {
                let v = self.eval(&y.value);
                self.iterate(&v, y.value.range());
                Value::Unknown
            }
            Expr::Compare(c) => {
                self.exec(&c.left);
                for e in &c.comparators {
                    self.exec(e);
                }
                Value::Plain
            }
            Expr::Call(c) => self.call(c, true),
            Expr::FString(f) => {
                for el in f.value.elements() {
                    self.interpolation(el);
                }
                Value::Plain
            }
            Expr::TString(_) => Value::Plain,
            Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::NumberLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_)
            | Expr::IpyEscapeCommand(_) => Value::Plain,
            Expr::Attribute(_) => match self.recv(e) {
                Recv::Val(v) => v,
                Recv::Path(base, via, segs) => {
                    let mut q = QBuf::new();
                    segs.write(base.as_str(), &mut q);
                    match q.as_str() {
                        Some(s) => Value::Qual(QStr::new(s), via),
                        None => Value::Unknown,
                    }
                }
            },
            Expr::Subscript(s) => {
                let v = self.eval(&s.value);
                // `TOOLS[name]` with `name` a string pyrepl3 knows: that entry.
                let key = match (&v, &*s.slice) {
                    (Value::Dict(..), Expr::StringLiteral(_)) => None,
                    (Value::Dict(..), slice) => match self.eval(slice) {
                        Value::Str(k) => Some(k),
                        _ => None,
                    },
                    (_, slice) => {
                        self.exec(slice);
                        None
                    }
                };
                // `sys.modules["time"]`, `globals()["time"]`: a module or global by literal name.
                if let Expr::StringLiteral(key) = &*s.slice {
                    let key = key.value.to_str();
                    match (&v, &*s.value) {
                        (Value::Qual(q, _), _) if q.as_str() == "sys.modules" => {
                            return Value::Qual(QStr::new(key), Via::None);
                        }
                        (_, Expr::Call(c))
                            if matches!(&*c.func, Expr::Name(n) if n.id.as_str() == "globals")
                                && c.arguments.args.is_empty() =>
                        {
                            return self
                                .t
                                .globals
                                .get(key)
                                .cloned()
                                .unwrap_or_else(|| Value::Unknown);
                        }
                        _ => {}
                    }
                }
                match v {
                    Value::Tuple(items) => match &*s.slice {
                        Expr::NumberLiteral(ast::ExprNumberLiteral {
                            value: ast::Number::Int(i),
                            ..
                        }) => i
                            .as_usize()
                            .and_then(|i| items.get(i).cloned())
                            .unwrap_or_else(|| Value::Unknown),
                        _ => Value::Unknown,
                    },
                    Value::Dict(entries, complete) => match &*s.slice {
                        Expr::StringLiteral(k) => entries
                            .get(k.value.to_str())
                            .cloned()
                            .unwrap_or_else(|| Value::Unknown),
                        _ if key.is_some() => key
                            .and_then(|k| entries.get(&k).cloned())
                            .unwrap_or_else(|| Value::Unknown),
                        // `TOOLS[name]`: whichever value the key picks.
                        _ if complete => Value::AnyOf(entries.values().cloned().collect()),
                        _ => Value::Unknown,
                    },
                    Value::DictOf(v) => *v,
                    // `store["summarize"]` on a user object runs its `__getitem__`.
                    Value::UserInstance(ref cls, _)
                        if matches!(cls.lookup("__getitem__"), Some(Value::Func(_))) =>
                    {
                        let Some(Value::Func(f)) = cls.lookup("__getitem__").cloned() else {
                            return Value::Unknown;
                        };
                        let key = match &*s.slice {
                            k @ Expr::StringLiteral(_) => self.eval_arg(k),
                            _ => Value::Unknown,
                        };
                        let args = Args {
                            pos: vec![key],
                            kw: Vec::new(),
                        };
                        self.call_value(
                            Value::Method(f, Box::new(v.clone())),
                            args,
                            None,
                            Span::from(s.range()),
                        )
                    }
                    // `df[mask]` and `df[["a", "b"]]` are frames; `df["a"]` is a column.
                    Value::Instance("pandas.DataFrame", via)
                        if !matches!(&*s.slice, Expr::StringLiteral(_)) =>
                    {
                        Value::Instance("pandas.DataFrame", via)
                    }
                    Value::Instance(ty, via) => match known::attr_type(ty, None) {
                        Some(t) => Value::Instance(t, via),
                        None => Value::Unknown,
                    },
                    // `futs[0]` gives a future, `futs[1:]` a list of them.
                    Value::Items(item, true) => match &*s.slice {
                        Expr::Slice(_) => Value::Items(item, true),
                        _ => *item,
                    },
                    Value::Async => Value::Async,
                    Value::Plain | Value::Str(_) | Value::Lit(_) => Value::Plain,
                    _ => Value::Unknown,
                }
            }
            Expr::Starred(s) => {
                // Unpacking iterates: a generator or lazy `map` runs here.
                if self.t.lazy {
                    let v = self.eval(&s.value);
                    if matches!(v, Value::Gen(..) | Value::Mapped(_)) {
                        self.iterate(&v, s.range());
                    }
                } else {
                    self.exec(&s.value);
                }
                Value::Unknown
            }
            Expr::Name(n) => self.lookup(&n.id).unwrap_or_else(|| Value::Unknown),
            Expr::Slice(s) => {
                for p in [&s.lower, &s.upper, &s.step].into_iter().flatten() {
                    self.exec(p);
                }
                Value::Plain
            }
        }
    }

    fn interpolation(&mut self, el: &InterpolatedStringElement) {
        if let InterpolatedStringElement::Interpolation(i) = el {
            self.exec(&i.expression);
            // `f"{version}"` of a user object formats it: its `__format__` (or `__str__`,
            // `__repr__` for `!r`) runs.
            if let Expr::Name(n) = &*i.expression
                && let Some(Value::UserInstance(cls, attrs)) = self.bound_ref(&n.id).cloned()
            {
                let dunder = match i.conversion {
                    ast::ConversionFlag::Repr | ast::ConversionFlag::Ascii => "__repr__",
                    ast::ConversionFlag::Str => "__str__",
                    ast::ConversionFlag::None if cls.lookup("__format__").is_some() => "__format__",
                    ast::ConversionFlag::None => "__str__",
                };
                if let Some(Value::Func(f)) = cls.lookup(dunder).cloned() {
                    let this = Value::UserInstance(cls, attrs);
                    self.call_value(
                        Value::Method(f, Box::new(this)),
                        Args::default(),
                        None,
                        Span::from(i.range()),
                    );
                }
            }
            if let Some(spec) = &i.format_spec {
                self.guarded(|this| {
                    for el in spec.elements.iter() {
                        this.interpolation(el);
                    }
                });
            }
        }
    }

    /// Run a comprehension; returns the type of the items its first element expression makes
    /// (when `want`: else, and when that expression never makes an instance of a known type,
    /// the elements are only run for their effects).
    fn comprehension(
        &mut self,
        generators: &[ast::Comprehension],
        elts: &[&Expr],
        want: bool,
    ) -> ItemType {
        let parent = self.frames.len().checked_sub(1);
        let mut pushed = false;
        for (i, g) in generators.iter().enumerate() {
            let it = self.eval(&g.iter);
            // `[f(x) for x in []]`: nothing after the first iterable runs.
            if i == 0 && self.truth(&g.iter) == Some(false) {
                return ItemType::default();
            }
            if i == 0 {
                let frame = self.new_frame(FrameKind::Comprehension, parent);
                self.frames.push(frame);
                pushed = true;
            }
            let item = self.iterate(&it, g.iter.range());
            self.bind_target(&g.target, item, None);
            for cond in &g.ifs {
                self.exec(cond);
                // `[f(x) for x in xs if False]`: nothing after the filter runs.
                if self.truth(cond) == Some(false) {
                    if pushed && let Some(frame) = self.frames.pop() {
                        self.recycle(frame.locals);
                    }
                    return ItemType::default();
                }
            }
        }
        let mut items = ItemType::default();
        for (i, e) in elts.iter().enumerate() {
            if i == 0 && want && !never_instance(e) {
                let v = self.eval(e);
                items.add(v, false);
            } else if i == 1 && want && !never_instance(e) {
                // A dict comprehension's value.
                let v = self.eval(e);
                if followable(&v) {
                    items.value = Some(v);
                }
            } else {
                // Any value but an instance makes the items mixed.
                if i == 0 {
                    items.add(Value::Plain, false);
                }
                self.exec(e);
            }
        }
        if pushed && let Some(frame) = self.frames.pop() {
            self.recycle(frame.locals);
        }
        items
    }

    /// Evaluate the receiver of an attribute chain.
    fn recv<'e>(&mut self, e: &'e Expr) -> Recv<'e> {
        self.guarded(|this| this.recv_inner(e))
    }

    fn recv_inner<'e>(&mut self, e: &'e Expr) -> Recv<'e> {
        match e {
            Expr::Name(n) => match self.lookup(&n.id) {
                Some(Value::Qual(q, via)) => Recv::Path(q, via, Segs::new()),
                Some(v) => Recv::Val(v),
                None => Recv::Val(Value::Unknown),
            },
            Expr::Attribute(a) => match self.recv(&a.value) {
                Recv::Path(q, via, mut segs) => {
                    segs.push(a);
                    Recv::Path(q, via, segs)
                }
                Recv::Val(v) => Recv::Val(self.get_attr(v, &a.attr.id, Span::from(a.range()))),
            },
            other => match self.eval(other) {
                Value::Qual(q, via) => Recv::Path(q, via, Segs::new()),
                v => Recv::Val(v),
            },
        }
    }

    /// `super()` inside a method run for an instance of a user class.
    fn super_value(&self) -> Option<Value> {
        let defining = self.chain.last()?.class.clone()?;
        let frame = self
            .frames
            .iter()
            .rev()
            .find(|f| f.kind == FrameKind::Function)?;
        let this = frame.locals.get(frame.self_name.as_ref()?)?;
        match this {
            Value::UserInstance(cls, _) => {
                Some(Value::Super(cls.clone(), defining, Box::new(this.clone())))
            }
            _ => None,
        }
    }

    /// `v.attr` in a value context.
    fn get_attr(&mut self, v: Value, attr: &Name, span: Span) -> Value {
        match v {
            Value::Super(cls, defining, this) => {
                let mro = cls.mro();
                let start = mro
                    .iter()
                    .position(|c| c.name == defining)
                    .map_or(1, |i| i + 1);
                for c in mro.iter().skip(start) {
                    match c.attrs.get(attr.as_str()) {
                        Some(Value::Func(f)) if f.is_property => {
                            let f = f.clone();
                            return self.run(&f, Some(*this), Args::default(), span).0;
                        }
                        Some(Value::Func(f)) if !f.is_static => {
                            return Value::Method(f.clone(), this);
                        }
                        Some(other) => return other.clone(),
                        None => {}
                    }
                }
                match cls.lib_base() {
                    Some(ty) => self.get_attr(Value::Instance(ty, Via::None), attr, span),
                    None => Value::Unknown,
                }
            }
            Value::Qual(q, via) => {
                let mut b = QBuf::new();
                b.push(q.as_str());
                b.push(attr);
                match b.as_str() {
                    Some(s) => Value::Qual(QStr::new(s), via),
                    None => Value::Unknown,
                }
            }
            Value::Instance(ty, via) => match known::attr_type(ty, Some(attr)) {
                Some(t) => Value::Instance(t, via),
                None => {
                    let mut q = QBuf::new();
                    q.push(ty);
                    q.push(attr);
                    match q.as_str() {
                        Some(qs) if known::lookup(qs).is_some() => {
                            Value::LibMethod(Name::new(qs), via)
                        }
                        _ => Value::Unknown,
                    }
                }
            },
            Value::UserInstance(ref cls, ref attrs) => {
                if let Some(a) = attrs.get(attr.as_str()) {
                    return a.clone();
                }
                match cls.lookup(attr) {
                    // A `cached_property` runs once per object.
                    Some(Value::Func(f)) if f.is_property && f.memo => {
                        let f = f.clone();
                        let key = memo_id(&f, &(Arc::as_ptr(attrs) as usize).to_string());
                        if self.remembered(key) {
                            return Value::Unknown;
                        }
                        self.run(&f, Some(v), Args::default(), span).0
                    }
                    Some(Value::Func(f)) if f.is_property => {
                        let f = f.clone();
                        self.run(&f, Some(v), Args::default(), span).0
                    }
                    Some(Value::Func(f)) if f.is_classmethod => {
                        Value::Method(f.clone(), Box::new(Value::Class(cls.clone())))
                    }
                    Some(Value::Func(f)) if !f.is_static => Value::Method(f.clone(), Box::new(v)),
                    Some(other) => other.clone(),
                    None => match cls.lib_base() {
                        Some(ty) => self.get_attr(Value::Instance(ty, Via::None), attr, span),
                        None => Value::Unknown,
                    },
                }
            }
            Value::Class(cls) => match cls.lookup(attr) {
                // `Config.from_env()`: a classmethod gets the class as its first argument.
                Some(Value::Func(f)) if f.is_classmethod => {
                    Value::Method(f.clone(), Box::new(Value::Class(cls.clone())))
                }
                Some(other) => other.clone(),
                None => Value::Unknown,
            },
            Value::Async => Value::Async,
            // Methods of a list, set or dict (`append`, `items`), as for any plain container,
            // and of a string.
            Value::Plain
            | Value::Items(..)
            | Value::Str(_)
            | Value::Lit(_)
            | Value::Dict(..)
            | Value::DictOf(_) => Value::Plain,
            _ => Value::Unknown,
        }
    }

    // ----- calls ---------------------------------------------------------------------------

    /// A call expression; `used` is `false` when its value is dropped (an expression
    /// statement, an item of a comprehension run for its effects).
    fn call(&mut self, call: &ExprCall, used: bool) -> Value {
        let span = Span::from(call.range());
        if let Expr::Name(n) = &*call.func
            && n.id.as_str() == "super"
            && call.arguments.args.is_empty()
            && !self.t.globals.contains_key("super")
            && !self.frames.iter().any(|f| f.locals.contains_key("super"))
            && let Some(v) = self.super_value()
        {
            return v;
        }
        if let Some(v) = self.grow_items(call) {
            return v;
        }
        if let Some(v) = self.dict_view(call) {
            return v;
        }
        if let Some(v) = self.dunder_builtin(call) {
            return v;
        }
        let callee = self.callee(&call.func);
        // A plain callable (`print`, `len`, a builtin the tables do not list): its arguments
        // run for their effects, and calling it does nothing pyrepl3 follows. So for an
        // `async def` whose coroutine is dropped unawaited (its body never runs; making the
        // coroutine value has no effect), whose result is then not used either.
        if match &callee {
            Callee::Value(Value::Plain | Value::Str(_) | Value::Lit(_)) => true,
            Callee::Value(Value::Func(f)) => f.is_async && !used,
            _ => false,
        } {
            // `type(gen)`: builtins that never iterate their arguments leave a generator unrun.
            let iterates = !(matches!(&callee, Callee::Value(Value::Plain))
                && matches!(&*call.func, Expr::Name(n) if known::never_iterates(&n.id)));
            self.exec_args_iterating(&call.arguments, iterates);
            return Value::Plain;
        }
        // Nothing to resolve: the arguments run, then a note may say why.
        if let Callee::UnknownMethod(..) | Callee::Undefined(_) = callee {
            self.exec_args(&call.arguments);
            return self.unresolved(callee, span);
        }
        // The name is written here, once, and lent to `dispatch` (no copies of the buffer).
        let mut qname = QBuf::new();
        callee.qname(&mut qname);
        let entry = match &callee {
            Callee::Known { .. } => qname.as_str().and_then(known::lookup),
            _ => None,
        };
        // `itertools.islice(it, n)`, `chain.from_iterable(map(open, paths))`: what they wrap
        // runs when their result is consumed, not now.
        if let (Callee::Known { .. }, Some(e)) = (&callee, entry)
            && e.kind == Kind::Passthrough
            && let Some(at) = qname.as_str().and_then(known::lazy_wrapper)
        {
            return self.lazy_wrapper(call, at);
        }
        if let (Callee::Known { via, .. }, Some(e)) = (&callee, entry)
            && e.kind == Kind::Logging
            && let Some(q) = qname.as_str()
        {
            // As for other calls: a report's secondary label points at the root name's binding.
            let root = if self.chain.is_empty() {
                root_name(&call.func).cloned()
            } else {
                None
            };
            let saved = std::mem::replace(&mut self.call_root, root);
            let v = self.logging_call(q, via, call, span);
            self.call_root = saved;
            return v;
        }
        let wants_args = match &callee {
            Callee::Known { .. } => entry.is_some_and(|e| {
                matches!(
                    e.kind,
                    Kind::Partial
                        | Kind::CallsArg0
                        | Kind::CallsKey
                        | Kind::LoopBound
                        | Kind::RunsCoroutine
                        | Kind::RunsCallable
                        | Kind::Gathers
                        | Kind::Passthrough
                        | Kind::GetAttr
                )
            }),
            Callee::Value(v) => !matches!(
                v,
                Value::Unknown | Value::Plain | Value::Async | Value::Str(_) | Value::Lit(_)
            ),
            _ => false,
        };
        let args = if wants_args {
            let in_place = entry.is_some_and(|e| {
                matches!(e.kind, Kind::CallsKey | Kind::RunsCallable)
                    || (e.kind == Kind::CallsArg0 && self.lazy_site != Some(span.start))
            });
            let outer = std::mem::replace(&mut self.lambda_in_place, in_place);
            let args = self.args(&call.arguments, true);
            self.lambda_in_place = outer;
            args
        } else {
            // `print(gen)` prints the generator object.
            let iterates = !qname.as_str().is_some_and(known::never_iterates);
            self.exec_args_iterating(&call.arguments, iterates);
            Args::default()
        };
        // A qualified name with nothing patched (the arguments may have patched something)
        // that the tables do not list, or list as pure or async: the result is known here, as
        // `call_known_entry` would make it (the first may deserve a note).
        if !wants_args && self.t.patched.is_empty() && matches!(callee, Callee::Known { .. }) {
            match entry {
                None => {
                    if let Some(q) = qname.as_str() {
                        self.unknown_library(q, span);
                    }
                    return Value::Unknown;
                }
                Some(Entry {
                    kind: Kind::Pure,
                    guard,
                    ret,
                }) if !matches!(guard, Guard::FileArg(..)) => {
                    return match ret {
                        Some(t) => Value::Instance(t, Via::None),
                        None => Value::Plain,
                    };
                }
                Some(Entry {
                    kind: Kind::Async, ..
                }) => return Value::Async,
                Some(_) => {}
            }
        }
        let root = if self.chain.is_empty() {
            root_name(&call.func).cloned()
        } else {
            None
        };
        let saved = std::mem::replace(&mut self.call_root, root);
        // Read (and reset) by `call_known_entry`, which a known callee goes to directly.
        self.bare_callee =
            matches!(&*call.func, Expr::Name(_)) && matches!(callee, Callee::Known { .. });
        let result = self.dispatch(call, callee, &qname, entry, args, span);
        self.bare_callee = false;
        self.call_root = saved;
        // `spool.rollover()`: the name holds a real file from now on.
        if let Some(ty) = qname.as_str().and_then(known::receiver_becomes)
            && let Expr::Attribute(a) = &*call.func
            && let Expr::Name(n) = &*a.value
        {
            let via = match self.lookup(&n.id) {
                Some(Value::Instance(_, via)) => via,
                _ => Via::None,
            };
            self.rebind_visible(&n.id, Value::Instance(ty, via));
        }
        result
    }

    /// A call of [`Kind::Logging`]: records what configures logging (`basicConfig`,
    /// `addHandler`, `setLevel`), and reports a record that the configuration writes to a file.
    fn logging_call(&mut self, q: &str, via: &Via, call: &ExprCall, span: Span) -> Value {
        let args = self.args(&call.arguments, true);
        let method = q.rsplit('.').next().unwrap_or(q);
        let key: Box<str> = if q.starts_with("logging.Logger.") {
            self.logger_key(&call.func)
        } else {
            logs::ROOT.into()
        };
        let a = &call.arguments;
        match method {
            "getLogger" => return Value::Instance("logging.Logger", Via::None),
            "basicConfig" => {
                if arg(a, usize::MAX, "filename").is_some() {
                    self.hit(span, q, known::Family::FileIo, |w| {
                        w.describe_via(via, None).unwrap_or_else(|| q.to_string())
                    });
                    self.t.logs.get_or_insert_default().add_file(logs::ROOT);
                }
                if let Some(level) = arg(a, usize::MAX, "level").and_then(|e| self.level_of(e)) {
                    self.t
                        .logs
                        .get_or_insert_default()
                        .set_level(logs::ROOT, level);
                }
            }
            "addHandler" => {
                if matches!(args.pos.first(), Some(Value::Instance(ty, _)) if *ty == known::FILE_HANDLER)
                {
                    self.t.logs.get_or_insert_default().add_file(&key);
                }
            }
            "setLevel" => {
                if let Some(level) = arg(a, 0, "level").and_then(|e| self.level_of(e)) {
                    self.t.logs.get_or_insert_default().set_level(&key, level);
                }
            }
            m => {
                // `log(level, msg)` at a level not known here is taken to be written.
                let level = logs::method_level(m).or_else(|| {
                    (m == "log").then(|| {
                        arg(a, 0, "level")
                            .and_then(|e| self.level_of(e))
                            .unwrap_or(50)
                    })
                });
                if let Some(level) = level
                    && self
                        .t
                        .logs
                        .as_ref()
                        .is_some_and(|l| l.writes_file(&key, level))
                {
                    self.hit(span, q, known::Family::FileIo, |_| {
                        if key.is_empty() {
                            "a handler of the root logger writes a file".to_string()
                        } else {
                            crate::diagnostic::concat(&["a handler of `", &key, "` writes a file"])
                        }
                    });
                }
            }
        }
        Value::Plain
    }

    /// The logger a `logging.Logger` method is called on, as [`logs::LogState`] keys them: the
    /// receiver's text, or [`logs::ROOT`] for `logging.getLogger()` and `logging.root`.
    fn logger_key(&mut self, func: &Expr) -> Box<str> {
        let Expr::Attribute(a) = func else {
            return "?".into();
        };
        let root = match &*a.value {
            Expr::Call(c) => {
                c.arguments.is_empty()
                    && self.qual_of(&c.func).as_deref() == Some("logging.getLogger")
            }
            e => self.qual_of(e).as_deref() == Some("logging.root"),
        };
        if root {
            return logs::ROOT.into();
        }
        self.text(a.value.range()).unwrap_or("?").into()
    }

    /// The level an expression names: `logging.INFO` (or `INFO` imported from it), `"INFO"`,
    /// `20`.
    fn level_of(&self, e: &Expr) -> Option<u32> {
        match e {
            Expr::NumberLiteral(n) => match &n.value {
                ast::Number::Int(i) => i.as_u16().map(u32::from),
                _ => None,
            },
            Expr::StringLiteral(s) => logs::level_named(s.value.to_str()),
            e => self
                .qual_of(e)?
                .strip_prefix("logging.")
                .and_then(logs::level_named),
        }
    }

    /// The memo key of a call of memoizing `f` with `args`, when they are all literals (only
    /// then is a repeated call known to be the same).
    fn memo_key(&self, f: &FuncInfo, args: &Arguments) -> Option<Box<str>> {
        if !args.args.iter().all(is_literal) || !args.keywords.iter().all(|k| is_literal(&k.value))
        {
            return None;
        }
        Some(memo_id(f, self.text(args.range())?))
    }

    /// Whether `key` was remembered already; remembers it (a session keeps at most 256: calls
    /// past those run every time, as if not cached).
    fn remembered(&mut self, key: Box<str>) -> bool {
        if self.t.memo.contains(&key) {
            return true;
        }
        if self.t.memo.len() < 256 {
            self.t.memo.push(key);
        }
        false
    }

    /// The truth value of a test when it is known without running anything: literals (and
    /// empty or non-empty displays), names bound to constants or short strings, `not`, `and`,
    /// `or`, comparisons of constants, `__name__` (`"__main__"` in a cell) and
    /// `TYPE_CHECKING`. `None` when it depends on what runs.
    fn truth(&self, e: &Expr) -> Option<bool> {
        if is_false(e) {
            return Some(false);
        }
        match e {
            Expr::BooleanLiteral(_) | Expr::NoneLiteral(_) | Expr::NumberLiteral(_) => {
                lit_of(e).map(Lit::truth)
            }
            Expr::StringLiteral(s) => Some(!s.value.is_empty()),
            Expr::BytesLiteral(b) => Some(!b.value.is_empty()),
            Expr::List(l) if !l.elts.iter().any(|e| matches!(e, Expr::Starred(_))) => {
                Some(!l.elts.is_empty())
            }
            Expr::Tuple(t) if !t.elts.iter().any(|e| matches!(e, Expr::Starred(_))) => {
                Some(!t.elts.is_empty())
            }
            Expr::Dict(d) if d.items.is_empty() => Some(false),
            Expr::Name(n) => match self.bound_ref(&n.id) {
                Some(Value::Lit(l)) => Some(l.truth()),
                Some(Value::Str(s)) => Some(!s.is_empty()),
                None if n.id.as_str() == "__name__" => Some(true),
                _ => None,
            },
            Expr::UnaryOp(u) if u.op == ast::UnaryOp::Not => self.truth(&u.operand).map(|t| !t),
            Expr::BoolOp(b) => {
                let and = b.op == ast::BoolOp::And;
                // `a and b`: false as soon as one is; true when all are (`or` mirrored).
                let mut all_known = true;
                for v in &b.values {
                    match self.truth(v) {
                        Some(t) if t != and => return Some(t),
                        Some(_) => {}
                        None => all_known = false,
                    }
                }
                all_known.then_some(and)
            }
            // `cache is not None` with `cache` bound to a list, an instance, a function...:
            // values that are surely objects.
            Expr::Compare(c)
                if c.ops.len() == 1
                    && matches!(c.ops[0], ast::CmpOp::Is | ast::CmpOp::IsNot)
                    && matches!(c.comparators[0], Expr::NoneLiteral(_))
                    && matches!(&*c.left, Expr::Name(n) if self.bound_ref(&n.id).is_some_and(is_object)) =>
            {
                Some(c.ops[0] == ast::CmpOp::IsNot)
            }
            Expr::Compare(c) if c.ops.len() == 1 => {
                let (l, r) = (self.constant(&c.left)?, self.constant(&c.comparators[0])?);
                match c.ops[0] {
                    ast::CmpOp::Eq | ast::CmpOp::Is => Some(l == r),
                    ast::CmpOp::NotEq | ast::CmpOp::IsNot => Some(l != r),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// A constant an expression is, for comparisons: a literal, or a name bound to one.
    fn constant(&self, e: &Expr) -> Option<Const> {
        match e {
            Expr::StringLiteral(s) => Some(Const::Str(s.value.to_str().into())),
            Expr::Name(n) => match self.bound_ref(&n.id) {
                Some(Value::Lit(l)) => Some(Const::Lit(*l)),
                Some(Value::Str(s)) => Some(Const::Str(s.as_str().into())),
                None if n.id.as_str() == "__name__" => Some(Const::Str("__main__".into())),
                _ => None,
            },
            e => lit_of(e).map(Const::Lit),
        }
    }

    /// A lazy wrapper's result: the wrapped iterable (argument `at`, or the first of them), kept
    /// lazy (a generator expression or `map`/`filter` given here runs only when the result is
    /// consumed); the other arguments run now.
    fn lazy_wrapper(&mut self, call: &ExprCall, at: Option<usize>) -> Value {
        let mut wrapped = None;
        for (i, a) in call.arguments.args.iter().enumerate() {
            if at.is_some_and(|at| at != i) || matches!(a, Expr::Starred(_)) {
                self.exec(a);
                continue;
            }
            let v = match a {
                Expr::Generator(g) => self.lazy_genexp(g),
                Expr::Call(c) => {
                    let outer = self.lazy_site.replace(c.range().start().to_u32());
                    let v = self.eval(a);
                    self.lazy_site = outer;
                    v
                }
                a => self.eval(a),
            };
            if wrapped.is_none()
                && (matches!(
                    v,
                    Value::Gen(..)
                        | Value::Mapped(_)
                        | Value::Instance(..)
                        | Value::UserInstance(..)
                ) || same_items(&v).is_some())
            {
                wrapped = Some(v);
            }
        }
        for k in &call.arguments.keywords {
            self.exec(&k.value);
        }
        wrapped.unwrap_or(Value::Plain)
    }

    /// The string a subscript's key is: a literal, or the `__name__` of a user function or
    /// class (`TOOLS[fn.__name__] = fn` in a decorator that registers tools).
    fn subscript_key(&mut self, e: &Expr) -> Option<Name> {
        match e {
            Expr::StringLiteral(k) => Some(Name::new(k.value.to_str())),
            // `TOOLS[name] = fn` with `name` a string passed in (`@tool("search")`).
            Expr::Name(n) => match self.lookup(&n.id)? {
                Value::Str(k) => Some(k),
                _ => None,
            },
            Expr::Attribute(a) if a.attr.as_str() == "__name__" => match &*a.value {
                Expr::Name(n) => match self.lookup(&n.id)? {
                    Value::Func(f) => Some(f.name.clone()),
                    Value::Class(c) => Some(c.name.clone()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }

    /// `len(obj)`, `str(obj)`, `bool(obj)`... of a user object whose class defines the
    /// method they call (`__len__`, `__str__`, `__bool__`...): that method runs. `None` for any
    /// other call.
    fn dunder_builtin(&mut self, call: &ExprCall) -> Option<Value> {
        let Expr::Name(n) = &*call.func else {
            return None;
        };
        let dunder = match n.id.as_str() {
            "len" => "__len__",
            "str" => "__str__",
            "repr" => "__repr__",
            "bool" => "__bool__",
            "hash" => "__hash__",
            "abs" => "__abs__",
            "int" => "__int__",
            "float" => "__float__",
            "bytes" => "__bytes__",
            _ => return None,
        };
        let [arg] = &call.arguments.args[..] else {
            return None;
        };
        if !call.arguments.keywords.is_empty() || !matches!(arg, Expr::Name(_)) {
            return None;
        }
        // The builtin itself, not a user function of that name.
        if !matches!(self.lookup(&n.id), Some(Value::Plain)) {
            return None;
        }
        let Expr::Name(a) = arg else {
            return None;
        };
        let this = self.lookup(&a.id)?;
        let Value::UserInstance(cls, _) = &this else {
            return None;
        };
        let Some(Value::Func(f)) = cls.lookup(dunder).cloned() else {
            return None;
        };
        let span = Span::from(call.range());
        self.call_value(
            Value::Method(f, Box::new(this)),
            Args::default(),
            None,
            span,
        );
        Some(Value::Plain)
    }

    /// `d.values()`, `d.items()`, `d.get(k)` on a name bound to a dict whose values pyrepl3
    /// follows (a display with string keys, or a comprehension of one value): the values, as
    /// items of a list, pairs or one value. `None` for any other call.
    fn dict_view(&mut self, call: &ExprCall) -> Option<Value> {
        let Expr::Attribute(a) = &*call.func else {
            return None;
        };
        let method = a.attr.as_str();
        if !matches!(method, "values" | "items" | "get") {
            return None;
        }
        // A name bound to a dict, or a dict display (`{"a": df}.items()`: walked here, once; its
        // view is then the dict's, or nothing pyrepl3 follows).
        let dict = match &*a.value {
            Expr::Name(n) => self.lookup(&n.id)?,
            d @ Expr::Dict(_) => match self.eval(d) {
                v @ (Value::DictOf(_) | Value::Dict(..)) => v,
                _ => {
                    self.exec_args(&call.arguments);
                    return Some(Value::Unknown);
                }
            },
            _ => return None,
        };
        let value = match dict {
            Value::DictOf(v) => *v,
            Value::Dict(entries, true) => {
                if method == "get"
                    && let Some(Expr::StringLiteral(k)) = call.arguments.args.first()
                {
                    let v = entries.get(k.value.to_str()).cloned();
                    self.exec_args(&call.arguments);
                    return Some(v.unwrap_or(Value::Unknown));
                }
                one_of(entries.values().cloned().collect())?
            }
            _ => return None,
        };
        self.exec_args(&call.arguments);
        Some(match method {
            "values" => Value::Items(Box::new(value), false),
            "items" => Value::Items(
                Box::new(Value::Tuple(Arc::from([Value::Plain, value]))),
                false,
            ),
            _ => value,
        })
    }

    /// `xs.append(x)` / `xs.add(x)` on a name bound to a plain container (`threads = []`) or to
    /// items of one type: the container now holds items of `x`'s type, as long as every item
    /// added has the same one (`for t in threads: t.join()` later blocks). `None` for any other
    /// call, which takes the general path.
    fn grow_items(&mut self, call: &ExprCall) -> Option<Value> {
        let Expr::Attribute(a) = &*call.func else {
            return None;
        };
        let Expr::Name(n) = &*a.value else {
            return None;
        };
        let list = match a.attr.as_str() {
            "append" => true,
            "add" => false,
            _ => return None,
        };
        if call.arguments.args.len() != 1 || !call.arguments.keywords.is_empty() {
            return None;
        }
        let current = self.lookup(&n.id)?;
        if !matches!(current, Value::Plain | Value::Items(..)) {
            return None;
        }
        let added = self.eval(&call.arguments.args[0]);
        let grown = match (current, added) {
            (Value::Plain, v @ (Value::Instance(..) | Value::UserInstance(..))) => {
                Value::Items(Box::new(v), list)
            }
            (Value::Items(item, index), v) if same_type(&item, &v) => Value::Items(item, index),
            // Items of another type, or of an unknown one: a plain container again.
            _ => Value::Plain,
        };
        self.rebind_visible(&n.id, grown);
        Some(Value::Plain)
    }

    fn dispatch<'e>(
        &mut self,
        call: &'e ExprCall,
        callee: Callee<'e>,
        qname: &QBuf,
        entry: Option<Entry>,
        args: Args<'e>,
        span: Span,
    ) -> Value {
        match callee {
            Callee::Known { via, recv, .. } => {
                let Some(q) = qname.as_str() else {
                    return Value::Unknown;
                };
                if entry.is_none() {
                    self.unknown_library(q, span);
                }
                self.call_known_entry(q, entry, &via, recv, args, Some(&call.arguments), span)
            }
            Callee::Value(v @ Value::Method(..)) => {
                // `obj.method()` may set attributes on `obj`: keep them on the binding.
                self.last_self_attrs = None;
                let r = self.call_value(v, args, Some(&call.arguments), span);
                if let Some(attrs) = self.last_self_attrs.take()
                    && let Expr::Attribute(a) = &*call.func
                {
                    let target = match &*a.value {
                        Expr::Name(n) => Some(n.id.clone()),
                        // `super().__init__(...)` in a method: they are the method's instance's.
                        Expr::Call(c) if matches!(&*c.func, Expr::Name(s) if s.id.as_str() == "super") => {
                            self.frames.last().and_then(|f| f.self_name.clone())
                        }
                        _ => None,
                    };
                    if let Some(n) = target
                        && let Some(Value::UserInstance(cls, old)) = self.lookup(&n)
                    {
                        let mut merged = Arc::unwrap_or_clone(old);
                        merged.extend(attrs);
                        self.bind(&n, Value::UserInstance(cls, Arc::new(merged)));
                    }
                }
                r
            }
            Callee::Value(v) => self.call_value(v, args, Some(&call.arguments), span),
            c @ (Callee::UnknownMethod(..) | Callee::Undefined(_)) => self.unresolved(c, span),
        }
    }

    /// A qualified name the tables do not list: a note when it looks like a blocking method
    /// of a library pyrepl3 does not know (`mylib.db.execute(...)`).
    fn unknown_library(&mut self, q: &str, span: Span) {
        // The method is checked first (most names end in one that is not suspicious), and the
        // dots are found by byte search.
        if let Some(last) = q.bytes().rposition(|b| b == b'.')
            && let method = &q[last + 1..]
            && known::suspicious_method(method)
            && let root = &q[..q.bytes().position(|b| b == b'.').unwrap_or(last)]
            && known::static_name(root).is_none()
        {
            self.note(span, || {
                format!(
                    "cannot tell what `{q}` does: `{root}` is not a library pyrepl3 knows, and `{method}` blocks on some library types"
                )
            });
        }
    }

    /// A call of a method of a value of unknown type, or of a name nothing binds: a note
    /// when it may hide a blocking call.
    fn unresolved(&mut self, callee: Callee<'_>, span: Span) -> Value {
        match callee {
            Callee::UnknownMethod(recv, method) => {
                if known::suspicious_method(method) {
                    self.note(span, || match recv {
                        Some(r) => format!(
                            "cannot resolve `{r}.{method}(...)`: the type of `{r}` is unknown here, and `{method}` blocks on some library types"
                        ),
                        None => format!(
                            "cannot resolve `.{method}(...)` on a value of unknown type; `{method}` blocks on some library types"
                        ),
                    });
                }
                Value::Unknown
            }
            Callee::Undefined(name) => {
                if self.t.star_modules.is_empty() {
                    self.note(span, || format!(
                        "cannot resolve `{name}(...)`: no analysed cell binds `{name}` (bound dynamically?)"
                    ));
                } else {
                    self.note(span, || {
                        format!(
                            "cannot resolve `{name}(...)`: it may come from a `from ... import *`"
                        )
                    });
                }
                Value::Unknown
            }
            _ => Value::Unknown,
        }
    }

    fn callee<'e>(&mut self, func: &'e Expr) -> Callee<'e> {
        match func {
            Expr::Name(n) => match self.lookup(&n.id) {
                Some(Value::Qual(q, via)) => Callee::Known {
                    base: q,
                    segs: Segs::new(),
                    method: None,
                    via,
                    recv: None,
                },
                Some(Value::Unknown) => {
                    let name = n.id.as_str();
                    self.note(Span::from(func.range()), || {
                        format!(
                            "cannot resolve `{name}(...)`: `{name}` is bound to a value of unknown type"
                        )
                    });
                    Callee::Value(Value::Plain)
                }
                Some(v) => Callee::Value(v),
                None => Callee::Undefined(n.id.as_str()),
            },
            Expr::Attribute(a) => {
                let method = a.attr.as_str();
                match self.recv(&a.value) {
                    Recv::Path(q, via, segs) => Callee::Known {
                        base: q,
                        segs,
                        method: Some(method),
                        via,
                        recv: None,
                    },
                    Recv::Val(Value::Instance(ty, via)) => {
                        let recv = if via.is_none() { Some(&*a.value) } else { None };
                        Callee::Known {
                            base: QStr::from_static(ty),
                            segs: Segs::new(),
                            method: Some(method),
                            via,
                            recv,
                        }
                    }
                    Recv::Val(Value::Unknown) => {
                        let recv = match &*a.value {
                            Expr::Name(n) => Some(n.id.as_str()),
                            _ => None,
                        };
                        Callee::UnknownMethod(recv, method)
                    }
                    Recv::Val(v) => {
                        Callee::Value(self.get_attr(v, &a.attr.id, Span::from(a.range())))
                    }
                }
            }
            other => {
                let v = self.eval(other);
                if matches!(other, Expr::Subscript(_)) && matches!(v, Value::Unknown) {
                    let span = Span::from(other.range());
                    self.note(span, || {
                        "cannot resolve a call through a subscript (a callable looked up at run time)"
                            .to_string()
                    });
                    return Callee::Value(Value::Plain);
                }
                Callee::Value(v)
            }
        }
    }

    /// Run the arguments of a call whose values are not used, for their effects (as
    /// [`Self::args`] does without `keep`). The callee is not followed (a builtin, a library
    /// function), so a generator or lazy `map` among them is taken to be iterated by it.
    /// [`Self::exec_args`], or when the callee never iterates its arguments (`print`,
    /// `type`...), the arguments only run.
    fn exec_args_iterating(&mut self, arguments: &Arguments, iterates: bool) {
        if iterates {
            return self.exec_args(arguments);
        }
        for a in arguments
            .args
            .iter()
            .chain(arguments.keywords.iter().map(|k| &k.value))
        {
            self.exec(a);
        }
    }

    fn exec_args(&mut self, arguments: &Arguments) {
        if self.t.lazy {
            for a in arguments
                .args
                .iter()
                .chain(arguments.keywords.iter().map(|k| &k.value))
            {
                let v = self.eval(a);
                if matches!(v, Value::Gen(..) | Value::Mapped(_)) {
                    self.iterate(&v, a.range());
                }
            }
            return;
        }
        for a in &arguments.args {
            self.exec(a);
        }
        for k in &arguments.keywords {
            self.exec(&k.value);
        }
    }

    fn args<'e>(&mut self, arguments: &'e Arguments, keep: bool) -> Args<'e> {
        let mut out = Args::default();
        if keep {
            // Sized once (a growing list reallocates on its first push).
            out.pos.reserve_exact(arguments.args.len());
            out.kw.reserve_exact(arguments.keywords.len());
        }
        for a in &arguments.args {
            if !keep {
                self.exec(a);
                continue;
            }
            let v = match a {
                // `gather(*(fetch(u) for u in urls))`: items of one kind stand for them all.
                Expr::Starred(st) => match self.eval(&st.value) {
                    Value::Items(item, _) => *item,
                    // Unpacking a generator or lazy `map` runs it.
                    v @ (Value::Gen(..) | Value::Mapped(_)) => {
                        self.iterate(&v, st.range());
                        Value::Unknown
                    }
                    _ => Value::Unknown,
                },
                a => self.eval_arg(a),
            };
            out.pos.push(v);
        }
        for k in &arguments.keywords {
            if !keep {
                self.exec(&k.value);
                continue;
            }
            let v = self.eval_arg(&k.value);
            if let Some(name) = &k.arg {
                out.kw.push((name.as_str(), v));
            }
        }
        out
    }

    /// An argument's value; a short string literal is kept as one (a tool's name passed to a
    /// dispatcher), without allocating.
    fn eval_arg(&mut self, a: &Expr) -> Value {
        match a {
            Expr::StringLiteral(s) => {
                Name::new_inline(s.value.to_str()).map_or(Value::Plain, Value::Str)
            }
            // `cache=False`, `DEBUG = True`: constants decide the branches that test them.
            a => lit_of(a).map_or_else(|| self.eval(a), Value::Lit),
        }
    }

    /// Describe how a qualified name was resolved, for a blocking call's `via`.
    fn describe_via(&self, via: &Via, recv: Option<&Expr>) -> Option<String> {
        if let Some(v) = via.render() {
            return Some(v);
        }
        let r = recv?;
        let text = self.short_parts(r)?;
        Some(super::with_line(&text, self.line(r.range())))
    }

    fn call_known(
        &mut self,
        q: &str,
        via: &Via,
        recv: Option<&Expr>,
        args: Args<'_>,
        syntax: Option<&Arguments>,
        span: Span,
    ) -> Value {
        self.call_known_entry(q, known::lookup(q), via, recv, args, syntax, span)
    }

    /// [`Self::call_known`] with the entry of `q` already looked up.
    #[allow(clippy::too_many_arguments)]
    fn call_known_entry(
        &mut self,
        q: &str,
        entry: Option<Entry>,
        via: &Via,
        recv: Option<&Expr>,
        args: Args<'_>,
        syntax: Option<&Arguments>,
        span: Span,
    ) -> Value {
        // A bare name holds the object it was bound to, whatever the module attribute is now.
        let bare = std::mem::take(&mut self.bare_callee);
        if !self.t.patched.is_empty() && !bare {
            if let Some(v) = self.t.patched.get(q).cloned() {
                return match v {
                    Value::Qual(ref p, _) if p.as_str() == q => Value::Unknown,
                    v => self.call_value(v, args, syntax, span),
                };
            }
            // `os.path = fake`: nothing under `os.path` is what the tables describe.
            let mut end = q.len();
            while let Some(dot) = q[..end].rfind('.') {
                end = dot;
                if self.t.patched.contains_key(&q[..end]) {
                    return Value::Unknown;
                }
            }
        }
        let Some(entry) = entry else {
            return Value::Unknown;
        };
        let ret = |ty: Option<&'static str>| match ty {
            Some(t) => Value::Instance(t, Via::None),
            None => Value::Plain,
        };
        match entry.kind {
            Kind::Block(fam) => {
                // Over an in-memory buffer, readers and writers of files touch memory only.
                let buffered = match (entry.guard, syntax) {
                    (Guard::UnlessBuffer(pos, kw), Some(a)) => {
                        arg(a, usize::from(pos), kw).is_some_and(|e| self.is_buffer(e))
                    }
                    // `df.to_csv(buf)` with `buf = io.StringIO()`.
                    (Guard::NeedsArg(kw), Some(a)) => {
                        arg(a, 0, kw).is_some_and(|e| self.is_buffer(e))
                    }
                    _ => false,
                };
                let blocks = match (entry.guard, syntax) {
                    _ if buffered => false,
                    (Guard::Once(group), _) => !self.remembered(group.into()),
                    (Guard::OncePerKey(group), a) => {
                        let first = a
                            .and_then(|a| a.args.first())
                            .filter(|e| is_literal(e))
                            .and_then(|e| self.text(e.range()))
                            .unwrap_or("");
                        !self.remembered(crate::diagnostic::concat(&[group, ":", first]).into())
                    }
                    (Guard::FileArg(pos, kw), Some(a)) => arg(a, usize::from(pos), kw)
                        .is_some_and(|e| matches!(self.peek(e), Value::Instance(ty, _) if known::is_file_type(ty))),
                    (Guard::FileArg(..) | Guard::IfPrefix(..), None) => false,
                    (g, Some(a)) => guard_blocks(g, a),
                    (_, None) => true,
                };
                if blocks {
                    self.hit(span, q, fam, |w| {
                        w.describe_via(via, recv).unwrap_or_else(|| {
                            if q.contains('.') {
                                q.to_string()
                            } else {
                                ["builtin ", q].concat()
                            }
                        })
                    });
                }
                if entry.guard == Guard::OpenMode {
                    return ret(Some(open_type(syntax, q)));
                }
                if buffered && entry.ret.is_some_and(known::over_buffer_is_memory) {
                    return Value::Plain;
                }
                if let Some(ty) = syntax.and_then(|a| variant_ret(entry.guard, q, a)) {
                    return ret(Some(ty));
                }
                ret(entry.ret)
            }
            // `csv.writer(f)`: typed (its writes block) only over an open file.
            Kind::Pure if matches!(entry.guard, Guard::FileArg(..)) => {
                let over_file = match (entry.guard, syntax) {
                    (Guard::FileArg(pos, kw), Some(a)) => arg(a, usize::from(pos), kw)
                        .is_some_and(|e| matches!(self.peek(e), Value::Instance(ty, _) if known::is_file_type(ty))),
                    _ => false,
                };
                if over_file {
                    ret(entry.ret)
                } else {
                    Value::Plain
                }
            }
            Kind::Pure => ret(entry.ret),
            Kind::Async => Value::Async,
            Kind::LoopBound => {
                self.loop_bound(span, q);
                // `job = asyncio.create_task(work())`: awaiting the task runs the coroutine.
                if known::wraps_coroutine(q) {
                    return match args.pos.into_iter().next() {
                        Some(v @ (Value::Coro(..) | Value::Gather(_))) => v,
                        _ => ret(entry.ret),
                    };
                }
                ret(entry.ret)
            }
            // On the session's loop thread `asyncio.run` raises before it runs anything: the
            // coroutine's body is walked as awaited (its blocking calls are the cell's).
            Kind::RunsCoroutine => {
                let mut pos = args.pos;
                if !pos.is_empty() {
                    let coro = pos.swap_remove(0);
                    self.awaited(coro, span);
                }
                Value::Unknown
            }
            // `trio.run` runs trio's own loop on this thread until the function returns: the
            // thread waits for all of it. (`anyio.run` uses asyncio unless told otherwise, and
            // raises on the loop thread as `asyncio.run` does.)
            Kind::RunsCallable => {
                if known::runs_own_loop(q) {
                    self.hit(span, q, known::Family::EventLoop, |w| {
                        w.describe_via(via, recv).unwrap_or_else(|| q.to_string())
                    });
                }
                let mut pos = args.pos;
                if !pos.is_empty() {
                    let f = pos.remove(0);
                    let coro = self.call_value(
                        f,
                        Args {
                            pos,
                            kw: Vec::new(),
                        },
                        None,
                        span,
                    );
                    self.awaited(coro, span);
                }
                Value::Unknown
            }
            // Awaiting the result runs the coroutines and awaitables among the arguments;
            // the other arguments do nothing then, so they are not kept.
            Kind::Gathers => {
                let mut pos = args.pos;
                pos.retain(|v| matches!(v, Value::Coro(..) | Value::Gather(_)));
                Value::Gather(shared(pos))
            }
            Kind::Partial => match args.pos.into_iter().next() {
                Some(f) => Value::Partial(Box::new(f)),
                None => Value::Unknown,
            },
            // `m = map(f, xs)`, `kept = filter(pred, xs)`: nothing runs until it is iterated.
            Kind::CallsArg0
                if matches!(q, "map" | "filter") && self.lazy_site == Some(span.start) =>
            {
                match args.pos.into_iter().next() {
                    Some(
                        Value::Unknown
                        | Value::Plain
                        | Value::Async
                        | Value::Str(_)
                        | Value::Lit(_),
                    )
                    | None => Value::Unknown,
                    Some(f) => {
                        self.t.lazy = true;
                        Value::Mapped(Box::new(f))
                    }
                }
            }
            Kind::CallsArg0 => {
                // `map(f, [])` never calls `f`.
                let empty = syntax
                    .and_then(|a| a.args.get(1))
                    .is_some_and(|e| self.truth(e) == Some(false));
                if self.lazy_site != Some(span.start)
                    && !empty
                    && let Some(f) = args.pos.into_iter().next()
                {
                    self.call_value(f, Args::default(), None, span);
                }
                Value::Unknown
            }
            Kind::CallsKey => {
                let items = self.consume(args.pos.first(), span);
                // `sorted([], key=f)` never calls `f`.
                let empty = syntax
                    .and_then(|a| a.args.first())
                    .is_some_and(|e| self.truth(e) == Some(false));
                if !empty && let Some((_, f)) = args.kw.into_iter().find(|(k, _)| *k == "key") {
                    self.call_value(f, Args::default(), None, span);
                }
                items
            }
            // `enumerate(xs)`: pairs of an index and an item of `xs`.
            Kind::Passthrough if q == "enumerate" => match args.pos.first() {
                Some(Value::Items(item, _)) => {
                    let pair = Value::Tuple(Arc::from([Value::Plain, (**item).clone()]));
                    Value::Items(Box::new(pair), false)
                }
                v => {
                    self.consume(v, span);
                    Value::Plain
                }
            },
            // `zip(xs, ys)`: tuples of an item of each argument (iterating a file reads it).
            Kind::Passthrough if q == "zip" => {
                let range = TextRange::new(span.start.into(), span.end.into());
                let typed = args.pos.iter().any(|v| same_items(v).is_some());
                let items: Vec<Value> = args.pos.iter().map(|v| self.iterate(v, range)).collect();
                if typed {
                    Value::Items(Box::new(Value::Tuple(Arc::from(items))), false)
                } else {
                    Value::Plain
                }
            }
            // `os = importlib.reload(os)`: the module's source is read again; the result is the
            // module.
            Kind::Passthrough if q == "importlib.reload" => {
                self.hit(span, q, known::Family::FileIo, |w| {
                    w.describe_via(via, None).unwrap_or_else(|| q.to_string())
                });
                args.pos.into_iter().next().unwrap_or(Value::Unknown)
            }
            // `iter(x)`: the iterator, not yet run (`next` or a loop runs it).
            Kind::Passthrough if q == "iter" => match args.pos.into_iter().next() {
                Some(Value::UserInstance(cls, attrs)) => match cls.lookup("__iter__").cloned() {
                    Some(Value::Func(f)) => {
                        let this = Value::UserInstance(cls, attrs);
                        self.call_value(
                            Value::Method(f, Box::new(this)),
                            Args::default(),
                            None,
                            span,
                        )
                    }
                    _ => Value::Unknown,
                },
                Some(v @ (Value::Gen(..) | Value::Mapped(_) | Value::Instance(..))) => v,
                Some(v) if same_items(&v).is_some() => v,
                _ => Value::Plain,
            },
            // `next(it)`: one item of `it` (a line of a file: a read).
            Kind::Passthrough if q == "next" => match args.pos.first() {
                Some(v)
                    if same_items(v).is_some()
                        || matches!(
                            v,
                            Value::Instance(..)
                                | Value::Gen(..)
                                | Value::Mapped(_)
                                | Value::UserInstance(..)
                        ) =>
                {
                    let range = TextRange::new(span.start.into(), span.end.into());
                    self.iterate(v, range)
                }
                _ => Value::Plain,
            },
            Kind::Passthrough => self.consume(args.pos.first(), span),
            Kind::GetAttr => {
                let name = syntax.and_then(|a| a.args.get(1)).and_then(|e| match e {
                    Expr::StringLiteral(s) => Some(s.value.to_str()),
                    _ => None,
                });
                match (args.pos.into_iter().next(), name) {
                    (Some(obj), Some(n)) => self.get_attr(obj, &Name::new(n), span),
                    _ => {
                        self.note(span, || {
                            "`getattr` with a name computed at run time: what it returns cannot be resolved"
                                .to_string()
                        });
                        Value::Unknown
                    }
                }
            }
            Kind::ImportModule => {
                let name = syntax.and_then(|a| a.args.first()).and_then(|e| match e {
                    Expr::StringLiteral(s) => Some(s.value.to_str()),
                    _ => None,
                });
                match name {
                    Some(n) if !n.is_empty() => {
                        let n = if q == "__import__" {
                            n.split('.').next().unwrap_or(n)
                        } else {
                            n
                        };
                        Value::Qual(QStr::new(n), Via::Text(format!("{q}({n:?})").into()))
                    }
                    _ => {
                        self.note(span, || {
                            format!("`{q}` imports a module named at run time: its calls cannot be resolved")
                        });
                        Value::Unknown
                    }
                }
            }
            Kind::Dynamic => {
                let code = syntax.and_then(|a| a.args.first()).and_then(|e| match e {
                    Expr::StringLiteral(s) => Some(s.value.to_str()),
                    _ => None,
                });
                let parsed = code.and_then(|c| crate::parse::parse_cell(c, false).ok());
                match parsed {
                    Some(parsed) if self.budget > 0 && self.chain.len() < MAX_CALL_DEPTH => {
                        // `exec("...")` of a literal: its code runs here, in this scope.
                        self.budget -= 1;
                        let line = if self.local() {
                            self.ctx.file_line(span.start)
                        } else {
                            0
                        };
                        let info = Arc::new(FuncInfo {
                            name: Name::new_static("<exec>"),
                            class: None,
                            line,
                            is_async: false,
                            is_generator: false,
                            is_static: false,
                            is_classmethod: false,
                            is_property: false,
                            memo: false,
                            defaults: Vec::new(),
                            body: FuncBody::Source(SourceBody {
                                text: Box::from(""),
                                wrapped: false,
                                parsed: std::sync::OnceLock::new(),
                            }),
                            // Its spans are offsets in the string, not in any cell.
                            cell: u32::MAX,
                            def_at: None,
                            closure: None,
                        });
                        if self.chain.is_empty() {
                            self.site = span;
                        }
                        self.foreign += 1;
                        self.chain.push(info);
                        self.stmts(&parsed.module().body);
                        self.chain.pop();
                        self.foreign -= 1;
                        Value::Unknown
                    }
                    _ => {
                        self.note(span, || {
                            format!(
                                "`{q}` runs code built at run time: pyrepl3 cannot see what it calls"
                            )
                        });
                        Value::Unknown
                    }
                }
            }
            // Reached only through a value (`log = logger.info; log("x")`): the call's syntax,
            // which the logger is read from, is not at hand. Nothing is configured or reported.
            Kind::Logging => ret(entry.ret),
        }
    }

    /// Call a value (a user function, class, partial, qualified name...).
    fn call_value(
        &mut self,
        v: Value,
        args: Args<'_>,
        syntax: Option<&Arguments>,
        span: Span,
    ) -> Value {
        self.guarded(|this| this.call_value_inner(v, args, syntax, span))
    }

    fn call_value_inner(
        &mut self,
        v: Value,
        args: Args<'_>,
        syntax: Option<&Arguments>,
        span: Span,
    ) -> Value {
        match v {
            Value::Func(f) => {
                if f.is_async {
                    Value::Coro(f, shared(args.pos))
                } else if f.is_generator {
                    Value::Gen(f, shared(args.pos))
                } else if f.memo
                    && let Some(key) = syntax.and_then(|a| self.memo_key(&f, a))
                    && self.remembered(key)
                {
                    Value::Unknown
                } else {
                    self.run(&f, None, args, span).0
                }
            }
            Value::Method(f, this) => {
                if f.is_async || f.is_generator {
                    let mut pos = vec![*this];
                    pos.extend(args.pos);
                    if f.is_async {
                        Value::Coro(f, pos.into())
                    } else {
                        Value::Gen(f, pos.into())
                    }
                } else {
                    self.run(&f, Some(*this), args, span).0
                }
            }
            Value::Class(cls) => {
                let blank = Value::UserInstance(cls.clone(), Arc::new(Attrs::default()));
                match cls.lookup("__init__").cloned() {
                    Some(Value::Func(init)) => {
                        let (_, attrs) = self.run(&init, Some(blank), args, span);
                        Value::UserInstance(cls, Arc::new(attrs))
                    }
                    // A dataclass's generated `__init__` sets its fields from the arguments,
                    // then calls `__post_init__`.
                    _ if cls.lib_base().is_none()
                        && (!cls.fields.is_empty()
                            || matches!(cls.lookup("__post_init__"), Some(Value::Func(_)))) =>
                    {
                        let mut fields = Attrs::default();
                        let given = args.pos.len();
                        let mut pos = args.pos.into_iter();
                        for name in &cls.fields {
                            match pos.next() {
                                Some(v) if followable(&v) || matches!(v, Value::Str(_)) => {
                                    fields.insert(name.clone(), v);
                                }
                                Some(_) => {}
                                None => break,
                            }
                        }
                        let named: Vec<&str> = args.kw.iter().map(|(k, _)| *k).collect();
                        for (k, v) in args.kw {
                            if cls.fields.iter().any(|f| f.as_str() == k)
                                && (followable(&v) || matches!(v, Value::Str(_)))
                            {
                                fields.insert(Name::new(k), v);
                            }
                        }
                        // Fields not given get their factory's result.
                        for (name, factory) in &cls.factories {
                            let at = cls.fields.iter().position(|f| f == name);
                            if at.is_some_and(|at| at < given) || named.contains(&name.as_str()) {
                                continue;
                            }
                            let v = self.call_value(factory.clone(), Args::default(), None, span);
                            if followable(&v) {
                                fields.insert(name.clone(), v);
                            }
                        }
                        let made = Value::UserInstance(cls.clone(), Arc::new(fields.clone()));
                        match cls.lookup("__post_init__").cloned() {
                            Some(Value::Func(post)) => {
                                let (_, attrs) = self.run(&post, Some(made), Args::default(), span);
                                fields.extend(attrs);
                                Value::UserInstance(cls, Arc::new(fields))
                            }
                            _ => made,
                        }
                    }
                    _ => {
                        if let Some(ty) = cls.lib_base() {
                            let mut q = QBuf::new();
                            q.push(ty);
                            q.push("__init__");
                            if let Some(qs) = q.as_str() {
                                let qs = qs.to_string();
                                self.call_known(&qs, &Via::None, None, args, syntax, span);
                            }
                        }
                        blank
                    }
                }
            }
            Value::UserInstance(ref cls, _) => match cls.lookup("__call__").cloned() {
                Some(Value::Func(f)) => self.run(&f, Some(v), args, span).0,
                _ => Value::Unknown,
            },
            Value::Partial(inner) => self.call_value(*inner, args, None, span),
            Value::Qual(q, via) => self.call_known(q.as_str(), &via, None, args, syntax, span),
            Value::LibMethod(m, via) => self.call_known(&m, &via, None, args, syntax, span),
            Value::Async => Value::Async,
            Value::Plain | Value::Str(_) | Value::Lit(_) => Value::Plain,
            Value::Instance(ty, via) => {
                let mut q = QBuf::new();
                q.push(ty);
                q.push("__call__");
                match q.as_str() {
                    Some(qs) => {
                        let qs = qs.to_string();
                        self.call_known(&qs, &via, None, args, syntax, span)
                    }
                    None => Value::Unknown,
                }
            }
            Value::Unknown
            | Value::Coro(..)
            | Value::Gen(..)
            | Value::DictOf(_)
            | Value::Gather(_)
            | Value::Dict(..)
            | Value::Tuple(_)
            | Value::Super(..)
            | Value::Items(..)
            | Value::Mapped(_) => Value::Unknown,
            Value::AnyOf(choices) => self.call_any_of(&choices, args, syntax, span),
            Value::EachOf(items) => {
                for v in items.iter() {
                    let a = Args {
                        pos: args.pos.clone(),
                        kw: args.kw.clone(),
                    };
                    self.call_value(v.clone(), a, syntax, span);
                }
                Value::Unknown
            }
        }
    }

    /// Call one of several values chosen at run time: it blocks only when every choice does,
    /// and then each choice's blocking calls are reported.
    fn call_any_of(
        &mut self,
        choices: &[Value],
        args: Args<'_>,
        syntax: Option<&Arguments>,
        span: Span,
    ) -> Value {
        let calls = std::mem::take(&mut self.report.calls);
        let reasons = std::mem::take(&mut self.report.reasons);
        let (mut found, mut why) = (Vec::new(), Vec::new());
        let mut all = true;
        for c in choices {
            let a = Args {
                pos: args.pos.clone(),
                kw: args.kw.clone(),
            };
            self.call_value(c.clone(), a, syntax, span);
            all &= !self.report.calls.is_empty();
            found.append(&mut self.report.calls);
            why.append(&mut self.report.reasons);
        }
        self.report.calls = calls;
        self.report.reasons = reasons;
        if all {
            for (c, r) in found.into_iter().zip(why) {
                if !self
                    .report
                    .calls
                    .iter()
                    .any(|x| x.span == c.span && x.name == c.name)
                {
                    self.report.calls.push(c);
                    self.report.reasons.push(r);
                }
            }
        }
        Value::Unknown
    }

    /// What awaiting (or running to completion) a value does.
    fn awaited(&mut self, v: Value, span: Span) -> Value {
        self.guarded(|this| this.awaited_inner(v, span))
    }

    fn awaited_inner(&mut self, v: Value, span: Span) -> Value {
        match v {
            Value::Coro(f, args) => self.resume(&f, &args, span),
            Value::Gather(items) => {
                for v in items.iter() {
                    self.awaited(v.clone(), span);
                }
                Value::Plain
            }
            Value::Async => Value::Async,
            _ => Value::Unknown,
        }
    }

    /// `g = (f(x) for x in xs)`: only the first iterable is evaluated now; the rest runs as `g`
    /// is iterated (a copy of the expression, run like a function's body).
    fn lazy_genexp(&mut self, g: &ast::ExprGenerator) -> Value {
        if let Some(first) = g.generators.first() {
            self.exec(&first.iter);
        }
        self.t.lazy = true;
        Value::Gen(
            Arc::new(FuncInfo {
                name: Name::new_static("<genexpr>"),
                class: None,
                line: self.line(g.range()),
                is_async: false,
                is_generator: true,
                is_static: false,
                is_classmethod: false,
                is_property: false,
                memo: false,
                defaults: Vec::new(),
                body: FuncBody::Genexp(Arc::new(DeepTree::copy(g, self.copy_depth()))),
                cell: self.current_cell(),
                def_at: None,
                closure: self.closure_snapshot(),
            }),
            Arc::from([]),
        )
    }

    /// Run the body of the function a coroutine or generator was made from, with the
    /// arguments it was made with (a method's instance first).
    fn resume(&mut self, f: &Arc<FuncInfo>, args: &[Value], span: Span) -> Value {
        let mut a = Args {
            pos: args.to_vec(),
            kw: Vec::new(),
        };
        let this = if matches!(a.pos.first(), Some(Value::UserInstance(..)))
            && matches!(&f.body, FuncBody::Def(d) if d.get().is_some_and(first_param_is_self))
        {
            Some(a.pos.remove(0))
        } else {
            None
        };
        self.run(f, this, a, span).0
    }

    /// Whether the body of `def` yields (in its own scope: not in nested functions, lambdas
    /// or classes; comprehensions cannot yield).
    fn yields(&self, def: &ast::StmtFunctionDef) -> bool {
        use ruff_python_ast::visitor::{self, Visitor};
        struct Finder(bool);
        impl<'a> Visitor<'a> for Finder {
            fn visit_stmt(&mut self, s: &'a Stmt) {
                match s {
                    Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                    s if !self.0 => stack::guard(|| visitor::walk_stmt(self, s)),
                    _ => {}
                }
            }
            fn visit_expr(&mut self, e: &'a Expr) {
                match e {
                    Expr::Yield(_) | Expr::YieldFrom(_) => self.0 = true,
                    Expr::Lambda(_) => {}
                    e if !self.0 => stack::guard(|| visitor::walk_expr(self, e)),
                    _ => {}
                }
            }
        }
        // A def of the cell's own tree yields only if the cell has a `yield` keyword.
        if self.foreign == 0 && !self.ctx.may_yield {
            return false;
        }
        let mut f = Finder(false);
        for s in &def.body {
            f.visit_stmt(s);
        }
        f.0
    }

    /// Run a user function's body for a call at `span`: returns its return value and the
    /// attributes it set on `self`.
    fn run(
        &mut self,
        f: &Arc<FuncInfo>,
        this: Option<Value>,
        args: Args<'_>,
        span: Span,
    ) -> (Value, Attrs) {
        if self.budget == 0
            || self.work == 0
            || self.chain.len() >= MAX_CALL_DEPTH
            || self.chain.iter().any(|c| Arc::ptr_eq(c, f))
        {
            return (Value::Unknown, Attrs::default());
        }
        self.budget -= 1;
        if self.chain.is_empty() {
            self.site = span;
        }
        // A module-level `def` of this cell runs from the cell's own tree.
        let local = match f.def_at {
            Some(at) if f.cell == self.t.cells => find_def(&self.module.body, at),
            _ => None,
        };
        let f2 = f.clone();
        let lambda_here = match f2.body {
            FuncBody::LambdaAt(at) if f.cell == self.t.cells => find_lambda(&self.module.body, at),
            _ => None,
        };
        let body = match (local, &f2.body) {
            (None, FuncBody::LambdaAt(_)) => lambda_here.map(BodyRef::Lambda),
            (Some(d), _) => Some(BodyRef::Def(d)),
            (None, FuncBody::Def(d)) => d.get().map(BodyRef::Def),
            (None, FuncBody::Lambda(l)) => l.get().map(BodyRef::Lambda),
            (None, FuncBody::Genexp(g)) => g.get().map(BodyRef::Genexp),
            (None, FuncBody::Source(src)) => src.def().map(BodyRef::Def),
        };
        let outer_depth = self.body_depth;
        self.body_depth = match (local, &f2.body) {
            (Some(_), _) | (None, FuncBody::LambdaAt(_)) => 0,
            (None, FuncBody::Def(d)) => d.depth(),
            (None, FuncBody::Lambda(l)) => l.depth(),
            (None, FuncBody::Genexp(g)) => g.depth(),
            (None, FuncBody::Source(src)) => src.depth(),
        };
        // Spans of a tree parsed again from text are not this cell's.
        let foreign = local.is_none()
            && lambda_here.is_none()
            && (f.cell != self.t.cells || matches!(f.body, FuncBody::Source(_)));
        if foreign {
            self.foreign += 1;
        }
        self.chain.push(f.clone());
        let mut frame = self.new_frame(FrameKind::Function, None);
        frame.closure = f.closure.clone();
        let base = self.frames.len();

        let result = match body {
            Some(BodyRef::Def(def)) => {
                // Parameters the call gives a value (possibly an unknown one): a constant
                // default (`fileobj=None`) stands only for those it does not give.
                let has_self = this.is_some() && !f.is_static;
                let given: Vec<Name> = if f
                    .defaults
                    .iter()
                    .any(|(_, v)| matches!(v, Value::Lit(_) | Value::Str(_)))
                {
                    def.parameters
                        .posonlyargs
                        .iter()
                        .chain(&def.parameters.args)
                        .skip(usize::from(has_self))
                        .take(args.pos.len())
                        .map(|p| p.name().id.clone())
                        .chain(args.kw.iter().map(|(k, _)| Name::new(k)))
                        .collect()
                } else {
                    Vec::new()
                };
                bind_params(&mut frame, &def.parameters, this, args, f.is_static);
                for (name, v) in &f.defaults {
                    let constant = matches!(v, Value::Lit(_) | Value::Str(_));
                    if constant && given.contains(name) {
                        continue;
                    }
                    if let Some(slot @ Value::Unknown) = frame.locals.get_mut(name) {
                        *slot = v.clone();
                    }
                }
                self.frames.push(frame);
                let outer_ended = std::mem::take(&mut self.ended);
                let outer_uncertain = std::mem::take(&mut self.uncertain);
                self.stmts(&def.body);
                self.ended = outer_ended;
                self.uncertain = outer_uncertain;
                self.frames.truncate(base + 1);
                let mut frame = self
                    .frames
                    .pop()
                    .unwrap_or_else(|| Frame::new(FrameKind::Function, None));
                let ret = frame.ret.unwrap_or_else(|| Value::Plain);
                // What the method set on `self` (directly or through methods it called).
                let attrs = frame
                    .self_name
                    .as_ref()
                    .and_then(|n| frame.locals.remove(n))
                    .and_then(|v| match v {
                        Value::UserInstance(_, a) => Some(Arc::unwrap_or_clone(a)),
                        _ => None,
                    })
                    .unwrap_or_default();
                if !attrs.is_empty() {
                    self.last_self_attrs = Some(attrs.clone());
                }
                self.recycle(frame.locals);
                (ret, attrs)
            }
            Some(BodyRef::Lambda(l)) => {
                if let Some(params) = &l.parameters {
                    bind_params(&mut frame, params, None, args, true);
                }
                self.frames.push(frame);
                let v = self.eval(&l.body);
                self.frames.truncate(base + 1);
                if let Some(frame) = self.frames.pop() {
                    self.recycle(frame.locals);
                }
                (v, Attrs::default())
            }
            Some(BodyRef::Genexp(g)) => {
                self.frames.push(frame);
                self.comprehension(&g.generators, &[&g.elt], false);
                self.frames.truncate(base + 1);
                if let Some(frame) = self.frames.pop() {
                    self.recycle(frame.locals);
                }
                (Value::Unknown, Attrs::default())
            }
            None => (Value::Unknown, Attrs::default()),
        };

        self.chain.pop();
        self.body_depth = outer_depth;
        if foreign {
            self.foreign -= 1;
        }
        result
    }

    /// The depth to copy syntax of the code being walked with: this cell's, or that of the
    /// function (from an earlier cell) being run, whichever is deeper.
    fn copy_depth(&self) -> usize {
        self.ctx.tree_depth.max(self.body_depth)
    }
}

/// The `def` starting at offset `at` among `body` and the bodies of its compound statements
/// (not inside functions): where [`Walker::function_def`] met it in the cell's module-level
/// code. Statements of one body are in source order and nest inside their parent's range.
fn find_def(body: &[Stmt], at: u32) -> Option<&ast::StmtFunctionDef> {
    // The last statement starting at or before `at` is the def or contains it.
    let end = body.partition_point(|s| s.range().start().to_u32() <= at);
    let s = body[..end].last()?;
    match s {
        Stmt::FunctionDef(d) => (d.range().start().to_u32() == at).then_some(d),
        s if is_compound_statement(s) => stack::guard(|| find_nested_def(s, at)),
        _ => None,
    }
}

/// The lambda starting at offset `at` in `body` (where [`Walker::eval`] met it in the cell's
/// module-level code): only nodes whose range holds `at` are entered.
fn find_lambda(body: &[Stmt], at: u32) -> Option<&ast::ExprLambda> {
    use ruff_python_ast::visitor::{self, Visitor};
    struct Finder<'a> {
        at: ruff_text_size::TextSize,
        found: Option<&'a ast::ExprLambda>,
    }
    impl<'a> Visitor<'a> for Finder<'a> {
        fn visit_stmt(&mut self, s: &'a Stmt) {
            if self.found.is_none() && s.range().contains_inclusive(self.at) {
                stack::guard(|| visitor::walk_stmt(self, s));
            }
        }
        fn visit_expr(&mut self, e: &'a Expr) {
            if self.found.is_some() || !e.range().contains_inclusive(self.at) {
                return;
            }
            match e {
                Expr::Lambda(l) if l.range().start() == self.at => self.found = Some(l),
                _ => stack::guard(|| visitor::walk_expr(self, e)),
            }
        }
    }
    let end = body.partition_point(|s| s.range().start().to_u32() <= at);
    let mut f = Finder {
        at: ruff_text_size::TextSize::new(at),
        found: None,
    };
    f.visit_stmt(body[..end].last()?);
    f.found
}

/// [`find_def`] in the bodies of a compound statement.
fn find_nested_def(s: &Stmt, at: u32) -> Option<&ast::StmtFunctionDef> {
    match s {
        Stmt::ClassDef(c) => find_def(&c.body, at),
        Stmt::If(i) => find_def(&i.body, at).or_else(|| {
            i.elif_else_clauses
                .iter()
                .find_map(|c| find_def(&c.body, at))
        }),
        Stmt::For(f) => find_def(&f.body, at).or_else(|| find_def(&f.orelse, at)),
        Stmt::While(w) => find_def(&w.body, at).or_else(|| find_def(&w.orelse, at)),
        Stmt::With(w) => find_def(&w.body, at),
        Stmt::Try(t) => find_def(&t.body, at)
            .or_else(|| {
                t.handlers
                    .iter()
                    .find_map(|ast::ExceptHandler::ExceptHandler(h)| find_def(&h.body, at))
            })
            .or_else(|| find_def(&t.orelse, at))
            .or_else(|| find_def(&t.finalbody, at)),
        Stmt::Match(m) => m.cases.iter().find_map(|c| find_def(&c.body, at)),
        _ => None,
    }
}

/// The last module-level statement of the cell before `before` that binds `name`, and how
/// (`imported here`, `bound here`, `defined here`). Only called when a reason is made.
fn binding_site(body: &[Stmt], name: &str, before: u32) -> Option<(Span, &'static str)> {
    let end = body.partition_point(|s| s.range().start().to_u32() < before);
    binding_site_in_prefix(&body[..end], name, before)
}

/// [`binding_site`] in `body`, all of whose statements start before `before`.
fn binding_site_in_prefix(body: &[Stmt], name: &str, before: u32) -> Option<(Span, &'static str)> {
    // Latest first: the first statement that binds `name` is the last.
    for s in body.iter().rev() {
        let site = if is_compound_statement(s) {
            stack::guard(|| binding_site_in(s, name, before))
        } else {
            binding_site_in(s, name, before)
        };
        if site.is_some() {
            return site;
        }
    }
    None
}

/// [`binding_site`] for one statement.
#[inline(always)]
fn binding_site_in(s: &Stmt, name: &str, before: u32) -> Option<(Span, &'static str)> {
    match s {
        Stmt::Import(i) => i
            .names
            .iter()
            .rev()
            .find(|a| match &a.asname {
                Some(n) => n.as_str() == name,
                // `import a.b` binds `a`, the first segment (`name` is an identifier).
                None => a
                    .name
                    .as_str()
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('.')),
            })
            .map(|a| (Span::from(a.range()), "imported here")),
        Stmt::ImportFrom(i) => i
            .names
            .iter()
            .rev()
            .find(|a| a.asname.as_ref().unwrap_or(&a.name).as_str() == name)
            .map(|a| (Span::from(a.range()), "imported here")),
        Stmt::Assign(a) => a
            .targets
            .iter()
            .any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == name))
            .then(|| (Span::from(s.range()), "bound here")),
        Stmt::AnnAssign(a) => matches!(&*a.target, Expr::Name(n) if n.id.as_str() == name)
            .then(|| (Span::from(s.range()), "bound here")),
        Stmt::FunctionDef(d) => {
            (d.name.as_str() == name).then(|| (Span::from(d.name.range()), "defined here"))
        }
        Stmt::ClassDef(d) => {
            (d.name.as_str() == name).then(|| (Span::from(d.name.range()), "defined here"))
        }
        Stmt::With(w) => w
            .items
            .iter()
            .find(|i| {
                matches!(i.optional_vars.as_deref(), Some(Expr::Name(n)) if n.id.as_str() == name)
            })
            .map(|i| (Span::from(i.range()), "bound here"))
            .or_else(|| binding_site(&w.body, name, before)),
        Stmt::If(i) => binding_site(&i.body, name, before).or_else(|| {
            i.elif_else_clauses
                .iter()
                .rev()
                .find_map(|c| binding_site(&c.body, name, before))
        }),
        Stmt::Try(t) => binding_site(&t.body, name, before)
            .or_else(|| binding_site(&t.orelse, name, before))
            .or_else(|| binding_site(&t.finalbody, name, before)),
        Stmt::For(f) => binding_site(&f.body, name, before),
        Stmt::While(w) => binding_site(&w.body, name, before),
        _ => None,
    }
}

/// The name an attribute chain starts from (`time` in `time.sleep`).
fn root_name(mut e: &Expr) -> Option<&Name> {
    loop {
        match e {
            Expr::Name(n) => return Some(&n.id),
            Expr::Attribute(a) => e = &a.value,
            _ => return None,
        }
    }
}

fn first_param_is_self(def: &ast::StmtFunctionDef) -> bool {
    def.parameters
        .posonlyargs
        .iter()
        .chain(&def.parameters.args)
        .next()
        .is_some_and(|p| p.name().as_str() == "self")
}

/// Bind a called function's parameters to the argument values.
fn bind_params(
    frame: &mut Frame,
    params: &ast::Parameters,
    this: Option<Value>,
    args: Args<'_>,
    no_self: bool,
) {
    let mut positional = params.posonlyargs.iter().chain(&params.args);
    if let Some(this) = this.filter(|_| !no_self)
        && let Some(p) = positional.next()
    {
        frame.self_name = Some(p.name().id.clone());
        frame.locals.insert(p.name().id.clone(), this);
    }
    let mut pos = args.pos.into_iter();
    for p in positional {
        let v = pos.next().unwrap_or_else(|| Value::Unknown);
        frame.locals.insert(p.name().id.clone(), v);
    }
    for p in &params.kwonlyargs {
        frame.locals.insert(p.name().id.clone(), Value::Unknown);
    }
    for (k, v) in args.kw {
        if let Some(slot) = frame.locals.get_mut(k) {
            *slot = v;
        }
    }
    if let Some(p) = &params.vararg {
        frame.locals.insert(p.name.id.clone(), Value::Plain);
    }
    if let Some(p) = &params.kwarg {
        frame.locals.insert(p.name.id.clone(), Value::Plain);
    }
}

/// `items` as a shared slice; none without allocating (an empty `Arc<[Value]>` still
/// allocates its counts).
fn shared(items: Vec<Value>) -> Arc<[Value]> {
    static NONE: std::sync::LazyLock<Arc<[Value]>> = std::sync::LazyLock::new(|| Arc::new([]));
    if items.is_empty() {
        NONE.clone()
    } else {
        items.into()
    }
}

/// The common type of the items of a display or comprehension: known only while every item
/// is an instance of one type.
#[derive(Default)]
struct ItemType {
    item: Option<Value>,
    mixed: bool,
    /// A dict comprehension's value, when pyrepl3 can follow it.
    value: Option<Value>,
}

impl ItemType {
    /// Add an item (`unknown` for a starred or `**` item, whose items are not seen).
    fn add(&mut self, v: Value, unknown: bool) {
        match (&self.item, v) {
            _ if unknown || self.mixed => self.mixed = true,
            (
                None,
                v @ (Value::Instance(..)
                | Value::UserInstance(..)
                | Value::Func(_)
                | Value::Partial(_)
                | Value::Gen(..)
                | Value::Coro(..)),
            ) => self.item = Some(v),
            (Some(a), b) if same_type(a, &b) => {}
            _ => self.mixed = true,
        }
    }

    /// `Items` of the common type, else a plain container.
    fn value(self, index: bool) -> Value {
        match self.item {
            Some(item) if !self.mixed => Value::Items(Box::new(item), index),
            _ => Value::Plain,
        }
    }
}

/// A value pyrepl3 follows (calling it or its methods may be known to block).
fn followable(v: &Value) -> bool {
    !matches!(
        v,
        Value::Unknown | Value::Plain | Value::Async | Value::Str(_) | Value::Lit(_)
    )
}

/// The one value among `values` at run time: their common type when they are instances of one
/// type, else any of them (`None` when there is none, or some value is not followed).
fn one_of(values: Vec<Value>) -> Option<Value> {
    let first = values.first()?;
    if values.iter().all(|v| same_type(first, v)) {
        return values.into_iter().next();
    }
    if !values.iter().all(followable) {
        return None;
    }
    Some(Value::AnyOf(values.into()))
}

/// Whether `a` and `b` are instances of one library type or of one user class (the items of a
/// list of them have that type).
fn same_type(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Instance(x, _), Value::Instance(y, _)) => x == y,
        (Value::UserInstance(x, _), Value::UserInstance(y, _)) => Arc::ptr_eq(x, y),
        // A list of one function (`hooks = [cleanup]`) gives that function; partials of one
        // function (`[partial(download, u) for u in urls]`) give such a partial.
        (Value::Func(x), Value::Func(y)) => Arc::ptr_eq(x, y),
        // Generators or coroutines of one function (`[lines(p) for p in paths]`).
        (Value::Gen(x, _), Value::Gen(y, _)) | (Value::Coro(x, _), Value::Coro(y, _)) => {
            Arc::ptr_eq(x, y)
        }
        (Value::Partial(x), Value::Partial(y)) => match (&**x, &**y) {
            (Value::Func(f), Value::Func(g)) => Arc::ptr_eq(f, g),
            (Value::Qual(p, _), Value::Qual(q, _)) => p.as_str() == q.as_str(),
            _ => false,
        },
        _ => false,
    }
}

/// The item of iterating `v` when all its items have one known type (typed lists, tuples of
/// instances of one type).
fn same_items(v: &Value) -> Option<Value> {
    match v {
        Value::Items(item, _) => Some((**item).clone()),
        Value::Tuple(items) => {
            let first = items.first()?;
            (matches!(first, Value::Instance(..) | Value::UserInstance(..))
                && items.iter().all(|i| same_type(first, i)))
            .then(|| first.clone())
        }
        _ => None,
    }
}

fn binop(l: Value, op: Operator, r: Value) -> Value {
    match (l, op) {
        (v @ Value::Instance("pathlib.Path" | "pathlib.PurePath", _), Operator::Div) => v,
        (Value::Plain | Value::Str(_) | Value::Lit(_), _)
            if matches!(r, Value::Plain | Value::Str(_) | Value::Lit(_)) =>
        {
            Value::Plain
        }
        _ => Value::Unknown,
    }
}

/// `true` for expressions whose value is never an instance of a known type (displays,
/// comprehensions, comparisons, negations, f-strings, literals, lambdas), whatever their
/// operands are: [`Walker::eval_inner`] makes a container, `Plain` or a function of them.
fn never_instance(e: &Expr) -> bool {
    is_literal(e)
        || matches!(
            e,
            Expr::Dict(_)
                | Expr::Set(_)
                | Expr::List(_)
                | Expr::Tuple(_)
                | Expr::ListComp(_)
                | Expr::SetComp(_)
                | Expr::DictComp(_)
                | Expr::Generator(_)
                | Expr::Compare(_)
                | Expr::UnaryOp(_)
                | Expr::TString(_)
                | Expr::Lambda(_)
        )
}

fn is_literal(e: &Expr) -> bool {
    matches!(
        e,
        Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::NumberLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_)
            | Expr::FString(_)
    )
}

/// `True` or a non-zero integer literal.
/// The constant a literal is (`True`, `0`, `None`).
fn lit_of(e: &Expr) -> Option<Lit> {
    match e {
        Expr::BooleanLiteral(b) => Some(Lit::Bool(b.value)),
        Expr::NoneLiteral(_) => Some(Lit::None),
        Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => i.as_i64().map(Lit::Int),
            _ => None,
        },
        _ => None,
    }
}

/// `if False:`, `if 0:`, `if TYPE_CHECKING:`: bodies that never run.
fn is_false(e: &Expr) -> bool {
    match e {
        Expr::BooleanLiteral(b) => !b.value,
        Expr::NumberLiteral(n) => matches!(&n.value, ast::Number::Int(i) if *i == ast::Int::ZERO),
        Expr::Name(n) => n.id.as_str() == "TYPE_CHECKING",
        Expr::Attribute(a) => a.attr.as_str() == "TYPE_CHECKING",
        _ => false,
    }
}

/// The literal value of argument `pos` or keyword `kw`, when it is `False`/`0`/`None`-like.
fn arg<'a>(a: &'a Arguments, pos: usize, kw: &str) -> Option<&'a Expr> {
    a.keywords
        .iter()
        .find(|k| k.arg.as_ref().is_some_and(|n| n.as_str() == kw))
        .map(|k| &k.value)
        .or_else(|| {
            a.args
                .iter()
                .take_while(|e| !matches!(e, Expr::Starred(_)))
                .nth(pos)
        })
}

fn is_falsy_literal(e: &Expr) -> bool {
    match e {
        Expr::BooleanLiteral(b) => !b.value,
        Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => *i == ast::Int::ZERO,
            ast::Number::Float(f) => *f == 0.0,
            _ => false,
        },
        _ => false,
    }
}

/// The type a blocking call returns instead of its entry's when its arguments say so: a
/// response not yet read (`requests.get(url, stream=True)`), a reader of chunks
/// (`pd.read_csv(path, chunksize=n)`).
fn variant_ret(guard: Guard, q: &str, a: &Arguments) -> Option<&'static str> {
    let literal_true = |e: &Expr| matches!(e, Expr::BooleanLiteral(b) if b.value);
    if guard == Guard::Streams {
        return arg(a, usize::MAX, "stream")
            .is_some_and(literal_true)
            .then_some(known::STREAMED_RESPONSE);
    }
    if q.starts_with("pandas.read_")
        && (arg(a, usize::MAX, "chunksize").is_some_and(|e| !e.is_none_literal_expr())
            || arg(a, usize::MAX, "iterator").is_some_and(literal_true))
    {
        return Some(known::CHUNKED_READER);
    }
    None
}

/// Whether a value is surely an object, never `None` (a display, an instance, a function...).
fn is_object(v: &Value) -> bool {
    matches!(
        v,
        Value::Instance(..)
            | Value::UserInstance(..)
            | Value::Func(_)
            | Value::Method(..)
            | Value::Class(_)
            | Value::Partial(_)
            | Value::Tuple(_)
            | Value::Items(..)
            | Value::Dict(..)
            | Value::DictOf(_)
            | Value::Str(_)
            | Value::Lit(Lit::Bool(_) | Lit::Int(_))
            | Value::Gen(..)
            | Value::Coro(..)
    )
}

/// A constant compared by [`Walker::truth`].
#[derive(PartialEq)]
enum Const {
    Lit(Lit),
    Str(Box<str>),
}

/// A memoizing function's identity (its cell, line and name) with what tells its calls apart.
fn memo_id(f: &FuncInfo, what: &str) -> Box<str> {
    let mut s = String::with_capacity(f.name.len() + what.len() + 24);
    super::push_u32(&mut s, f.cell);
    s.push(':');
    super::push_u32(&mut s, f.line);
    s.push(':');
    s.push_str(&f.name);
    s.push(':');
    s.push_str(what);
    s.into_boxed_str()
}

/// Whether a call with these arguments blocks, given the entry's guard.
fn guard_blocks(guard: Guard, a: &Arguments) -> bool {
    match guard {
        Guard::Always
        | Guard::OpenMode
        | Guard::UnlessBuffer(..)
        | Guard::Streams
        | Guard::Once(_)
        | Guard::OncePerKey(_) => true,
        Guard::FileArg(..) => false,
        Guard::UnlessFalse(pos, kw) | Guard::UnlessZero(pos, kw) => {
            !arg(a, pos as usize, kw).is_some_and(is_falsy_literal)
        }
        Guard::UnlessTrue(pos, kw) => !arg(a, pos as usize, kw)
            .is_some_and(|e| matches!(e, Expr::BooleanLiteral(b) if b.value)),
        Guard::NeedsArg(kw) => {
            !a.args.is_empty()
                || a.keywords.iter().any(|k| {
                    k.arg.as_ref().is_none_or(|n| {
                        matches!(n.as_str(), "host" | "path" | "buf" | "file") || n.as_str() == kw
                    })
                })
        }
        Guard::IfPrefix(pos, kw, prefix) => arg(a, pos as usize, kw).is_some_and(
            |e| matches!(e, Expr::StringLiteral(s) if s.value.to_str().starts_with(prefix)),
        ),
        Guard::NeedsArgOrLacks(kw, unless) => {
            guard_blocks(Guard::NeedsArg(kw), a)
                || !a
                    .keywords
                    .iter()
                    .any(|k| k.arg.as_ref().is_none_or(|n| n.as_str() == unless))
        }
    }
}

/// The file type `open(...)` returns, from its mode argument.
fn open_type(syntax: Option<&Arguments>, q: &str) -> &'static str {
    let pos = if q == "pathlib.Path.open" { 0 } else { 1 };
    let mode = syntax
        .and_then(|a| arg(a, pos, "mode"))
        .and_then(|e| match e {
            Expr::StringLiteral(s) => Some(s.value.to_str()),
            _ => None,
        });
    match mode {
        Some(m) if m.contains('b') => {
            if m.contains('+') {
                "io.BufferedRandom"
            } else if m.contains(['w', 'a', 'x']) {
                "io.BufferedWriter"
            } else {
                "io.BufferedReader"
            }
        }
        _ => "io.TextIOWrapper",
    }
}
