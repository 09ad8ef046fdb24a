//! Text edits on a cell's source, and the source map that takes transformed positions back to
//! the user's.
//!
//! Transforms never re-print user code they did not change: they describe insertions and
//! replacements on the original text. A replacement may embed slices of the original text
//! ([`Piece::Slice`]); edits that fall inside such a slice are applied when the slice is
//! rendered, so rewrites compose (an `await` inserted inside a lambda body that moves into a
//! hoisted helper moves with it). Every byte of the output is either copied from the user's
//! source (and maps back to exactly that byte) or synthesized (and maps to the span of the
//! construct it replaces), which is what [`SourceMap`] records.

use crate::span::Span;

/// One part of an edit's replacement text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Synthesized text.
    Text(String),
    /// A slice `[start, end)` of the original source, with the edits inside it applied.
    Slice(u32, u32),
}

/// Order of edits that start at the same offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Order {
    /// Closing text of a construct that ends here (`)` of an `(await ...)`).
    Close = 0,
    /// A whole statement inserted before the code at this offset (a hoisted helper).
    Statement = 1,
    /// Opening text of a construct that starts here (`await `, `async `).
    Open = 2,
    /// A replacement of original text.
    Replace = 3,
}

/// Replace `[start, end)` of the original with `pieces` (an insertion when `start == end`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edit {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) order: Order,
    pub(crate) pieces: Vec<Piece>,
    /// The user's construct this text stands for (synthesized text maps back to it).
    pub(crate) anchor: Span,
    /// Apply only to the text in place, never inside a slice another edit moves elsewhere
    /// (`; del helper` after a statement that ends where a moved lambda body ends).
    pub(crate) in_place_only: bool,
}

impl Edit {
    /// Insert `text` at `at`.
    pub(crate) fn insert(at: u32, order: Order, text: impl Into<String>, anchor: Span) -> Self {
        Self {
            start: at,
            end: at,
            order,
            pieces: vec![Piece::Text(text.into())],
            anchor,
            in_place_only: false,
        }
    }

    /// Replace `[start, end)` with `pieces`.
    pub(crate) fn replace(start: u32, end: u32, pieces: Vec<Piece>, anchor: Span) -> Self {
        Self {
            start,
            end,
            order: Order::Replace,
            pieces,
            anchor,
            in_place_only: false,
        }
    }
}

/// Where a run of output bytes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Copied from the input, starting at this input offset.
    Copied(u32),
    /// Synthesized for the input construct at this span.
    Synthesized(Span),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    out_start: u32,
    out_end: u32,
    origin: Origin,
}

/// One stage of rewriting: output offsets back to input offsets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Stage {
    segments: Vec<Segment>,
}

impl Stage {
    fn map(&self, offset: u32, end_bias: bool) -> u32 {
        let segs = &self.segments;
        if segs.is_empty() {
            return offset;
        }
        // First segment whose end is past the offset (or reaches it, with end bias).
        let idx = segs.partition_point(|s| {
            if end_bias {
                s.out_end < offset
            } else {
                s.out_end <= offset
            }
        });
        let seg = match segs.get(idx) {
            Some(s) if s.out_start <= offset || idx == 0 => s,
            Some(_) => &segs[idx - 1],
            None => &segs[segs.len() - 1],
        };
        match seg.origin {
            Origin::Copied(at) => at + offset.clamp(seg.out_start, seg.out_end) - seg.out_start,
            Origin::Synthesized(span) => {
                if end_bias {
                    span.end
                } else {
                    span.start
                }
            }
        }
    }
}

/// Maps offsets in transformed source back to offsets in the user's cell.
///
/// Copied text maps to exactly where it came from; synthesized text (`await `, a hoisted helper,
/// the wrapper's header) maps to the span of the user's construct it stands for: the start of
/// that span for a start position, its end for an end position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMap {
    /// Applied in reverse: the last stage maps the final output to the previous stage's output.
    stages: Vec<Stage>,
}

impl SourceMap {
    /// The user's offset of the start of a construct at `offset` in the transformed source.
    pub fn original_start(&self, offset: u32) -> u32 {
        self.stages
            .iter()
            .rev()
            .fold(offset, |o, stage| stage.map(o, false))
    }

    /// The user's offset of the end of a construct ending at `offset` in the transformed source.
    pub fn original_end(&self, offset: u32) -> u32 {
        self.stages
            .iter()
            .rev()
            .fold(offset, |o, stage| stage.map(o, true))
    }

