//! Compile-time errors: what ruff's parser accepts but CPython 3.11's compiler refuses.
//!
//! CPython compiles a parsed module in three passes, and the first error wins in this order:
//! 1. `future.c` — `from __future__` imports (unknown feature, late import on the first line);
//! 2. `symtable.c` — scopes: `global`/`nonlocal` misuse, duplicate parameters, `import *` in a
//!    function, walrus restrictions in comprehensions, `yield` in comprehensions, `await`/`yield`
//!    in annotations under `from __future__ import annotations`; then the scope analysis
//!    (`nonlocal` at module level, `no binding for nonlocal`, `nonlocal and global`);
//! 3. `compile.c` (code generation) — `return`/`yield`/`await`/`break`/`continue` out of place,
//!    async constructs outside async functions, `__debug__` assignment, starred targets, repeated
//!    keywords, pattern-matching errors, too many nested blocks.
//!
//! This module re-implements those passes over ruff's tree, in CPython's traversal order and with
//! CPython's messages and locations, assuming `PyCF_ALLOW_TOP_LEVEL_AWAIT` is set.

use ruff_python_ast::{
    self as ast, Expr, ExprContext, ModModule, Number, Parameters, Pattern, Stmt, UnaryOp,
};
use ruff_text_size::{Ranged, TextRange, TextSize};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::CellContext;
use crate::bindings::{self, Binder, ModuleBindings};
use crate::diagnostic::Diagnostic;
use crate::rules::syntax::{AwaitOutsideAsyncFunction, CompileError as CompileErrorRule};
use crate::span::Span;
use crate::stack;

/// The first error CPython's compiler would raise for this module, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompileError {
    /// CPython's exception type (`SyntaxError`).
    pub(crate) kind: &'static str,
    /// CPython's message, e.g. `'return' outside function`.
    pub(crate) message: String,
    /// Where CPython points.
    pub(crate) span: Span,
    /// The reason to show.
    pub(crate) reason: Diagnostic,
}

/// What CPython's symbol table (pass 2) can contribute to a cell's compile errors, judged from
/// its tokens ([`crate::parse::ParsedCell::scopes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scopes {
    /// No `global`, `nonlocal`, `:=`, `yield`, `async`, `await` nor `import *`: the table can
    /// only refuse a duplicate parameter, and every scope flag is false.
    Simple,
    /// As `Simple`, but with `async`/`await` keywords, none of them inside brackets. The table
    /// marks scopes coroutines, but code generation reads that mark only for comprehensions,
    /// which need brackets: function kinds come from the tree. Only `await` in an annotation
    /// under `from __future__ import annotations` is the table's own error (checked).
    AsyncAtStatementLevel,
    /// Anything else: build the table.
    Full,
}

/// Check `module` for errors CPython's compiler (symtable and codegen) raises with the
/// top-level-await flag set; when there is none, the module-scope bindings ([`bindings`]),
/// collected by the code-generation walk (so the tree is not walked once more for them).
///
/// `scopes` says how much of CPython's symbol table the cell can need ([`Scopes`]): for the
/// two short kinds a code-generation walk that also looks for duplicate parameters decides alone
/// whether the module compiles; the full passes run only when that walk finds something, for
/// CPython's first error.
///
/// `ctx.tree_depth` must bound the depth of `module` (0 when unknown): shallow trees are walked
/// without a stack check at every level.
///
/// `full_bindings` may be false only when the cell has no `global` declaration, no assignment
/// expression and no name [`bindings::is_namespace_name`] accepts
/// ([`crate::parse::ParsedCell::bindings_need_full_walk`]).
pub(crate) fn check(
    module: &ModModule,
    ctx: &CellContext<'_>,
    scopes: Scopes,
    full_bindings: bool,
) -> Result<ModuleBindings, Box<CompileError>> {
    let checked = compile_failure(
        module,
        ctx.source,
        ctx.line_index,
        scopes,
        ctx.tree_depth,
        full_bindings,
    );
    // Every test that analyzes a cell checks that the short path agrees with the full one, and
    // that the bindings are what a walk of their own finds.
    #[cfg(debug_assertions)]
    {
        if scopes != Scopes::Full {
            debug_assert_eq!(
                checked,
                compile_failure(
                    module,
                    ctx.source,
                    ctx.line_index,
                    Scopes::Full,
                    ctx.tree_depth,
                    full_bindings,
                )
            );
        }
        if let Ok(found) = &checked {
            debug_assert_eq!(*found, bindings::collect_in(module, full_bindings));
        }
    }
    let failure = match checked {
        Ok(found) => return Ok(found),
        Err(failure) => failure,
    };
    let span = Span::from(failure.range);
    let reason = match failure.fix {
        Fix::MakeAsync(what) => Diagnostic::new(
            AwaitOutsideAsyncFunction::meta(),
            format!("SyntaxError: {}", failure.message),
            span,
        )
        .with_help(match what {
            Enclosing::Def => {
                "make the enclosing function `async def` (and await it), or move this code to the top level of the cell; `pyrepl3 run` rewrites it for you where that is sound (`pyrepl3-analyze --transform` shows whether and how)"
            }
            Enclosing::Lambda => {
                "a lambda cannot be async: use an `async def` instead, or move this code to the top level of the cell"
            }
        }),
        Fix::None => Diagnostic::new(
            CompileErrorRule::meta(),
            format!("SyntaxError: {}", failure.message),
            span,
        )
        .with_help(compile_error_help(&failure.message)),
    };
    Err(Box::new(CompileError {
        kind: "SyntaxError",
        message: failure.message,
        span,
        reason,
    }))
}

/// What to do about a compile error, for the common ones.
fn compile_error_help(message: &str) -> &'static str {
    match message {
        "'return' outside function" => {
            "a cell runs as module code: to give the cell a result, end it with the expression instead of `return`"
        }
        "'yield' outside function" => {
            "`yield` makes a generator: put this code in a `def` (or `async def`) and iterate over it"
        }
        "'await' outside function"
        | "asynchronous comprehension outside of an asynchronous function" => {
            "a class body cannot await: await the value at the top level of the cell, before the `class` statement"
        }
        "'break' outside loop" | "'continue' not properly in loop" => {
            "`break` and `continue` only work inside a `for` or `while` loop of the same function"
        }
        "nonlocal declaration not allowed at module level" => {
            "at the top level of a cell every name is already global: remove the `nonlocal` statement"
        }
        _ => "CPython's compiler refuses this cell, so none of it runs",
    }
}

/// Whether a module uses `from __future__ import annotations` (and so does not evaluate
/// annotations). Only meaningful for modules that pass [`check`].
pub(crate) fn future_annotations(module: &ModModule) -> bool {
    let mut first = true;
    for stmt in &module.body {
        match stmt {
            Stmt::ImportFrom(imp) if imp.module.as_deref() == Some("__future__") => {
                if imp.names.iter().any(|a| a.name.as_str() == "annotations") {
                    return true;
                }
            }
            Stmt::Expr(e) if first && e.value.is_string_literal_expr() => {}
            _ => return false,
        }
        first = false;
    }
    false
}

/// What kind of fix a failure suggests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fix {
    None,
    MakeAsync(Enclosing),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Enclosing {
    Def,
    Lambda,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    message: String,
    range: TextRange,
    fix: Fix,
}

/// A failure is boxed so that the walks' results fit in a register.
type Res = Result<(), Box<Failure>>;

/// The expression kinds that both walks (the symbol table's and code generation's, as in CPython)
/// only descend through: their children, in the order CPython's visitors take them.
trait PlainChildren<'a> {
    /// The walk's own visit of a child expression.
    fn child(&mut self, e: &'a Expr) -> Res;

    /// The replacement fields of an f-string or t-string, format specs included, in order.
    fn child_interpolations(&mut self, elements: &'a [ast::InterpolatedStringElement]) -> Res {
        for el in elements {
            if let ast::InterpolatedStringElement::Interpolation(i) = el {
                self.child(&i.expression)?;
                if let Some(spec) = &i.format_spec {
                    self.child_interpolations(&spec.elements)?;
                }
            }
        }
        Ok(())
    }

    /// Visit the children of `e`, one of the kinds listed here (others have none to visit).
    fn plain_children(&mut self, e: &'a Expr) -> Res {
        match e {
            Expr::Subscript(s) => {
                self.child(&s.value)?;
                self.child(&s.slice)?;
            }
            Expr::BinOp(b) => {
                self.child(&b.left)?;
                self.child(&b.right)?;
            }
            Expr::UnaryOp(u) => self.child(&u.operand)?,
            Expr::BoolOp(b) => {
                for v in &b.values {
                    self.child(v)?;
                }
            }
            Expr::Compare(c) => {
                self.child(&c.left)?;
                for v in &c.comparators {
                    self.child(v)?;
                }
            }
            Expr::If(i) => {
                self.child(&i.test)?;
                self.child(&i.body)?;
                self.child(&i.orelse)?;
            }
            Expr::Dict(d) => {
                for item in &d.items {
                    if let Some(k) = &item.key {
                        self.child(k)?;
                    }
                    self.child(&item.value)?;
                }
            }
            Expr::FString(f) => {
                for part in &f.value {
                    if let ast::FStringPart::FString(fs) = part {
                        self.child_interpolations(&fs.elements)?;
                    }
                }
            }
            Expr::TString(t) => {
                for ts in &t.value {
                    self.child_interpolations(&ts.elements)?;
                }
            }
            Expr::Slice(s) => {
                if let Some(v) = &s.lower {
                    self.child(v)?;
                }
                if let Some(v) = &s.upper {
                    self.child(v)?;
                }
                if let Some(v) = &s.step {
                    self.child(v)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The walks check for stack space (and move to a fresh segment when short) every this many
/// levels: a check costs more than a level, and a few levels use far less than the red zone.
const GUARD_EVERY: u32 = 8;

#[cold]
fn fail(message: impl Into<String>, range: TextRange) -> Box<Failure> {
    Box::new(Failure {
        message: message.into(),
        range,
        fix: Fix::None,
    })
}

/// `forbidden_name`: `__debug__` cannot be assigned nor deleted.
#[inline]
fn forbidden(name: &str, ctx: ExprContext, loc: TextRange) -> Res {
    if matches!(ctx, ExprContext::Store | ExprContext::Del) && name == "__debug__" {
        return Err(debug_failure(ctx, loc));
    }
    Ok(())
}

#[cold]
fn debug_failure(ctx: ExprContext, loc: TextRange) -> Box<Failure> {
    if ctx == ExprContext::Del {
        fail("cannot delete __debug__", loc)
    } else {
        fail("cannot assign to __debug__", loc)
    }
}

/// Trees at most this deep (most cells) are walked by code generation without a stack check
/// per level: one check first makes sure the stack has room for the whole depth.
const UNCHECKED_MAX_DEPTH: usize = 128;

/// Whether a tree whose depth is bounded by `tree_depth` (0: unknown) can be walked unchecked.
fn unchecked(tree_depth: usize) -> bool {
    (1..=UNCHECKED_MAX_DEPTH).contains(&tree_depth)
}

/// Stack one level of the code-generation walk may take, with a wide margin: a statement or
/// expression level takes a few hundred bytes in release builds (its frame and those of helpers
/// such as `call_args`), and a few KiB in debug builds.
const STACK_PER_LEVEL: usize = if cfg!(debug_assertions) {
    16 << 10
} else {
    2 << 10
};

/// What one code-generation walk found.
struct Walked<'a> {
    result: Res,
    /// Some function lists a parameter twice (looked for when there is no symbol table).
    duplicate_params: bool,
    /// The module-scope bindings (exact when `result` is `Ok`).
    binder: Binder<'a>,
}

/// Run code generation over `module` (a tree at most `tree_depth` deep), looking for a
/// parameter listed twice when `find_duplicate_params`, and collecting the module-scope
/// bindings (walking expressions and nested scopes for them when `full_bindings`).
#[allow(clippy::too_many_arguments)]
fn run_codegen<'a>(
    module: &'a ModModule,
    tree_depth: usize,
    st: Option<&Symtable<'a>>,
    source: &'a str,
    lines: &crate::span::LineIndex,
    future: &FutureInfo,
    find_duplicate_params: bool,
    full_bindings: bool,
) -> Walked<'a> {
    fn walk<'a, const CHECKED: bool>(
        module: &'a ModModule,
        st: Option<&Symtable<'a>>,
        source: &'a str,
        lines: &crate::span::LineIndex,
        future: &FutureInfo,
        find_duplicate_params: bool,
        full_bindings: bool,
    ) -> Walked<'a> {
        let mut cg = Codegen::<CHECKED> {
            st,
            source,
            lines,
            future_lineno: future.lineno,
            future_annotations: future.annotations,
            unit: Unit::new(UnitKind::Module, false, false),
            depth: 0,
            find_duplicate_params,
            duplicate_params: false,
            binder: Binder::new(module, full_bindings),
        };
        let result = cg.module(module);
        Walked {
            result,
            duplicate_params: cg.duplicate_params,
            binder: cg.binder,
        }
    }
    if unchecked(tree_depth) {
        let needed = (tree_depth + 8) * STACK_PER_LEVEL;
        stacker::maybe_grow(needed, needed + (1 << 20), || {
            walk::<false>(
                module,
                st,
                source,
                lines,
                future,
                find_duplicate_params,
                full_bindings,
            )
        })
    } else {
        walk::<true>(
            module,
            st,
            source,
            lines,
            future,
            find_duplicate_params,
            full_bindings,
        )
    }
}

