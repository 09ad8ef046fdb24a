//! Stack-depth safety for recursive walks over the syntax tree.
//!
//! Every recursive walk in the analyzer calls [`guard`] at each level, so a deep tree grows the
//! stack on the heap instead of overflowing it, whatever thread the embedder calls us on.

/// When less than this much stack is left, the next level runs on a fresh segment.
const RED_ZONE: usize = 128 * 1024;
/// Size of each fresh stack segment.
const SEGMENT: usize = 2 * 1024 * 1024;

/// Run `f`, first moving to a fresh stack segment if the current one is nearly used up.
#[inline]
pub(crate) fn guard<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, SEGMENT, f)
}

/// Drop `value` with enough stack for a tree `depth` levels deep.
///
/// Dropping a syntax tree recurses once per level; for deep (rejected) trees we drop on a stack
/// segment sized for the depth so that dropping cannot overflow either.
pub(crate) fn drop_deep<T>(value: T, depth: usize) {
    if depth < 512 {
        drop(value);
    } else {
        stacker::grow(SEGMENT + depth.saturating_mul(1024), move || drop(value));
    }
}
