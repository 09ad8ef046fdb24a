//! Blocking-I/O detection: resolves call targets to qualified names and follows values and calls.
//!
//! One walk over the cell's execution path (module-level statements, class bodies, decorators,
//! and the bodies of the functions that path calls) evaluates every expression to a small
//! abstract [`Value`]: a qualified name (`time.sleep`), an instance of a known library type
//! (`sqlite3.Connection`), a user function or class, or "unknown". Calls are resolved against
//! those values and the static knowledge in `known`. What the cell binds at module level is
//! written to the session's [`SymbolTable`], so later cells see imports, typed bindings and the
//! functions (kept as syntax, resolved again at each call, as Python does) of earlier ones.

mod known;
mod logs;
mod walker;

use std::sync::{Arc, OnceLock};

use ruff_python_ast::name::Name;
use ruff_python_ast::{ExprGenerator, ExprLambda, ModModule, StmtFunctionDef};
use rustc_hash::FxHashMap;

use crate::diagnostic::Diagnostic;
use crate::parse::ParsedCell;
use crate::span::Span;
use crate::{BlockingCall, CellContext};

pub(crate) use known::Family;

/// How a binding came about, for the `via` of blocking calls: `import time (line 1)`.
///
/// Imports and assignments are kept as parts and only rendered when a blocking call is
/// reported, so that binding them allocates nothing in the common case.
#[derive(Debug, Clone, Default)]
pub(crate) enum Via {
    /// Not known (a builtin, or a value made on the spot).
    #[default]
    None,
    /// Already rendered.
    Text(Arc<str>),
    /// `import {module} [as {asname}] (line {line})`.
    Import {
        line: u32,
        module: QStr,
        asname: Option<Name>,
    },
    /// `from {module} import {name} [as {asname}] (line {line})`, kept as the qualified name
    /// `{module}.{name}` (a name has no dots, so the last dot splits them again).
    From {
        line: u32,
        qname: QStr,
        asname: Option<Name>,
    },
    /// `{target} = {text} (line {line})`, where `text` is the short form of the assigned value.
    Assign { line: u32, target: Name, text: Name },
    /// `with {text} as {target} (line {line})`.
    With { line: u32, target: Name, text: Name },
}

impl Via {
    pub(crate) fn is_none(&self) -> bool {
        matches!(self, Via::None)
    }

    /// The text shown to a person.
    pub(crate) fn render(&self) -> Option<String> {
        Some(match self {
            Via::None => return None,
            Via::Text(t) => t.to_string(),
            Via::Import {
                line,
                module,
                asname: Some(a),
            } => with_line(&["import ", module.as_str(), " as ", a], *line),
            Via::Import { line, module, .. } => with_line(&["import ", module.as_str()], *line),
            Via::From {
                line,
                qname,
                asname,
            } => {
                let q = qname.as_str();
                // The last dot, found by byte search.
                let (module, name) = match q.bytes().rposition(|b| b == b'.') {
                    Some(dot) => (&q[..dot], &q[dot + 1..]),
                    None => ("", q),
                };
                match asname {
                    Some(a) => with_line(&["from ", module, " import ", name, " as ", a], *line),
                    None => with_line(&["from ", module, " import ", name], *line),
                }
            }
            Via::Assign { line, target, text } => with_line(&[target, " = ", text], *line),
            Via::With { line, target, text } => with_line(&["with ", text, " as ", target], *line),
        })
    }
}

/// `parts` joined, then ` (line {line})`, in one allocation (this runs for every reported
/// blocking call). Inlined, so that the constant parts of each caller are copied without
/// calls to `memcpy`.
#[inline(always)]
pub(crate) fn with_line(parts: &[&str], line: u32) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() + 18);
    parts.iter().for_each(|p| s.push_str(p));
    s.push_str(" (line ");
    push_u32(&mut s, line);
    s.push(')');
    s
}

/// Append the decimal digits of `n` (as `{n}` formats it).
pub(crate) fn push_u32(s: &mut String, n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits, pushed as chars (no UTF-8 check of the buffer).
    digits[i..].iter().for_each(|&d| s.push(char::from(d)));
}

/// A qualified name: static (from pyrepl3's tables) or the user's own (inline when short,
/// else shared); a `Name`, so as small as a fat pointer and cloned without allocating.
#[derive(Debug, Clone)]
pub(crate) struct QStr(Name);

