//! Structured Python cells for fuzzing: statements and expressions of every async and scoping
//! form, nested arbitrarily, plus very deep runs of one construct, rendered to source. Reaches
//! the analyzer's passes far more often than raw bytes do, since most generated cells parse.

use arbitrary::Arbitrary;
use pyrepl3_analyzer::{CellOptions, SessionState, analyze_cell_with};

use crate::check;

/// Names the analyzer cares about: modules, blocking functions, loop-bound APIs, builtins.
const NAMES: [&str; 24] = [
    "x",
    "f",
    "g",
    "time",
    "sleep",
    "asyncio",
    "requests",
    "open",
    "globals",
    "exec",
    "os",
    "np",
    "session",
    "conn",
    "subprocess",
    "self",
    "partial",
    "to_thread",
    "create_task",
    "Path",
    "sqlite3",
    "input",
    "print",
    "__name__",
];
const ATTRS: [&str; 14] = [
    "sleep",
    "get",
    "run",
    "read",
    "execute",
    "connect",
    "Session",
    "system",
    "path",
    "gather",
    "to_thread",
    "create_task",
    "read_text",
    "acquire",
];

#[derive(Arbitrary, Debug)]
struct Name(u8);
impl Name {
    fn get(&self) -> &'static str {
        NAMES[self.0 as usize % NAMES.len()]
    }
}

#[derive(Arbitrary, Debug)]
struct Attr(u8);
impl Attr {
    fn get(&self) -> &'static str {
        ATTRS[self.0 as usize % ATTRS.len()]
    }
}

#[derive(Arbitrary, Debug)]
enum Expr {
    Name(Name),
    Int(u8),
    Str,
    Attr(Box<Expr>, Attr),
    Call(Box<Expr>, Vec<Expr>),
    Await(Box<Expr>),
    Lambda(Name, Box<Expr>),
    ListComp {
        is_async: bool,
        elt: Box<Expr>,
        target: Name,
        iter: Box<Expr>,
    },
    GenExp {
        is_async: bool,
        elt: Box<Expr>,
        target: Name,
        iter: Box<Expr>,
    },
    FString(Box<Expr>),
    Walrus(Name, Box<Expr>),
    BinOp(Box<Expr>, Box<Expr>),
    Subscript(Box<Expr>, Box<Expr>),
    Yield(Option<Box<Expr>>),
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    Tuple(Vec<Expr>),
    Deep {
        kind: u8,
        depth: u16,
        inner: Box<Expr>,
    },
}

#[derive(Arbitrary, Debug)]
enum Stmt {
    Expr(Expr),
    Pass,
    Assign(Name, Expr),
    AugAssign(Name, Expr),
    AnnAssign(Name, Expr, Option<Expr>),
    Import {
        module: Name,
        alias: Option<Name>,
    },
    FromImport {
        module: Name,
        name: Name,
        alias: Option<Name>,
    },
    Return(Option<Expr>),
    Global(Name),
    Nonlocal(Name),
    Del(Name),
    Def {
        is_async: bool,
        name: Name,
        decorator: Option<Expr>,
        default: Option<Expr>,
        body: Vec<Stmt>,
    },
    Class {
        name: Name,
        base: Option<Expr>,
        body: Vec<Stmt>,
    },
    If(Expr, Vec<Stmt>, Vec<Stmt>),
    While(Expr, Vec<Stmt>),
    For {
        is_async: bool,
        target: Name,
        iter: Expr,
        body: Vec<Stmt>,
    },
    With {
        is_async: bool,
        item: Expr,
        target: Option<Name>,
        body: Vec<Stmt>,
    },
    Try(Vec<Stmt>, Vec<Stmt>, Vec<Stmt>),
    Match(Expr, Name, Vec<Stmt>),
    DeepBlocks {
        depth: u8,
        body: Vec<Stmt>,
    },
}

/// One generated cell.
#[derive(Arbitrary, Debug)]
pub struct Cell {
    /// Parse in IPython mode.
    pub ipython: bool,
    /// Analyze with the transforms on (as the executor does).
    pub transform: bool,
    body: Vec<Stmt>,
}

