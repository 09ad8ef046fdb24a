//! The live namespace of one pyrepl3 session: one Python dict, merge-only, with history,
//! change tracking and checkpoints.
//!
//! Every cell of a session runs with the same dict as its globals *and* locals (two dicts break
//! closures, comprehensions and class bodies that read cell variables). The dict's identity is
//! never replaced: the runtime only merges into it. Engine names (`__builtins__`, `__name__`, the
//! result history `_`, `__`, `___`, and anything the runtime installs) are protected: a merge from
//! the runtime never clobbers them (user code can still rebind them, as in any Python module).
//!
//! Change tracking follows the cell, not the namespace: [`Namespace::track`] snapshots only the
//! names a cell can bind (from the analyzer, plus the compiled code's names), and falls back to
//! a snapshot of the whole dict only when the cell may write names dynamically.
//!
//! [`Namespace`] is `Send + Sync`: it can be used from the event loop's thread, worker threads
//! and the embedder's threads. Every method that touches Python takes a [`Python`] token.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyModule, PyString};

/// The names of the result history, newest first.
pub const HISTORY_NAMES: [&str; 3] = ["_", "__", "___"];

/// Names every namespace protects from the start.
pub const BASE_PROTECTED: [&str; 5] = ["__builtins__", "__name__", "_", "__", "___"];

/// Attributes every module has; not user data (skipped by checkpoints).
const MODULE_ATTRS: [&str; 4] = ["__doc__", "__package__", "__loader__", "__spec__"];

/// The live namespace of one session.
pub struct Namespace {
    module: Py<PyModule>,
    dict: Py<PyDict>,
    inner: Mutex<Inner>,
}

struct Inner {
    protected: BTreeSet<String>,
    /// The last three non-`None` results, newest first.
    history: Vec<Py<PyAny>>,
}

/// What [`Namespace::merge`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Names written, in the order given.
    pub merged: Vec<String>,
    /// Protected names that were left alone.
    pub refused: Vec<String>,
}

/// The names a cell added, changed (rebound to another object) or deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Which execution made the changes (for example `"execution 3 (top_level_await)"`).
    pub context: String,
    /// Names that did not exist before the cell, sorted.
    pub added: Vec<String>,
    /// Names bound to a different object after the cell, sorted.
    pub changed: Vec<String>,
    /// Names that existed before the cell and no longer do, sorted.
    pub deleted: Vec<String>,
    /// Whether the whole namespace was compared (the cell may write names dynamically).
    pub full_diff: bool,
}

impl Changes {
    /// True when the cell changed no binding.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.deleted.is_empty()
    }
}

/// A snapshot taken before a cell runs; [`ChangeTracker::finish`] compares against it.
pub struct ChangeTracker {
    /// Name -> object bound before the cell (`None`: unbound). Identity, not equality, decides.
    before: HashMap<String, Option<Py<PyAny>>>,
    full: bool,
}

/// A checkpoint of a namespace: what `pickle` could serialise, and what it could not.
#[derive(Debug, Clone, Default)]
pub struct Checkpoint {
    /// `(name, pickle bytes)`, each name pickled on its own, sorted by name.
    pub pickled: Vec<(String, Vec<u8>)>,
    /// `(name, module name)` for names bound to modules: restored by importing them again.
    pub modules: Vec<(String, String)>,
    /// `(name, reason)` for names that could not be saved, sorted by name.
    pub unpicklable: Vec<(String, String)>,
}

