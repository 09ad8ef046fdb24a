//! pyrepl3's cell analyzer: routes every Python cell to its execution mode and explains why.
//!
//! The analyzer is pure Rust: no Python, no I/O, no panics. A syntax error is data
//! ([`Mode::SyntaxError`] with a [`CellError`]), never an `Err`. Cells of one session are analyzed
//! in order against a [`SessionState`] that carries what earlier cells established (imports,
//! typed bindings, summaries of the functions they defined).
//!
//! ```
//! use pyrepl3_analyzer::{analyze_cell, Mode, SessionState};
//!
//! let mut session = SessionState::new();
//! let first = analyze_cell("import time as t\nx = 1", &mut session);
//! assert_eq!(first.mode, Mode::SimpleSync);
//! assert_eq!(first.bound_names, ["t", "x"]);
//!
//! let second = analyze_cell("t.sleep(x)", &mut session);
//! assert_eq!(second.mode, Mode::BlockingSync);
//! assert_eq!(second.blocking_calls[0].name, "time.sleep");
//!
//! let third = analyze_cell("import asyncio\nawait asyncio.sleep(0)", &mut session);
//! assert_eq!(third.mode, Mode::TopLevelAwait);
//! ```

mod bindings;
mod blocking;
pub mod diagnostic;
pub mod encoding;
mod escape_guard;
mod ipython;
pub mod mode;
mod name;
mod parse;
pub mod pyast;
pub mod rules;
pub mod span;
mod stack;
mod syntax;
mod tla;
mod trailing;
pub mod transform;

use std::borrow::Cow;

pub use diagnostic::{Diagnostic, Related, Severity};
pub use mode::Mode;
pub use name::BoundName;
pub use rules::RuleMeta;
pub use span::{CpyPosition, HumanPosition, LineIndex, Span};
pub use trailing::TrailingExpression;

use rules::Rule;
use rules::routing::{
    BlockingOnLoop, CoroutineFunctionDefined, DynamicNamespaceWrite, IpythonEscape, LoopBoundCall,
    PlainSync, TopLevelAwait,
};
use rules::syntax::{AwaitOutsideAsyncFunction, SyntaxError as SyntaxErrorRule, TooDeeplyNested};

/// What earlier cells of one session established, carried forward to later cells.
///
/// Analyze the cells of one session in order with the same state.
#[derive(Debug, Clone, Default)]
pub struct SessionState {
    pub(crate) symbols: blocking::SymbolTable,
    pub(crate) transform: transform::SessionTransforms,
    cells: u32,
}

impl SessionState {
    /// A fresh session: nothing imported, nothing defined.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many cells have been analyzed in this session.
    pub fn cells_analyzed(&self) -> u32 {
        self.cells
    }
}

/// Options for analyzing one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellOptions {
    /// The line of the enclosing file where the cell starts (1-based). Messages that mention
    /// lines (such as "import time (line 3)") use file lines. Spans stay relative to the cell.
    pub first_line: u32,
    /// Parse IPython escape commands (`%magic`, `!shell`, `?help`) and report them instead of
    /// treating them as syntax errors (for notebook cells).
    pub ipython: bool,
    /// Apply the transforms that make cells runnable which CPython refuses (`await` in a plain
    /// `def` or `lambda`), and route the transformed code ([`CellAnalysis::transform`]). Off by
    /// default: the analysis then gives CPython's own verdict (such a cell is a syntax error
    /// whose reason names the fix). The executor turns it on.
    pub transform: bool,
}

impl Default for CellOptions {
    fn default() -> Self {
        Self {
            first_line: 1,
            ipython: false,
            transform: false,
        }
    }
}

/// Why CPython would refuse to compile a cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    /// CPython's exception type: `SyntaxError`, `IndentationError`, `RecursionError`...
    pub kind: String,
    /// The message, in CPython's words where pyrepl3 knows them.
    pub message: String,
    /// Where the error is.
    pub span: Span,
}