impl QStr {
    /// A short name kept inline (no allocation, no table lookup needed); a longer one static
    /// when pyrepl3's tables know it, else a copy.
    pub(crate) fn new(s: &str) -> Self {
        if let Some(inline) = Name::new_inline(s) {
            return QStr(inline);
        }
        match known::static_name(s) {
            Some(st) => QStr(Name::new_static(st)),
            None => QStr(Name::new(s)),
        }
    }

    /// A name from pyrepl3's tables.
    pub(crate) fn from_static(s: &'static str) -> Self {
        QStr(Name::new_static(s))
    }

    pub(crate) fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// `true` when pyrepl3's tables mention the name.
    pub(crate) fn is_known(&self) -> bool {
        known::static_name(self.as_str()).is_some()
    }
}

/// A constant [`Value::Lit`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lit {
    Bool(bool),
    Int(i64),
    None,
}

impl Lit {
    /// Its truth value (`bool(x)`).
    pub(crate) fn truth(self) -> bool {
        match self {
            Lit::Bool(b) => b,
            Lit::Int(i) => i != 0,
            Lit::None => false,
        }
    }
}

/// What pyrepl3 knows about the value of an expression or a binding.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// Something whose type pyrepl3 cannot tell.
    Unknown,
    /// A plain value (a literal, a container, arithmetic): nothing called on it blocks.
    Plain,
    /// A module or an importable object, by qualified name.
    Qual(QStr, Via),
    /// An instance of a known library type (`sqlite3.Connection`).
    Instance(&'static str, Via),
    /// Anything obtained from an async library: never blocks.
    Async,
    /// A library method bound to a typed receiver (`run = conn.execute`), by its qualified
    /// name (`sqlite3.Connection.execute`).
    LibMethod(Name, Via),
    /// A user function or lambda.
    Func(Arc<FuncInfo>),
    /// A user method bound to its instance.
    Method(Arc<FuncInfo>, Box<Value>),
    /// A user class.
    Class(Arc<ClassInfo>),
    /// An instance of a user class, with the attributes its constructor set.
    UserInstance(Arc<ClassInfo>, Arc<Attrs>),
    /// `functools.partial(f, ...)`: calling it calls `f`.
    Partial(Box<Value>),
    /// A coroutine object made by calling an `async def` (its body runs when awaited), and
    /// its arguments (boxed, not shared: the call's argument list becomes the box without a
    /// copy, and awaiting takes them back; few coroutines are bound to names and cloned).
    Coro(Arc<FuncInfo>, Arc<[Value]>),
    /// A generator object made by calling a generator function, and its arguments: the body
    /// runs when the generator is iterated (`for`, `next`, `list`, or any call it is passed to
    /// that is not a user function's).
    Gen(Arc<FuncInfo>, Arc<[Value]>),
    /// An awaitable that runs several coroutines (`asyncio.gather(...)`), boxed as `Coro`'s
    /// arguments are.
    Gather(Arc<[Value]>),
    /// A dict display with string keys, some of whose values pyrepl3 can follow
    /// (`handlers = {"x": fetch}`), and whether those are all of its values.
    Dict(Arc<Attrs>, bool),
    /// A tuple display with at least one value pyrepl3 can follow (`return conn, cur`).
    Tuple(Arc<[Value]>),
    /// `super()` in a method: the instance's class, the class that defines the method, and
    /// the instance.
    Super(Arc<ClassInfo>, Name, Box<Value>),
    /// A short string literal passed to a user function or held by a dict display (a tool's
    /// name): as plain as any string, but known when it is used as a key of a dict pyrepl3
    /// follows (`TOOLS[name]`, `TOOLS[call["name"]]`).
    Str(Name),
    /// A constant bound to a name or passed as an argument (`DEBUG = False`,
    /// `load(p, cache=True)`): as plain as any value, but it decides branches that test it.
    Lit(Lit),
    /// A dict comprehension all of whose values are this one value, which pyrepl3 can follow
    /// (`handlers = {k: fetch for k in keys}`): a subscript, `.get(k)` or an item of
    /// `.values()` gives it.
    DictOf(Box<Value>),
    /// A list, set or dict display or comprehension whose items (a dict's keys) are all
    /// instances of one known type (`[ex.submit(f, x) for x in xs]`): iterating it gives an
    /// item, and so does a subscript when the flag is set (lists; not dicts, whose
    /// subscripts give values).
    Items(Box<Value>, bool),
    /// `map(f, xs)` bound to a name: iterating it calls `f`.
    Mapped(Box<Value>),
    /// One of several values, chosen at run time (`TOOLS[name]` of a dict all of whose values
    /// pyrepl3 can follow): calling it blocks when calling every one of them does.
    AnyOf(Arc<[Value]>),
    /// Each of several callables, one after another: an item of a list of different functions
    /// being iterated (`for step in steps: step()`). Calling it calls every one.
    EachOf(Arc<[Value]>),
}

