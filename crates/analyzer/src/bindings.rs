//! Names a cell binds at module scope, and writes to the namespace that bypass bindings.

use ruff_python_ast::ModModule;

use crate::span::Span;

/// What a cell does to the module namespace, as far as the syntax shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ModuleBindings {
    /// Every name bound (or deleted) at module scope, sorted and deduplicated.
    pub(crate) names: Vec<String>,
    /// Dynamic writes (`globals()[...] = ...`, `exec`, `from m import *`...), with a description.
    pub(crate) dynamic_writes: Vec<(Span, String)>,
    /// `async def` statements at module level: name and span of the definition header.
    pub(crate) coroutine_defs: Vec<(String, Span)>,
}

/// Collect the module-scope bindings of `module`.
pub(crate) fn collect(_module: &ModModule) -> ModuleBindings {
    ModuleBindings::default()
}