/// What [`Namespace::restore`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Names restored.
    pub restored: Vec<String>,
    /// `(name, reason)` for names that could not be restored.
    pub failed: Vec<(String, String)>,
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // The data stays consistent even if a holder panicked: every update is a single assignment.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Namespace {
    /// A fresh namespace: the dict of a new module named `__main__` (so `pickle` and friends
    /// find classes and functions defined in cells once the module is installed as
    /// `sys.modules["__main__"]`, see [`Self::install_as_main`]); `__builtins__` is the
    /// `builtins` module.
    pub fn new(py: Python<'_>) -> PyResult<Self> {
        let module = PyModule::new(py, "__main__")?;
        let dict = module.dict();
        dict.set_item("__builtins__", PyModule::import(py, "builtins")?)?;
        Ok(Self {
            module: module.unbind(),
            dict: dict.unbind(),
            inner: Mutex::new(Inner {
                protected: BASE_PROTECTED.iter().map(|s| s.to_string()).collect(),
                history: Vec::new(),
            }),
        })
    }

    /// The live dict. Use it as both globals and locals; never replace it.
    pub fn dict<'py>(&self, py: Python<'py>) -> Bound<'py, PyDict> {
        self.dict.bind(py).clone()
    }

    /// The module whose dict is the namespace.
    pub fn module<'py>(&self, py: Python<'py>) -> Bound<'py, PyModule> {
        self.module.bind(py).clone()
    }

    /// Make the namespace's module `sys.modules["__main__"]` (a no-op when it already is).
    /// Process-wide: with several sessions in one process, the last one installed wins.
    pub fn install_as_main(&self, py: Python<'_>) -> PyResult<()> {
        let modules = PyModule::import(py, "sys")?.getattr("modules")?;
        let current = modules.get_item("__main__").ok();
        if !current.is_some_and(|m| m.is(self.module.bind(py))) {
            modules.set_item("__main__", self.module.bind(py))?;
        }
        Ok(())
    }

    /// The live dict as an owned handle (for other threads).
    pub fn dict_handle(&self, py: Python<'_>) -> Py<PyDict> {
        self.dict.clone_ref(py)
    }

    /// Mark `name` as an engine name: [`Self::merge`] will not overwrite it.
    pub fn protect(&self, name: &str) {
        lock(&self.inner).protected.insert(name.to_string());
    }

    /// Whether `name` is protected.
    pub fn is_protected(&self, name: &str) -> bool {
        lock(&self.inner).protected.contains(name)
    }

    /// The protected names, sorted.
    pub fn protected_names(&self) -> Vec<String> {
        lock(&self.inner).protected.iter().cloned().collect()
    }

    /// Install an engine name: bind it and protect it.
    pub fn install(&self, py: Python<'_>, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.dict.bind(py).set_item(name, value)?;
        self.protect(name);
        Ok(())
    }

    /// Merge `items` into the namespace, leaving protected names alone.
    pub fn merge<'py>(
        &self,
        py: Python<'py>,
        items: impl IntoIterator<Item = (String, Bound<'py, PyAny>)>,
    ) -> PyResult<MergeReport> {
        let dict = self.dict.bind(py);
        let mut report = MergeReport::default();
        for (name, value) in items {
            if self.is_protected(&name) {
                report.refused.push(name);
            } else {
                dict.set_item(&name, value)?;
                report.merged.push(name);
            }
        }
        Ok(report)
    }

    /// The object bound to `name`, if any.
    pub fn get<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.dict.bind(py).get_item(name)
    }

    /// Remove `name` unless it is protected; returns the object it was bound to.
    pub fn remove<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        if self.is_protected(name) {
            return Ok(None);
        }
        let dict = self.dict.bind(py);
        match dict.get_item(name)? {
            Some(v) => {
                match dict.del_item(name) {
                    Ok(()) => {}
                    Err(e) if e.is_instance_of::<PyKeyError>(py) => {}
                    Err(e) => return Err(e),
                }
                Ok(Some(v))
            }
            None => Ok(None),
        }
    }

    /// How many names are bound.
    pub fn len(&self, py: Python<'_>) -> usize {
        self.dict.bind(py).len()
    }

    /// True when no name is bound (never the case for a namespace made by [`Self::new`]).
    pub fn is_empty(&self, py: Python<'_>) -> bool {
        self.len(py) == 0
    }

    /// Record a cell's result in the history: `_` becomes `value`, `__` the previous `_`, `___`
    /// the previous `__`. `None` is not recorded (as in IPython). Returns whether it was recorded.
    pub fn push_result(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<bool> {
        if value.is_none() {
            return Ok(false);
        }
        let history: Vec<Py<PyAny>> = {
            let mut inner = lock(&self.inner);
            inner.history.insert(0, value.clone().unbind());
            inner.history.truncate(HISTORY_NAMES.len());
            inner.history.iter().map(|v| v.clone_ref(py)).collect()
        };
        let dict = self.dict.bind(py);
        for (name, v) in HISTORY_NAMES.iter().zip(history.iter()) {
            dict.set_item(*name, v)?;
        }
        Ok(true)
    }

    /// The recorded results, newest first (at most three).
    pub fn history(&self, py: Python<'_>) -> Vec<Py<PyAny>> {
        lock(&self.inner)
            .history
            .iter()
            .map(|v| v.clone_ref(py))
            .collect()
    }

    /// Snapshot what a cell may change before it runs.
    ///
    /// `names`: the names the cell may bind at module scope (cost follows this list).
    /// `full`: the cell may write names dynamically; snapshot the whole dict instead.
    pub fn track<'a>(
        &self,
        py: Python<'_>,
        names: impl IntoIterator<Item = &'a str>,
        full: bool,
    ) -> PyResult<ChangeTracker> {
        let dict = self.dict.bind(py);
        let mut before = HashMap::new();
        if full {
            for (k, v) in dict.iter() {
                if let Ok(k) = k.cast::<PyString>() {
                    before.insert(k.to_str()?.to_string(), Some(v.unbind()));
                }
            }
        } else {
            for name in names {
                let v = dict.get_item(name)?.map(Bound::unbind);
                before.insert(name.to_string(), v);
            }
        }
        Ok(ChangeTracker { before, full })
    }

    /// Serialise the namespace: each user name pickled on its own; modules recorded by name;
    /// protected names and `__builtins__` skipped; everything else reported with the reason.
    pub fn checkpoint(&self, py: Python<'_>) -> PyResult<Checkpoint> {
        let pickle = PyModule::import(py, "pickle")?;
        let dumps = pickle.getattr("dumps")?;
        let protocol = pickle.getattr("HIGHEST_PROTOCOL")?;
        let module_type = PyModule::import(py, "types")?.getattr("ModuleType")?;
        let dict = self.dict.bind(py);
        let mut out = Checkpoint::default();
        let mut items: Vec<(String, Bound<'_, PyAny>)> = Vec::new();
        for (k, v) in dict.iter() {
            match k.cast::<PyString>() {
                Ok(k) => items.push((k.to_str()?.to_string(), v)),
                Err(_) => out
                    .unpicklable
                    .push((k.repr()?.to_string(), "the key is not a str".to_string())),
            }
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, value) in items {
            if self.is_protected(&name) || MODULE_ATTRS.contains(&name.as_str()) {
                continue;
            }
            if value.is_instance(&module_type)? {
                let module_name: String = value.getattr("__name__")?.extract()?;
                out.modules.push((name, module_name));
                continue;
            }
            match dumps.call1((&value, &protocol)) {
                Ok(bytes) => {
                    let bytes = bytes.cast::<PyBytes>().map_err(PyErr::from)?;
                    out.pickled.push((name, bytes.as_bytes().to_vec()));
                }
                Err(e) => {
                    let ty = e.get_type(py).name()?.to_string();
                    out.unpicklable
                        .push((name, format!("{ty}: {}", e.value(py))));
                }
            }
        }
        Ok(out)
    }

    /// Merge a checkpoint back (protected names are left alone).
    pub fn restore(&self, py: Python<'_>, checkpoint: &Checkpoint) -> PyResult<RestoreReport> {
        let loads = PyModule::import(py, "pickle")?.getattr("loads")?;
        let import = PyModule::import(py, "importlib")?.getattr("import_module")?;
        let dict = self.dict.bind(py);
        let mut report = RestoreReport::default();
        let mut put = |name: &str, value: PyResult<Bound<'_, PyAny>>| -> PyResult<()> {
            if self.is_protected(name) {
                report
                    .failed
                    .push((name.to_string(), "protected engine name".into()));
                return Ok(());
            }
            match value {
                Ok(v) => {
                    dict.set_item(name, v)?;
                    report.restored.push(name.to_string());
                }
                Err(e) => report.failed.push((name.to_string(), e.to_string())),
            }
            Ok(())
        };
        for (name, module) in &checkpoint.modules {
            put(name, import.call1((module,)))?;
        }
        for (name, bytes) in &checkpoint.pickled {
            put(name, loads.call1((PyBytes::new(py, bytes),)))?;
        }
        Ok(report)
    }
}

impl ChangeTracker {
    /// Compare the namespace against the snapshot. `context` says which execution ran.
    pub fn finish(
        self,
        py: Python<'_>,
        namespace: &Namespace,
        context: impl Into<String>,
    ) -> PyResult<Changes> {
        let dict = namespace.dict.bind(py);
        let mut changes = Changes {
            context: context.into(),
            full_diff: self.full,
            ..Changes::default()
        };
        for (name, old) in &self.before {
            let new = dict.get_item(name)?;
            match (old, new) {
                (None, Some(_)) => changes.added.push(name.clone()),
                (Some(_), None) => changes.deleted.push(name.clone()),
                (Some(o), Some(n)) if !o.bind(py).is(&n) => changes.changed.push(name.clone()),
                _ => {}
            }
        }
        if self.full {
            for k in dict.keys() {
                if let Ok(k) = k.cast::<PyString>() {
                    let k = k.to_str()?;
                    if !self.before.contains_key(k) {
                        changes.added.push(k.to_string());
                    }
                }
            }
        }
        changes.added.sort();
        changes.changed.sort();
        changes.deleted.sort();
        Ok(changes)
    }
}