/// A blocking call found on a cell's execution path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockingCall {
    /// The resolved qualified name, e.g. `time.sleep`, `requests.get`, `sqlite3.Connection.execute`
    /// (borrowed from pyrepl3's tables when they know it, as they do for most).
    pub name: Cow<'static, str>,
    /// The call expression (in the cell).
    pub span: Span,
    /// How the name was resolved: the import or binding it came through,
    /// e.g. `import time (line 1)`, or `conn = sqlite3.connect(...) (line 4)`.
    pub via: String,
    /// The blocking-I/O rule (family) this call belongs to.
    pub rule: &'static RuleMeta,
}

/// The analysis of one cell: its mode and everything that explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellAnalysis {
    /// How the cell runs.
    pub mode: Mode,
    /// Every reason, in source order within each group; at least one.
    pub reasons: Vec<Diagnostic>,
    /// Blocking calls on the execution path, in source order.
    pub blocking_calls: Vec<BlockingCall>,
    /// Names the cell binds (or deletes) at module scope, sorted.
    pub bound_names: Vec<BoundName>,
    /// The cell may write names that are not in [`Self::bound_names`] (`globals()[...] = ...`,
    /// `exec`, `from m import *`...): find its changes by comparing the whole namespace.
    pub dynamic_writes: bool,
    /// The cell must run on the event loop's thread (it awaits, or calls loop-bound asyncio APIs).
    pub needs_loop_thread: bool,
    /// Why CPython would refuse the cell, when [`Self::mode`] is [`Mode::SyntaxError`].
    pub error: Option<CellError>,
    /// Line starts of the cell, for converting spans.
    pub line_index: LineIndex,
    /// The rewrite that makes the cell runnable, when the transforms changed it
    /// (`await` in a plain `def` or `lambda`, or a call of a function an earlier cell made
    /// async). The mode and every span above describe the transformed code that will run,
    /// with spans mapped back to the user's text.
    pub transform: Option<Transformed>,
    /// The cell's last top-level statement when it is an expression statement (its value is
    /// the cell's result), and whether a trailing `;` suppresses the value. `None` for a
    /// syntax error. For a transformed cell, the transformed code's (span in the user's text).
    pub trailing_expression: Option<TrailingExpression>,
}

/// A cell as the transforms rewrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transformed {
    /// The source to run instead of the user's.
    pub source: String,
    /// Every rewrite, in source order (spans in the user's text).
    pub records: Vec<transform::TransformRecord>,
    /// Maps offsets of [`Self::source`] back to the user's text.
    pub source_map: transform::SourceMap,
}

impl CellAnalysis {
    /// CPython's position (1-based line, 0-based UTF-8 byte column) of a span's start and end.
    pub fn cpython_range(&self, span: Span) -> (CpyPosition, CpyPosition) {
        (
            self.line_index.cpython(span.start),
            self.line_index.cpython(span.end),
        )
    }

    /// The CPython-schema tree of the code to run: the transformed source, with every node's
    /// position moved back to the user's text (so tracebacks name the user's lines). `None` when
    /// the cell runs as written (compile its source directly).
    pub fn transformed_tree(&self) -> Option<Result<pyast::Node, CellError>> {
        let t = self.transform.as_ref()?;
        Some(pyast::from_source(&t.source).map(|mut tree| {
            let transformed_lines = LineIndex::new(&t.source);
            remap_tree(
                &mut tree,
                &transformed_lines,
                &t.source_map,
                &self.line_index,
            );
            tree
        }))
    }

    /// A person's position (1-based line and character column) of a span's start and end.
    pub fn human_range(&self, source: &str, span: Span) -> (HumanPosition, HumanPosition) {
        (
            self.line_index.human(source, span.start),
            self.line_index.human(source, span.end),
        )
    }
}

