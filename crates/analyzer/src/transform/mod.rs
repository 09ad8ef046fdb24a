//! Transforms that make cells runnable which CPython would refuse, keeping the user's lines.
//!
//! 1. **`def` → `async def`**: a plain `def` whose own scope awaits becomes `async def`; calls of
//!    it by name where `await` can go (the cell's top level, or an `async def`) get `await`, in
//!    this cell and in later cells of the session; plain functions of the cell whose only
//!    obstacle is calling such a function follow, to a fixed point.
//! 2. **`lambda` → `async def`**: `f = lambda a: await g(a)` becomes
//!    `async def f(a): return (await g(a))`; an inline awaiting lambda moves into a helper
//!    `async def` defined just before its statement.
//! 3. **Wrapper** (on request): the whole cell inside `async def __pyrepl3_cell__():` with
//!    `global` hoisting, for interpreters without the top-level-await flag.
//!
//! Rewrites that cannot be sound are refused: the cell is then a syntax error whose reason says
//! why and what to write instead.
//!
//! The transformed source is the user's text with insertions and replacements; code the
//! transforms did not touch is copied byte for byte, and synthesized code (a helper `async def`,
//! the wrapper's `global` line, `__annotations__` updates) comes from ruff's code generator or
//! from slices of the user's own text. Lines stay where they were except where a whole
//! statement has to be added (a hoisted helper with no blank line above it, the wrapper's header):
//! [`TransformResult::source_map`] maps every position of the transformed source back to the
//! user's, so a tree built from it carries the user's positions.
//!
//! ## For the executor
//!
//! * Run [`TransformResult::transformed_source`] instead of the cell when it is `Some`; build the
//!   CPython-schema tree from it and move every position through
//!   [`TransformResult::source_map`] (or [`TransformResult::original_cpython`]) so tracebacks name
//!   the user's lines; show the user's source for them.
//! * A wrapped cell is module code defining `async def __pyrepl3_cell__()` (after any leading
//!   docstring, `from __future__` and star imports, and, when the cell annotates names, the line
//!   `(__pyrepl3_cell__): 0` that makes CPython create `__annotations__` as module level does).
//!   Execute it in the session's globals, then `await __pyrepl3_cell__()` (its return value is
//!   the cell's value) and delete `__pyrepl3_cell__`. Before executing, strip the
//!   `__pyrepl3_cell__.<locals>.` prefix from the `co_qualname` of the code objects nested in the
//!   wrapper (`code.replace(co_qualname=...)`), so lambdas and generator expressions created at
//!   cell level get the names they get at module level; `def`s and classes need nothing (their
//!   names are declared `global`, which gives them module-level qualified names).
//!
//! ## Known limits
//!
//! * A helper for an inline lambda needs a line of its own: when no blank line is free just
//!   above its statement, the transformed text gains a line there (the source map still takes
//!   every position back to the user's). Helpers stay in the namespace when the lambda sits in a
//!   comprehension or in an expression statement (removing them there would change the value).
//! * The wrapper's header (and `global` line) adds one or two lines at the top of the text.
//! * Calls are matched by name, through `self` in a class, through `C(...)` and through names
//!   bound by `x = C(...)`; other calls of a rewritten method, and rewritten functions used as
//!   values, get a warning (PR304), not a rewrite.
//! * Name resolution is flow-insensitive: a name bound both by a rewritten `def` and by anything
//!   else in the same scope is not awaited automatically (with a warning).
//!
//! ```
//! use pyrepl3_analyzer::SessionState;
//! use pyrepl3_analyzer::transform::{transform_cell, TransformOptions};
//!
//! let mut session = SessionState::new();
//! let src = "import asyncio\ndef f():\n    await asyncio.sleep(0)\n    return 1\nx = f()\n";
//! let out = transform_cell(src, &mut session, &TransformOptions::default());
//! assert_eq!(
//!     out.transformed_source.as_deref(),
//!     Some("import asyncio\nasync def f():\n    await asyncio.sleep(0)\n    return 1\nx = await f()\n")
//! );
//! // A later cell calling `f` gets its value too.
//! let later = transform_cell("print(f())", &mut session, &TransformOptions::default());
//! assert_eq!(later.transformed_source.as_deref(), Some("print(await f())"));
//! ```

mod asyncify;
pub mod edits;
mod lines;
mod scope;
mod wrap;

use std::collections::BTreeMap;

pub use edits::SourceMap;
pub use wrap::WRAPPER_NAME;

use crate::diagnostic::Diagnostic;
use crate::rules::transform::{TransformRefused, WrapWithGlobals};
use crate::span::{CpyPosition, LineIndex, Span};
use crate::{CellError, SessionState, parse, stack};

