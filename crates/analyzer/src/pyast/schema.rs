//! The schema of CPython 3.11's `ast` module: every concrete node class, its fields and whether
//! it carries a location.
//!
//! The table itself (`schema_table.rs`) is generated from CPython by
//! `crates/analyzer/tests/pyast/gen_tables.py schema`, and the `pyast_tables` test checks it
//! against the running `python3`.

use std::collections::HashMap;
use std::sync::OnceLock;

#[path = "schema_table.rs"]
mod table;

/// One field of a node class, as CPython's ASDL declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSchema {
    /// The field's name (`body`, `args`, `ctx`...).
    pub name: &'static str,
    /// The ASDL type without its `*` or `?`: a node category (`expr`, `stmt`, `arguments`...)
    /// or a builtin type (`identifier`, `string`, `int`, `constant`).
    pub ty: &'static str,
    /// The field holds a list (`ty*`).
    pub seq: bool,
    /// The field may be `None` (`ty?`); `ast.dump` leaves such a field out when it is `None`.
    pub optional: bool,
}

/// One concrete node class of the `ast` module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSchema {
    /// The class name (`FunctionDef`, `Load`, `arguments`...).
    pub kind: &'static str,
    /// The abstract base class (`stmt`, `expr`, `expr_context`, `pattern`...), or `AST` for
    /// product types such as `arguments` and `keyword`.
    pub category: &'static str,
    /// The fields, in `_fields` order.
    pub fields: &'static [FieldSchema],
    /// The class has `lineno`, `col_offset`, `end_lineno`, `end_col_offset` attributes.
    pub located: bool,
}

impl NodeSchema {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&'static FieldSchema> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Every concrete node class of CPython 3.11's `ast` module.
pub fn all() -> &'static [NodeSchema] {
    table::NODES
}

/// The class named `kind`, if CPython 3.11's `ast` module has it.
pub fn lookup(kind: &str) -> Option<&'static NodeSchema> {
    static INDEX: OnceLock<HashMap<&'static str, &'static NodeSchema>> = OnceLock::new();
    INDEX
        .get_or_init(|| table::NODES.iter().map(|n| (n.kind, n)).collect())
        .get(kind)
        .copied()
}
