//! A bounded compile cache: repeated cells skip parsing and compiling.
//!
//! Keyed by the exact source, the source the transforms made of it (which also depends on
//! earlier cells), the first line and the session's `from __future__` flags; evicts the least
//! recently used entry when full. Capacity 0 disables it.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyrepl3_analyzer::transform::TransformRecord;

/// A compiled cell.
pub(crate) struct Compiled {
    /// The cell up to its trailing expression statement (the whole cell when there is none).
    pub(crate) code: Py<PyAny>,
    /// The trailing expression statement, compiled in 'eval' mode (its value is the result).
    pub(crate) expr: Option<Py<PyAny>>,
    /// Why the value of a cell with a trailing expression could not be captured.
    pub(crate) note: Option<String>,
    /// Every name the code (and nested code) refers to: a superset of the module-scope names it
    /// can bind, used for change tracking.
    pub(crate) names: Vec<String>,
    /// The code calls `globals`/`exec`/`vars`...: it may write names dynamically.
    pub(crate) dynamic: bool,
    /// The `from __future__` flags in effect after this cell.
    pub(crate) flags: i64,
    /// `CO_COROUTINE` is set on either part: the cell must be awaited. For a wrapped cell:
    /// the wrapper's own body suspends.
    pub(crate) is_coroutine: bool,
    /// Compiled from a transformed tree (the analyzer's or the wrapper fallback's).
    pub(crate) transformed: bool,
    /// The wrapper fallback compiled this cell: `code` defines `__pyrepl3_cell__`, whose
    /// coroutine runs the cell.
    pub(crate) wrapped: Option<Wrapped>,
}

/// A cell compiled through the wrapper fallback.
#[derive(Clone)]
pub(crate) struct Wrapped {
    /// The wrapper's return value is the cell's result (a trailing expression, no `;`).
    pub(crate) keep_value: bool,
    /// The rewrites, the wrapper last.
    pub(crate) records: Vec<TransformRecord>,
    /// Why the direct compile failed.
    pub(crate) reason: String,
}

impl Compiled {
    pub(crate) fn clone_ref(&self, py: Python<'_>) -> Self {
        Self {
            code: self.code.clone_ref(py),
            expr: self.expr.as_ref().map(|e| e.clone_ref(py)),
            note: self.note.clone(),
            names: self.names.clone(),
            dynamic: self.dynamic,
            flags: self.flags,
            is_coroutine: self.is_coroutine,
            transformed: self.transformed,
            wrapped: self.wrapped.clone(),
        }
    }
}

type Key = (String, Option<String>, u32, i64);

/// Least-recently-used cache of compiled cells.
pub(crate) struct CompileCache {
    capacity: usize,
    tick: u64,
    entries: HashMap<Key, (u64, Compiled)>,
}

impl CompileCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            tick: 0,
            entries: HashMap::new(),
        }
    }

    pub(crate) fn get(
        &mut self,
        py: Python<'_>,
        source: &str,
        transformed: Option<&str>,
        first_line: u32,
        flags: i64,
    ) -> Option<Compiled> {
        self.tick += 1;
        let tick = self.tick;
        // Avoid allocating a key for the lookup in the common miss-free path is not possible
        // with a tuple key; cells are short and this is dwarfed by compiling.
        let entry = self.entries.get_mut(&(
            source.to_string(),
            transformed.map(str::to_string),
            first_line,
            flags,
        ))?;
        entry.0 = tick;
        Some(entry.1.clone_ref(py))
    }

    pub(crate) fn insert(
        &mut self,
        source: &str,
        transformed: Option<&str>,
        first_line: u32,
        flags: i64,
        compiled: Compiled,
    ) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity
            && let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (t, _))| *t)
                .map(|(k, _)| k.clone())
        {
            self.entries.remove(&oldest);
        }
        self.tick += 1;
        self.entries.insert(
            (
                source.to_string(),
                transformed.map(str::to_string),
                first_line,
                flags,
            ),
            (self.tick, compiled),
        );
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}