/// Which transform made a rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransformKind {
    /// A plain `def` became `async def`.
    DefToAsyncDef,
    /// A `lambda` became an `async def`.
    LambdaToAsyncDef,
    /// `await` was inserted before a call of a rewritten function.
    AwaitInserted,
    /// The cell was wrapped in an `async def` with `global` hoisting.
    WrapWithGlobals,
}

impl TransformKind {
    /// The snake_case name used in machine-readable output.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransformKind::DefToAsyncDef => "def_to_async_def",
            TransformKind::LambdaToAsyncDef => "lambda_to_async_def",
            TransformKind::AwaitInserted => "await_inserted",
            TransformKind::WrapWithGlobals => "wrap_with_globals",
        }
    }
}

impl std::fmt::Display for TransformKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rewrite, for the person reading the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformRecord {
    /// Which transform.
    pub kind: TransformKind,
    /// The user's construct that was rewritten (in the original cell).
    pub span: Span,
    /// What was rewritten and why.
    pub message: String,
}

/// Options for [`transform_cell`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransformOptions {
    /// Also wrap the whole cell in `async def __pyrepl3_cell__():` with `global` hoisting.
    pub wrap: bool,
}

/// What transforming one cell produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformResult {
    /// The source to run instead of the cell; `None` when the cell runs as written (nothing to
    /// rewrite) or was refused.
    pub transformed_source: Option<String>,
    /// Every rewrite, in source order (the wrapper, when asked for, last).
    pub transforms: Vec<TransformRecord>,
    /// Reasons: one per rewrite (info), warnings where a rewritten function is used where
    /// nothing awaits it, and the refusal (error).
    pub reasons: Vec<Diagnostic>,
    /// Why the cell cannot be rewritten soundly: the cell is then a syntax error.
    pub refused: Option<CellError>,
    /// Maps positions in [`Self::transformed_source`] back to the user's cell.
    pub source_map: SourceMap,
    /// Line starts of the user's cell, for converting spans.
    pub line_index: LineIndex,
}

impl TransformResult {
    /// CPython's position (1-based line, 0-based UTF-8 column) in the user's cell of a position
    /// in [`Self::transformed_source`]; `end` selects the end-of-construct mapping.
    pub fn original_cpython(&self, transformed_offset: u32, end: bool) -> CpyPosition {
        let offset = if end {
            self.source_map.original_end(transformed_offset)
        } else {
            self.source_map.original_start(transformed_offset)
        };
        self.line_index.cpython(offset)
    }
}

/// What kind of function a rewrite produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RewrittenKind {
    /// `async def` without `yield`: calls return a coroutine to await.
    Coroutine,
    /// `async def` with `yield`: calls return an async generator to iterate with `async for`.
    AsyncGenerator,
}

/// What the transforms of earlier cells established: which module-level functions pyrepl3 made
/// async (so later cells' calls of them get `await`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionTransforms {
    pub(crate) rewritten: BTreeMap<String, RewrittenKind>,
}

impl SessionTransforms {
    /// `true` when no earlier cell had a function made async: then a cell CPython accepts as
    /// written needs no transform (callers may skip [`transform_cell`] for it).
    pub fn is_empty(&self) -> bool {
        self.rewritten.is_empty()
    }

