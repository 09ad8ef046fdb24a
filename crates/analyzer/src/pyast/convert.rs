//! Conversion from ruff's syntax tree to the CPython-schema tree, reproducing what CPython
//! 3.11's parser builds: its node classes, its constant values and its locations (including
//! the positions 3.11 gives the parts of f-strings).

use ruff_python_ast::token::{Token, TokenKind};
use ruff_python_ast::{
    self as ast, BoolOp, CmpOp, ConversionFlag, Decorator, ElifElseClause, ExceptHandler, Expr,
    ExprContext, FStringPart, InterpolatedStringElement, InterpolatedStringElements, ModModule,
    Number, Operator, Parameter, Parameters, Pattern, Singleton, Stmt, UnaryOp,
};
use ruff_python_parser::Parsed;
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::{Loc, Node, Value, strings};
use crate::span::LineIndex;
use crate::stack;

/// Convert a parsed module.
pub(super) fn module(source: &str, parsed: &Parsed<ModModule>) -> Node {
    let conv = Conv {
        source,
        lines: LineIndex::new(source),
        tokens: parsed.tokens(),
    };
    Node::new(
        "Module",
        vec![
            ("body", conv.stmts(&parsed.syntax().body)),
            ("type_ignores", Value::List(Vec::new())),
        ],
        None,
    )
}

/// CPython refuses decimal integer literals longer than `sys.int_info.str_digits_check_threshold`
/// allows by default (`int(str)` is limited to 4300 digits since 3.11).
const MAX_INT_DIGITS: usize = 4300;

/// The error CPython 3.11 raises for a decimal integer literal of more than 4300 digits.
pub(super) fn int_literal_too_long(
    source: &str,
    parsed: &Parsed<ModModule>,
) -> Option<crate::CellError> {
    parsed.tokens().iter().find_map(|t| {
        if t.kind() != TokenKind::Int {
            return None;
        }
        let text = source.get(t.range().start().to_usize()..t.range().end().to_usize())?;
        let lower = text.as_bytes().get(..2).map(<[u8]>::to_ascii_lowercase);
        if matches!(lower.as_deref(), Some(b"0x" | b"0o" | b"0b")) {
            return None;
        }
        let digits = text.bytes().filter(u8::is_ascii_digit).count();
        (digits > MAX_INT_DIGITS).then(|| crate::CellError {
            kind: "SyntaxError".to_string(),
            message: format!(
                "Exceeds the limit ({MAX_INT_DIGITS} digits) for integer string conversion: value has {digits} digits; use sys.set_int_max_str_digits() to increase the limit - Consider hexadecimal for huge integer literal"
            ),
            span: crate::Span::from(t.range()),
        })
    })
}

struct Conv<'a> {
    source: &'a str,
    lines: LineIndex,
    tokens: &'a [Token],
}

fn node(kind: &'static str, fields: Vec<(&'static str, Value)>, loc: Option<Loc>) -> Value {
    Value::from(Node::new(kind, fields, loc))
}

fn bare(kind: &'static str) -> Value {
    node(kind, Vec::new(), None)
}

fn s(text: &str) -> Value {
    Value::Str(text.to_string())
}

fn int(v: i64) -> Value {
    Value::Int(v.to_string())
}

fn ctx(c: ExprContext) -> Value {
    bare(match c {
        ExprContext::Store => "Store",
        ExprContext::Del => "Del",
        ExprContext::Load | ExprContext::Invalid => "Load",
    })
}

fn operator(op: Operator) -> Value {
    bare(match op {
        Operator::Add => "Add",
        Operator::Sub => "Sub",
        Operator::Mult => "Mult",
        Operator::MatMult => "MatMult",
        Operator::Div => "Div",
        Operator::Mod => "Mod",
        Operator::Pow => "Pow",
        Operator::LShift => "LShift",
        Operator::RShift => "RShift",
        Operator::BitOr => "BitOr",
        Operator::BitXor => "BitXor",
        Operator::BitAnd => "BitAnd",
        Operator::FloorDiv => "FloorDiv",
    })
}

fn cmpop(op: CmpOp) -> Value {
    bare(match op {
        CmpOp::Eq => "Eq",
        CmpOp::NotEq => "NotEq",
        CmpOp::Lt => "Lt",
        CmpOp::LtE => "LtE",
        CmpOp::Gt => "Gt",
        CmpOp::GtE => "GtE",
        CmpOp::Is => "Is",
        CmpOp::IsNot => "IsNot",
        CmpOp::In => "In",
        CmpOp::NotIn => "NotIn",
    })
}

/// The state of CPython 3.11's `FstringParser` while it concatenates the parts of one string.
#[derive(Default)]
struct FState {
    /// UTF-8 with surrogates passed through (see [`strings`]).
    last_str: Option<Vec<u8>>,
    values: Vec<Value>,
}

impl FState {
    fn concat(&mut self, text: &[u8]) {
        if text.is_empty() {
            return;
        }
        match &mut self.last_str {
            Some(s) => s.extend_from_slice(text),
            None => self.last_str = Some(text.to_vec()),
        }
    }
}