/// The module's bindings, or the first error CPython's compiler raises (see [`check`]).
fn compile_failure(
    module: &ModModule,
    source: &str,
    lines: &crate::span::LineIndex,
    scopes: Scopes,
    tree_depth: usize,
    full_bindings: bool,
) -> Result<ModuleBindings, Failure> {
    let future = scan_future(module, lines).map_err(|e| *e)?;
    let short = match scopes {
        Scopes::Simple => true,
        // Under `from __future__ import annotations` the symbol table refuses `await` in an
        // annotation.
        Scopes::AsyncAtStatementLevel => !future.annotations,
        Scopes::Full => false,
    };
    if short {
        let walked = run_codegen(
            module,
            tree_depth,
            None,
            source,
            lines,
            &future,
            true,
            full_bindings,
        );
        if walked.result.is_ok() && !walked.duplicate_params {
            return Ok(walked.binder.finish());
        }
    }
    let mut st = Symtable::new(source, future.annotations);
    let built = if unchecked(tree_depth) {
        st.checked = false;
        let needed = (tree_depth + 8) * STACK_PER_LEVEL;
        stacker::maybe_grow(needed, needed + (1 << 20), || st.build(module))
    } else {
        st.build(module)
    };
    built.map_err(|e| *e)?;
    st.analyze().map_err(|e| *e)?;
    let walked = run_codegen(
        module,
        tree_depth,
        Some(&st),
        source,
        lines,
        &future,
        false,
        full_bindings,
    );
    walked.result.map_err(|e| *e)?;
    Ok(walked.binder.finish())
}

// ---------------------------------------------------------------------------------------------
// Pass 1: future.c
// ---------------------------------------------------------------------------------------------

struct FutureInfo {
    annotations: bool,
    /// Line of the last valid `from __future__` import at the top (`ff_lineno`), or 0.
    lineno: u32,
}

const FUTURE_FEATURES: &[&str] = &[
    "nested_scopes",
    "generators",
    "division",
    "absolute_import",
    "with_statement",
    "print_function",
    "unicode_literals",
    "barry_as_FLUFL",
    "generator_stop",
    "annotations",
];

fn scan_future(
    module: &ModModule,
    lines: &crate::span::LineIndex,
) -> Result<FutureInfo, Box<Failure>> {
    let mut info = FutureInfo {
        annotations: false,
        lineno: 0,
    };
    let mut done = false;
    let mut prev_line = 0u32;
    for (i, stmt) in module.body.iter().enumerate() {
        let line = lines.cpython(stmt.start().to_u32()).line;
        if done && line > prev_line {
            break;
        }
        prev_line = line;
        match stmt {
            Stmt::ImportFrom(imp) if imp.module.as_deref() == Some("__future__") => {
                let at = TextRange::empty(stmt.start());
                if done {
                    // Quirk: future.c reports this one with a 0-based column as CPython's 1-based
                    // `offset`, i.e. one character before the statement. (`done` on the same line
                    // means an earlier statement precedes it, so the column is at least 1.)
                    let before = stmt
                        .start()
                        .checked_sub(TextSize::new(1))
                        .unwrap_or_default();
                    return Err(fail(
                        "from __future__ imports must occur at the beginning of the file",
                        TextRange::empty(before),
                    ));
                }
                for alias in &imp.names {
                    let name = alias.name.as_str();
                    if name == "braces" {
                        return Err(fail("not a chance", at));
                    }
                    if name == "annotations" {
                        info.annotations = true;
                    }
                    if !FUTURE_FEATURES.contains(&name) {
                        return Err(fail(format!("future feature {name} is not defined"), at));
                    }
                }
                info.lineno = line;
            }
            Stmt::Expr(e) if i == 0 && e.value.is_string_literal_expr() => {}
            _ => done = true,
        }
    }
    Ok(info)
}

// ---------------------------------------------------------------------------------------------
// Pass 2: symtable.c
// ---------------------------------------------------------------------------------------------

const DEF_GLOBAL: u32 = 1;
const DEF_LOCAL: u32 = 2;
const DEF_PARAM: u32 = 4;
const DEF_NONLOCAL: u32 = 8;
const USE: u32 = 16;
const DEF_IMPORT: u32 = 128;
const DEF_ANNOT: u32 = 256;
const DEF_COMP_ITER: u32 = 512;
const DEF_BOUND: u32 = DEF_LOCAL | DEF_PARAM | DEF_IMPORT;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockType {
    Module,
    Class,
    Function,
    Annotation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CompKind {
    List,
    Set,
    Dict,
    Gen,
}

impl CompKind {
    fn describe(self) -> &'static str {
        match self {
            CompKind::List => "list comprehension",
            CompKind::Set => "set comprehension",
            CompKind::Dict => "dict comprehension",
            CompKind::Gen => "generator expression",
        }
    }
}

/// A scope's symbols in insertion order (CPython's dict order), indexed by a hash map only once
/// the scope is large: most scopes have a handful of names.
#[derive(Default)]
struct Symbols<'a> {
    names: Vec<(&'a str, u32)>,
    index: Option<FxHashMap<&'a str, usize>>,
}

impl<'a> Symbols<'a> {
    const INDEX_FROM: usize = 48;

    fn position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(ix) => ix.get(name).copied(),
            // Names of a scope mostly differ in length or first byte: compare those inline
            // before the bytes.
            None => {
                let first = name.as_bytes().first();
                self.names.iter().position(|(n, _)| {
                    n.len() == name.len() && n.as_bytes().first() == first && *n == name
                })
            }
        }
    }

    fn get(&self, name: &str) -> Option<u32> {
        self.position(name).map(|i| self.names[i].1)
    }

    /// The flags of `name`, added at the end with no flags (0) when new. Every name is
    /// recorded with some flag, so 0 means new.
    fn slot(&mut self, name: &'a str) -> &mut u32 {
        let i = match self.position(name) {
            Some(i) => i,
            None => {
                let i = self.names.len();
                self.names.push((name, 0));
                if let Some(ix) = &mut self.index {
                    ix.insert(name, i);
                } else if self.names.len() >= Self::INDEX_FROM {
                    self.index = Some(
                        self.names
                            .iter()
                            .enumerate()
                            .map(|(i, (n, _))| (*n, i))
                            .collect(),
                    );
                }
                i
            }
        };
        &mut self.names[i].1
    }
}

struct Ste<'a> {
    ty: BlockType,
    children: Vec<usize>,
    symbols: Symbols<'a>,
    directives: Vec<(&'a str, TextRange)>,
    coroutine: bool,
    generator: bool,
    comprehension: Option<CompKind>,
    comp_iter_expr: u32,
    comp_iter_target: bool,
}

impl<'a> Ste<'a> {
    fn new(ty: BlockType) -> Self {
        Self {
            ty,
            children: Vec::new(),
            symbols: Symbols::default(),
            directives: Vec::new(),
            coroutine: false,
            generator: false,
            comprehension: None,
            comp_iter_expr: 0,
            comp_iter_target: false,
        }
    }

    fn lookup(&self, name: &str) -> u32 {
        self.symbols.get(name).unwrap_or(0)
    }
}

/// The identity of a scope-creating node.
fn key<T>(node: &T) -> usize {
    node as *const T as usize
}

struct Symtable<'a> {
    source: &'a str,
    future_annotations: bool,
    stes: Vec<Ste<'a>>,
    stack: Vec<usize>,
    by_node: FxHashMap<usize, usize>,
    /// Some scope declares (or implies) a `nonlocal`: only then can the analysis phase fail.
    any_nonlocal: bool,
    /// Recursion depth of the walk, to check the stack every [`GUARD_EVERY`] levels.
    depth: u32,
    /// Check the stack as the walk goes; without, the caller makes sure the stack has room for
    /// the whole tree (see [`run_codegen`]).
    checked: bool,
    /// Record every name's flags. Only `global`, `nonlocal` and `:=` can make them matter
    /// (parameters, for duplicates, are always recorded); without them in the source text the
    /// walk skips the bookkeeping.
    track_names: bool,
}

impl<'a> PlainChildren<'a> for Symtable<'a> {
    fn child(&mut self, e: &'a Expr) -> Res {
        self.expr(e)
    }
}

impl<'a> Symtable<'a> {
    fn new(source: &'a str, future_annotations: bool) -> Self {
        let track_names =
            source.contains("global") || source.contains("nonlocal") || source.contains(":=");
        Self {
            track_names,
            source,
            future_annotations,
            stes: Vec::with_capacity(16),
            stack: Vec::with_capacity(16),
            by_node: FxHashMap::with_capacity_and_hasher(16, Default::default()),
            any_nonlocal: false,
            depth: 0,
            checked: true,
        }
    }