fn expr(e: &Expr, out: &mut String) {
    match e {
        Expr::Name(n) => out.push_str(n.get()),
        Expr::Int(i) => out.push_str(&i.to_string()),
        Expr::Str => out.push_str("'s'"),
        Expr::Attr(v, a) => {
            expr(v, out);
            out.push('.');
            out.push_str(a.get());
        }
        Expr::Call(f, args) => {
            expr(f, out);
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                expr(a, out);
            }
            out.push(')');
        }
        Expr::Await(v) => {
            out.push_str("(await ");
            expr(v, out);
            out.push(')');
        }
        Expr::Lambda(n, v) => {
            out.push_str("(lambda ");
            out.push_str(n.get());
            out.push_str(": ");
            expr(v, out);
            out.push(')');
        }
        Expr::ListComp {
            is_async,
            elt,
            target,
            iter,
        }
        | Expr::GenExp {
            is_async,
            elt,
            target,
            iter,
        } => {
            let (open, close) = if matches!(e, Expr::ListComp { .. }) {
                ('[', ']')
            } else {
                ('(', ')')
            };
            out.push(open);
            expr(elt, out);
            out.push_str(if *is_async { " async for " } else { " for " });
            out.push_str(target.get());
            out.push_str(" in ");
            expr(iter, out);
            out.push(close);
        }
        Expr::FString(v) => {
            out.push_str("f'{");
            expr(v, out);
            out.push_str("}'");
        }
        Expr::Walrus(n, v) => {
            out.push('(');
            out.push_str(n.get());
            out.push_str(" := ");
            expr(v, out);
            out.push(')');
        }
        Expr::BinOp(a, b) => {
            out.push('(');
            expr(a, out);
            out.push_str(" + ");
            expr(b, out);
            out.push(')');
        }
        Expr::Subscript(a, b) => {
            expr(a, out);
            out.push('[');
            expr(b, out);
            out.push(']');
        }
        Expr::Yield(v) => {
            out.push_str("(yield");
            if let Some(v) = v {
                out.push(' ');
                expr(v, out);
            }
            out.push(')');
        }
        Expr::Ternary(a, b, c) => {
            out.push('(');
            expr(a, out);
            out.push_str(" if ");
            expr(b, out);
            out.push_str(" else ");
            expr(c, out);
            out.push(')');
        }
        Expr::Tuple(items) => {
            out.push('(');
            for i in items {
                expr(i, out);
                out.push_str(", ");
            }
            out.push(')');
        }
        Expr::Deep { kind, depth, inner } => {
            // Up to 30,000 levels: far beyond CPython's limits (200 brackets, 1000 tree levels).
            let depth = *depth as usize % 30_000;
            let (open, close) = match kind % 7 {
                0 => ("(", ")"),
                1 => ("[", "]"),
                2 => ("-", ""),
                3 => ("not ", ""),
                4 => ("await ", ""),
                5 => ("lambda: ", ""),
                _ => ("f(", ")"),
            };
            out.push('(');
            for _ in 0..depth {
                out.push_str(open);
            }
            expr(inner, out);
            for _ in 0..depth {
                out.push_str(close);
            }
            out.push(')');
        }
    }
}

fn block(body: &[Stmt], indent: usize, out: &mut String) {
    if body.is_empty() {
        line(indent, out);
        out.push_str("pass\n");
    }
    for s in body {
        stmt(s, indent, out);
    }
}

fn line(indent: usize, out: &mut String) {
    for _ in 0..indent {
        out.push_str("    ");
    }
}

/// Beyond CPython's 100 indentation levels nothing new happens; deeper blocks only make the text
/// grow quadratically (nested `DeepBlocks` once rendered 22 MB), so they collapse to `pass`.
const MAX_RENDERED_INDENT: usize = 120;

