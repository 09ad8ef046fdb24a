//! Routing rules: why a cell runs where it runs.

mod blocking_on_loop;
mod coroutine_function_defined;
mod dynamic_namespace_write;
mod ipython_escape;
mod loop_bound_call;
mod plain_sync;
mod top_level_await;
mod unresolved_call;

pub use blocking_on_loop::BlockingOnLoop;
pub use coroutine_function_defined::CoroutineFunctionDefined;
pub use dynamic_namespace_write::DynamicNamespaceWrite;
pub use ipython_escape::IpythonEscape;
pub use loop_bound_call::LoopBoundCall;
pub use plain_sync::PlainSync;
pub use top_level_await::TopLevelAwait;
pub use unresolved_call::UnresolvedCall;

use super::{Rule, RuleMeta};

/// The rules of this group.
pub static RULES: &[&RuleMeta] = &[
    &TopLevelAwait::META,
    &LoopBoundCall::META,
    &BlockingOnLoop::META,
    &CoroutineFunctionDefined::META,
    &PlainSync::META,
    &DynamicNamespaceWrite::META,
    &UnresolvedCall::META,
    &IpythonEscape::META,
];
