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

/// Stack per byte of source that ruff's parser may need below its entry point: see [`for_parse`].
/// Release builds measured at most ~100 bytes per nesting level (one level per source byte at
/// most) for the recursive drop of a discarded subtree; debug and sanitizer builds take more.
const PARSE_STACK_PER_BYTE: usize = if cfg!(debug_assertions) {
    8 * 1024
} else {
    128
};
/// The most stack [`for_parse`] asks for: sources past `PARSE_STACK_CAP / PARSE_STACK_PER_BYTE`
/// bytes (2 MiB in release builds, 32 KiB in debug builds) get this much.
const PARSE_STACK_CAP: usize = 256 * 1024 * 1024;

/// Run a parse of `source_len` bytes (`f`) with room on the stack for any tree that source can
/// make.
///
/// Ruff's parser grows its own stack segments as it recurses, but when it throws away a subtree
/// (a keyword-argument name that is not a name, a speculative parse of parenthesized `with`
/// items it redoes), it drops that subtree recursively wherever it is, without growing. Fuzzing
/// found such drops overflowing the stack: thirty thousand nested brackets in `async with (…`
/// dropped at the statement's level, and a 4,829-level unary chain used as a keyword name inside
/// nested calls. A tree is at most as deep as its source is long, so the parse starts with room
/// for dropping a tree that deep: a drop at the statement's level always has it, and so does one
/// deeper in, unless the nesting above it was deep enough for the parser to move to its own
/// segments (it does when less than 100 KiB is left; those drops keep at least that, about 1,000
/// levels in release builds). On the main thread and on large-stack threads this costs nothing
/// for cells up to tens of kilobytes; on smaller stacks a long cell gets a fresh segment.
#[inline]
pub(crate) fn for_parse<R>(source_len: usize, f: impl FnOnce() -> R) -> R {
    let needed = source_len
        .saturating_mul(PARSE_STACK_PER_BYTE)
        .min(PARSE_STACK_CAP)
        .saturating_add(RED_ZONE);
    stacker::maybe_grow(needed, needed.saturating_add(SEGMENT), f)
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
