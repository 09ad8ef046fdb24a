//! Blocking-I/O detection: resolves call targets to qualified names and follows values and calls.

use ruff_python_ast::ModModule;

use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::{BlockingCall, CellContext};

/// What earlier cells established: import aliases, typed bindings, function summaries.
#[derive(Debug, Clone, Default)]
pub(crate) struct SymbolTable {}

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
    _module: &ModModule,
    _ctx: &CellContext<'_>,
    _symbols: &mut SymbolTable,
) -> BlockingReport {
    BlockingReport::default()
}