/// Attributes of a user object, by name.
pub(crate) type Attrs = FxHashMap<Name, Value>;

/// The syntax of a user function, kept so that it can be resolved at each call.
#[derive(Debug)]
pub(crate) enum FuncBody {
    /// A copy of the syntax (functions defined inside called functions, lambdas).
    Def(Arc<DeepTree<StmtFunctionDef>>),
    Lambda(Arc<DeepTree<ExprLambda>>),
    /// A lambda of the cell's module-level code handed straight to a callee that calls it at
    /// once (`sorted(xs, key=lambda x: ...)`): found again at this offset in the cell's tree
    /// instead of copied (it cannot outlive the cell).
    LambdaAt(u32),
    /// A generator expression bound to a name (`g = (f(x) for x in xs)`): it runs as it is
    /// iterated.
    Genexp(Arc<DeepTree<ExprGenerator>>),
    /// The source text of a module-level definition, parsed again on its first call from a
    /// later cell (within its own cell the cell's tree is used directly).
    Source(SourceBody),
}

/// A copy of a piece of syntax that is dropped with enough stack for its depth (the derived
/// drop recurses once per level: a lambda a few thousand levels deep overflowed a 256 KiB
/// thread stack when the walker dropped its copy).
#[derive(Debug)]
pub(crate) struct DeepTree<T> {
    /// Always `Some` until dropped.
    tree: Option<T>,
    depth: usize,
}

impl<T: Clone> DeepTree<T> {
    /// A copy of `tree`, a tree at most `depth` levels deep.
    pub(crate) fn copy(tree: &T, depth: usize) -> Self {
        Self {
            tree: Some(crate::stack::clone_deep(tree, depth)),
            depth,
        }
    }
}

impl<T> DeepTree<T> {
    /// The syntax.
    pub(crate) fn get(&self) -> Option<&T> {
        self.tree.as_ref()
    }

    /// How deep the syntax nests at most.
    pub(crate) fn depth(&self) -> usize {
        self.depth
    }
}

impl<T> Drop for DeepTree<T> {
    fn drop(&mut self) {
        if let Some(tree) = self.tree.take() {
            crate::stack::drop_deep(tree, self.depth);
        }
    }
}

/// The text of a `def` and, once needed, its syntax.
pub(crate) struct SourceBody {
    /// The definition's lines; when `wrapped`, prefixed with `if 1:` to allow its indentation.
    pub(crate) text: Box<str>,
    pub(crate) wrapped: bool,
    pub(crate) parsed: OnceLock<Option<ParsedCell>>,
}

impl std::fmt::Debug for SourceBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceBody")
            .field("text", &self.text)
            .finish_non_exhaustive()
    }
}

impl SourceBody {
    fn parsed(&self) -> Option<&ParsedCell> {
        self.parsed
            .get_or_init(|| crate::parse::parse_cell(&self.text, false).ok())
            .as_ref()
    }

    /// How deep the definition's syntax nests at most (0 if it does not parse back).
    pub(crate) fn depth(&self) -> usize {
        self.parsed().map_or(0, ParsedCell::depth)
    }

    /// The function definition, parsed on first use (`None` if the text does not parse back).
    pub(crate) fn def(&self) -> Option<&StmtFunctionDef> {
        let parsed = self.parsed();
        let mut stmt = parsed?.module().body.first()?;
        if self.wrapped {
            match stmt {
                ruff_python_ast::Stmt::If(i) => stmt = i.body.first()?,
                _ => return None,
            }
        }
        match stmt {
            ruff_python_ast::Stmt::FunctionDef(d) => Some(d),
            _ => None,
        }
    }
}

