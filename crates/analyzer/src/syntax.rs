//! Compile-time errors: what ruff's parser accepts but CPython 3.11's compiler refuses.

use ruff_python_ast::ModModule;

use crate::CellContext;
use crate::diagnostic::Diagnostic;
use crate::span::Span;

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

/// Check `module` for errors CPython's compiler (symtable and codegen) raises with the
/// top-level-await flag set.
pub(crate) fn check(_module: &ModModule, _ctx: &CellContext<'_>) -> Option<CompileError> {
    None
}
