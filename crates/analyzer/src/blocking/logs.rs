//! Logging to files: which loggers of the session have a handler that writes a file, and at
//! what levels they log, so that a logging call is reported as file I/O exactly when the
//! configuration the session's cells made would write a record to a file.
//!
//! Loggers are told apart by the text that names them at the call (`log` after
//! `log = logging.getLogger("app")`, or `logging.getLogger("app")` itself); the root logger is
//! [`ROOT`]. Records propagate to the root logger's handlers (`basicConfig(filename=...)`);
//! the logger hierarchy between named loggers, handler levels and filters are not followed.

/// The key of the root logger (module-level `logging.info(...)`, `logging.getLogger()`).
pub(crate) const ROOT: &str = "";

/// The root logger's level until something sets it (`logging.WARNING`).
const WARNING: u32 = 30;

/// At most this many loggers are remembered in each list (lookups are linear; a session with
/// more is not one a person wrote, and what is not remembered is reported as not configured).
const MAX_LOGGERS: usize = 64;

/// The session's logging configuration, as far as its cells have shown it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LogState {
    /// Loggers with a handler that writes a file (a `FileHandler`, or `basicConfig(filename=)`
    /// for the root).
    files: Vec<Box<str>>,
    /// Levels set on loggers (`setLevel`, `basicConfig(level=)`).
    levels: Vec<(Box<str>, u32)>,
    /// Loggers whose records do not reach the root's handlers (`propagate = False`).
    local: Vec<Box<str>>,
}

impl LogState {
    /// Logger `key` has a handler that writes a file.
    pub(crate) fn add_file(&mut self, key: &str) {
        if self.files.len() < MAX_LOGGERS && !self.files.iter().any(|f| &**f == key) {
            self.files.push(key.into());
        }
    }

    /// Logger `key` logs records of `level` and above.
    pub(crate) fn set_level(&mut self, key: &str, level: u32) {
        if let Some((_, l)) = self.levels.iter_mut().find(|(k, _)| &**k == key) {
            *l = level;
        } else if self.levels.len() < MAX_LOGGERS {
            self.levels.push((key.into(), level));
        }
    }

    /// Logger `key`'s records stop at its own handlers.
    pub(crate) fn stop_propagating(&mut self, key: &str) {
        if self.local.len() < MAX_LOGGERS && !self.local.iter().any(|k| &**k == key) {
            self.local.push(key.into());
        }
    }

    fn level(&self, key: &str) -> Option<u32> {
        self.levels
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, l)| *l)
    }

    /// Whether a record of `level` logged through logger `key` reaches a handler that writes a
    /// file: the logger's own level (or the root's) lets it through, and the logger or the root
    /// has such a handler.
    pub(crate) fn writes_file(&self, key: &str, level: u32) -> bool {
        let effective = self
            .level(key)
            .or_else(|| self.level(ROOT))
            .unwrap_or(WARNING);
        let propagates = !self.local.iter().any(|k| &**k == key);
        level >= effective
            && self
                .files
                .iter()
                .any(|f| &**f == key || (propagates && &**f == ROOT))
    }
}

/// The level of a record logged by logger method or `logging` function `name`; `None` for a
/// name that does not log (or `log`, whose level is its first argument).
pub(crate) fn method_level(name: &str) -> Option<u32> {
    match name {
        "debug" => Some(10),
        "info" => Some(20),
        "warning" | "warn" => Some(30),
        "error" | "exception" => Some(40),
        "critical" | "fatal" => Some(50),
        _ => None,
    }
}

/// The level a name stands for (`DEBUG` in `logging.DEBUG` or `"DEBUG"`).
pub(crate) fn level_named(name: &str) -> Option<u32> {
    match name {
        "NOTSET" => Some(0),
        "DEBUG" => Some(10),
        "INFO" => Some(20),
        "WARNING" | "WARN" => Some(30),
        "ERROR" => Some(40),
        "CRITICAL" | "FATAL" => Some(50),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_reach_files_by_level_and_propagation() {
        let mut s = LogState::default();
        assert!(!s.writes_file(ROOT, 50), "no file handler anywhere");
        s.add_file("log");
        // The root's default level (WARNING) applies to a logger with none of its own.
        assert!(!s.writes_file("log", 20));
        assert!(s.writes_file("log", 30));
        s.set_level("log", 10);
        assert!(s.writes_file("log", 10));
        assert!(!s.writes_file("other", 50), "other loggers reach no file");
        s.add_file(ROOT);
        s.set_level(ROOT, 20);
        assert!(s.writes_file("other", 20), "propagated to the root's file");
        assert!(!s.writes_file("other", 10));
        s.stop_propagating("other");
        assert!(!s.writes_file("other", 50), "kept to its own handlers");
        assert!(s.writes_file("log", 50));
    }

    #[test]
    fn levels_are_the_logging_module_s() {
        assert_eq!(method_level("exception"), Some(40));
        assert_eq!(method_level("log"), None);
        assert_eq!(level_named("WARN"), Some(30));
        assert_eq!(level_named("TRACE"), None);
    }
}