/// A user function defined in this or an earlier cell.
#[derive(Debug)]
pub(crate) struct FuncInfo {
    /// Its name (`<lambda>` for lambdas) and the class it was defined in.
    pub(crate) name: Name,
    pub(crate) class: Option<Name>,
    /// File line of its definition.
    pub(crate) line: u32,
    pub(crate) is_async: bool,
    /// A `def` whose body yields: calling it makes a generator, and the body runs as the
    /// generator is iterated ([`Value::Gen`]).
    pub(crate) is_generator: bool,
    /// `@staticmethod`: no implicit first argument.
    pub(crate) is_static: bool,
    /// `@classmethod`: the implicit first argument is the class.
    pub(crate) is_classmethod: bool,
    /// `@property`: reading the attribute calls it.
    pub(crate) is_property: bool,
    /// `@functools.lru_cache`, `@functools.cache`, `@functools.cached_property`: a call with
    /// the same literal arguments (a second read of the property on the same object) returns
    /// the remembered result without running the body.
    pub(crate) memo: bool,
    /// Default values of parameters that have a known type, evaluated at definition.
    pub(crate) defaults: Vec<(Name, Value)>,
    pub(crate) body: FuncBody,
    /// The cell that defined it (its spans refer to that cell's source).
    pub(crate) cell: u32,
    /// For a `def` run by its cell's module-level code (not inside a called function): where
    /// it starts in that cell. While that cell is walked, its body is run from the cell's own
    /// tree, found again at this offset.
    pub(crate) def_at: Option<u32>,
    /// Local names of the enclosing function when this one was defined (closures).
    pub(crate) closure: Option<Arc<Attrs>>,
}

impl FuncInfo {
    /// How to name it in `via` strings: `def fetch()`, `async def main()`, `lambda`.
    pub(crate) fn push_label(&self, s: &mut String) {
        match self.body {
            FuncBody::Lambda(_) | FuncBody::LambdaAt(_) => return s.push_str("lambda"),
            FuncBody::Genexp(_) => return s.push_str("generator expression"),
            _ => {}
        }
        if self.name.as_str() == "<exec>" {
            return s.push_str("exec(...)");
        }
        if self.is_async {
            s.push_str("async ");
        }
        s.push_str("def ");
        if let Some(c) = &self.class {
            s.push_str(c);
            s.push('.');
        }
        s.push_str(&self.name);
        s.push_str("()");
    }
}

/// A user class defined in this or an earlier cell.
#[derive(Debug)]
pub(crate) struct ClassInfo {
    pub(crate) name: Name,
    /// Methods and class attributes.
    pub(crate) attrs: Attrs,
    /// Base classes that are user classes, in order.
    pub(crate) bases: Vec<Arc<ClassInfo>>,
    /// A known library base type (`class Client(requests.Session)`).
    pub(crate) lib_base: Option<&'static str>,
    /// The names annotated in the class body, in order (a dataclass's fields: its generated
    /// `__init__` takes them as parameters).
    pub(crate) fields: Vec<Name>,
    /// Fields declared `field(default_factory=f)`, and `f`: a dataclass's `__init__` calls it
    /// for each one not given.
    pub(crate) factories: Vec<(Name, Value)>,
}

impl ClassInfo {
    /// Look an attribute up through the class and its user bases.
    pub(crate) fn lookup(&self, name: &str) -> Option<&Value> {
        self.attrs
            .get(name)
            .or_else(|| self.bases.iter().find_map(|b| b.lookup(name)))
    }

    /// The class and its user bases in method resolution order (depth first, without repeats,
    /// which is exact for single inheritance).
    pub(crate) fn mro(self: &Arc<Self>) -> Vec<Arc<ClassInfo>> {
        fn walk(c: &Arc<ClassInfo>, out: &mut Vec<Arc<ClassInfo>>, depth: usize) {
            if depth > 64 || out.iter().any(|o| Arc::ptr_eq(o, c)) {
                return;
            }
            out.push(c.clone());
            for b in &c.bases {
                walk(b, out, depth + 1);
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out, 0);
        out
    }

    /// The first known library base type of the class or its bases.
    pub(crate) fn lib_base(&self) -> Option<&'static str> {
        self.lib_base
            .or_else(|| self.bases.iter().find_map(|b| b.lib_base()))
    }
}

