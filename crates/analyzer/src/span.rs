//! Source spans and their conversion to CPython's and to human positions.

/// A half-open byte range `[start, end)` into the source of one cell.
///
/// Spans are stored as UTF-8 byte offsets; use [`LineIndex`] to turn them into
/// CPython's convention (1-based lines, 0-based UTF-8 byte columns) or into the
/// 1-based character columns a person reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from `start` to `end` (byte offsets).
    pub const fn new(start: u32, end: u32) -> Self {
        Self { start, end }
    }

    /// An empty span at `offset`.
    pub const fn empty(offset: u32) -> Self {
        Self {
            start: offset,
            end: offset,
        }
    }

    /// Length in bytes.
    pub const fn len(&self) -> u32 {
        self.end.saturating_sub(self.start)
    }

    /// `true` when the span covers no bytes.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<ruff_text_size::TextRange> for Span {
    fn from(r: ruff_text_size::TextRange) -> Self {
        Span::new(r.start().to_u32(), r.end().to_u32())
    }
}

/// A position in CPython's convention: 1-based line, 0-based UTF-8 byte column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CpyPosition {
    /// 1-based line number (`lineno`).
    pub line: u32,
    /// 0-based UTF-8 byte offset within the line (`col_offset`).
    pub col: u32,
}

/// A position as a person counts: 1-based line and 1-based character column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HumanPosition {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column counted in Unicode scalar values.
    pub column: u32,
}

/// Line starts of one source text, for converting byte offsets to positions.
///
/// Lines end at `\n`, `\r\n` or a lone `\r`, as in CPython's tokenizer.
///
/// ```
/// use pyrepl3_analyzer::{LineIndex, Span};
/// let src = "x = 1\ny = 'é' + z\n";
/// let idx = LineIndex::new(src);
/// let z = src.find('z').unwrap() as u32;
/// assert_eq!(idx.cpython(z).line, 2);
/// assert_eq!(idx.cpython(z).col, 11); // bytes: é is two bytes
/// assert_eq!(idx.human(src, z).column, 11); // characters, 1-based
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIndex {
    starts: Vec<u32>,
}

impl LineIndex {
    /// Index the line starts of `source`.
    pub fn new(source: &str) -> Self {
        let bytes = source.as_bytes();
        let mut starts = Vec::with_capacity(bytes.len() / 32 + 1);
        starts.push(0);
        // Cells rarely contain `\r`: then one needle suffices, which memchr finds with less
        // work per line than two.
        if memchr::memchr(b'\r', bytes).is_none() {
            starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i as u32 + 1));
            return Self { starts };
        }
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            // `\r\n` ends its line at the `\n`, which the iterator yields next.
            if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                continue;
            }
            starts.push(i as u32 + 1);
        }
        Self { starts }
    }

    /// Number of lines (a trailing newline starts a last, empty line).
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// Byte offset where 1-based `line` starts, if it exists.
    pub fn line_start(&self, line: u32) -> Option<u32> {
        self.starts.get((line as usize).checked_sub(1)?).copied()
    }

    fn line_of(&self, offset: u32) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// CPython's position of a byte offset.
    pub fn cpython(&self, offset: u32) -> CpyPosition {
        let line = self.line_of(offset);
        CpyPosition {
            line: line as u32 + 1,
            col: offset - self.starts[line],
        }
    }

    /// A person's position of a byte offset in `source` (1-based character column).
    ///
    /// Offsets inside a multi-byte character count as that character.
    pub fn human(&self, source: &str, offset: u32) -> HumanPosition {
        let line = self.line_of(offset);
        let start = self.starts[line] as usize;
        let end = (offset as usize).min(source.len());
        let chars = source
            .get(start..end)
            .map(|s| s.chars().count())
            .unwrap_or_else(|| {
                // `offset` falls inside a character: count whole characters before it.
                source.as_bytes()[start..end]
                    .iter()
                    .filter(|b| (**b as i8) >= -0x40)
                    .count()
            });
        HumanPosition {
            line: line as u32 + 1,
            column: chars as u32 + 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_lone_cr_end_lines() {
        let src = "a\r\nb\rc\nd";
        let idx = LineIndex::new(src);
        assert_eq!(idx.line_count(), 4);
        assert_eq!(idx.cpython(src.find('d').unwrap() as u32).line, 4);
        assert_eq!(idx.cpython(src.find('c').unwrap() as u32).line, 3);
    }

    #[test]
    fn line_starts_agree_with_and_without_cr() {
        // A naive reference: a line ends at `\n`, at `\r` not followed by `\n`.
        fn naive(src: &str) -> Vec<u32> {
            let b = src.as_bytes();
            let mut starts = vec![0];
            for (i, &c) in b.iter().enumerate() {
                if c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')) {
                    starts.push(i as u32 + 1);
                }
            }
            starts
        }
        for src in [
            "",
            "\n",
            "a",
            "a\nb\n",
            "x = 1\n\n\ny = 2",
            "a\r\nb\n",
            "a\rb",
            "\r\n\r",
        ] {
            assert_eq!(LineIndex::new(src).starts, naive(src), "{src:?}");
        }
    }

    #[test]
    fn human_columns_count_characters() {
        let src = "ééé = 1";
        let idx = LineIndex::new(src);
        let eq = src.find('=').unwrap() as u32;
        assert_eq!(idx.cpython(eq).col, 7);
        assert_eq!(idx.human(src, eq).column, 5);
        // An offset inside a multi-byte character does not panic.
        assert_eq!(idx.human(src, 1).column, 2);
    }
}