    fn cur(&mut self) -> &mut Ste<'a> {
        let i = *self.stack.last().expect("a scope is open");
        &mut self.stes[i]
    }

    fn cur_ref(&self) -> &Ste<'a> {
        &self.stes[*self.stack.last().expect("a scope is open")]
    }

    fn enter(&mut self, ty: BlockType, node: usize) {
        let id = self.stes.len();
        let mut ste = Ste::new(ty);
        if let Some(&prev) = self.stack.last() {
            ste.comp_iter_expr = self.stes[prev].comp_iter_expr;
            // Only the analysis phase reads the children, and only when names are tracked.
            if ty != BlockType::Annotation && self.track_names {
                self.stes[prev].children.push(id);
            }
        }
        self.stes.push(ste);
        self.stack.push(id);
        self.by_node.insert(node, id);
    }

    fn exit(&mut self) {
        self.stack.pop();
    }

    fn scope_of(&self, node: usize) -> Option<&Ste<'a>> {
        self.by_node.get(&node).map(|&i| &self.stes[i])
    }

    fn add_def(&mut self, name: &'a str, flag: u32, range: TextRange) -> Res {
        let i = *self.stack.last().expect("a scope is open");
        self.add_def_in(i, name, flag, range)
    }

    fn add_def_in(&mut self, i: usize, name: &'a str, flag: u32, range: TextRange) -> Res {
        if !self.track_names && flag & DEF_PARAM == 0 {
            return Ok(());
        }
        let ste = &mut self.stes[i];
        let comp_iter_target = ste.comp_iter_target;
        // On an error the table is dropped: a name left without flags does not matter.
        let slot = ste.symbols.slot(name);
        let v = *slot;
        if flag & DEF_PARAM != 0 && v & DEF_PARAM != 0 {
            return Err(fail(
                format!("duplicate argument '{name}' in function definition"),
                range,
            ));
        }
        let mut val = v | flag;
        if comp_iter_target {
            if val & (DEF_GLOBAL | DEF_NONLOCAL) != 0 {
                return Err(fail(
                    format!(
                        "comprehension inner loop cannot rebind assignment expression target '{name}'"
                    ),
                    range,
                ));
            }
            val |= DEF_COMP_ITER;
        }
        *slot = val;
        if flag & DEF_NONLOCAL != 0 {
            self.any_nonlocal = true;
        }
        if flag & DEF_GLOBAL != 0 {
            *self.stes[0].symbols.slot(name) |= flag;
        }
        Ok(())
    }

    fn record_directive(&mut self, name: &'a str, range: TextRange) {
        self.cur().directives.push((name, range));
    }

    fn build(&mut self, module: &'a ModModule) -> Res {
        self.enter(BlockType::Module, key(module));
        for s in &module.body {
            self.stmt(s)?;
        }
        self.exit();
        Ok(())
    }

    fn stmt(&mut self, s: &'a Stmt) -> Res {
        if !self.checked {
            return self.stmt_inner(s);
        }
        self.depth += 1;
        let r = if self.depth.is_multiple_of(GUARD_EVERY) {
            stack::guard(|| self.stmt_inner(s))
        } else {
            self.stmt_inner(s)
        };
        self.depth -= 1;
        r
    }

    fn body(&mut self, body: &'a [Stmt]) -> Res {
        for s in body {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt_inner(&mut self, s: &'a Stmt) -> Res {
        match s {
            Stmt::FunctionDef(f) => {
                let loc = def_range(self.source, s);
                self.add_def(f.name.as_str(), DEF_LOCAL, loc)?;
                self.defaults(&f.parameters)?;
                self.annotations(&f.parameters, f.returns.as_deref())?;
                for d in &f.decorator_list {
                    self.expr(&d.expression)?;
                }
                self.enter(BlockType::Function, key(s));
                if f.is_async {
                    self.cur().coroutine = true;
                }
                self.params(&f.parameters)?;
                self.body(&f.body)?;
                self.exit();
            }
            Stmt::ClassDef(c) => {
                let loc = def_range(self.source, s);
                self.add_def(c.name.as_str(), DEF_LOCAL, loc)?;
                if let Some(args) = &c.arguments {
                    for a in args.args.iter() {
                        self.expr(a)?;
                    }
                    for k in &args.keywords {
                        self.expr(&k.value)?;
                    }
                }
                for d in &c.decorator_list {
                    self.expr(&d.expression)?;
                }
                self.enter(BlockType::Class, key(s));
                self.body(&c.body)?;
                self.exit();
            }
            Stmt::Return(r) => {
                if let Some(v) = &r.value {
                    self.expr(v)?;
                }
            }
            Stmt::Delete(d) => {
                for t in &d.targets {
                    self.expr(t)?;
                }
            }
            Stmt::Assign(a) => {
                for t in &a.targets {
                    self.expr(t)?;
                }
                self.expr(&a.value)?;
            }
            Stmt::AnnAssign(a) => {
                if let Expr::Name(n) = a.target.as_ref() {
                    let cur = self.cur_ref().lookup(n.id.as_str());
                    if cur & (DEF_GLOBAL | DEF_NONLOCAL) != 0
                        && self.cur_ref().ty != BlockType::Module
                        && a.simple
                    {
                        let what = if cur & DEF_GLOBAL != 0 {
                            "global"
                        } else {
                            "nonlocal"
                        };
                        return Err(fail(
                            format!("annotated name '{}' can't be {what}", n.id),
                            s.range(),
                        ));
                    }
                    if a.simple {
                        self.add_def(n.id.as_str(), DEF_ANNOT | DEF_LOCAL, n.range)?;
                    } else if a.value.is_some() {
                        self.add_def(n.id.as_str(), DEF_LOCAL, n.range)?;
                    }
                } else {
                    self.expr(&a.target)?;
                }
                self.annotation(&a.annotation)?;
                if let Some(v) = &a.value {
                    self.expr(v)?;
                }
            }
            Stmt::AugAssign(a) => {
                self.expr(&a.target)?;
                self.expr(&a.value)?;
            }
            Stmt::For(f) => {
                self.expr(&f.target)?;
                self.expr(&f.iter)?;
                self.body(&f.body)?;
                self.body(&f.orelse)?;
            }
            Stmt::While(w) => {
                self.expr(&w.test)?;
                self.body(&w.body)?;
                self.body(&w.orelse)?;
            }
            Stmt::If(i) => {
                self.expr(&i.test)?;
                self.body(&i.body)?;
                for clause in &i.elif_else_clauses {
                    if let Some(t) = &clause.test {
                        self.expr(t)?;
                    }
                    self.body(&clause.body)?;
                }
            }
            Stmt::With(w) => {
                for item in &w.items {
                    self.expr(&item.context_expr)?;
                    if let Some(v) = &item.optional_vars {
                        self.expr(v)?;
                    }
                }
                self.body(&w.body)?;
            }
            Stmt::Match(m) => {
                self.expr(&m.subject)?;
                for case in &m.cases {
                    self.pattern(&case.pattern)?;
                    if let Some(g) = &case.guard {
                        self.expr(g)?;
                    }
                    self.body(&case.body)?;
                }
            }
            Stmt::Raise(r) => {
                if let Some(e) = &r.exc {
                    self.expr(e)?;
                }
                if let Some(c) = &r.cause {
                    self.expr(c)?;
                }
            }
            Stmt::Try(t) => {
                // CPython 3.11's symtable visits `else` before the handlers.
                self.body(&t.body)?;
                self.body(&t.orelse)?;
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    if let Some(ty) = &h.type_ {
                        self.expr(ty)?;
                    }
                    if let Some(name) = &h.name {
                        self.add_def(name.as_str(), DEF_LOCAL, h.range)?;
                    }
                    self.body(&h.body)?;
                }
                self.body(&t.finalbody)?;
            }
            Stmt::Assert(a) => {
                self.expr(&a.test)?;
                if let Some(m) = &a.msg {
                    self.expr(m)?;
                }
            }
            Stmt::Import(ast::StmtImport { names, .. })
            | Stmt::ImportFrom(ast::StmtImportFrom { names, .. }) => {
                for alias in names {
                    self.alias(alias)?;
                }
            }
            Stmt::Global(g) => {
                for name in &g.names {
                    self.declare(name.as_str(), true, s.range())?;
                }
            }
            Stmt::Nonlocal(n) => {
                for name in &n.names {
                    self.declare(name.as_str(), false, s.range())?;
                }
            }
            Stmt::Expr(e) => self.expr(&e.value)?,
            Stmt::TypeAlias(t) => {
                self.expr(&t.name)?;
                self.expr(&t.value)?;
            }
            Stmt::Pass(_) | Stmt::Break(_) | Stmt::Continue(_) | Stmt::IpyEscapeCommand(_) => {}
        }
        Ok(())
    }

    fn declare(&mut self, name: &'a str, global: bool, range: TextRange) -> Res {
        let cur = self.cur_ref().lookup(name);
        if cur & (DEF_PARAM | DEF_LOCAL | USE | DEF_ANNOT) != 0 {
            let what = if global { "global" } else { "nonlocal" };
            let message = if cur & DEF_PARAM != 0 {
                format!("name '{name}' is parameter and {what}")
            } else if cur & USE != 0 {
                format!("name '{name}' is used prior to {what} declaration")
            } else if cur & DEF_ANNOT != 0 {
                format!("annotated name '{name}' can't be {what}")
            } else {
                format!("name '{name}' is assigned to before {what} declaration")
            };
            return Err(fail(message, range));
        }
        self.add_def(name, if global { DEF_GLOBAL } else { DEF_NONLOCAL }, range)?;
        self.record_directive(name, range);
        Ok(())
    }

    fn alias(&mut self, alias: &'a ast::Alias) -> Res {
        let name = alias.name.as_str();
        if name == "*" {
            if self.cur_ref().ty != BlockType::Module {
                return Err(fail("import * only allowed at module level", alias.range));
            }
            return Ok(());
        }
        if !self.track_names {
            // `add_def` records no import when names are not tracked.
            return Ok(());
        }
        let store = match &alias.asname {
            Some(a) => a.as_str(),
            None => name.split('.').next().unwrap_or(name),
        };
        self.add_def(store, DEF_IMPORT, alias.range)
    }

    fn defaults(&mut self, p: &'a Parameters) -> Res {
        for d in p
            .posonlyargs
            .iter()
            .chain(p.args.iter())
            .filter_map(|p| p.default.as_deref())
        {
            self.expr(d)?;
        }
        for d in p.kwonlyargs.iter().filter_map(|p| p.default.as_deref()) {
            self.expr(d)?;
        }
        Ok(())
    }

    fn annotations(&mut self, p: &'a Parameters, returns: Option<&'a Expr>) -> Res {
        if self.future_annotations {
            self.enter(BlockType::Annotation, key(p));
        }
        for a in p
            .posonlyargs
            .iter()
            .chain(p.args.iter())
            .filter_map(|p| p.parameter.annotation.as_deref())
        {
            self.expr(a)?;
        }
        if let Some(a) = p.vararg.as_ref().and_then(|v| v.annotation.as_deref()) {
            self.expr(a)?;
        }
        for a in p
            .kwonlyargs
            .iter()
            .filter_map(|p| p.parameter.annotation.as_deref())
        {
            self.expr(a)?;
        }
        if let Some(a) = p.kwarg.as_ref().and_then(|v| v.annotation.as_deref()) {
            self.expr(a)?;
        }
        if self.future_annotations {
            self.exit();
        }
        if let Some(r) = returns {
            self.annotation(r)?;
        }
        Ok(())
    }

    fn annotation(&mut self, a: &'a Expr) -> Res {
        if self.future_annotations {
            self.enter(BlockType::Annotation, key(a));
            self.expr(a)?;
            self.exit();
            Ok(())
        } else {
            self.expr(a)
        }
    }

    fn params(&mut self, p: &'a Parameters) -> Res {
        if !self.track_names {
            return duplicate_param(p);
        }
        for a in p.posonlyargs.iter().chain(p.args.iter()) {
            self.add_def(a.parameter.name.as_str(), DEF_PARAM, a.parameter.range)?;
        }
        for a in p.kwonlyargs.iter() {
            self.add_def(a.parameter.name.as_str(), DEF_PARAM, a.parameter.range)?;
        }
        // CPython's `arg` node starts at the name, after `*` or `**`.
        if let Some(v) = &p.vararg {
            self.add_def(
                v.name.as_str(),
                DEF_PARAM,
                TextRange::new(v.name.start(), v.end()),
            )?;
        }
        if let Some(k) = &p.kwarg {
            self.add_def(
                k.name.as_str(),
                DEF_PARAM,
                TextRange::new(k.name.start(), k.end()),
            )?;
        }
        Ok(())
    }

    fn raise_if_annotation(&self, what: &str, range: TextRange) -> Res {
        if self.cur_ref().ty == BlockType::Annotation {
            return Err(fail(
                format!("'{what}' can not be used within an annotation"),
                range,
            ));
        }
        Ok(())
    }

    /// Visit an expression. Names and literals, the most common nodes, are handled here
    /// without a level of recursion (nor a stack check).
    #[inline]
    fn expr(&mut self, e: &'a Expr) -> Res {
        match e {
            Expr::Name(n) => self.name(n),
            Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_)
            | Expr::IpyEscapeCommand(_) => Ok(()),
            _ => self.expr_nested(e),
        }
    }

    #[inline]
    fn name(&mut self, n: &'a ast::ExprName) -> Res {
        // Only parameters are recorded when names are not tracked (see `add_def_in`).
        if !self.track_names {
            return Ok(());
        }
        let flag = if n.ctx == ExprContext::Load {
            USE
        } else {
            DEF_LOCAL
        };
        self.add_def(n.id.as_str(), flag, n.range)
    }

    fn expr_nested(&mut self, e: &'a Expr) -> Res {
        if !self.checked {
            return self.expr_inner(e);
        }
        self.depth += 1;
        let r = if self.depth.is_multiple_of(GUARD_EVERY) {
            stack::guard(|| self.expr_inner(e))
        } else {
            self.expr_inner(e)
        };
        self.depth -= 1;
        r
    }

    /// One expression, its children in the order of ruff's `walk_expr` (CPython's order).
    fn expr_inner(&mut self, e: &'a Expr) -> Res {
        match e {
            Expr::Name(n) => self.name(n)?,
            Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_)
            | Expr::IpyEscapeCommand(_) => {}
            Expr::Attribute(a) => self.expr(&a.value)?,
            Expr::Subscript(_)
            | Expr::BinOp(_)
            | Expr::UnaryOp(_)
            | Expr::BoolOp(_)
            | Expr::Compare(_)
            | Expr::If(_)
            | Expr::Dict(_)
            | Expr::FString(_)
            | Expr::TString(_)
            | Expr::Slice(_) => self.plain_children(e)?,
            Expr::Starred(s) => self.expr(&s.value)?,
            Expr::Call(c) => {
                self.expr(&c.func)?;
                for a in &c.arguments.args {
                    self.expr(a)?;
                }
                for k in &c.arguments.keywords {
                    self.expr(&k.value)?;
                }
            }
            Expr::List(ast::ExprList { elts, .. })
            | Expr::Tuple(ast::ExprTuple { elts, .. })
            | Expr::Set(ast::ExprSet { elts, .. }) => {
                for v in elts {
                    self.expr(v)?;
                }
            }
            Expr::Named(n) => {
                self.raise_if_annotation("named expression", n.range)?;
                if let Expr::Name(target) = n.target.as_ref() {
                    if self.cur_ref().comp_iter_expr > 0 {
                        return Err(fail(
                            "assignment expression cannot be used in a comprehension iterable expression",
                            n.range,
                        ));
                    }
                    if self.cur_ref().comprehension.is_some() {
                        self.extend_namedexpr_scope(target)?;
                    }
                }
                self.expr(&n.value)?;
                self.expr(&n.target)?;
            }
            Expr::Lambda(l) => {
                if let Some(p) = &l.parameters {
                    self.defaults(p)?;
                }
                self.enter(BlockType::Function, key(e));
                if let Some(p) = &l.parameters {
                    self.params(p)?;
                }
                self.expr(&l.body)?;
                self.exit();
            }
            Expr::ListComp(c) => {
                self.comprehension(e, CompKind::List, &c.generators, &c.elt, None)?;
            }
            Expr::SetComp(c) => {
                self.comprehension(e, CompKind::Set, &c.generators, &c.elt, None)?;
            }
            Expr::Generator(c) => {
                self.comprehension(e, CompKind::Gen, &c.generators, &c.elt, None)?;
            }
            Expr::DictComp(c) => match c.key.as_deref() {
                Some(k) => {
                    self.comprehension(e, CompKind::Dict, &c.generators, k, Some(&c.value))?
                }
                None => self.comprehension(e, CompKind::Dict, &c.generators, &c.value, None)?,
            },
            Expr::Yield(y) => {
                self.raise_if_annotation("yield expression", y.range)?;
                if let Some(v) = &y.value {
                    self.expr(v)?;
                }
                self.yielded(y.range)?;
            }
            Expr::YieldFrom(y) => {
                self.raise_if_annotation("yield expression", y.range)?;
                self.expr(&y.value)?;
                self.yielded(y.range)?;
            }
            Expr::Await(a) => {
                self.raise_if_annotation("await expression", a.range)?;
                self.expr(&a.value)?;
                self.cur().coroutine = true;
            }
        }
        Ok(())
    }

    fn yielded(&mut self, range: TextRange) -> Res {
        let cur = self.cur();
        cur.generator = true;
        if let Some(kind) = cur.comprehension {
            return Err(fail(format!("'yield' inside {}", kind.describe()), range));
        }
        Ok(())
    }

    fn extend_namedexpr_scope(&mut self, target: &'a ast::ExprName) -> Res {
        let name = target.id.as_str();
        for pos in (0..self.stack.len()).rev() {
            let i = self.stack[pos];
            let ste = &self.stes[i];
            if ste.comprehension.is_some() {
                if ste.lookup(name) & DEF_COMP_ITER != 0 {
                    return Err(fail(
                        format!(
                            "assignment expression cannot rebind comprehension iteration variable '{name}'"
                        ),
                        target.range,
                    ));
                }
                continue;
            }
            match ste.ty {
                BlockType::Function => {
                    let flag = if ste.lookup(name) & DEF_GLOBAL != 0 {
                        DEF_GLOBAL
                    } else {
                        DEF_NONLOCAL
                    };
                    self.add_def(name, flag, target.range)?;
                    self.record_directive(name, target.range);
                    return self.add_def_in(i, name, DEF_LOCAL, target.range);
                }
                BlockType::Module => {
                    self.add_def(name, DEF_GLOBAL, target.range)?;
                    self.record_directive(name, target.range);
                    return self.add_def_in(i, name, DEF_GLOBAL, target.range);
                }
                BlockType::Class => {
                    return Err(fail(
                        "assignment expression within a comprehension cannot be used in a class body",
                        target.range,
                    ));
                }
                BlockType::Annotation => {}
            }
        }
        Ok(())
    }

    fn comprehension(
        &mut self,
        e: &'a Expr,
        kind: CompKind,
        generators: &'a [ast::Comprehension],
        elt: &'a Expr,
        value: Option<&'a Expr>,
    ) -> Res {
        let Some(outermost) = generators.first() else {
            return Ok(());
        };
        self.cur().comp_iter_expr += 1;
        let r = self.expr(&outermost.iter);
        self.cur().comp_iter_expr -= 1;
        r?;
        self.enter(BlockType::Function, key(e));
        self.cur().comprehension = Some(kind);
        if outermost.is_async {
            self.cur().coroutine = true;
        }
        // The implicit parameter `.0` cannot clash with anything in the fresh scope: it only
        // matters to the names' flags.
        if self.track_names {
            self.add_def(".0", DEF_PARAM, e.range())?;
        }
        self.cur().comp_iter_target = true;
        let r = self.expr(&outermost.target);
        self.cur().comp_iter_target = false;
        r?;
        for i in &outermost.ifs {
            self.expr(i)?;
        }
        for g in &generators[1..] {
            self.cur().comp_iter_target = true;
            let r = self.expr(&g.target);
            self.cur().comp_iter_target = false;
            r?;
            self.cur().comp_iter_expr += 1;
            let r = self.expr(&g.iter);
            self.cur().comp_iter_expr -= 1;
            r?;
            for i in &g.ifs {
                self.expr(i)?;
            }
            if g.is_async {
                self.cur().coroutine = true;
            }
        }
        if let Some(v) = value {
            self.expr(v)?;
        }
        self.expr(elt)?;
        let is_generator = kind == CompKind::Gen;
        let cur = self.cur();
        cur.generator = is_generator;
        let is_async = cur.coroutine && !is_generator;
        self.exit();
        if is_async {
            self.cur().coroutine = true;
        }
        Ok(())
    }

    fn pattern(&mut self, p: &'a Pattern) -> Res {
        stack::guard(|| match p {
            Pattern::MatchValue(v) => self.expr(&v.value),
            Pattern::MatchSingleton(_) => Ok(()),
            Pattern::MatchSequence(s) => {
                for p in &s.patterns {
                    self.pattern(p)?;
                }
                Ok(())
            }
            Pattern::MatchStar(s) => match &s.name {
                Some(n) => self.add_def(n.as_str(), DEF_LOCAL, s.range),
                None => Ok(()),
            },
            Pattern::MatchMapping(m) => {
                for k in &m.keys {
                    self.expr(k)?;
                }
                for p in &m.patterns {
                    self.pattern(p)?;
                }
                if let Some(rest) = &m.rest {
                    self.add_def(rest.as_str(), DEF_LOCAL, m.range)?;
                }
                Ok(())
            }
            Pattern::MatchClass(c) => {
                self.expr(&c.cls)?;
                for p in &c.arguments.patterns {
                    self.pattern(p)?;
                }
                for k in &c.arguments.keywords {
                    self.pattern(&k.pattern)?;
                }
                Ok(())
            }
            Pattern::MatchAs(a) => {
                if let Some(p) = &a.pattern {
                    self.pattern(p)?;
                }
                if let Some(n) = &a.name {
                    self.add_def(n.as_str(), DEF_LOCAL, a.range)?;
                }
                Ok(())
            }
            Pattern::MatchOr(o) => {
                for p in &o.patterns {
                    self.pattern(p)?;
                }
                Ok(())
            }
        })
    }

    /// The analysis phase (`analyze_block`): `nonlocal` and `global` conflicts and bindings.
    fn analyze(&self) -> Res {
        // Without `nonlocal` the analysis phase has nothing to refuse: a name can only be
        // "nonlocal and global" or lack a binding if something declared it nonlocal.
        if self.stes.is_empty() || !self.any_nonlocal {
            return Ok(());
        }
        self.analyze_block(0, None)
    }

    fn analyze_block(&self, i: usize, bound: Option<&FxHashSet<&'a str>>) -> Res {
        stack::guard(|| {
            let ste = &self.stes[i];
            let directive = |name: &str| {
                ste.directives
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, r)| *r)
                    .unwrap_or_default()
            };
            for &(name, flags) in &ste.symbols.names {
                if flags & DEF_GLOBAL != 0 {
                    if flags & DEF_NONLOCAL != 0 {
                        return Err(fail(
                            format!("name '{name}' is nonlocal and global"),
                            directive(name),
                        ));
                    }
                    continue;
                }
                if flags & DEF_NONLOCAL != 0 {
                    match bound {
                        None => {
                            return Err(fail(
                                "nonlocal declaration not allowed at module level",
                                directive(name),
                            ));
                        }
                        Some(b) if !b.contains(name) => {
                            return Err(fail(
                                format!("no binding for nonlocal '{name}' found"),
                                directive(name),
                            ));
                        }
                        Some(_) => {}
                    }
                }
            }
            let mut newbound: FxHashSet<&'a str> = bound.cloned().unwrap_or_default();
            match ste.ty {
                BlockType::Function => {
                    for &(name, f) in &ste.symbols.names {
                        if f & DEF_BOUND != 0 && f & (DEF_GLOBAL | DEF_NONLOCAL) == 0 {
                            newbound.insert(name);
                        }
                    }
                }
                BlockType::Class => {
                    newbound.insert("__class__");
                }
                BlockType::Module | BlockType::Annotation => {}
            }
            for &child in &ste.children {
                self.analyze_block(child, Some(&newbound))?;
            }
            Ok(())
        })
    }
}

