//! A parser-independent syntax tree in the schema of CPython 3.11's `ast` module.
//!
//! [`from_source`] parses a module and returns its tree as CPython's `ast.parse` would build it:
//! the same node classes and field names (see [`schema`]), the same constant values (integers
//! of any size as decimal strings, `float`, imaginary `complex`, decoded `str` and `bytes`,
//! implicit concatenations merged, f-strings as `JoinedStr`/`FormattedValue` with CPython 3.11's
//! positions, `kind='u'`), and locations in CPython's convention (1-based `lineno`, 0-based
//! UTF-8 byte `col_offset`, `end_lineno`, `end_col_offset`) on exactly the classes that have
//! them. [`Node::dump`] prints a tree exactly as `ast.dump(tree, include_attributes=...)` does.
//!
//! # Building `ast` objects from a tree
//!
//! The tree is generic on purpose: every node is a class name, its fields in `_fields` order
//! and an optional location, so `ast` objects are built with no per-class code. Two ways:
//!
//! - **Wire text** (what the executor uses): [`Node::to_wire`] writes the tree as a postfix
//!   program, and [`WIRE_DECODER`] is the Python source of `pyast_build(text)`, a loop (no
//!   recursion, so any depth) that runs it: `getattr(ast, kind)(**dict(zip(cls._fields,
//!   values)))` plus the four location attributes. Then `compile(tree, filename, "exec",
//!   flags)`.
//! - **Walking the tree through pyo3**: for [`Value::Node`] call `getattr(ast, n.kind())`
//!   with [`Node::fields`] as keyword arguments and [`Loc::attributes`]; lists become lists,
//!   [`Value::Int`] `int(digits)`, [`Value::SurrogateStr`] `bytes.decode('utf-8',
//!   'surrogatepass')`, [`Value::Complex`] `complex(0, imag)`.
//!
//! [`Node::dump`] output is also a Python expression over the `ast` classes (with
//! `Ellipsis = ...`, `inf`, `infj` defined), but Python's parser limits its nesting, so it is
//! for people and tests, not transport.
//!
//! ```
//! use pyrepl3_analyzer::pyast;
//!
//! let tree = pyast::from_source("x = 1\n").unwrap();
//! assert_eq!(
//!     tree.dump(false),
//!     "Module(body=[Assign(targets=[Name(id='x', ctx=Store())], value=Constant(value=1))], type_ignores=[])"
//! );
//! let assign = tree.get("body").and_then(|b| b.as_list()).unwrap()[0].as_node().unwrap();
//! assert_eq!(assign.kind(), "Assign");
//! assert_eq!(assign.loc().unwrap().end_col_offset, 5);
//! ```

mod convert;
mod repr;
pub mod schema;
mod strings;

use crate::CellError;

pub use schema::{FieldSchema, NodeSchema};

/// Python source defining `pyast_build(text) -> ast.AST`, which turns [`Node::to_wire`] text
/// into `ast` objects. The executor runs it once (e.g. `exec` into a private namespace
/// through pyo3), then `compile(pyast_build(wire), filename, "exec", flags)`.
pub const WIRE_DECODER: &str = include_str!("wire_decoder.py");

/// Where a node is, in CPython's convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Loc {
    /// 1-based line of the first character.
    pub lineno: u32,
    /// 0-based UTF-8 byte offset of the first character in its line.
    pub col_offset: u32,
    /// 1-based line of the last character.
    pub end_lineno: u32,
    /// 0-based UTF-8 byte offset just past the last character in its line.
    pub end_col_offset: u32,
}

