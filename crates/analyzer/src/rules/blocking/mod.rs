//! Blocking-I/O rules: one family of blocking calls per rule.

use super::RuleMeta;

/// The rules of this group.
pub static RULES: &[&RuleMeta] = &[];
