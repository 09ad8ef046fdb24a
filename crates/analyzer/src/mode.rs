//! Execution modes, in order of precedence.

/// How a cell is executed. When several apply, the first in this list wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// CPython 3.11 would refuse to compile the cell, even with `PyCF_ALLOW_TOP_LEVEL_AWAIT`.
    SyntaxError,
    /// Compiling with `PyCF_ALLOW_TOP_LEVEL_AWAIT` sets `CO_COROUTINE` on the module code:
    /// the cell is awaited as a task on the session's event loop.
    TopLevelAwait,
    /// The cell's execution path calls blocking I/O: it runs on a worker thread so the
    /// event loop keeps running.
    BlockingSync,
    /// The cell defines coroutine functions and nothing above applies.
    AsyncDef,
    /// Everything else: runs directly on the loop thread.
    SimpleSync,
}

impl Mode {
    /// The snake_case name used in machine-readable output.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::SyntaxError => "syntax_error",
            Mode::TopLevelAwait => "top_level_await",
            Mode::BlockingSync => "blocking_sync",
            Mode::AsyncDef => "async_def",
            Mode::SimpleSync => "simple_sync",
        }
    }

    /// Every mode, in precedence order.
    pub const ALL: [Mode; 5] = [
        Mode::SyntaxError,
        Mode::TopLevelAwait,
        Mode::BlockingSync,
        Mode::AsyncDef,
        Mode::SimpleSync,
    ];

    /// Parse the snake_case name.
    pub fn from_name(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
