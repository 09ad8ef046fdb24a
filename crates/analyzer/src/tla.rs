//! Top-level await: predicts exactly when CPython sets `CO_COROUTINE` on the module code.

use ruff_python_ast::ModModule;

use crate::span::Span;

/// One construct that makes the module a coroutine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopLevelAwait {
    /// The `await` expression, `async for`, `async with` or async comprehension.
    pub(crate) span: Span,
    /// What it is, for the reason's message (e.g. "`await` expression").
    pub(crate) what: &'static str,
}

/// Every construct (in source order) that makes CPython 3.11 compile `module` as a coroutine
/// when `PyCF_ALLOW_TOP_LEVEL_AWAIT` is set. Empty when `CO_COROUTINE` would not be set.
pub(crate) fn find(_module: &ModModule) -> Vec<TopLevelAwait> {
    Vec::new()
}