/// A `str` value from UTF-8 with surrogates passed through.
fn str_value(bytes: Vec<u8>) -> Value {
    match String::from_utf8(bytes) {
        Ok(s) => Value::Str(s),
        Err(e) => Value::SurrogateStr(e.into_bytes()),
    }
}

impl Conv<'_> {
    fn loc2(&self, start: TextSize, end: TextSize) -> Loc {
        let a = self.lines.cpython(start.to_u32());
        let b = self.lines.cpython(end.to_u32());
        Loc {
            lineno: a.line,
            col_offset: a.col,
            end_lineno: b.line,
            end_col_offset: b.col,
        }
    }

    fn loc(&self, range: TextRange) -> Option<Loc> {
        Some(self.loc2(range.start(), range.end()))
    }

    fn text(&self, range: TextRange) -> &str {
        self.source
            .get(range.start().to_usize()..range.end().to_usize())
            .unwrap_or("")
    }

    /// CPython gives `kind='u'` to a string whose first token starts with a lowercase `u`.
    fn kind_u(&self, first_token: TextRange) -> Value {
        if self.text(first_token).starts_with('u') {
            s("u")
        } else {
            Value::None
        }
    }

    /// The value of one string or bytes literal token. Ruff replaces lone surrogates
    /// (`'\ud800'`) with U+FFFD and keeps the source's `\r\n` in multi-line literals; CPython
    /// keeps surrogates and reads `\r\n` as `\n`. Such literals are decoded again from their
    /// text.
    fn literal_value<'b>(&self, value: &'b [u8], range: TextRange) -> std::borrow::Cow<'b, [u8]> {
        let text = self.text(range);
        let surrogate = value.windows(3).any(|w| w == "\u{FFFD}".as_bytes())
            && (text.contains("\\u") || text.contains("\\U"));
        if (surrogate || text.contains('\r'))
            && let Some(v) = strings::decode_token(text)
        {
            return std::borrow::Cow::Owned(v);
        }
        std::borrow::Cow::Borrowed(value)
    }

    /// The value of a literal element of an f-string token `t` (see [`Self::literal_value`]).
    fn fstring_literal_value<'b>(
        &self,
        value: &'b str,
        range: TextRange,
        t: TextRange,
    ) -> std::borrow::Cow<'b, [u8]> {
        let text = self.text(range);
        let surrogate =
            value.contains('\u{FFFD}') && (text.contains("\\u") || text.contains("\\U"));
        if surrogate || text.contains('\r') {
            let token = self.text(t);
            let raw = token
                .find(['\'', '"'])
                .is_some_and(|i| token[..i].contains(['r', 'R']));
            if let Some(v) = strings::decode_fstring_literal(text, raw) {
                return std::borrow::Cow::Owned(v);
            }
        }
        std::borrow::Cow::Borrowed(value.as_bytes())
    }

    /// Where a compound statement ends for CPython: at the last token of its last block,
    /// which includes a `;` after the block's last simple statement.
    fn block_end(&self, end: TextSize) -> TextSize {
        let i = self.tokens.partition_point(|t| t.start() < end);
        match self.tokens.get(i) {
            Some(t) if t.kind() == TokenKind::Semi => t.end(),
            _ => end,
        }
    }

    fn block_loc(&self, start: TextSize, end: TextSize) -> Option<Loc> {
        Some(self.loc2(start, self.block_end(end)))
    }

    // ----- statements -------------------------------------------------------------------

    fn stmts(&self, body: &[Stmt]) -> Value {
        Value::List(body.iter().map(|st| self.stmt(st)).collect())
    }

    fn stmt(&self, st: &Stmt) -> Value {
        stack::guard(|| self.stmt_inner(st))
    }

    /// Where a decorated definition starts for CPython: at its `def`, `async` or `class`.
    fn def_start(&self, decorators: &[Decorator], range: TextRange) -> TextSize {
        let Some(last) = decorators.last() else {
            return range.start();
        };
        let after = last.range().end();
        let i = self.tokens.partition_point(|t| t.start() < after);
        self.tokens[i..]
            .iter()
            .find(|t| {
                matches!(
                    t.kind(),
                    TokenKind::Def | TokenKind::Class | TokenKind::Async
                )
            })
            .map_or(range.start(), |t| t.start())
    }

    fn decorators(&self, decorators: &[Decorator]) -> Value {
        Value::List(
            decorators
                .iter()
                .map(|d| self.expr(&d.expression))
                .collect(),
        )
    }

    fn stmt_inner(&self, st: &Stmt) -> Value {
        let range = st.range();
        let loc = match st {
            Stmt::For(_)
            | Stmt::While(_)
            | Stmt::If(_)
            | Stmt::With(_)
            | Stmt::Match(_)
            | Stmt::Try(_) => self.block_loc(range.start(), range.end()),
            _ => self.loc(range),
        };
        match st {
            Stmt::FunctionDef(f) => {
                let start = self.def_start(&f.decorator_list, f.range);
                node(
                    if f.is_async {
                        "AsyncFunctionDef"
                    } else {
                        "FunctionDef"
                    },
                    vec![
                        ("name", s(&f.name.id)),
                        ("args", self.arguments(Some(&f.parameters))),
                        ("body", self.stmts(&f.body)),
                        ("decorator_list", self.decorators(&f.decorator_list)),
                        ("returns", self.opt_expr(f.returns.as_deref())),
                        ("type_comment", Value::None),
                    ],
                    self.block_loc(start, f.range.end()),
                )
            }
            Stmt::ClassDef(c) => {
                let start = self.def_start(&c.decorator_list, c.range);
                let (bases, keywords) = match &c.arguments {
                    Some(a) => (self.exprs(&a.args), self.keywords(&a.keywords)),
                    None => (Value::List(Vec::new()), Value::List(Vec::new())),
                };
                node(
                    "ClassDef",
                    vec![
                        ("name", s(&c.name.id)),
                        ("bases", bases),
                        ("keywords", keywords),
                        ("body", self.stmts(&c.body)),
                        ("decorator_list", self.decorators(&c.decorator_list)),
                    ],
                    self.block_loc(start, c.range.end()),
                )
            }
            Stmt::Return(r) => node(
                "Return",
                vec![("value", self.opt_expr(r.value.as_deref()))],
                loc,
            ),
            Stmt::Delete(d) => node("Delete", vec![("targets", self.exprs(&d.targets))], loc),
            Stmt::Assign(a) => node(
                "Assign",
                vec![
                    ("targets", self.exprs(&a.targets)),
                    ("value", self.expr(&a.value)),
                    ("type_comment", Value::None),
                ],
                loc,
            ),
            Stmt::AugAssign(a) => node(
                "AugAssign",
                vec![
                    ("target", self.expr(&a.target)),
                    ("op", operator(a.op)),
                    ("value", self.expr(&a.value)),
                ],
                loc,
            ),
            Stmt::AnnAssign(a) => node(
                "AnnAssign",
                vec![
                    ("target", self.expr(&a.target)),
                    ("annotation", self.expr(&a.annotation)),
                    ("value", self.opt_expr(a.value.as_deref())),
                    ("simple", int(i64::from(a.simple))),
                ],
                loc,
            ),
            Stmt::For(f) => node(
                if f.is_async { "AsyncFor" } else { "For" },
                vec![
                    ("target", self.expr(&f.target)),
                    ("iter", self.expr(&f.iter)),
                    ("body", self.stmts(&f.body)),
                    ("orelse", self.stmts(&f.orelse)),
                    ("type_comment", Value::None),
                ],
                loc,
            ),
            Stmt::While(w) => node(
                "While",
                vec![
                    ("test", self.expr(&w.test)),
                    ("body", self.stmts(&w.body)),
                    ("orelse", self.stmts(&w.orelse)),
                ],
                loc,
            ),
            Stmt::If(i) => node(
                "If",
                vec![
                    ("test", self.expr(&i.test)),
                    ("body", self.stmts(&i.body)),
                    ("orelse", self.elif_chain(&i.elif_else_clauses)),
                ],
                loc,
            ),
            Stmt::With(w) => node(
                if w.is_async { "AsyncWith" } else { "With" },
                vec![
                    (
                        "items",
                        Value::List(
                            w.items
                                .iter()
                                .map(|item| {
                                    node(
                                        "withitem",
                                        vec![
                                            ("context_expr", self.expr(&item.context_expr)),
                                            (
                                                "optional_vars",
                                                self.opt_expr(item.optional_vars.as_deref()),
                                            ),
                                        ],
                                        None,
                                    )
                                })
                                .collect(),
                        ),
                    ),
                    ("body", self.stmts(&w.body)),
                    ("type_comment", Value::None),
                ],
                loc,
            ),
            Stmt::Match(m) => node(
                "Match",
                vec![
                    ("subject", self.expr(&m.subject)),
                    (
                        "cases",
                        Value::List(
                            m.cases
                                .iter()
                                .map(|c| {
                                    node(
                                        "match_case",
                                        vec![
                                            ("pattern", self.pattern(&c.pattern)),
                                            ("guard", self.opt_expr(c.guard.as_deref())),
                                            ("body", self.stmts(&c.body)),
                                        ],
                                        None,
                                    )
                                })
                                .collect(),
                        ),
                    ),
                ],
                loc,
            ),
            Stmt::Raise(r) => node(
                "Raise",
                vec![
                    ("exc", self.opt_expr(r.exc.as_deref())),
                    ("cause", self.opt_expr(r.cause.as_deref())),
                ],
                loc,
            ),
            Stmt::Try(t) => node(
                if t.is_star { "TryStar" } else { "Try" },
                vec![
                    ("body", self.stmts(&t.body)),
                    (
                        "handlers",
                        Value::List(t.handlers.iter().map(|h| self.handler(h)).collect()),
                    ),
                    ("orelse", self.stmts(&t.orelse)),
                    ("finalbody", self.stmts(&t.finalbody)),
                ],
                loc,
            ),
            Stmt::Assert(a) => node(
                "Assert",
                vec![
                    ("test", self.expr(&a.test)),
                    ("msg", self.opt_expr(a.msg.as_deref())),
                ],
                loc,
            ),
            Stmt::Import(i) => node("Import", vec![("names", self.aliases(&i.names))], loc),
            Stmt::ImportFrom(i) => node(
                "ImportFrom",
                vec![
                    (
                        "module",
                        i.module.as_ref().map_or(Value::None, |m| s(&m.id)),
                    ),
                    ("names", self.aliases(&i.names)),
                    ("level", int(i64::from(i.level))),
                ],
                loc,
            ),
            Stmt::Global(g) => node(
                "Global",
                vec![(
                    "names",
                    Value::List(g.names.iter().map(|n| s(&n.id)).collect()),
                )],
                loc,
            ),
            Stmt::Nonlocal(g) => node(
                "Nonlocal",
                vec![(
                    "names",
                    Value::List(g.names.iter().map(|n| s(&n.id)).collect()),
                )],
                loc,
            ),
            Stmt::Expr(e) => node("Expr", vec![("value", self.expr(&e.value))], loc),
            Stmt::Pass(_) => node("Pass", Vec::new(), loc),
            Stmt::Break(_) => node("Break", Vec::new(), loc),
            Stmt::Continue(_) => node("Continue", Vec::new(), loc),
            // Not Python 3.11: the parser reports these as errors before we get here.
            Stmt::TypeAlias(_) | Stmt::IpyEscapeCommand(_) => node("Pass", Vec::new(), loc),
        }
    }

    /// CPython nests `elif` clauses: each is an `If` in the `orelse` of the previous one,
    /// spanning from its `elif` to the end of the whole statement.
    fn elif_chain(&self, clauses: &[ElifElseClause]) -> Value {
        stack::guard(|| {
            let Some((first, rest)) = clauses.split_first() else {
                return Value::List(Vec::new());
            };
            match &first.test {
                None => self.stmts(&first.body),
                Some(test) => {
                    let end = clauses.last().map_or(first.range.end(), |c| c.range.end());
                    Value::List(vec![node(
                        "If",
                        vec![
                            ("test", self.expr(test)),
                            ("body", self.stmts(&first.body)),
                            ("orelse", self.elif_chain(rest)),
                        ],
                        self.block_loc(first.range.start(), end),
                    )])
                }
            }
        })
    }

    fn handler(&self, h: &ExceptHandler) -> Value {
        let ExceptHandler::ExceptHandler(h) = h;
        node(
            "ExceptHandler",
            vec![
                ("type", self.opt_expr(h.type_.as_deref())),
                ("name", h.name.as_ref().map_or(Value::None, |n| s(&n.id))),
                ("body", self.stmts(&h.body)),
            ],
            self.block_loc(h.range.start(), h.range.end()),
        )
    }

    fn aliases(&self, names: &[ast::Alias]) -> Value {
        Value::List(
            names
                .iter()
                .map(|a| {
                    node(
                        "alias",
                        vec![
                            ("name", s(&a.name.id)),
                            (
                                "asname",
                                a.asname.as_ref().map_or(Value::None, |n| s(&n.id)),
                            ),
                        ],
                        self.loc(a.range),
                    )
                })
                .collect(),
        )
    }

    /// `*args` and `**kwargs` are located at the name, without the stars.
    fn star_arg(&self, p: &Parameter) -> Value {
        let mut v = self.arg(p);
        if let Value::Node(n) = &mut v {
            n.set_loc(Some(self.loc2(p.name.range.start(), p.range.end())));
        }
        v
    }

    fn arg(&self, p: &Parameter) -> Value {
        node(
            "arg",
            vec![
                ("arg", s(&p.name.id)),
                ("annotation", self.opt_expr(p.annotation.as_deref())),
                ("type_comment", Value::None),
            ],
            self.loc(p.range),
        )
    }

    fn arguments(&self, params: Option<&Parameters>) -> Value {
        let empty = Value::List(Vec::new());
        let Some(p) = params else {
            return node(
                "arguments",
                vec![
                    ("posonlyargs", empty.clone()),
                    ("args", empty.clone()),
                    ("vararg", Value::None),
                    ("kwonlyargs", empty.clone()),
                    ("kw_defaults", empty.clone()),
                    ("kwarg", Value::None),
                    ("defaults", empty),
                ],
                None,
            );
        };
        let defaults = p
            .posonlyargs
            .iter()
            .chain(&p.args)
            .filter_map(|a| a.default.as_deref().map(|d| self.expr(d)))
            .collect();
        node(
            "arguments",
            vec![
                (
                    "posonlyargs",
                    Value::List(
                        p.posonlyargs
                            .iter()
                            .map(|a| self.arg(&a.parameter))
                            .collect(),
                    ),
                ),
                (
                    "args",
                    Value::List(p.args.iter().map(|a| self.arg(&a.parameter)).collect()),
                ),
                (
                    "vararg",
                    p.vararg
                        .as_deref()
                        .map_or(Value::None, |a| self.star_arg(a)),
                ),
                (
                    "kwonlyargs",
                    Value::List(
                        p.kwonlyargs
                            .iter()
                            .map(|a| self.arg(&a.parameter))
                            .collect(),
                    ),
                ),
                (
                    "kw_defaults",
                    Value::List(
                        p.kwonlyargs
                            .iter()
                            .map(|a| self.opt_expr(a.default.as_deref()))
                            .collect(),
                    ),
                ),
                (
                    "kwarg",
                    p.kwarg.as_deref().map_or(Value::None, |a| self.star_arg(a)),
                ),
                ("defaults", Value::List(defaults)),
            ],
            None,
        )
    }

    fn keywords(&self, keywords: &[ast::Keyword]) -> Value {
        Value::List(
            keywords
                .iter()
                .map(|k| {
                    node(
                        "keyword",
                        vec![
                            ("arg", k.arg.as_ref().map_or(Value::None, |a| s(&a.id))),
                            ("value", self.expr(&k.value)),
                        ],
                        self.loc(k.range),
                    )
                })
                .collect(),
        )
    }

    // ----- expressions ------------------------------------------------------------------

    fn exprs(&self, exprs: &[Expr]) -> Value {
        Value::List(exprs.iter().map(|e| self.expr(e)).collect())
    }

    fn opt_expr(&self, e: Option<&Expr>) -> Value {
        e.map_or(Value::None, |e| self.expr(e))
    }

    fn expr(&self, e: &Expr) -> Value {
        stack::guard(|| self.expr_inner(e))
    }

    fn comprehensions(&self, generators: &[ast::Comprehension]) -> Value {
        Value::List(
            generators
                .iter()
                .map(|g| {
                    node(
                        "comprehension",
                        vec![
                            ("target", self.expr(&g.target)),
                            ("iter", self.expr(&g.iter)),
                            ("ifs", self.exprs(&g.ifs)),
                            ("is_async", int(i64::from(g.is_async))),
                        ],
                        None,
                    )
                })
                .collect(),
        )
    }

    fn constant(&self, value: Value, kind: Value, range: TextRange) -> Value {
        node(
            "Constant",
            vec![("value", value), ("kind", kind)],
            self.loc(range),
        )
    }

    fn expr_inner(&self, e: &Expr) -> Value {
        let loc = self.loc(e.range());
        match e {
            Expr::BoolOp(b) => node(
                "BoolOp",
                vec![
                    (
                        "op",
                        bare(match b.op {
                            BoolOp::And => "And",
                            BoolOp::Or => "Or",
                        }),
                    ),
                    ("values", self.exprs(&b.values)),
                ],
                loc,
            ),
            Expr::Named(n) => node(
                "NamedExpr",
                vec![
                    ("target", self.expr(&n.target)),
                    ("value", self.expr(&n.value)),
                ],
                loc,
            ),
            Expr::BinOp(b) => node(
                "BinOp",
                vec![
                    ("left", self.expr(&b.left)),
                    ("op", operator(b.op)),
                    ("right", self.expr(&b.right)),
                ],
                loc,
            ),
            Expr::UnaryOp(u) => node(
                "UnaryOp",
                vec![
                    (
                        "op",
                        bare(match u.op {
                            UnaryOp::Invert => "Invert",
                            UnaryOp::Not => "Not",
                            UnaryOp::UAdd => "UAdd",
                            UnaryOp::USub => "USub",
                        }),
                    ),
                    ("operand", self.expr(&u.operand)),
                ],
                loc,
            ),
            Expr::Lambda(l) => node(
                "Lambda",
                vec![
                    ("args", self.arguments(l.parameters.as_deref())),
                    ("body", self.expr(&l.body)),
                ],
                loc,
            ),
            Expr::If(i) => node(
                "IfExp",
                vec![
                    ("test", self.expr(&i.test)),
                    ("body", self.expr(&i.body)),
                    ("orelse", self.expr(&i.orelse)),
                ],
                loc,
            ),
            Expr::Dict(d) => node(
                "Dict",
                vec![
                    (
                        "keys",
                        Value::List(
                            d.items
                                .iter()
                                .map(|i| self.opt_expr(i.key.as_ref()))
                                .collect(),
                        ),
                    ),
                    (
                        "values",
                        Value::List(d.items.iter().map(|i| self.expr(&i.value)).collect()),
                    ),
                ],
                loc,
            ),
            Expr::Set(st) => node("Set", vec![("elts", self.exprs(&st.elts))], loc),
            Expr::ListComp(c) => node(
                "ListComp",
                vec![
                    ("elt", self.expr(&c.elt)),
                    ("generators", self.comprehensions(&c.generators)),
                ],
                loc,
            ),
            Expr::SetComp(c) => node(
                "SetComp",
                vec![
                    ("elt", self.expr(&c.elt)),
                    ("generators", self.comprehensions(&c.generators)),
                ],
                loc,
            ),
            Expr::DictComp(c) => node(
                "DictComp",
                vec![
                    ("key", self.opt_expr(c.key.as_deref())),
                    ("value", self.expr(&c.value)),
                    ("generators", self.comprehensions(&c.generators)),
                ],
                loc,
            ),
            Expr::Generator(g) => node(
                "GeneratorExp",
                vec![
                    ("elt", self.expr(&g.elt)),
                    ("generators", self.comprehensions(&g.generators)),
                ],
                loc,
            ),
            Expr::Await(a) => node("Await", vec![("value", self.expr(&a.value))], loc),
            Expr::Yield(y) => node(
                "Yield",
                vec![("value", self.opt_expr(y.value.as_deref()))],
                loc,
            ),
            Expr::YieldFrom(y) => node("YieldFrom", vec![("value", self.expr(&y.value))], loc),
            Expr::Compare(c) => node(
                "Compare",
                vec![
                    ("left", self.expr(&c.left)),
                    (
                        "ops",
                        Value::List(c.ops.iter().map(|o| cmpop(*o)).collect()),
                    ),
                    ("comparators", self.exprs(&c.comparators)),
                ],
                loc,
            ),
            Expr::Call(c) => {
                let args = &c.arguments;
                // A lone unparenthesized generator argument: CPython's `GeneratorExp` spans
                // the call's parentheses.
                let arg_values = if let ([Expr::Generator(g)], true) =
                    (&args.args[..], args.keywords.is_empty())
                    && !g.parenthesized
                {
                    Value::List(vec![node(
                        "GeneratorExp",
                        vec![
                            ("elt", self.expr(&g.elt)),
                            ("generators", self.comprehensions(&g.generators)),
                        ],
                        self.loc(args.range),
                    )])
                } else {
                    self.exprs(&args.args)
                };
                node(
                    "Call",
                    vec![
                        ("func", self.expr(&c.func)),
                        ("args", arg_values),
                        ("keywords", self.keywords(&args.keywords)),
                    ],
                    loc,
                )
            }
            Expr::FString(f) => self.joined_str(f.value.as_slice(), e.range()),
            Expr::StringLiteral(lit) => {
                let parts = lit.value.as_slice();
                let kind = parts.first().map_or(Value::None, |p| self.kind_u(p.range));
                let value = if parts.len() == 1 {
                    str_value(
                        self.literal_value(parts[0].value.as_bytes(), parts[0].range)
                            .into_owned(),
                    )
                } else {
                    let mut v = Vec::new();
                    for p in parts {
                        v.extend_from_slice(&self.literal_value(p.value.as_bytes(), p.range));
                    }
                    str_value(v)
                };
                self.constant(value, kind, e.range())
            }
            Expr::BytesLiteral(b) => {
                let mut v = Vec::new();
                for p in b.value.iter() {
                    v.extend_from_slice(&self.literal_value(&p.value, p.range));
                }
                self.constant(Value::Bytes(v), Value::None, e.range())
            }
            Expr::NumberLiteral(n) => {
                let value = match &n.value {
                    Number::Int(_) => super::repr::int_literal_to_decimal(self.text(n.range))
                        .map_or(Value::None, Value::Int),
                    Number::Float(x) => Value::Float(*x),
                    Number::Complex { imag, .. } => Value::Complex(*imag),
                };
                self.constant(value, Value::None, e.range())
            }
            Expr::BooleanLiteral(b) => self.constant(Value::Bool(b.value), Value::None, e.range()),
            Expr::NoneLiteral(_) => self.constant(Value::None, Value::None, e.range()),
            Expr::EllipsisLiteral(_) => self.constant(Value::Ellipsis, Value::None, e.range()),
            Expr::Attribute(a) => node(
                "Attribute",
                vec![
                    ("value", self.expr(&a.value)),
                    ("attr", s(&a.attr.id)),
                    ("ctx", ctx(a.ctx)),
                ],
                loc,
            ),
            Expr::Subscript(sub) => node(
                "Subscript",
                vec![
                    ("value", self.expr(&sub.value)),
                    ("slice", self.expr(&sub.slice)),
                    ("ctx", ctx(sub.ctx)),
                ],
                loc,
            ),
            Expr::Starred(st) => node(
                "Starred",
                vec![("value", self.expr(&st.value)), ("ctx", ctx(st.ctx))],
                loc,
            ),
            Expr::Name(n) => node("Name", vec![("id", s(&n.id)), ("ctx", ctx(n.ctx))], loc),
            Expr::List(l) => node(
                "List",
                vec![("elts", self.exprs(&l.elts)), ("ctx", ctx(l.ctx))],
                loc,
            ),
            Expr::Tuple(t) => node(
                "Tuple",
                vec![("elts", self.exprs(&t.elts)), ("ctx", ctx(t.ctx))],
                loc,
            ),
            Expr::Slice(sl) => node(
                "Slice",
                vec![
                    ("lower", self.opt_expr(sl.lower.as_deref())),
                    ("upper", self.opt_expr(sl.upper.as_deref())),
                    ("step", self.opt_expr(sl.step.as_deref())),
                ],
                loc,
            ),
            // Not Python 3.11: the parser reports these as errors before we get here.
            Expr::TString(_) | Expr::IpyEscapeCommand(_) => {
                node("JoinedStr", vec![("values", Value::List(Vec::new()))], loc)
            }
        }
    }

    // ----- f-strings --------------------------------------------------------------------

    /// An f-string (possibly implicitly concatenated with other strings), as CPython 3.11's
    /// `_PyPegen_concatenate_strings` builds it: literal text merged into `Constant`s, and every
    /// `Constant` and `FormattedValue` located at the whole concatenation.
    fn joined_str(&self, parts: &[FStringPart], range: TextRange) -> Value {
        let first = parts.first().map_or(range, Ranged::range);
        let last = parts.last().map_or(range, Ranged::range);
        let whole = self.loc2(first.start(), last.end());
        let kind = self.kind_u(first);
        let mut state = FState::default();
        for part in parts {
            match part {
                FStringPart::Literal(lit) => {
                    state.concat(&self.literal_value(lit.value.as_bytes(), lit.range));
                }
                FStringPart::FString(f) => {
                    self.concat_fstring(&mut state, &f.elements, whole, &kind, f.range);
                }
            }
        }
        if let Some(text) = state.last_str.take() {
            state.values.push(node(
                "Constant",
                vec![("value", str_value(text)), ("kind", kind)],
                Some(whole),
            ));
        }
        node(
            "JoinedStr",
            vec![("values", Value::List(state.values))],
            Some(whole),
        )
    }

    /// `_PyPegen_FstringParser_ConcatFstring`: add the elements of one f-string token `t`.
    fn concat_fstring(
        &self,
        state: &mut FState,
        elements: &InterpolatedStringElements,
        whole: Loc,
        kind: &Value,
        t: TextRange,
    ) {
        for element in elements.iter() {
            match element {
                InterpolatedStringElement::Literal(lit) => {
                    state.concat(&self.fstring_literal_value(&lit.value, lit.range, t));
                }
                InterpolatedStringElement::Interpolation(i) => {
                    let value = self.fstring_expr(i, t);
                    let format_spec = i
                        .format_spec
                        .as_deref()
                        .map(|spec| self.format_spec(&spec.elements, whole, kind, t));
                    if let Some(debug) = &i.debug_text {
                        state.concat(debug.as_str().as_bytes());
                    }
                    let conversion = match i.conversion {
                        ConversionFlag::None if i.debug_text.is_some() && format_spec.is_none() => {
                            i64::from(b'r')
                        }
                        ConversionFlag::None => -1,
                        ConversionFlag::Str => i64::from(b's'),
                        ConversionFlag::Repr => i64::from(b'r'),
                        ConversionFlag::Ascii => i64::from(b'a'),
                    };
                    if let Some(text) = state.last_str.take() {
                        state.values.push(node(
                            "Constant",
                            vec![("value", str_value(text)), ("kind", kind.clone())],
                            Some(whole),
                        ));
                    }
                    state.values.push(node(
                        "FormattedValue",
                        vec![
                            ("value", value),
                            ("conversion", int(conversion)),
                            ("format_spec", format_spec.unwrap_or(Value::None)),
                        ],
                        Some(whole),
                    ));
                }
            }
        }
    }

    /// The expression of a replacement field. CPython 3.11 parses the text between `{` and the
    /// `!`, `:`, `=` or `}` that ends it wrapped in parentheses, so an unparenthesized tuple or
    /// generator there is located from the `{` to just past that character.
    fn fstring_expr(&self, i: &ast::InterpolatedElement, t: TextRange) -> Value {
        let mut value = self.expr(&i.expression);
        self.shift_multiline_string_start(&mut value, i);
        let bare = match &*i.expression {
            Expr::Tuple(tuple) => !tuple.parenthesized,
            Expr::Generator(g) => !g.parenthesized,
            _ => false,
        };
        if !bare {
            return value;
        }
        let bytes = self.source.as_bytes();
        let brace = i.range.start().to_usize();
        let mut k = i.expression.range().end().to_usize();
        while k < bytes.len() && !matches!(bytes[k], b'!' | b':' | b'=' | b'}') {
            k += 1;
        }
        let end = self.lines.cpython((k + 1).min(bytes.len()) as u32);
        // `fstring_find_expr_location`: when only whitespace follows the `{` on its line, the
        // column shift is not applied and the opening parenthesis lands at column 0 of the
        // string token's line (or at the token's own column on its first line).
        let mut start = self.lines.cpython(brace as u32);
        let after = &bytes[brace + 1..];
        let newline_after_brace = after
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\x0c'))
            .is_none_or(|p| matches!(after[p], b'\n' | b'\r' | b'}'));
        if newline_after_brace {
            let token_start = self.lines.cpython(t.start().to_u32());
            start.col = if token_start.line == start.line {
                token_start.col
            } else {
                0
            };
        }
        if let Value::Node(n) = &mut value {
            n.set_loc(Some(Loc {
                lineno: start.line,
                col_offset: start.col,
                end_lineno: end.line,
                end_col_offset: end.col,
            }));
        }
        value
    }

    /// CPython 3.11 quirk: in the expression of a replacement field, a string token that
    /// starts on the line of the `{` and ends on a later line is located as if its line began
    /// at the `{` (its column is not shifted to the f-string's position, because the parser
    /// shifts only tokens that end on the expression's first line). Everything from that
    /// token to the end of the `{`'s line therefore has its column reduced by the `{`'s
    /// column.
    fn shift_multiline_string_start(&self, value: &mut Value, i: &ast::InterpolatedElement) {
        let range = i.expression.range();
        if !self.text(range).contains(['\n', '\r']) {
            return;
        }
        let brace = self.lines.cpython(i.range.start().to_u32());
        let first = self.tokens.partition_point(|t| t.start() < range.start());
        let mut depth = 0usize;
        let mut candidate: Option<TextSize> = None;
        for tok in &self.tokens[first..] {
            if tok.start() >= range.end() {
                break;
            }
            match tok.kind() {
                TokenKind::String if candidate.is_none() => {
                    if self.lines.cpython(tok.start().to_u32()).line != brace.line {
                        return;
                    }
                    if self.lines.cpython(tok.end().to_u32()).line != brace.line {
                        candidate = Some(tok.start());
                        break;
                    }
                }
                TokenKind::FStringStart => {
                    if candidate.is_none() && depth == 0 {
                        if self.lines.cpython(tok.start().to_u32()).line != brace.line {
                            return;
                        }
                        candidate = Some(tok.start());
                    }
                    depth += 1;
                }
                TokenKind::FStringEnd => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 && candidate.is_some() {
                        if self.lines.cpython(tok.end().to_u32()).line != brace.line {
                            break;
                        }
                        // That f-string ends on the `{`'s line: not the token we look for.
                        candidate = None;
                    }
                }
                _ => {}
            }
        }
        let Some(start) = candidate else {
            return;
        };
        let t = self.lines.cpython(start.to_u32());
        shift_columns(value, brace.line, t.col, brace.col);
    }

    /// `fstring_parse` for a format spec: a `JoinedStr` located at the f-string token `t`
    /// that holds it; its last literal is located at `t` too, earlier ones at the whole string.
    fn format_spec(
        &self,
        elements: &InterpolatedStringElements,
        whole: Loc,
        kind: &Value,
        t: TextRange,
    ) -> Value {
        stack::guard(|| {
            let mut state = FState::default();
            self.concat_fstring(&mut state, elements, whole, kind, t);
            let t_loc = self.loc(t);
            if let Some(text) = state.last_str.take() {
                state.values.push(node(
                    "Constant",
                    vec![("value", str_value(text)), ("kind", self.kind_u(t))],
                    t_loc,
                ));
            }
            node(
                "JoinedStr",
                vec![("values", Value::List(state.values))],
                t_loc,
            )
        })
    }

    // ----- patterns ---------------------------------------------------------------------

    fn patterns(&self, patterns: &[Pattern]) -> Value {
        Value::List(patterns.iter().map(|p| self.pattern(p)).collect())
    }

    fn pattern(&self, p: &Pattern) -> Value {
        stack::guard(|| self.pattern_inner(p))
    }

    fn pattern_inner(&self, p: &Pattern) -> Value {
        let loc = self.loc(p.range());
        let opt_name = |n: &Option<ast::Identifier>| n.as_ref().map_or(Value::None, |n| s(&n.id));
        match p {
            Pattern::MatchValue(v) => node("MatchValue", vec![("value", self.expr(&v.value))], loc),
            Pattern::MatchSingleton(v) => node(
                "MatchSingleton",
                vec![(
                    "value",
                    match v.value {
                        Singleton::None => Value::None,
                        Singleton::True => Value::Bool(true),
                        Singleton::False => Value::Bool(false),
                    },
                )],
                loc,
            ),
            Pattern::MatchSequence(sq) => node(
                "MatchSequence",
                vec![("patterns", self.patterns(&sq.patterns))],
                loc,
            ),
            Pattern::MatchMapping(m) => node(
                "MatchMapping",
                vec![
                    ("keys", self.exprs(&m.keys)),
                    ("patterns", self.patterns(&m.patterns)),
                    ("rest", opt_name(&m.rest)),
                ],
                loc,
            ),
            Pattern::MatchClass(c) => node(
                "MatchClass",
                vec![
                    ("cls", self.expr(&c.cls)),
                    ("patterns", self.patterns(&c.arguments.patterns)),
                    (
                        "kwd_attrs",
                        Value::List(c.arguments.keywords.iter().map(|k| s(&k.attr.id)).collect()),
                    ),
                    (
                        "kwd_patterns",
                        Value::List(
                            c.arguments
                                .keywords
                                .iter()
                                .map(|k| self.pattern(&k.pattern))
                                .collect(),
                        ),
                    ),
                ],
                loc,
            ),
            Pattern::MatchStar(st) => node("MatchStar", vec![("name", opt_name(&st.name))], loc),
            Pattern::MatchAs(a) => node(
                "MatchAs",
                vec![
                    (
                        "pattern",
                        a.pattern
                            .as_deref()
                            .map_or(Value::None, |p| self.pattern(p)),
                    ),
                    ("name", opt_name(&a.name)),
                ],
                loc,
            ),
            Pattern::MatchOr(o) => node(
                "MatchOr",
                vec![("patterns", self.patterns(&o.patterns))],
                loc,
            ),
        }
    }
}

/// Reduce by `by` the columns on line `line` at or after column `from` (ends: after it).
fn shift_columns(value: &mut Value, line: u32, from: u32, by: u32) {
    stack::guard(|| match value {
        Value::Node(n) => {
            if let Some(mut loc) = n.loc() {
                if loc.lineno == line && loc.col_offset >= from {
                    loc.col_offset -= by.min(loc.col_offset);
                }
                if loc.end_lineno == line && loc.end_col_offset > from {
                    loc.end_col_offset -= by.min(loc.end_col_offset);
                }
                n.set_loc(Some(loc));
            }
            for (_, v) in n.fields_mut() {
                shift_columns(v, line, from, by);
            }
        }
        Value::List(items) => {
            for v in items {
                shift_columns(v, line, from, by);
            }
        }
        _ => {}
    })
}
