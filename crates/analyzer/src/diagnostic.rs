//! Diagnostics: the reasons behind every routing decision.

use std::borrow::Cow;

use crate::rules::RuleMeta;
use crate::span::Span;

/// `parts` joined in one allocation of the exact size: messages are built for every cell, and
/// `format!` costs several times as much for the same text. Inlined, so that each caller's
/// constant parts are copied without calls to `memcpy`.
#[inline(always)]
pub(crate) fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    parts.iter().for_each(|p| s.push_str(p));
    s
}

/// How much a reason matters to the person reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Explains a decision; nothing to act on.
    Info,
    /// The cell runs, but something about it deserves attention.
    Warning,
    /// The cell cannot run as written.
    Error,
}

impl Severity {
    /// The lowercase name used in machine-readable output.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A secondary location attached to a diagnostic (for example, the import a call resolved through).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// Where, in the same cell.
    pub span: Span,
    /// What is there (most labels are fixed texts, borrowed rather than copied).
    pub message: Cow<'static, str>,
}

/// One reason for a routing decision: a rule, a message and the span it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule that produced this reason.
    pub rule: &'static RuleMeta,
    /// Severity of this particular reason (usually the rule's default).
    pub severity: Severity,
    /// One sentence for a person (a fixed text is borrowed, not copied).
    pub message: Cow<'static, str>,
    /// Where in the cell.
    pub span: Span,
    /// What to do about it, when there is something to do.
    pub help: Option<Cow<'static, str>>,
    /// Other places in the same cell that explain this one.
    pub related: Vec<Related>,
}

impl Diagnostic {
    /// A diagnostic for `rule` with the rule's default severity.
    pub fn new(rule: &'static RuleMeta, message: impl Into<Cow<'static, str>>, span: Span) -> Self {
        Self {
            rule,
            severity: rule.severity,
            message: message.into(),
            span,
            help: None,
            related: Vec::new(),
        }
    }

    /// Attach a help line.
    pub fn with_help(mut self, help: impl Into<Cow<'static, str>>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Override the severity.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Attach a related location.
    pub fn with_related(mut self, span: Span, message: impl Into<Cow<'static, str>>) -> Self {
        self.related.push(Related {
            span,
            message: message.into(),
        });
        self
    }

    /// The rule's code, e.g. `PR201`.
    pub fn code(&self) -> &'static str {
        self.rule.code
    }
}