/// The symbol table's error for a function (or lambda) that lists a parameter twice, as
/// recording the parameters in order into the function's fresh scope finds it: at the first
/// parameter whose name an earlier one has.
fn duplicate_param(p: &Parameters) -> Res {
    /// Up to this many parameters, duplicates are looked for without allocating.
    const SMALL: usize = 16;
    // `Symtable::params` order; CPython's `arg` node of `*args`/`**kwargs` starts at the name.
    let params = || {
        p.posonlyargs
            .iter()
            .chain(p.args.iter())
            .chain(p.kwonlyargs.iter())
            .map(|a| (a.parameter.name.as_str(), a.parameter.range))
            .chain(
                p.vararg
                    .iter()
                    .chain(p.kwarg.iter())
                    .map(|v| (v.name.as_str(), TextRange::new(v.name.start(), v.end()))),
            )
    };
    let duplicate = if p.len() <= SMALL {
        params()
            .enumerate()
            .find(|(i, (name, _))| params().take(*i).any(|(n, _)| n == *name))
            .map(|(_, found)| found)
    } else {
        let mut seen = FxHashSet::default();
        params().find(|(name, _)| !seen.insert(*name))
    };
    match duplicate {
        Some((name, range)) => Err(fail(
            format!("duplicate argument '{name}' in function definition"),
            range,
        )),
        None => Ok(()),
    }
}

