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

/// How far the stack may move from a [`Mark`] before the next full check.
const MARK_SPAN: usize = 16 * 1024;

/// A place on the current stack segment where a full check found at least [`RED_ZONE`] left,
/// so that a hot recursive walk can skip the check while it stays within [`MARK_SPAN`] of it
/// (there is then still at least `RED_ZONE - MARK_SPAN` left).
///
/// Invariant kept by [`Mark::guard`]: the mark is unset or lies on the segment that is running;
/// it is cleared on the way into and out of a fresh segment.
#[derive(Debug, Default)]
pub(crate) struct Mark(usize);

/// An address in the caller's stack frame.
#[inline(always)]
fn position() -> usize {
    let here = 0u8;
    std::ptr::from_ref(std::hint::black_box(&here)) as usize
}

impl Mark {
    /// `true` when the stack is within [`MARK_SPAN`] of the mark.
    #[inline(always)]
    pub(crate) fn near(&self) -> bool {
        self.0 != 0 && position().abs_diff(self.0) < MARK_SPAN
    }

    /// Like [`guard`], for a walk that owns this mark: run `f(walker)` here when the stack
    /// is near the mark or has room (then marking this place), else on a fresh segment.
    /// `get` gives the mark inside the walker.
    #[inline(always)]
    pub(crate) fn guard<W, R>(
        walker: &mut W,
        get: impl Fn(&mut W) -> &mut Mark,
        f: impl FnOnce(&mut W) -> R,
    ) -> R {
        if get(walker).near() {
            return f(walker);
        }
        if stacker::remaining_stack().is_some_and(|left| left >= RED_ZONE) {
            get(walker).0 = position();
            return f(walker);
        }
        get(walker).0 = 0;
        let r = stacker::grow(SEGMENT, || f(walker));
        get(walker).0 = 0;
        r
    }
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