    /// The user's span of a span in the transformed source.
    pub fn original_span(&self, span: Span) -> Span {
        let start = self.original_start(span.start);
        let end = self.original_end(span.end).max(start);
        Span::new(start, end)
    }

    /// `true` when no stage changed anything (the identity map).
    pub fn is_identity(&self) -> bool {
        self.stages.is_empty()
    }

    pub(crate) fn push(&mut self, other: SourceMap) {
        self.stages.extend(other.stages);
    }
}

/// Apply `edits` to `source`: the new text and the map back to `source`.
pub(crate) fn apply(source: &str, mut edits: Vec<Edit>) -> (String, SourceMap) {
    // Stable: edits created earlier come first among equals.
    edits.sort_by_key(|e| (e.start, e.order, std::cmp::Reverse(e.end)));
    let mut out = Output::default();
    let mut active = vec![false; edits.len()];
    render(
        source,
        &edits,
        &mut active,
        0,
        source.len() as u32,
        0,
        &mut out,
    );
    let text = out.text;
    let map = SourceMap {
        stages: vec![Stage {
            segments: out.segments,
        }],
    };
    (text, map)
}

#[derive(Default)]
struct Output {
    text: String,
    segments: Vec<Segment>,
}

impl Output {
    fn push(&mut self, s: &str, origin: Origin) {
        if s.is_empty() {
            return;
        }
        let start = self.text.len() as u32;
        self.text.push_str(s);
        let end = self.text.len() as u32;
        if let Some(last) = self.segments.last_mut() {
            let contiguous = match (last.origin, origin) {
                (Origin::Copied(a), Origin::Copied(b)) => a + (last.out_end - last.out_start) == b,
                (Origin::Synthesized(a), Origin::Synthesized(b)) => a == b,
                _ => false,
            };
            if contiguous {
                last.out_end = end;
                return;
            }
        }
        self.segments.push(Segment {
            out_start: start,
            out_end: end,
            origin,
        });
    }
}

fn render(
    source: &str,
    edits: &[Edit],
    active: &mut [bool],
    start: u32,
    end: u32,
    depth: usize,
    out: &mut Output,
) {
    crate::stack::guard(|| {
        let mut cursor = start;
        for (i, e) in edits.iter().enumerate() {
            if active[i]
                || e.start < cursor
                || e.end > end
                || e.start < start
                || (e.in_place_only && depth > 0)
            {
                continue;
            }
            if e.start > end {
                break;
            }
            copy(source, cursor, e.start, out);
            active[i] = true;
            for piece in &e.pieces {
                match piece {
                    Piece::Text(t) => out.push(t, Origin::Synthesized(e.anchor)),
                    Piece::Slice(a, b) => render(source, edits, active, *a, *b, depth + 1, out),
                }
            }
            active[i] = false;
            cursor = e.end;
        }
        copy(source, cursor, end, out);
    });
}

fn copy(source: &str, from: u32, to: u32, out: &mut Output) {
    if to > from
        && let Some(s) = source.get(from as usize..to as usize)
    {
        out.push(s, Origin::Copied(from));
    }
}

/// Number of line breaks (`\n`, `\r\n`, lone `\r`) in `text`.
pub(crate) fn line_breaks(text: &str) -> usize {
    let b = text.as_bytes();
    let mut n = 0;
    for (i, c) in b.iter().enumerate() {
        match c {
            b'\n' => n += 1,
            b'\r' if b.get(i + 1) != Some(&b'\n') => n += 1,
            _ => {}
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insertions_and_nested_slices_compose() {
        let src = "x = f(y)\n";
        // Move `f(y)` into a replacement and insert `await ` inside it.
        let edits = vec![
            Edit::replace(
                0,
                8,
                vec![
                    Piece::Text("x = (".into()),
                    Piece::Slice(4, 8),
                    Piece::Text(")".into()),
                ],
                Span::new(0, 8),
            ),
            Edit::insert(4, Order::Open, "await ", Span::new(4, 8)),
        ];
        let (text, map) = apply(src, edits);
        assert_eq!(text, "x = (await f(y))\n");
        // `f` in the output maps back to `f` in the input.
        assert_eq!(map.original_start(11), 4);
        // Synthesized `await` maps to the call it stands for.
        assert_eq!(map.original_start(5), 4);
        assert_eq!(map.original_end(15), 8);
        assert_eq!(map.original_start(0), 0);
    }

    #[test]
    fn counts_line_breaks() {
        assert_eq!(line_breaks("a\r\nb\rc\n"), 3);
    }
}