/// The range CPython gives a `def`/`class` statement: it starts at the `def`, `async` or `class`
/// keyword, after any decorators.
fn def_range(source: &str, s: &Stmt) -> TextRange {
    let decorators = match s {
        Stmt::FunctionDef(f) => &f.decorator_list,
        Stmt::ClassDef(c) => &c.decorator_list,
        _ => return s.range(),
    };
    let Some(last) = decorators.last() else {
        return s.range();
    };
    let bytes = source.as_bytes();
    let mut i = last.end().to_usize();
    // Skip the rest of the decorator line, then blank lines, comments and continuation lines.
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b' ' | b'\t' | b'\x0c' | b'\n' | b'\r' | b'\\' => i += 1,
            _ => break,
        }
    }
    let start = TextSize::try_from(i.min(bytes.len())).unwrap_or(s.start());
    TextRange::new(start.min(s.end()), s.end())
}

// ---------------------------------------------------------------------------------------------
// Pass 3: compile.c (code generation)
// ---------------------------------------------------------------------------------------------

const EXCEPT_STAR_EXIT: &str = "'break', 'continue' and 'return' cannot appear in an except* block";

/// CPython's `CO_MAXBLOCKS`.
const MAX_BLOCKS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnitKind {
    Module,
    Class,
    Function,
    AsyncFunction,
    Lambda,
    Comprehension,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FBlock {
    Loop,
    /// The handlers of a `try`/`except*` (`EXCEPTION_GROUP_HANDLER`).
    ExceptStar,
    Other,
}

/// What unwinding the block stack for `break`/`continue` finds first.
enum Unwind {
    Loop,
    ExceptStar,
    Nothing,
}

/// A compilation unit (module, class, function, lambda, comprehension). The open units other
/// than the current one live on the Rust stack (see [`Codegen::enter`]), so the walk does not
/// allocate.
#[derive(Clone, Copy)]
struct Unit {
    kind: UnitKind,
    coroutine: bool,
    generator: bool,
    /// How many of [`Unit::blocks`] are open.
    nblocks: u8,
    /// The unit's frame blocks, innermost last (at most [`MAX_BLOCKS`], else an error).
    blocks: [FBlock; MAX_BLOCKS],
}

impl Unit {
    fn new(kind: UnitKind, coroutine: bool, generator: bool) -> Self {
        Self {
            kind,
            coroutine,
            generator,
            nblocks: 0,
            blocks: [FBlock::Other; MAX_BLOCKS],
        }
    }
}

/// CPython's code generation, as far as it raises errors. `CHECKED`: check the stack (and move
/// to a fresh segment when short) every [`GUARD_EVERY`] levels; without, the caller makes sure
/// the stack has room for the whole tree ([`run_codegen`]).
struct Codegen<'s, 'a, const CHECKED: bool> {
    /// The symbol table, for the scope flags; `None` when they are all false (see [`check`]).
    st: Option<&'s Symtable<'a>>,
    source: &'a str,
    lines: &'s crate::span::LineIndex,
    future_lineno: u32,
    future_annotations: bool,
    /// The current unit.
    unit: Unit,
    /// Recursion depth of the walk, to check the stack every [`GUARD_EVERY`] levels (when
    /// `CHECKED`).
    depth: u32,
    /// Look for a parameter listed twice (the symbol table's error) when there is no table.
    find_duplicate_params: bool,
    /// Some function or lambda lists a parameter twice.
    duplicate_params: bool,
    /// The module-scope bindings, fed as the walk goes (exact when the walk succeeds).
    binder: Binder<'a>,
}

impl<'a, const CHECKED: bool> PlainChildren<'a> for Codegen<'_, 'a, CHECKED> {
    fn child(&mut self, e: &'a Expr) -> Res {
        self.expr(e)
    }
}

impl<'a, const CHECKED: bool> Codegen<'_, 'a, CHECKED> {
    fn unit(&self) -> &Unit {
        &self.unit
    }

    /// Open a unit for `node`; returns the enclosing one, for [`Codegen::exit`].
    #[must_use]
    #[inline]
    fn enter(&mut self, kind: UnitKind, node: usize) -> Unit {
        let (coroutine, generator) = self
            .st
            .and_then(|st| st.scope_of(node))
            .map(|s| (s.coroutine, s.generator))
            .unwrap_or((false, false));
        if kind != UnitKind::Module {
            self.binder.enter(kind == UnitKind::Comprehension);
        }
        std::mem::replace(&mut self.unit, Unit::new(kind, coroutine, generator))
    }

    /// Close the current unit, back to `outer` (what [`Codegen::enter`] returned).
    fn exit(&mut self, outer: Unit) {
        if self.unit.kind != UnitKind::Module {
            self.binder.exit();
        }
        self.unit = outer;
    }

    /// The frame blocks of the current unit.
    fn unit_blocks(&self) -> &[FBlock] {
        &self.unit.blocks[..usize::from(self.unit.nblocks)]
    }

    fn push_block(&mut self, b: FBlock, loc: TextRange) -> Res {
        let n = usize::from(self.unit.nblocks);
        if n >= MAX_BLOCKS {
            return Err(fail("too many statically nested blocks", loc));
        }
        self.unit.blocks[n] = b;
        self.unit.nblocks += 1;
        Ok(())
    }

    fn pop_block(&mut self) {
        self.unit.nblocks = self.unit.nblocks.saturating_sub(1);
    }

    /// `compiler_unwind_fblock_stack`: the innermost loop, unless an `except*` handler is
    /// crossed first.
    fn unwind(&self) -> Unwind {
        for b in self.unit_blocks().iter().rev() {
            match b {
                FBlock::Loop => return Unwind::Loop,
                FBlock::ExceptStar => return Unwind::ExceptStar,
                FBlock::Other => {}
            }
        }
        Unwind::Nothing
    }

    fn enclosing_fix(&self) -> Fix {
        match self.unit().kind {
            UnitKind::Function => Fix::MakeAsync(Enclosing::Def),
            UnitKind::Lambda => Fix::MakeAsync(Enclosing::Lambda),
            _ => Fix::None,
        }
    }

    fn module(&mut self, m: &'a ModModule) -> Res {
        let outer = self.enter(UnitKind::Module, key(m));
        self.body(&m.body)?;
        self.exit(outer);
        Ok(())
    }

    fn body(&mut self, body: &'a [Stmt]) -> Res {
        for s in body {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &'a Stmt) -> Res {
        if !CHECKED {
            return self.stmt_inner(s);
        }
        self.depth += 1;
        let r = if self.depth.is_multiple_of(GUARD_EVERY) {
            stack::guard(|| self.stmt_inner(s))
        } else {
            self.stmt_inner(s)
        };
        self.depth -= 1;
        r
    }

    fn check_debug_args(&mut self, p: &Parameters, loc: TextRange) -> Res {
        /// Up to this many parameters, duplicates are looked for without allocating.
        const SMALL: usize = 16;
        let find = self.find_duplicate_params && !self.duplicate_params;
        let small = p.len() <= SMALL;
        for (i, a) in p.iter().enumerate() {
            let name = a.name().as_str();
            forbidden(name, ExprContext::Store, loc)?;
            if find && small && p.iter().take(i).any(|b| b.name().as_str() == name) {
                self.duplicate_params = true;
            }
        }
        if find && !small {
            let mut seen = FxHashSet::default();
            self.duplicate_params |= !p.iter().all(|a| seen.insert(a.name().as_str()));
        }
        Ok(())
    }

    fn defaults(&mut self, p: &'a Parameters) -> Res {
        for d in p
            .posonlyargs
            .iter()
            .chain(p.args.iter())
            .filter_map(|p| p.default.as_deref())
        {
            self.expr(d)?;
        }
        for d in p.kwonlyargs.iter().filter_map(|p| p.default.as_deref()) {
            self.expr(d)?;
        }
        Ok(())
    }

    fn stmt_inner(&mut self, s: &'a Stmt) -> Res {
        let loc = s.range();
        match s {
            Stmt::FunctionDef(f) => {
                let loc = def_range(self.source, s);
                self.check_debug_args(&f.parameters, loc)?;
                for d in &f.decorator_list {
                    self.expr(&d.expression)?;
                }
                self.defaults(&f.parameters)?;
                if !self.future_annotations {
                    let p = &f.parameters;
                    for a in p
                        .args
                        .iter()
                        .chain(p.posonlyargs.iter())
                        .filter_map(|a| a.parameter.annotation.as_deref())
                    {
                        self.expr(a)?;
                    }
                    match p.vararg.as_ref().and_then(|v| v.annotation.as_deref()) {
                        // PEP 646: `*args: *Ts` unpacks the annotation.
                        Some(Expr::Starred(star)) => self.expr(&star.value)?,
                        Some(a) => self.expr(a)?,
                        None => {}
                    }
                    for a in p
                        .kwonlyargs
                        .iter()
                        .filter_map(|a| a.parameter.annotation.as_deref())
                    {
                        self.expr(a)?;
                    }
                    if let Some(a) = p.kwarg.as_ref().and_then(|v| v.annotation.as_deref()) {
                        self.expr(a)?;
                    }
                    if let Some(r) = &f.returns {
                        self.expr(r)?;
                    }
                } else if self.binder.full() {
                    // Not evaluated, but what they bind or write counts as `bindings::collect`
                    // finds it.
                    let p = &f.parameters;
                    for a in p.iter().filter_map(|p| p.annotation()) {
                        bindings::walk_expr(&mut self.binder, a);
                    }
                    if let Some(r) = &f.returns {
                        bindings::walk_expr(&mut self.binder, r);
                    }
                }
                self.binder.function_def(f);
                let kind = if f.is_async {
                    UnitKind::AsyncFunction
                } else {
                    UnitKind::Function
                };
                let outer = self.enter(kind, key(s));
                self.binder.bind_params(&f.parameters);
                let r = self.body(&f.body);
                self.exit(outer);
                r?;
                forbidden(f.name.as_str(), ExprContext::Store, loc)?;
            }
            Stmt::ClassDef(c) => {
                let loc = def_range(self.source, s);
                for d in &c.decorator_list {
                    self.expr(&d.expression)?;
                }
                self.binder.bind(c.name.as_str());
                let outer = self.enter(UnitKind::Class, key(s));
                let r = self.body(&c.body);
                self.exit(outer);
                r?;
                if let Some(args) = &c.arguments {
                    self.call_args(args, loc)?;
                }
                forbidden(c.name.as_str(), ExprContext::Store, loc)?;
            }
            Stmt::Return(r) => {
                let in_function = matches!(
                    self.unit().kind,
                    UnitKind::Function | UnitKind::AsyncFunction | UnitKind::Lambda
                );
                if !in_function {
                    return Err(fail("'return' outside function", loc));
                }
                if r.value.is_some() && self.unit().coroutine && self.unit().generator {
                    return Err(fail("'return' with value in async generator", loc));
                }
                if let Some(v) = &r.value {
                    self.expr(v)?;
                }
                if self.unit_blocks().contains(&FBlock::ExceptStar) {
                    return Err(fail(EXCEPT_STAR_EXIT, loc));
                }
            }
            Stmt::Delete(d) => {
                for t in &d.targets {
                    self.binder.target(t);
                    self.expr(t)?;
                }
            }
            Stmt::Assign(a) => {
                self.expr(&a.value)?;
                for t in &a.targets {
                    self.binder.target(t);
                    self.expr(t)?;
                }
            }
            Stmt::AugAssign(a) => match a.target.as_ref() {
                Expr::Name(n) => {
                    self.expr(&a.value)?;
                    forbidden(n.id.as_str(), ExprContext::Store, n.range)?;
                    self.binder.target(&a.target);
                }
                Expr::Attribute(at) => {
                    self.binder.target(&a.target);
                    self.expr(&at.value)?;
                    self.expr(&a.value)?;
                }
                Expr::Subscript(sub) => {
                    self.binder.target(&a.target);
                    self.expr(&sub.value)?;
                    self.expr(&sub.slice)?;
                    self.expr(&a.value)?;
                }
                other => {
                    self.binder.target(other);
                    self.expr(other)?;
                    self.expr(&a.value)?;
                }
            },
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    self.expr(v)?;
                    self.binder.target(&a.target);
                    self.expr(&a.target)?;
                }
                let module_or_class =
                    matches!(self.unit().kind, UnitKind::Module | UnitKind::Class);
                match a.target.as_ref() {
                    Expr::Name(n) => {
                        forbidden(n.id.as_str(), ExprContext::Store, loc)?;
                        if a.simple && module_or_class && !self.future_annotations {
                            self.expr(&a.annotation)?;
                        }
                    }
                    Expr::Attribute(at) => {
                        forbidden(at.attr.as_str(), ExprContext::Store, loc)?;
                        if a.value.is_none() {
                            self.ann_check(&at.value)?;
                        }
                    }
                    Expr::Subscript(sub) if a.value.is_none() => {
                        self.ann_check(&sub.value)?;
                        self.ann_check(&sub.slice)?;
                    }
                    _ => {}
                }
                if !a.simple {
                    self.ann_check(&a.annotation)?;
                }
                self.binder.annotated(a.simple);
                if self.binder.full() {
                    self.unevaluated_annotation_parts(a);
                }
            }
            Stmt::For(f) => {
                if f.is_async {
                    self.async_allowed("'async for' outside async function", loc)?;
                    self.expr(&f.iter)?;
                    self.push_block(FBlock::Loop, loc)?;
                } else {
                    self.push_block(FBlock::Loop, loc)?;
                    self.expr(&f.iter)?;
                }
                self.binder.target(&f.target);
                self.expr(&f.target)?;
                self.body(&f.body)?;
                self.pop_block();
                self.body(&f.orelse)?;
            }
            Stmt::While(w) => {
                self.push_block(FBlock::Loop, loc)?;
                self.expr(&w.test)?;
                self.body(&w.body)?;
                self.pop_block();
                self.body(&w.orelse)?;
            }
            Stmt::If(i) => {
                self.expr(&i.test)?;
                self.body(&i.body)?;
                for clause in &i.elif_else_clauses {
                    if let Some(t) = &clause.test {
                        self.expr(t)?;
                    }
                    self.body(&clause.body)?;
                }
            }
            Stmt::With(w) => {
                if w.is_async {
                    self.async_allowed("'async with' outside async function", loc)?;
                }
                let mut pushed = 0;
                for item in &w.items {
                    self.expr(&item.context_expr)?;
                    self.push_block(FBlock::Other, loc)?;
                    pushed += 1;
                    if let Some(v) = &item.optional_vars {
                        self.binder.target(v);
                        self.expr(v)?;
                    }
                }
                self.body(&w.body)?;
                for _ in 0..pushed {
                    self.pop_block();
                }
            }
            Stmt::Match(m) => {
                self.expr(&m.subject)?;
                let n = m.cases.len();
                let has_default = n > 1
                    && matches!(&m.cases[n - 1].pattern,
                        Pattern::MatchAs(a) if a.pattern.is_none() && a.name.is_none());
                for (i, case) in m.cases.iter().enumerate() {
                    if !(has_default && i == n - 1) {
                        let mut pc = PatternCtx {
                            allow_irrefutable: case.guard.is_some() || i == n - 1,
                            stores: Vec::new(),
                        };
                        self.pattern(&case.pattern, &mut pc)?;
                    }
                    if let Some(g) = &case.guard {
                        self.expr(g)?;
                    }
                    self.body(&case.body)?;
                }
            }
            Stmt::Raise(r) => {
                if let Some(e) = &r.exc {
                    self.expr(e)?;
                }
                if let Some(c) = &r.cause {
                    self.expr(c)?;
                }
            }
            Stmt::Try(t) => {
                let has_finally = !t.finalbody.is_empty();
                if has_finally {
                    self.push_block(FBlock::Other, loc)?;
                }
                if t.handlers.is_empty() {
                    self.body(&t.body)?;
                } else {
                    self.push_block(FBlock::Other, loc)?;
                    self.body(&t.body)?;
                    self.pop_block();
                    self.body(&t.orelse)?;
                    let handler_block = if t.is_star {
                        FBlock::ExceptStar
                    } else {
                        FBlock::Other
                    };
                    self.push_block(handler_block, loc)?;
                    for h in &t.handlers {
                        let ast::ExceptHandler::ExceptHandler(h) = h;
                        if let Some(ty) = &h.type_ {
                            self.expr(ty)?;
                        }
                        if let Some(name) = &h.name {
                            forbidden(name.as_str(), ExprContext::Store, h.range)?;
                            self.binder.bind(name.as_str());
                        }
                        self.push_block(FBlock::Other, h.range)?;
                        self.body(&h.body)?;
                        self.pop_block();
                    }
                    self.pop_block();
                }
                if has_finally {
                    self.pop_block();
                    self.push_block(FBlock::Other, loc)?;
                    self.body(&t.finalbody)?;
                    self.pop_block();
                }
            }
            Stmt::Assert(a) => {
                self.expr(&a.test)?;
                if let Some(m) = &a.msg {
                    self.expr(m)?;
                }
            }
            Stmt::Import(i) => {
                for alias in &i.names {
                    let store = bindings::import_binding(alias);
                    forbidden(store, ExprContext::Store, loc)?;
                    self.binder.bind(store);
                }
            }
            Stmt::ImportFrom(i) => {
                if i.module.as_deref() == Some("__future__")
                    && self.lines.cpython(loc.start().to_u32()).line > self.future_lineno
                {
                    return Err(fail(
                        "from __future__ imports must occur at the beginning of the file",
                        loc,
                    ));
                }
                for alias in &i.names {
                    if alias.name.as_str() == "*" {
                        self.binder.star_import(i);
                        continue;
                    }
                    let store = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                    forbidden(store, ExprContext::Store, loc)?;
                    self.binder.bind(store);
                }
            }
            Stmt::Break(_) => match self.unwind() {
                Unwind::Loop => {}
                Unwind::ExceptStar => return Err(fail(EXCEPT_STAR_EXIT, loc)),
                Unwind::Nothing => return Err(fail("'break' outside loop", loc)),
            },
            Stmt::Continue(_) => match self.unwind() {
                Unwind::Loop => {}
                Unwind::ExceptStar => return Err(fail(EXCEPT_STAR_EXIT, loc)),
                Unwind::Nothing => return Err(fail("'continue' not properly in loop", loc)),
            },
            Stmt::Expr(e) => self.expr(&e.value)?,
            Stmt::TypeAlias(t) => {
                self.expr(&t.value)?;
                // Python 3.12 syntax, refused before this walk: its name is no binding `collect`
                // reports.
                match t.name.as_ref() {
                    Expr::Name(n) => forbidden(n.id.as_str(), n.ctx, n.range)?,
                    other => self.expr(other)?,
                }
            }
            Stmt::Global(g) => self.binder.global(&g.names),
            Stmt::Nonlocal(_) | Stmt::Pass(_) | Stmt::IpyEscapeCommand(_) => {}
        }
        Ok(())
    }

    /// Feed the binder the parts of an annotated assignment that code generation does not visit:
    /// the annotation when it is not evaluated, and a target without a value (whose parts
    /// [`Codegen::ann_check`] visits, but not the target itself).
    fn unevaluated_annotation_parts(&mut self, a: &'a ast::StmtAnnAssign) {
        let evaluated = matches!(self.unit().kind, UnitKind::Module | UnitKind::Class)
            && !self.future_annotations;
        if a.value.is_none() {
            match a.target.as_ref() {
                Expr::Name(_) => {}
                Expr::Attribute(_) | Expr::Subscript(_) if evaluated => {
                    self.binder.expr_node(&a.target);
                }
                other => bindings::walk_expr(&mut self.binder, other),
            }
        }
        if !evaluated || (a.simple && !a.target.is_name_expr()) {
            bindings::walk_expr(&mut self.binder, &a.annotation);
        }
    }

    /// `check_ann_expr`: annotations of complex targets are evaluated in modules and classes.
    fn ann_check(&mut self, e: &'a Expr) -> Res {
        if self.future_annotations {
            return Ok(());
        }
        if matches!(self.unit().kind, UnitKind::Module | UnitKind::Class) {
            self.expr(e)?;
        }
        Ok(())
    }

    fn async_allowed(&self, message: &str, loc: TextRange) -> Res {
        match self.unit().kind {
            UnitKind::Module | UnitKind::AsyncFunction => Ok(()),
            _ => Err(Box::new(Failure {
                message: message.to_string(),
                range: loc,
                fix: self.enclosing_fix(),
            })),
        }
    }

    fn call_args(&mut self, args: &'a ast::Arguments, call: TextRange) -> Res {
        // validate_keywords
        for (i, k) in args.keywords.iter().enumerate() {
            if let Some(arg) = &k.arg {
                forbidden(arg.as_str(), ExprContext::Store, call)?;
                for other in &args.keywords[i + 1..] {
                    if other
                        .arg
                        .as_ref()
                        .is_some_and(|o| o.as_str() == arg.as_str())
                    {
                        return Err(fail(
                            format!("keyword argument repeated: {arg}"),
                            other.range,
                        ));
                    }
                }
            }
        }
        for a in args.args.iter() {
            match a {
                Expr::Starred(s) => self.expr(&s.value)?,
                other => self.expr(other)?,
            }
        }
        for k in &args.keywords {
            self.expr(&k.value)?;
        }
        Ok(())
    }

    /// Compile an expression. Names and literals, the most common nodes, are checked here
    /// without a level of recursion (nor a stack check).
    #[inline]
    fn expr(&mut self, e: &'a Expr) -> Res {
        match e {
            Expr::Name(n) => forbidden(n.id.as_str(), n.ctx, n.range),
            Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_)
            | Expr::IpyEscapeCommand(_) => Ok(()),
            _ => self.expr_nested(e),
        }
    }

    fn expr_nested(&mut self, e: &'a Expr) -> Res {
        if !CHECKED {
            return self.expr_inner(e);
        }
        self.depth += 1;
        let r = if self.depth.is_multiple_of(GUARD_EVERY) {
            stack::guard(|| self.expr_inner(e))
        } else {
            self.expr_inner(e)
        };
        self.depth -= 1;
        r
    }

    fn elts_load(&mut self, elts: &'a [Expr]) -> Res {
        for el in elts {
            match el {
                Expr::Starred(s) => self.expr(&s.value)?,
                other => self.expr(other)?,
            }
        }
        Ok(())
    }

    fn elts_store(&mut self, elts: &'a [Expr], loc: TextRange) -> Res {
        let mut seen_star = false;
        let n = elts.len();
        for (i, el) in elts.iter().enumerate() {
            if el.is_starred_expr() {
                if seen_star {
                    return Err(fail("multiple starred expressions in assignment", loc));
                }
                if i >= (1 << 8) || n - i > (i32::MAX as usize >> 8) {
                    return Err(fail(
                        "too many expressions in star-unpacking assignment",
                        loc,
                    ));
                }
                seen_star = true;
            }
        }
        for el in elts {
            match el {
                Expr::Starred(s) => self.expr(&s.value)?,
                other => self.expr(other)?,
            }
        }
        Ok(())
    }

    /// One expression, its children in the order of ruff's `walk_expr` (CPython's order).
    fn expr_inner(&mut self, e: &'a Expr) -> Res {
        match e {
            Expr::Name(n) => forbidden(n.id.as_str(), n.ctx, n.range)?,
            Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_)
            | Expr::IpyEscapeCommand(_) => {}
            Expr::Attribute(a) => {
                self.expr(&a.value)?;
                if a.ctx == ExprContext::Store {
                    forbidden(a.attr.as_str(), ExprContext::Store, a.range)?;
                }
            }
            Expr::Subscript(_)
            | Expr::BinOp(_)
            | Expr::UnaryOp(_)
            | Expr::BoolOp(_)
            | Expr::Compare(_)
            | Expr::If(_)
            | Expr::Dict(_)
            | Expr::FString(_)
            | Expr::TString(_)
            | Expr::Slice(_) => self.plain_children(e)?,
            Expr::Call(c) => {
                self.binder.call(c);
                self.expr(&c.func)?;
                self.call_args(&c.arguments, c.range())?;
            }
            Expr::Starred(s) => {
                if s.ctx == ExprContext::Store {
                    return Err(fail(
                        "starred assignment target must be in a list or tuple",
                        s.range,
                    ));
                }
                return Err(fail("can't use starred expression here", s.range));
            }
            Expr::Named(n) => {
                self.expr(&n.value)?;
                match n.target.as_ref() {
                    Expr::Name(t) => {
                        forbidden(t.id.as_str(), t.ctx, t.range)?;
                        self.binder.bind_walrus(t.id.as_str());
                    }
                    other => self.expr(other)?,
                }
            }
            Expr::Await(a) => {
                match self.unit().kind {
                    UnitKind::Module | UnitKind::AsyncFunction | UnitKind::Comprehension => {}
                    UnitKind::Class => return Err(fail("'await' outside function", a.range)),
                    UnitKind::Function | UnitKind::Lambda => {
                        return Err(Box::new(Failure {
                            message: "'await' outside async function".into(),
                            range: a.range,
                            fix: self.enclosing_fix(),
                        }));
                    }
                }
                self.expr(&a.value)?;
            }
            Expr::Yield(y) => {
                if matches!(self.unit().kind, UnitKind::Module | UnitKind::Class) {
                    return Err(fail("'yield' outside function", y.range));
                }
                if let Some(v) = &y.value {
                    self.expr(v)?;
                }
            }
            Expr::YieldFrom(y) => {
                if matches!(self.unit().kind, UnitKind::Module | UnitKind::Class) {
                    return Err(fail("'yield' outside function", y.range));
                }
                if self.unit().kind == UnitKind::AsyncFunction {
                    return Err(fail("'yield from' inside async function", y.range));
                }
                self.expr(&y.value)?;
            }
            Expr::Lambda(l) => {
                if let Some(p) = &l.parameters {
                    self.check_debug_args(p, l.range)?;
                    self.defaults(p)?;
                }
                let outer = self.enter(UnitKind::Lambda, key(e));
                if let Some(p) = &l.parameters {
                    self.binder.bind_params(p);
                }
                let r = self.expr(&l.body);
                self.exit(outer);
                r?;
            }
            Expr::ListComp(c) => self.comprehension(e, false, &c.generators, &c.elt, None)?,
            Expr::SetComp(c) => self.comprehension(e, false, &c.generators, &c.elt, None)?,
            Expr::Generator(c) => self.comprehension(e, true, &c.generators, &c.elt, None)?,
            Expr::DictComp(c) => match c.key.as_deref() {
                Some(k) => self.comprehension(e, false, &c.generators, k, Some(&c.value))?,
                None => self.comprehension(e, false, &c.generators, &c.value, None)?,
            },
            Expr::List(l) => {
                if l.ctx == ExprContext::Store {
                    self.elts_store(&l.elts, l.range)?;
                } else {
                    self.elts_load(&l.elts)?;
                }
            }
            Expr::Tuple(t) => {
                if t.ctx == ExprContext::Store {
                    self.elts_store(&t.elts, t.range)?;
                } else {
                    self.elts_load(&t.elts)?;
                }
            }
            Expr::Set(s) => self.elts_load(&s.elts)?,
        }
        Ok(())
    }

    fn comprehension(
        &mut self,
        e: &'a Expr,
        is_genexp: bool,
        generators: &'a [ast::Comprehension],
        elt: &'a Expr,
        value: Option<&'a Expr>,
    ) -> Res {
        let Some(outermost) = generators.first() else {
            return Ok(());
        };
        let outer_kind = self.unit().kind;
        let outer = self.enter(UnitKind::Comprehension, key(e));
        let is_async = self.unit().coroutine;
        if is_async
            && !is_genexp
            && !matches!(
                outer_kind,
                UnitKind::AsyncFunction | UnitKind::Comprehension | UnitKind::Module
            )
        {
            let fix = match outer_kind {
                UnitKind::Function => Fix::MakeAsync(Enclosing::Def),
                UnitKind::Lambda => Fix::MakeAsync(Enclosing::Lambda),
                _ => Fix::None,
            };
            self.exit(outer);
            return Err(Box::new(Failure {
                message: "asynchronous comprehension outside of an asynchronous function".into(),
                range: e.range(),
                fix,
            }));
        }
        let r = (|| -> Res {
            for (i, g) in generators.iter().enumerate() {
                if i > 0 {
                    self.expr(&g.iter)?;
                }
                // In the comprehension's own scope: only a `global` can make it count.
                if self.binder.full() {
                    self.binder.target(&g.target);
                }
                self.expr(&g.target)?;
                for cond in &g.ifs {
                    self.expr(cond)?;
                }
            }
            self.expr(elt)?;
            if let Some(v) = value {
                self.expr(v)?;
            }
            Ok(())
        })();
        self.exit(outer);
        r?;
        self.expr(&outermost.iter)
    }

    fn pattern(&mut self, p: &'a Pattern, pc: &mut PatternCtx<'a>) -> Res {
        stack::guard(|| self.pattern_inner(p, pc))
    }

    fn store_capture(&mut self, name: &'a str, loc: TextRange, pc: &mut PatternCtx<'a>) -> Res {
        forbidden(name, ExprContext::Store, loc)?;
        self.binder.capture(name);
        if pc.stores.contains(&name) {
            return Err(fail(
                format!("multiple assignments to name '{name}' in pattern"),
                loc,
            ));
        }
        pc.stores.push(name);
        Ok(())
    }

    fn subpattern(&mut self, p: &'a Pattern, pc: &mut PatternCtx<'a>) -> Res {
        let allow = pc.allow_irrefutable;
        pc.allow_irrefutable = true;
        let r = self.pattern(p, pc);
        pc.allow_irrefutable = allow;
        r
    }

    fn pattern_inner(&mut self, p: &'a Pattern, pc: &mut PatternCtx<'a>) -> Res {
        let loc = p.range();
        match p {
            Pattern::MatchValue(v) => self.expr(&v.value),
            Pattern::MatchSingleton(_) => Ok(()),
            Pattern::MatchStar(s) => match &s.name {
                Some(n) => self.store_capture(n.as_str(), loc, pc),
                None => Ok(()),
            },
            Pattern::MatchAs(a) => match &a.pattern {
                None => {
                    if !pc.allow_irrefutable {
                        return Err(match &a.name {
                            Some(n) => fail(
                                format!("name capture '{n}' makes remaining patterns unreachable"),
                                loc,
                            ),
                            None => fail("wildcard makes remaining patterns unreachable", loc),
                        });
                    }
                    match &a.name {
                        Some(n) => self.store_capture(n.as_str(), loc, pc),
                        None => Ok(()),
                    }
                }
                Some(inner) => {
                    self.pattern(inner, pc)?;
                    match &a.name {
                        Some(n) => self.store_capture(n.as_str(), last_pattern_loc(inner), pc),
                        None => Ok(()),
                    }
                }
            },
            Pattern::MatchSequence(s) => {
                let stars = s.patterns.iter().filter(|p| p.is_match_star()).count();
                if stars > 1 {
                    return Err(fail("multiple starred names in sequence pattern", loc));
                }
                for sub in &s.patterns {
                    self.subpattern(sub, pc)?;
                }
                Ok(())
            }
            Pattern::MatchMapping(m) => {
                let mut seen: Vec<KeyValue> = Vec::new();
                for k in &m.keys {
                    match constant_key(k) {
                        Some(v) => {
                            if seen.iter().any(|s| s.equals(&v)) {
                                return Err(fail(
                                    format!("mapping pattern checks duplicate key ({})", v.repr()),
                                    loc,
                                ));
                            }
                            seen.push(v);
                        }
                        None if k.is_attribute_expr() => {}
                        None => {
                            return Err(fail(
                                "mapping pattern keys may only match literals and attribute lookups",
                                loc,
                            ));
                        }
                    }
                    self.expr(k)?;
                }
                for sub in &m.patterns {
                    self.subpattern(sub, pc)?;
                }
                if let Some(rest) = &m.rest {
                    let at = m.patterns.last().map(last_pattern_loc).unwrap_or(loc);
                    self.store_capture(rest.as_str(), at, pc)?;
                }
                Ok(())
            }
            Pattern::MatchClass(c) => {
                let kws = &c.arguments.keywords;
                for (i, k) in kws.iter().enumerate() {
                    forbidden(k.attr.as_str(), ExprContext::Store, k.pattern.range())?;
                    for other in &kws[i + 1..] {
                        if other.attr.as_str() == k.attr.as_str() {
                            return Err(fail(
                                format!("attribute name repeated in class pattern: {}", k.attr),
                                other.pattern.range(),
                            ));
                        }
                    }
                }
                self.expr(&c.cls)?;
                for sub in &c.arguments.patterns {
                    self.subpattern(sub, pc)?;
                }
                for k in kws {
                    self.subpattern(&k.pattern, pc)?;
                }
                Ok(())
            }
            Pattern::MatchOr(o) => {
                let n = o.patterns.len();
                let mut control: Option<Vec<&'a str>> = None;
                let outer_allow = pc.allow_irrefutable;
                for (i, alt) in o.patterns.iter().enumerate() {
                    let mut sub = PatternCtx {
                        allow_irrefutable: i == n - 1 && outer_allow,
                        stores: Vec::new(),
                    };
                    self.pattern(alt, &mut sub)?;
                    match &control {
                        None => control = Some(sub.stores),
                        Some(c) => {
                            let mut a = c.clone();
                            let mut b = sub.stores.clone();
                            a.sort_unstable();
                            b.sort_unstable();
                            if a != b {
                                return Err(fail(
                                    "alternative patterns bind different names",
                                    last_pattern_loc(alt),
                                ));
                            }
                        }
                    }
                }
                for name in control.unwrap_or_default() {
                    if pc.stores.contains(&name) {
                        return Err(fail(
                            format!("multiple assignments to name '{name}' in pattern"),
                            o.patterns.last().map(last_pattern_loc).unwrap_or(loc),
                        ));
                    }
                    pc.stores.push(name);
                }
                Ok(())
            }
        }
    }
}