fn stmt(s: &Stmt, indent: usize, out: &mut String) {
    line(indent, out);
    if indent > MAX_RENDERED_INDENT {
        out.push_str("pass\n");
        return;
    }
    match s {
        Stmt::Expr(e) => expr(e, out),
        Stmt::Pass => out.push_str("pass"),
        Stmt::Assign(n, e) => {
            out.push_str(n.get());
            out.push_str(" = ");
            expr(e, out);
        }
        Stmt::AugAssign(n, e) => {
            out.push_str(n.get());
            out.push_str(" += ");
            expr(e, out);
        }
        Stmt::AnnAssign(n, ann, v) => {
            out.push_str(n.get());
            out.push_str(": ");
            expr(ann, out);
            if let Some(v) = v {
                out.push_str(" = ");
                expr(v, out);
            }
        }
        Stmt::Import { module, alias } => {
            out.push_str("import ");
            out.push_str(module.get());
            if let Some(a) = alias {
                out.push_str(" as ");
                out.push_str(a.get());
            }
        }
        Stmt::FromImport {
            module,
            name,
            alias,
        } => {
            out.push_str("from ");
            out.push_str(module.get());
            out.push_str(" import ");
            out.push_str(name.get());
            if let Some(a) = alias {
                out.push_str(" as ");
                out.push_str(a.get());
            }
        }
        Stmt::Return(v) => {
            out.push_str("return");
            if let Some(v) = v {
                out.push(' ');
                expr(v, out);
            }
        }
        Stmt::Global(n) => {
            out.push_str("global ");
            out.push_str(n.get());
        }
        Stmt::Nonlocal(n) => {
            out.push_str("nonlocal ");
            out.push_str(n.get());
        }
        Stmt::Del(n) => {
            out.push_str("del ");
            out.push_str(n.get());
        }
        Stmt::Def {
            is_async,
            name,
            decorator,
            default,
            body,
        } => {
            if let Some(d) = decorator {
                out.push('@');
                expr(d, out);
                out.push('\n');
                line(indent, out);
            }
            out.push_str(if *is_async { "async def " } else { "def " });
            out.push_str(name.get());
            out.push_str("(a");
            if let Some(d) = default {
                out.push_str(", b=");
                expr(d, out);
            }
            out.push_str("):\n");
            block(body, indent + 1, out);
            return;
        }
        Stmt::Class { name, base, body } => {
            out.push_str("class ");
            out.push_str(name.get());
            if let Some(b) = base {
                out.push('(');
                expr(b, out);
                out.push(')');
            }
            out.push_str(":\n");
            block(body, indent + 1, out);
            return;
        }
        Stmt::If(c, a, b) => {
            out.push_str("if ");
            expr(c, out);
            out.push_str(":\n");
            block(a, indent + 1, out);
            if !b.is_empty() {
                line(indent, out);
                out.push_str("else:\n");
                block(b, indent + 1, out);
            }
            return;
        }
        Stmt::While(c, body) => {
            out.push_str("while ");
            expr(c, out);
            out.push_str(":\n");
            block(body, indent + 1, out);
            return;
        }
        Stmt::For {
            is_async,
            target,
            iter,
            body,
        } => {
            out.push_str(if *is_async { "async for " } else { "for " });
            out.push_str(target.get());
            out.push_str(" in ");
            expr(iter, out);
            out.push_str(":\n");
            block(body, indent + 1, out);
            return;
        }
        Stmt::With {
            is_async,
            item,
            target,
            body,
        } => {
            out.push_str(if *is_async { "async with " } else { "with " });
            expr(item, out);
            if let Some(t) = target {
                out.push_str(" as ");
                out.push_str(t.get());
            }
            out.push_str(":\n");
            block(body, indent + 1, out);
            return;
        }
        Stmt::Try(body, handler, fin) => {
            out.push_str("try:\n");
            block(body, indent + 1, out);
            line(indent, out);
            out.push_str("except Exception as e:\n");
            block(handler, indent + 1, out);
            if !fin.is_empty() {
                line(indent, out);
                out.push_str("finally:\n");
                block(fin, indent + 1, out);
            }
            return;
        }
        Stmt::Match(subject, capture, body) => {
            out.push_str("match ");
            expr(subject, out);
            out.push_str(":\n");
            line(indent + 1, out);
            out.push_str("case ");
            out.push_str(capture.get());
            out.push_str(":\n");
            block(body, indent + 2, out);
            return;
        }
        Stmt::DeepBlocks { depth, body } => {
            // Nested `if` blocks, up to a little beyond CPython's 100 indentation levels.
            let depth =
                (*depth as usize).min(MAX_RENDERED_INDENT + 1 - indent.min(MAX_RENDERED_INDENT));
            for d in 0..depth {
                out.push_str("if x:\n");
                line(indent + d + 1, out);
            }
            out.push_str("pass\n");
            block(body, indent + depth, out);
            return;
        }
    }
    out.push('\n');
}

/// Renders a cell's statements as Python source.
pub fn render(cell: &Cell) -> String {
    let mut src = String::new();
    block(&cell.body, 0, &mut src);
    src
}

/// `analyze_structured` target: up to 8 rendered cells analyzed in order in one session.
pub fn analyze_structured_target(cells: &[Cell]) {
    let mut session = SessionState::new();
    for cell in cells.iter().take(8) {
        let src = render(cell);
        let options = CellOptions {
            first_line: 1,
            ipython: cell.ipython,
            transform: cell.transform,
        };
        let analysis = analyze_cell_with(&src, &mut session, &options);
        check(&analysis, Some(&src));
    }
}
