//! The rule registry: every reason the analyzer gives comes from a rule with a code and documentation.
//!
//! Rules are organised as in ruff's linter: one rule per file, a unit struct named after the
//! rule, and a doc comment in the form "What it does / Why is this bad? / Example / Use instead".
//! The [`declare_rule!`](crate::declare_rule) macro captures that doc comment so `pyrepl3-analyze --explain CODE`
//! prints exactly what the source documents.

use crate::diagnostic::Severity;

pub mod blocking;
pub mod routing;
pub mod syntax;
pub mod transform;

/// Static metadata of one rule.
#[derive(Debug, PartialEq, Eq)]
pub struct RuleMeta {
    /// Stable code, e.g. `PR201`.
    pub code: &'static str,
    /// Kebab-case name, e.g. `blocking-sleep`.
    pub name: &'static str,
    /// Default severity of the rule's reasons.
    pub severity: Severity,
    /// The rule's documentation (its doc comment, Markdown).
    pub doc: &'static str,
}

/// Implemented by every rule struct.
pub trait Rule {
    /// The rule's metadata.
    const META: RuleMeta;
}

/// Declare a rule: a documented unit struct plus its [`RuleMeta`].
///
/// ```text
/// declare_rule! {
///     /// ## What it does
///     /// ...
///     pub struct BlockingSleep { code: "PR201", name: "blocking-sleep", severity: Warning }
/// }
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! declare_rule {
    ($(#[doc = $doc:literal])* $vis:vis struct $name:ident { code: $code:literal, name: $kebab:literal, severity: $sev:ident $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        $vis struct $name;

        impl $crate::rules::Rule for $name {
            const META: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
                code: $code,
                name: $kebab,
                severity: $crate::diagnostic::Severity::$sev,
                doc: concat!($($doc, "\n"),*),
            };
        }

        impl $name {
            /// This rule's metadata, with a `'static` lifetime for diagnostics.
            pub const fn meta() -> &'static $crate::rules::RuleMeta {
                &<$name as $crate::rules::Rule>::META
            }
        }
    };
}

/// Every rule the analyzer knows, ordered by code.
pub fn all() -> Vec<&'static RuleMeta> {
    let mut v: Vec<&'static RuleMeta> = syntax::RULES
        .iter()
        .chain(routing::RULES)
        .chain(blocking::RULES)
        .chain(transform::RULES)
        .copied()
        .collect();
    v.sort_by_key(|r| r.code);
    v
}

/// Look a rule up by code (`PR201`) or name (`blocking-sleep`), case-insensitively.
pub fn find(code_or_name: &str) -> Option<&'static RuleMeta> {
    let q = code_or_name.trim();
    all()
        .into_iter()
        .find(|r| r.code.eq_ignore_ascii_case(q) || r.name.eq_ignore_ascii_case(q))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_documented() {
        let rules = all();
        let mut codes: Vec<_> = rules.iter().map(|r| r.code).collect();
        codes.dedup();
        assert_eq!(codes.len(), rules.len(), "duplicate rule code");
        let mut names: Vec<_> = rules.iter().map(|r| r.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), rules.len(), "duplicate rule name");
        for r in rules {
            assert!(r.code.starts_with("PR") && r.code.len() == 5, "{}", r.code);
            for section in ["## What it does", "## Why is this bad?", "## Example"] {
                assert!(r.doc.contains(section), "{} lacks {section}", r.code);
            }
        }
    }

    #[test]
    fn find_by_code_or_name() {
        let r = find("pr100").expect("PR100 exists");
        assert_eq!(find(r.name), Some(r));
        assert_eq!(find("PR999"), None);
    }
}
