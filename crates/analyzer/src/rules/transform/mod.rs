//! Transform rules: every rewrite pyrepl3 makes to run a cell, and every rewrite it refuses.

mod await_inserted;
mod coroutine_used_synchronously;
mod def_to_async_def;
mod lambda_to_async_def;
mod transform_refused;
mod wrap_with_globals;

pub use await_inserted::AwaitInserted;
pub use coroutine_used_synchronously::CoroutineUsedSynchronously;
pub use def_to_async_def::DefToAsyncDef;
pub use lambda_to_async_def::LambdaToAsyncDef;
pub use transform_refused::TransformRefused;
pub use wrap_with_globals::WrapWithGlobals;

use super::{Rule, RuleMeta};

/// The rules of this group.
pub static RULES: &[&RuleMeta] = &[
    &DefToAsyncDef::META,
    &LambdaToAsyncDef::META,
    &AwaitInserted::META,
    &WrapWithGlobals::META,
    &CoroutineUsedSynchronously::META,
    &TransformRefused::META,
];
