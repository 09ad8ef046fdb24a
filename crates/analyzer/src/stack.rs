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

/// Clone a piece of a syntax tree at most `depth` levels deep, with enough stack for it.
///
/// The derived `Clone` of ruff's tree recurses once per level without a guard; a cell of a
/// thousand nested lambdas (valid Python) overflowed the stack of a test thread when the
/// blocking walker copied a lambda (a fuzz finding). Shallow trees clone in place; deeper ones
/// first get a stack segment sized for their depth.
pub(crate) fn clone_deep<T: Clone>(value: &T, depth: usize) -> T {
    // A level of derived `Clone` takes well under 4 KiB of stack, even in debug builds.
    let needed = depth.saturating_mul(4096).saturating_add(64 * 1024);
    stacker::maybe_grow(needed, needed.saturating_add(SEGMENT), || value.clone())
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