/// What the analysis passes know about the cell under analysis.
#[allow(dead_code)] // used by the passes as they are filled in
#[derive(Debug, Clone, Copy)]
pub(crate) struct CellContext<'a> {
    pub(crate) source: &'a str,
    pub(crate) line_index: &'a LineIndex,
    pub(crate) options: &'a CellOptions,
    /// Depth of the cell's syntax tree (an upper bound), for copying parts of it safely.
    pub(crate) tree_depth: usize,
    /// The cell may hold a `yield` keyword.
    pub(crate) may_yield: bool,
}

#[allow(dead_code)]
impl CellContext<'_> {
    /// The 1-based line in the enclosing file of a byte offset in the cell.
    pub(crate) fn file_line(&self, offset: u32) -> u32 {
        self.line_index.cpython(offset).line + self.options.first_line.saturating_sub(1)
    }
}

/// Analyze one cell of a session with default options.
///
/// Never panics and never fails: a cell CPython would refuse comes back as
/// [`Mode::SyntaxError`] with [`CellAnalysis::error`] set.
pub fn analyze_cell(source: &str, state: &mut SessionState) -> CellAnalysis {
    analyze_cell_with(source, state, &CellOptions::default())
}

/// Analyze one cell of a session.
pub fn analyze_cell_with(
    source: &str,
    state: &mut SessionState,
    options: &CellOptions,
) -> CellAnalysis {
    let analysis = stack::guard(|| analyze_inner(source, state, options, true));
    state.cells += 1;
    analysis
}

/// Analyze raw bytes as CPython's `compile(bytes, ...)` reads them: a UTF-8 BOM is skipped, a
/// PEP 263 coding declaration on the first two lines is honoured, and bytes CPython cannot
/// decode are a syntax error. Spans refer to [`encoding::decode_source`]'s text.
pub fn analyze_bytes(
    bytes: &[u8],
    state: &mut SessionState,
    options: &CellOptions,
) -> CellAnalysis {
    match encoding::decode_source(bytes) {
        Ok(text) => analyze_cell_with(&text, state, options),
        Err(error) => {
            // Analyze nothing; positions count in what decodes as UTF-8 (the error is at or
            // before the first byte that does not).
            let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            let line_index = LineIndex::new(&String::from_utf8_lossy(body));
            state.cells += 1;
            let reason = Diagnostic::new(
                SyntaxErrorRule::meta(),
                format!("the source cannot be decoded: {}", error.message),
                error.span,
            )
            .with_help(
                "CPython decodes source bytes as UTF-8 unless a coding declaration on the first \
                 two lines names another encoding",
            );
            syntax_error_analysis(error, reason, line_index)
        }
    }
}

fn syntax_error_analysis(
    error: CellError,
    reason: Diagnostic,
    line_index: LineIndex,
) -> CellAnalysis {
    CellAnalysis {
        mode: Mode::SyntaxError,
        reasons: vec![reason],
        blocking_calls: Vec::new(),
        bound_names: Vec::new(),
        dynamic_writes: false,
        needs_loop_thread: false,
        error: Some(error),
        line_index,
        transform: None,
        trailing_expression: None,
    }
}