struct PatternCtx<'a> {
    allow_irrefutable: bool,
    stores: Vec<&'a str>,
}

/// The location CPython's compiler is left at after compiling a pattern: the last pattern node
/// it visited (it sets the location on entering each pattern and does not restore it).
fn last_pattern_loc(p: &Pattern) -> TextRange {
    let last_child = match p {
        Pattern::MatchSequence(s) => s.patterns.last(),
        Pattern::MatchMapping(m) => m.patterns.last(),
        Pattern::MatchClass(c) => c
            .arguments
            .keywords
            .last()
            .map(|k| &k.pattern)
            .or(c.arguments.patterns.last()),
        Pattern::MatchAs(a) => a.pattern.as_deref(),
        Pattern::MatchOr(o) => o.patterns.last(),
        _ => None,
    };
    match last_child {
        Some(c) => last_pattern_loc(c),
        None => p.range(),
    }
}

/// The value of a constant mapping-pattern key, for CPython's duplicate check.
#[derive(Debug, Clone, PartialEq)]
enum KeyValue {
    Int(i128),
    BigInt(String),
    Float(f64),
    Complex(f64, f64),
    Str(String),
    Bytes(Vec<u8>),
    Bool(bool),
    None,
}

impl KeyValue {
    fn numeric(&self) -> Option<(f64, f64, Option<i128>)> {
        match self {
            KeyValue::Int(i) => Some((*i as f64, 0.0, Some(*i))),
            KeyValue::Bool(b) => Some((f64::from(u8::from(*b)), 0.0, Some(i128::from(*b)))),
            KeyValue::Float(f) => Some((*f, 0.0, None)),
            KeyValue::Complex(r, i) => Some((*r, *i, None)),
            _ => None,
        }
    }