/// What earlier cells established: import aliases, typed bindings, function summaries.
#[derive(Debug, Clone, Default)]
pub(crate) struct SymbolTable {
    /// Module-scope names and what they are bound to.
    pub(crate) globals: FxHashMap<Name, Value>,
    /// Modules imported with `from m import *`.
    pub(crate) star_modules: Vec<Arc<str>>,
    /// Module attributes replaced by assignment (`time.sleep = fake`), by qualified name.
    pub(crate) patched: FxHashMap<Box<str>, Value>,
    /// How many cells this table has seen.
    pub(crate) cells: u32,
    /// The session has made a lazy iterable whose iteration runs code (a generator function,
    /// `map(f, xs)` bound to a name): from then on, arguments of calls are checked for one.
    pub(crate) lazy: bool,
    /// Loggers with file handlers and their levels, once a cell configures logging.
    pub(crate) logs: Option<Box<logs::LogState>>,
    /// Calls of memoizing functions already made ([`FuncInfo::memo`]): the function (its cell,
    /// line and name) and the text of its literal arguments (or the object, for a property).
    pub(crate) memo: Vec<Box<str>>,
}

/// The blocking-I/O findings for one cell.
#[derive(Debug, Clone, Default)]
pub(crate) struct BlockingReport {
    /// Blocking calls on the cell's execution path, in source order.
    pub(crate) calls: Vec<BlockingCall>,
    /// Reasons to show (one per blocking call, plus informational ones such as unresolved calls).
    pub(crate) reasons: Vec<Diagnostic>,
    /// Module-level calls of loop-bound asyncio APIs (`asyncio.create_task`...): span and name.
    pub(crate) loop_bound: Vec<(Span, String)>,
}

/// Find blocking calls on the execution path of `module`, and record what this cell
/// establishes (imports, typed bindings, function summaries) into `symbols` for later cells.
pub(crate) fn analyze(
    module: &ModModule,
    ctx: &CellContext<'_>,
    symbols: &mut SymbolTable,
) -> BlockingReport {
    symbols.cells = symbols.cells.wrapping_add(1);
    if symbols.globals.capacity() == 0 {
        // Room for about one name per module-level statement: a one-line cell asks for a
        // small table, a long one for one that rarely grows while it is walked.
        // Made at its size (growing an empty table goes through the rehash path).
        symbols.globals = FxHashMap::with_capacity_and_hasher(
            module.body.len().clamp(4, 256),
            Default::default(),
        );
    }
    let mut w = walker::Walker::new(ctx, module, symbols);
    w.module_stmts();
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_trees_on_the_execution_path_are_walked_on_a_small_stack() {
        // Each walk recurses ~3000 levels (in the cell, in a called function, in a lambda
        // run by `map`, through an attribute chain); the walker checks the stack only every
        // few levels, which must still move it to fresh segments in time.
        let sources = [
            format!("import time\nx = {}time.sleep(1)", "-".repeat(2900)),
            format!(
                "import time\ndef f():\n    return {}time.sleep(1)\nf()",
                "y + ".repeat(2900)
            ),
            format!(
                "import time\nfor _ in map(lambda: {}time.sleep(1), [1]): pass",
                "not ".repeat(2900)
            ),
            format!("import time\nx = time.sleep(1){}", ".a".repeat(2900)),
        ];
        for src in sources {
            let handle = std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let a = crate::analyze_cell(&src, &mut crate::SessionState::new());
                    (
                        a.mode,
                        a.blocking_calls
                            .into_iter()
                            .map(|c| c.name)
                            .collect::<Vec<_>>(),
                    )
                })
                .expect("thread");
            let (mode, calls) = handle.join().expect("no stack overflow");
            assert_eq!(mode, crate::Mode::BlockingSync);
            assert_eq!(calls, ["time.sleep"]);
        }
    }

    #[test]
    fn lines_are_written_as_format_writes_them() {
        for n in [0, 1, 9, 10, 99, 100, 12345, u32::MAX] {
            let mut s = String::from("x");
            push_u32(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
        assert_eq!(with_line(&["import ", "time"], 7), "import time (line 7)");
        assert_eq!(with_line(&[], 12), " (line 12)");
    }

    #[test]
    fn session_state_can_move_between_threads() {
        fn send_sync<T: Send + Sync + Clone>() {}
        send_sync::<SymbolTable>();
        send_sync::<crate::SessionState>();
    }
}