fn analyze_inner(
    source: &str,
    state: &mut SessionState,
    options: &CellOptions,
    allow_transform: bool,
) -> CellAnalysis {
    let line_index = LineIndex::new(source);
    let mut ctx = CellContext {
        source,
        line_index: &line_index,
        options,
        tree_depth: 0,
        may_yield: true,
    };
    let cell = match parse::parse_cell(source, options.ipython) {
        Ok(cell) => cell,
        Err(f) => {
            let rule = if f.too_deep {
                TooDeeplyNested::meta()
            } else {
                SyntaxErrorRule::meta()
            };
            let reason = Diagnostic::new(rule, format!("{}: {}", f.kind, f.message), f.span)
                .with_help("CPython refuses to compile this cell, so none of it runs");
            let error = CellError {
                kind: f.kind.to_string(),
                message: f.message,
                span: f.span,
            };
            return syntax_error_analysis(error, reason, line_index);
        }
    };
    ctx.tree_depth = cell.depth();
    ctx.may_yield = cell.may_yield();
    let module = cell.module();

    // The compile-error check's walk also collects the module-scope bindings.
    let checked = syntax::check(module, &ctx, cell.scopes(), cell.bindings_need_full_walk());
    // Transform only when it can matter, so the common cell is parsed once: `await` in a plain
    // `def`/`lambda`, or a session where earlier cells made functions async (their calls
    // need `await` here too).
    let wants_transform = allow_transform
        && options.transform
        && match &checked {
            Err(err) => err.reason.rule == AwaitOutsideAsyncFunction::meta(),
            Ok(_) => !state.transform.is_empty(),
        };
    if wants_transform {
        let t = transform::transform_cell(source, state, &transform::TransformOptions::default());
        if let Some(error) = t.refused {
            let mut reasons = t.reasons.into_iter();
            let first = reasons.next().unwrap_or_else(|| {
                Diagnostic::new(SyntaxErrorRule::meta(), error.message.clone(), error.span)
            });
            let mut analysis = syntax_error_analysis(error, first, line_index);
            analysis.reasons.extend(reasons);
            return analysis;
        }
        if let Some(text) = t.transformed_source {
            drop(cell);
            let mut analysis = analyze_inner(&text, state, options, false);
            remap_analysis(&mut analysis, &t.source_map);
            analysis.line_index = line_index;
            analysis.reasons.extend(t.reasons);
            analysis.transform = Some(Transformed {
                source: text,
                records: t.transforms,
                source_map: t.source_map,
            });
            return analysis;
        }
    }

    let bindings = match checked {
        Ok(bindings) => bindings,
        Err(err) => {
            let err = *err;
            let error = CellError {
                kind: err.kind.to_string(),
                message: err.message,
                span: err.span,
            };
            return syntax_error_analysis(error, err.reason, line_index);
        }
    };

    let mut reasons = Vec::new();
    if options.ipython {
        for span in ipython::escape_commands(module) {
            reasons.push(Diagnostic::new(
                IpythonEscape::meta(),
                "IPython escape command: reported, not run by pyrepl3",
                span,
            ));
        }
    }

    // Without `async`/`await` keywords nothing makes the module a coroutine.
    let awaits = tla::find(module, cell.async_offsets());
    let blocking = blocking::analyze(module, &ctx, &mut state.symbols);

    let on_loop_for_await = !awaits.is_empty();
    let loop_bound = !blocking.loop_bound.is_empty();
    let blocks = !blocking.calls.is_empty();

    for a in &awaits {
        reasons.push(Diagnostic::new(TopLevelAwait::meta(), a.message, a.span));
    }
    for (span, name) in &blocking.loop_bound {
        reasons.push(Diagnostic::new(
            LoopBoundCall::meta(),
            diagnostic::concat(&[
                "`",
                name,
                "` needs the running event loop: the cell runs on the loop's thread",
            ]),
            *span,
        ));
    }
    let stays_on_loop = on_loop_for_await || loop_bound;
    // The blocking pass's list becomes the cell's when nothing comes before it (most cells).
    if reasons.is_empty() {
        reasons = blocking.reasons;
    } else {
        reasons.extend(blocking.reasons);
    }
    if stays_on_loop && blocks {
        for call in &blocking.calls {
            reasons.push(
                Diagnostic::new(
                    BlockingOnLoop::meta(),
                    diagnostic::concat(&[
                        "`",
                        &call.name,
                        "` blocks while the cell runs on the event loop: the loop stalls here",
                    ]),
                    call.span,
                )
                .with_help(diagnostic::concat(&[
                    "use an async equivalent, or `await asyncio.to_thread(",
                    &call.name,
                    ", ...)`",
                ])),
            );
        }
    }
    for (name, span) in &bindings.coroutine_defs {
        reasons.push(Diagnostic::new(
            CoroutineFunctionDefined::meta(),
            diagnostic::concat(&["defines coroutine function `", name, "`"]),
            *span,
        ));
    }
    for (span, what) in &bindings.dynamic_writes {
        reasons.push(Diagnostic::new(
            DynamicNamespaceWrite::meta(),
            diagnostic::concat(&[
                what,
                ": the executor compares the whole namespace to find this cell's changes",
            ]),
            *span,
        ));
    }

    let mode = if on_loop_for_await {
        Mode::TopLevelAwait
    } else if blocks && !loop_bound {
        Mode::BlockingSync
    } else if !bindings.coroutine_defs.is_empty() {
        Mode::AsyncDef
    } else {
        Mode::SimpleSync
    };
    if mode == Mode::SimpleSync
        && !reasons
            .iter()
            .any(|r| r.severity > Severity::Info || r.rule == LoopBoundCall::meta())
    {
        reasons.push(Diagnostic::new(
            PlainSync::meta(),
            "no top-level await, no blocking call on the execution path: runs directly on the loop thread",
            Span::empty(0),
        ));
    }
    if reasons.is_empty() {
        reasons.push(Diagnostic::new(
            PlainSync::meta(),
            "runs directly on the loop thread",
            Span::empty(0),
        ));
    }
    let _ = PlainSync::META;

    CellAnalysis {
        mode,
        reasons,
        blocking_calls: blocking.calls,
        bound_names: bindings.names,
        dynamic_writes: !bindings.dynamic_writes.is_empty(),
        needs_loop_thread: stays_on_loop,
        error: None,
        line_index,
        transform: None,
        trailing_expression: trailing::find(module, cell.parsed().tokens()),
    }
}