impl Loc {
    /// The four attributes as `(name, value)` pairs, in `_attributes` order.
    pub fn attributes(&self) -> [(&'static str, u32); 4] {
        [
            ("lineno", self.lineno),
            ("col_offset", self.col_offset),
            ("end_lineno", self.end_lineno),
            ("end_col_offset", self.end_col_offset),
        ]
    }
}

/// A field value: a node, a list, or one of the Python objects an `ast` tree holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A node (statement, expression, operator, `arguments`...).
    Node(Box<Node>),
    /// A list field (`body`, `elts`...), or the names of `Global`/`Nonlocal`.
    List(Vec<Value>),
    /// A Python `str`: identifiers, `Constant` strings, `kind`, `type_comment`.
    Str(String),
    /// A Python `str` holding lone surrogates (`'\ud800'`), which a Rust `String` cannot:
    /// its code points encoded as UTF-8 with the surrogates passed through, i.e. what Python's
    /// `s.encode('utf-8', 'surrogatepass')` gives and `b.decode('utf-8', 'surrogatepass')`
    /// turns back into the `str`.
    SurrogateStr(Vec<u8>),
    /// A Python `bytes` constant.
    Bytes(Vec<u8>),
    /// A Python `int`, as its decimal digits (`"-"` first when negative): literals have any
    /// size.
    Int(String),
    /// A Python `float` constant.
    Float(f64),
    /// A Python `complex` constant with real part `0.0` and this imaginary part (what `1j`
    /// literals produce).
    Complex(f64),
    /// `True` or `False`.
    Bool(bool),
    /// `None`: an absent optional field, or the `None` constant.
    None,
    /// The `...` constant.
    Ellipsis,
}

impl Value {
    /// The node, if this is one.
    pub fn as_node(&self) -> Option<&Node> {
        match self {
            Value::Node(n) => Some(n),
            _ => None,
        }
    }

    /// The list, if this is one.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) => Some(v),
            _ => None,
        }
    }

    /// The string, if this is a `str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A small `int` value (an `int` that fits in `i64`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(d) => d.parse().ok(),
            _ => None,
        }
    }

    /// `true` for [`Value::None`].
    pub fn is_none(&self) -> bool {
        matches!(self, Value::None)
    }

    /// An `int` value.
    pub fn int(v: impl std::fmt::Display) -> Value {
        Value::Int(v.to_string())
    }

    /// Visit every node in this value, parents before children.
    pub fn walk(&self, f: &mut impl FnMut(&Node)) {
        match self {
            Value::Node(n) => n.walk(f),
            Value::List(items) => items.iter().for_each(|v| v.walk(f)),
            _ => {}
        }
    }

    fn wire_into(&self, out: &mut String) {
        use std::fmt::Write;
        let hex = |out: &mut String, tag: char, bytes: &[u8]| {
            out.push(tag);
            out.push(' ');
            for b in bytes {
                let _ = write!(out, "{b:02x}");
            }
            out.push('\n');
        };
        match self {
            Value::Node(n) => n.wire_into(out),
            Value::List(items) => {
                for item in items {
                    item.wire_into(out);
                }
                let _ = writeln!(out, "L {}", items.len());
            }
            Value::Str(s) => hex(out, 'S', s.as_bytes()),
            Value::SurrogateStr(b) => hex(out, 'S', b),
            Value::Bytes(b) => hex(out, 'B', b),
            Value::Int(d) => {
                let _ = writeln!(out, "I {d}");
            }
            Value::Float(x) => {
                out.push_str("F ");
                repr::float_repr(*x, out);
                out.push('\n');
            }
            Value::Complex(x) => {
                out.push_str("J ");
                repr::float_repr(*x, out);
                out.push('\n');
            }
            Value::Bool(true) => out.push_str("K True\n"),
            Value::Bool(false) => out.push_str("K False\n"),
            Value::None => out.push_str("K None\n"),
            Value::Ellipsis => out.push_str("K Ellipsis\n"),
        }
    }

    fn dump_into(&self, include_attributes: bool, out: &mut String) {
        match self {
            Value::Node(n) => n.dump_into(include_attributes, out),
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.dump_into(include_attributes, out);
                }
                out.push(']');
            }
            Value::Str(s) => repr::str_repr(s, out),
            Value::SurrogateStr(b) => repr::code_points_repr(strings::code_points(b), out),
            Value::Bytes(b) => repr::bytes_repr(b, out),
            Value::Int(d) => out.push_str(d),
            Value::Float(x) => repr::float_repr(*x, out),
            Value::Complex(imag) => repr::imag_repr(*imag, out),
            Value::Bool(true) => out.push_str("True"),
            Value::Bool(false) => out.push_str("False"),
            Value::None => out.push_str("None"),
            Value::Ellipsis => out.push_str("Ellipsis"),
        }
    }
}

