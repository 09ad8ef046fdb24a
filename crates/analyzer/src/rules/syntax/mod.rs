//! Syntax rules: why CPython would refuse a cell.

mod await_outside_async_function;
mod compile_error;
mod syntax_error;
mod too_deeply_nested;

pub use await_outside_async_function::AwaitOutsideAsyncFunction;
pub use compile_error::CompileError;
pub use syntax_error::SyntaxError;
pub use too_deeply_nested::TooDeeplyNested;

use super::{Rule, RuleMeta};

/// The rules of this group.
pub static RULES: &[&RuleMeta] = &[
    &SyntaxError::META,
    &CompileError::META,
    &AwaitOutsideAsyncFunction::META,
    &TooDeeplyNested::META,
];