    fn equals(&self, other: &KeyValue) -> bool {
        match (self.numeric(), other.numeric()) {
            (Some((ar, ai, aint)), Some((br, bi, bint))) => match (aint, bint) {
                (Some(a), Some(b)) => a == b,
                _ => ar == br && ai == bi,
            },
            (None, None) => self == other,
            _ => false,
        }
    }

    fn repr(&self) -> String {
        match self {
            KeyValue::Int(i) => i.to_string(),
            KeyValue::BigInt(s) => s.clone(),
            KeyValue::Float(f) => python_float_repr(*f),
            KeyValue::Complex(r, i) => {
                if *r == 0.0 && r.is_sign_positive() {
                    format!("{}j", python_float_repr_short(*i))
                } else {
                    let sign = if *i < 0.0 || (*i == 0.0 && i.is_sign_negative()) {
                        "-"
                    } else {
                        "+"
                    };
                    format!(
                        "({}{sign}{}j)",
                        python_float_repr_short(*r),
                        python_float_repr_short(i.abs())
                    )
                }
            }
            KeyValue::Str(s) => python_str_repr(s),
            KeyValue::Bytes(b) => {
                let mut out = String::from("b'");
                for &c in b {
                    match c {
                        b'\\' => out.push_str("\\\\"),
                        b'\'' => out.push_str("\\'"),
                        b'\n' => out.push_str("\\n"),
                        b'\r' => out.push_str("\\r"),
                        b'\t' => out.push_str("\\t"),
                        0x20..=0x7e => out.push(c as char),
                        _ => out.push_str(&format!("\\x{c:02x}")),
                    }
                }
                out.push('\'');
                out
            }
            KeyValue::Bool(true) => "True".into(),
            KeyValue::Bool(false) => "False".into(),
            KeyValue::None => "None".into(),
        }
    }
}