impl From<Node> for Value {
    fn from(node: Node) -> Self {
        Value::Node(Box::new(node))
    }
}

/// One node of the tree: an instance of the `ast` class [`Node::kind`].
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    kind: &'static str,
    fields: Vec<(&'static str, Value)>,
    loc: Option<Loc>,
}

impl Node {
    /// A node of class `kind` with `fields` (in `_fields` order) and, for classes that have
    /// locations, `loc`. [`Node::validate`] checks a tree against the schema.
    pub fn new(kind: &'static str, fields: Vec<(&'static str, Value)>, loc: Option<Loc>) -> Self {
        Self { kind, fields, loc }
    }

    /// The `ast` class name: `FunctionDef`, `Name`, `Load`, `arguments`...
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The fields, in `_fields` order. Absent optional fields are present as [`Value::None`].
    pub fn fields(&self) -> &[(&'static str, Value)] {
        &self.fields
    }

    /// Mutable access to the fields (for transforms).
    pub fn fields_mut(&mut self) -> &mut Vec<(&'static str, Value)> {
        &mut self.fields
    }

    /// The field named `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Mutable access to the field named `name`.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.fields
            .iter_mut()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// The location, for classes that have one (`stmt`, `expr`, `excepthandler`, `arg`,
    /// `keyword`, `alias`, `pattern`).
    pub fn loc(&self) -> Option<Loc> {
        self.loc
    }

    /// Replace the location.
    pub fn set_loc(&mut self, loc: Option<Loc>) {
        self.loc = loc;
    }

    /// The schema of this node's class, if `ast` has it.
    pub fn schema(&self) -> Option<&'static NodeSchema> {
        schema::lookup(self.kind)
    }

    /// Exactly what CPython 3.11's `ast.dump(tree, include_attributes=include_attributes)`
    /// prints for the same tree.
    pub fn dump(&self, include_attributes: bool) -> String {
        let mut out = String::new();
        crate::stack::guard(|| self.dump_into(include_attributes, &mut out));
        out
    }

    fn dump_into(&self, include_attributes: bool, out: &mut String) {
        crate::stack::guard(|| {
            let schema = self.schema();
            out.push_str(self.kind);
            out.push('(');
            let mut first = true;
            for (name, value) in &self.fields {
                if value.is_none()
                    && schema
                        .and_then(|s| s.field(name))
                        .is_some_and(|f| f.optional)
                {
                    continue;
                }
                if !first {
                    out.push_str(", ");
                }
                first = false;
                out.push_str(name);
                out.push('=');
                value.dump_into(include_attributes, out);
            }
            if include_attributes && let Some(loc) = self.loc {
                for (name, v) in loc.attributes() {
                    if !first {
                        out.push_str(", ");
                    }
                    first = false;
                    out.push_str(name);
                    out.push('=');
                    out.push_str(&v.to_string());
                }
            }
            out.push(')');
        })
    }

    /// Visit this node and every node below it, parents before children, in field order.
    pub fn walk(&self, f: &mut impl FnMut(&Node)) {
        crate::stack::guard(|| {
            f(self);
            for (_, v) in &self.fields {
                v.walk(f);
            }
        })
    }

    /// The tree as pyast wire text: a postfix program that [`WIRE_DECODER`]'s `pyast_build`
    /// turns into `ast` objects without recursion, so trees of any depth travel.
    ///
    /// One instruction per line: `N <class> <n> [<lineno> <col_offset> <end_lineno>
    /// <end_col_offset>]` pops the node's `n` field values (in `_fields` order) and pushes the
    /// node; `L <n>` pops `n` values and pushes them as a list; `S <hex>` pushes a `str` (its
    /// UTF-8 bytes, surrogates passed through); `B <hex>` a `bytes`; `I <decimal>` an `int`;
    /// `F <repr>` a `float`; `J <repr>` `complex(0, float)`; `K True|False|None|Ellipsis`.
    pub fn to_wire(&self) -> String {
        let mut out = String::new();
        self.wire_into(&mut out);
        out
    }

    fn wire_into(&self, out: &mut String) {
        use std::fmt::Write;
        crate::stack::guard(|| {
            for (_, v) in &self.fields {
                v.wire_into(out);
            }
            let _ = write!(out, "N {} {}", self.kind, self.fields.len());
            if let Some(l) = self.loc {
                let _ = write!(
                    out,
                    " {} {} {} {}",
                    l.lineno, l.col_offset, l.end_lineno, l.end_col_offset
                );
            }
            out.push('\n');
        })
    }

    /// Check the tree against CPython 3.11's schema: known classes, fields in `_fields` order,
    /// lists where lists belong, nodes of the right category, locations exactly on located
    /// classes. Returns the first problem found.
    pub fn validate(&self) -> Result<(), String> {
        crate::stack::guard(|| {
            let schema = self
                .schema()
                .ok_or_else(|| format!("unknown node class {}", self.kind))?;
            let names: Vec<&str> = self.fields.iter().map(|(n, _)| *n).collect();
            let expected: Vec<&str> = schema.fields.iter().map(|f| f.name).collect();
            if names != expected {
                return Err(format!(
                    "{}: fields {names:?}, expected {expected:?}",
                    self.kind
                ));
            }
            if schema.located != self.loc.is_some() {
                return Err(format!(
                    "{}: location {}expected",
                    self.kind,
                    if schema.located { "" } else { "not " }
                ));
            }
            for (f, (_, value)) in schema.fields.iter().zip(&self.fields) {
                let check = |v: &Value| validate_scalar(self.kind, f, v);
                match (f.seq, value) {
                    (true, Value::List(items)) => {
                        for item in items {
                            check(item)?;
                        }
                    }
                    (true, _) => return Err(format!("{}.{}: expected a list", self.kind, f.name)),
                    (false, Value::None) if f.optional || f.ty == "constant" => {}
                    (false, v) => check(v)?,
                }
            }
            Ok(())
        })
    }
}