/// Move every span of an analysis of transformed code back to the user's text.
fn remap_analysis(a: &mut CellAnalysis, map: &transform::SourceMap) {
    for r in &mut a.reasons {
        r.span = map.original_span(r.span);
        for rel in &mut r.related {
            rel.span = map.original_span(rel.span);
        }
    }
    for c in &mut a.blocking_calls {
        c.span = map.original_span(c.span);
    }
    if let Some(e) = &mut a.error {
        e.span = map.original_span(e.span);
    }
    if let Some(t) = &mut a.trailing_expression {
        t.span = map.original_span(t.span);
    }
}

/// Move every node position of a tree built from transformed code back to the user's text.
fn remap_tree(
    node: &mut pyast::Node,
    transformed: &LineIndex,
    map: &transform::SourceMap,
    user: &LineIndex,
) {
    stack::guard(|| {
        if let Some(loc) = node.loc() {
            let offset = |line: u32, col: u32| {
                transformed
                    .line_start(line)
                    .map_or(col, |s| s.saturating_add(col))
            };
            let start = user.cpython(map.original_start(offset(loc.lineno, loc.col_offset)));
            let mut end =
                user.cpython(map.original_end(offset(loc.end_lineno, loc.end_col_offset)));
            // CPython rejects nodes that end before they start.
            if (end.line, end.col) < (start.line, start.col) {
                end = start;
            }
            node.set_loc(Some(pyast::Loc {
                lineno: start.line,
                col_offset: start.col,
                end_lineno: end.line,
                end_col_offset: end.col,
            }));
        }
        for (_, value) in node.fields_mut() {
            remap_value(value, transformed, map, user);
        }
    });
}

fn remap_value(
    value: &mut pyast::Value,
    transformed: &LineIndex,
    map: &transform::SourceMap,
    user: &LineIndex,
) {
    match value {
        pyast::Value::Node(n) => remap_tree(n, transformed, map, user),
        pyast::Value::List(items) => {
            for v in items {
                remap_value(v, transformed, map, user);
            }
        }
        _ => {}
    }
}