    /// Module-level functions made async by earlier cells, by name.
    pub fn rewritten(&self) -> impl Iterator<Item = (&str, RewrittenKind)> {
        self.rewritten.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

/// Module-level functions made async by the transforms of earlier cells of `state`'s session.
pub fn rewritten_functions(state: &SessionState) -> Vec<(String, RewrittenKind)> {
    state
        .transform
        .rewritten()
        .map(|(n, k)| (n.to_string(), k))
        .collect()
}

/// A rewrite that cannot be sound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) span: Span,
    pub(crate) message: String,
    pub(crate) help: String,
}

/// Transform one cell of a session.
///
/// Cells of one session must be transformed in order with the same state. Never panics: a cell
/// that does not parse comes back unchanged (`transformed_source: None`, no reasons; the
/// analyzer reports its syntax error), a cell that cannot be rewritten soundly comes back with
/// [`TransformResult::refused`] set.
pub fn transform_cell(
    source: &str,
    state: &mut SessionState,
    options: &TransformOptions,
) -> TransformResult {
    stack::guard(|| transform_inner(source, &mut state.transform, options))
}

fn unchanged(source: &str) -> TransformResult {
    TransformResult {
        transformed_source: None,
        transforms: Vec::new(),
        reasons: Vec::new(),
        refused: None,
        source_map: SourceMap::default(),
        line_index: LineIndex::new(source),
    }
}

fn refused(source: &str, refusals: Vec<Refusal>, mut reasons: Vec<Diagnostic>) -> TransformResult {
    let mut refusals = refusals;
    refusals.sort_by_key(|r| (r.span.start, r.span.end));
    let first = refusals[0].clone();
    for r in refusals {
        reasons
            .push(Diagnostic::new(TransformRefused::meta(), r.message, r.span).with_help(r.help));
    }
    reasons.sort_by_key(|d| (d.span.start, d.span.end));
    TransformResult {
        transformed_source: None,
        transforms: Vec::new(),
        reasons,
        refused: Some(CellError {
            kind: "SyntaxError".into(),
            message: first.message,
            span: first.span,
        }),
        source_map: SourceMap::default(),
        line_index: LineIndex::new(source),
    }
}

fn transform_inner(
    source: &str,
    session: &mut SessionTransforms,
    options: &TransformOptions,
) -> TransformResult {
    let Ok(cell) = parse::parse_cell(source, false) else {
        return unchanged(source);
    };
    let lines = lines::Lines::new(source, cell.parsed().tokens());
    let mut cs = scope::collect(source, &cell.module().body);
    scope::merge_assigned_lambdas(&mut cs);
    let outcome = asyncify::run(source, &cs, &lines, session);
    if !outcome.refusals.is_empty() {
        return refused(source, outcome.refusals, Vec::new());
    }
    let mut result = unchanged(source);
    result.transforms = outcome.records;
    result
        .transforms
        .sort_by_key(|r| (r.span.start, r.span.end));
    result.reasons = outcome.reasons;

    let mut text = source.to_string();
    if !outcome.edits.is_empty() {
        let (t, map) = edits::apply(source, outcome.edits);
        text = t;
        result.source_map = map;
    }
    drop(cell);

    if options.wrap {
        let Ok(cell) = parse::parse_cell(&text, false) else {
            return internal_error(source, &text);
        };
        if !wrap::is_wrapped(cell.module()) {
            let lines = lines::Lines::new(&text, cell.parsed().tokens());
            let mut cs = scope::collect(&text, &cell.module().body);
            scope::merge_assigned_lambdas(&mut cs);
            match wrap::wrap(&text, cell.module(), &cs, &lines) {
                Ok(w) => {
                    let (t, map) = edits::apply(&text, w.edits);
                    let whole = Span::new(0, source.len() as u32);
                    let message = format!(
                        "wrapped the cell in `async def {WRAPPER_NAME}()` with {}{}",
                        if w.globals.is_empty() {
                            "no `global` declaration (the cell binds no names)".to_string()
                        } else {
                            format!("`global {}`", w.globals.join(", "))
                        },
                        if w.returns_value {
                            "; it returns the value of the trailing expression"
                        } else {
                            ""
                        }
                    );
                    result.reasons.push(Diagnostic::new(
                        WrapWithGlobals::meta(),
                        message.clone(),
                        Span::empty(0),
                    ));
                    result.transforms.push(TransformRecord {
                        kind: TransformKind::WrapWithGlobals,
                        span: whole,
                        message,
                    });
                    text = t;
                    result.source_map.push(map);
                }
                Err(r) => {
                    // Map the refusal's span back to the user's cell.
                    let r = Refusal {
                        span: result.source_map.original_span(r.span),
                        ..r
                    };
                    return refused(source, vec![r], result.reasons);
                }
            }
        }
    }

    // The transformed source must parse again; anything else is a bug we report, not run.
    if !result.source_map.is_identity() && parse::parse_cell(&text, false).is_err() {
        return internal_error(source, &text);
    }
    for (name, kind) in outcome.module_names {
        match kind {
            Some(k) => {
                session.rewritten.insert(name, k);
            }
            None => {
                session.rewritten.remove(&name);
            }
        }
    }
    if !result.source_map.is_identity() {
        result.transformed_source = Some(text);
    }
    result
}

/// Does `source` parse as a Python 3.11 module? (For tests of the transforms' output.)
#[doc(hidden)]
pub fn parses(source: &str) -> bool {
    parse::parse_cell(source, false).is_ok()
}

fn internal_error(source: &str, _text: &str) -> TransformResult {
    refused(
        source,
        vec![Refusal {
            span: Span::new(0, source.len() as u32),
            message: "pyrepl3 could not rewrite this cell into valid Python (a transform bug)"
                .into(),
            help: "please report this cell; meanwhile write `async def` and `await` explicitly"
                .into(),
        }],
        Vec::new(),
    )
}