fn validate_scalar(kind: &str, f: &FieldSchema, v: &Value) -> Result<(), String> {
    let ok = match (f.ty, v) {
        ("identifier" | "string", Value::Str(_)) => true,
        ("int", Value::Int(_)) => true,
        (
            "constant",
            Value::Str(_)
            | Value::SurrogateStr(_)
            | Value::Bytes(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::Complex(_)
            | Value::Bool(_)
            | Value::None
            | Value::Ellipsis,
        ) => true,
        // `kw_defaults` and `Dict.keys` hold None for missing entries.
        ("expr", Value::None) => matches!(
            (kind, f.name),
            ("arguments", "kw_defaults") | ("Dict", "keys")
        ),
        (category, Value::Node(n)) => {
            n.validate()?;
            n.schema()
                .is_some_and(|s| s.category == category || s.kind == category)
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{kind}.{}: unexpected value {v:?}", f.name))
    }
}

/// Parse `source` as a Python 3.11 module and build its `ast` tree.
///
/// `source` is the text after decoding (a UTF-8 BOM, if any, already removed). Code CPython
/// would refuse comes back as the error pyrepl3's analyzer reports for it.
pub fn from_source(source: &str) -> Result<Node, CellError> {
    crate::stack::guard(|| {
        let cell = crate::parse::parse_cell(source, false).map_err(|f| CellError {
            kind: f.kind.to_string(),
            message: f.message,
            span: f.span,
        })?;
        from_parsed(source, cell.parsed())
    })
}

/// The tree of a module ruff has already parsed (without errors) from `source`, for passes
/// of the analyzer that hold the parse. Refuses what CPython's parser refuses beyond ruff's
/// grammar (decimal literals of more than 4300 digits).
pub(crate) fn from_parsed(
    source: &str,
    parsed: &ruff_python_parser::Parsed<ruff_python_ast::ModModule>,
) -> Result<Node, CellError> {
    if let Some(err) = convert::int_literal_too_long(source, parsed) {
        return Err(err);
    }
    Ok(crate::stack::guard(|| convert::module(source, parsed)))
}