fn python_float_repr(f: f64) -> String {
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{f:?}");
    // Rust prints `1e100`; Python prints `1e+100`.
    match s.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
        _ => s,
    }
}

fn python_float_repr_short(f: f64) -> String {
    let s = python_float_repr(f);
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

fn python_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::new();
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn constant_key(e: &Expr) -> Option<KeyValue> {
    match e {
        Expr::NumberLiteral(n) => Some(number_key(&n.value, false)),
        Expr::UnaryOp(u) if u.op == UnaryOp::USub => match u.operand.as_ref() {
            Expr::NumberLiteral(n) => Some(number_key(&n.value, true)),
            _ => None,
        },
        Expr::BinOp(b) => {
            // `1 + 2j` and `-1 - 2j` are folded to complex constants.
            let left = constant_key(&b.left)?;
            let right = constant_key(&b.right)?;
            let (lr, li, _) = left.numeric()?;
            let (rr, ri, _) = right.numeric()?;
            match b.op {
                ast::Operator::Add => Some(KeyValue::Complex(lr + rr, li + ri)),
                ast::Operator::Sub => Some(KeyValue::Complex(lr - rr, li - ri)),
                _ => None,
            }
        }
        Expr::StringLiteral(s) => Some(KeyValue::Str(s.value.to_str().to_string())),
        Expr::BytesLiteral(b) => Some(KeyValue::Bytes(b.value.bytes().collect())),
        Expr::BooleanLiteral(b) => Some(KeyValue::Bool(b.value)),
        Expr::NoneLiteral(_) => Some(KeyValue::None),
        _ => None,
    }
}

fn number_key(n: &Number, negate: bool) -> KeyValue {
    let sign = if negate { -1.0 } else { 1.0 };
    match n {
        Number::Int(i) => {
            let text = i.to_string();
            match parse_int(&text) {
                Some(v) => KeyValue::Int(if negate { -v } else { v }),
                None => KeyValue::BigInt(if negate { format!("-{text}") } else { text }),
            }
        }
        Number::Float(f) => KeyValue::Float(sign * f),
        Number::Complex { real, imag } => KeyValue::Complex(sign * real, sign * imag),
    }
}

fn parse_int(text: &str) -> Option<i128> {
    let t: String = text.chars().filter(|c| *c != '_').collect();
    let lower = t.to_ascii_lowercase();
    if let Some(h) = lower.strip_prefix("0x") {
        i128::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i128::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        i128::from_str_radix(b, 2).ok()
    } else {
        lower.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::LineIndex;

    fn err(src: &str) -> Option<(String, u32, u32)> {
        let parsed = crate::parse::parse_cell(src, false).ok()?;
        let lines = LineIndex::new(src);
        let full_bindings = parsed.bindings_need_full_walk();
        let full = compile_failure(
            parsed.module(),
            src,
            &lines,
            Scopes::Full,
            parsed.depth(),
            full_bindings,
        );
        let short = compile_failure(
            parsed.module(),
            src,
            &lines,
            parsed.scopes(),
            parsed.depth(),
            full_bindings,
        );
        assert_eq!(full, short, "{src}");
        full.err().map(|f| {
            let p = lines.cpython(f.range.start().to_u32());
            (f.message, p.line, p.col + 1)
        })
    }

    /// Cells whose `async`/`await` keywords are all outside brackets skip the symbol table;
    /// `err` checks that the short path gives what the full one gives (CPython's answers here).
    #[test]
    fn async_at_statement_level_needs_no_symbol_table() {
        let src = "from __future__ import annotations\nx: await y = 1";
        assert_eq!(
            crate::parse::parse_cell(src, false)
                .ok()
                .map(|p| p.scopes()),
            Some(Scopes::AsyncAtStatementLevel)
        );
        assert_eq!(
            err(src),
            Some((
                "'await expression' can not be used within an annotation".into(),
                2,
                4
            ))
        );
        assert_eq!(
            err("f = lambda: await x"),
            Some(("'await' outside async function".into(), 1, 13))
        );
        assert_eq!(
            err("def f():\n    async with x:\n        pass"),
            Some(("'async with' outside async function".into(), 2, 5))
        );
        assert_eq!(
            err("def f():\n    async for a in b:\n        pass"),
            Some(("'async for' outside async function".into(), 2, 5))
        );
        assert_eq!(
            err("async def f():\n    async for a in b:\n        await a"),
            None
        );
        assert_eq!(
            err("async def f(a, a):\n    await a"),
            Some((
                "duplicate argument 'a' in function definition".into(),
                1,
                16
            ))
        );
        assert_eq!(
            err("x = await y\nclass C:\n    async def m(self):\n        await z"),
            None
        );
        // Inside brackets an `await` can make a comprehension a coroutine: the full table.
        let src = "def f():\n    return [await x for x in y]";
        assert_eq!(
            crate::parse::parse_cell(src, false)
                .ok()
                .map(|p| p.scopes()),
            Some(Scopes::Full)
        );
        assert_eq!(
            err(src),
            Some((
                "asynchronous comprehension outside of an asynchronous function".into(),
                2,
                12
            ))
        );
    }

    #[test]
    fn basic_errors_match_cpython() {
        assert_eq!(
            err("return 1"),
            Some(("'return' outside function".into(), 1, 1))
        );
        assert_eq!(
            err("class A:\n    await x"),
            Some(("'await' outside function".into(), 2, 5))
        );
        assert_eq!(
            err("def f():\n    await x"),
            Some(("'await' outside async function".into(), 2, 5))
        );
        assert_eq!(err("await x"), None);
        assert_eq!(
            err("break\nnonlocal x"),
            Some((
                "nonlocal declaration not allowed at module level".into(),
                2,
                1
            ))
        );
        assert_eq!(
            err("@d\ndef __debug__(): pass"),
            Some(("cannot assign to __debug__".into(), 2, 1))
        );
    }

    #[test]
    fn shallow_trees_get_room_for_the_unchecked_walk() {
        // Trees up to UNCHECKED_MAX_DEPTH deep (by the parser's depth bound, about twice the
        // tokens of the longest line) are walked without per-level stack checks, after one check
        // for room for the whole depth: on a thread with little stack that check has to move the
        // walk to a fresh segment.
        let sources = [
            format!("x = {}1", "-".repeat(36)),
            format!("def f():\n    return {}y{}", "f(".repeat(8), ")".repeat(8)),
            format!("class C:\n    x = {}{}", "[".repeat(8), "]".repeat(8)),
        ];
        for src in sources {
            let handle = std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    let Ok(parsed) = crate::parse::parse_cell(&src, false) else {
                        panic!("{src} parses");
                    };
                    assert!(parsed.depth() <= UNCHECKED_MAX_DEPTH, "{}", parsed.depth());
                    let lines = LineIndex::new(&src);
                    compile_failure(
                        parsed.module(),
                        &src,
                        &lines,
                        Scopes::Full,
                        parsed.depth(),
                        true,
                    )
                    .err()
                })
                .expect("thread");
            assert_eq!(handle.join().expect("no stack overflow"), None);
        }
    }

    #[test]
    fn unknown_depth_walks_with_checks() {
        // A depth of 0 means unknown: a deep tree then gets the checked walk.
        let src = format!("def f():\n    return {}", vec!["y"; 2990].join("+"));
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let Ok(parsed) = crate::parse::parse_cell(&src, false) else {
                    panic!("parses");
                };
                let lines = LineIndex::new(&src);
                compile_failure(parsed.module(), &src, &lines, Scopes::Full, 0, true).err()
            })
            .expect("thread");
        assert_eq!(handle.join().expect("no stack overflow"), None);
    }

    #[test]
    fn deepest_accepted_trees_are_walked_on_a_small_stack() {
        // Just under CPython's limit, every pass walks ~3000 levels; on a 256 KiB thread stack
        // that only works because each walk moves to fresh stack segments as it goes.
        let sources = [
            format!("x = {}1", "-".repeat(2990)),
            format!("await x.a{}", ".b".repeat(2990)),
            format!("def f():\n    return {}", vec!["y"; 2990].join("+")),
        ];
        for src in sources {
            let handle = std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let a = crate::analyze_cell(&src, &mut crate::SessionState::new());
                    a.mode
                })
                .expect("thread");
            let mode = handle.join().expect("no stack overflow");
            assert_ne!(mode, crate::Mode::SyntaxError);
        }
    }
}
