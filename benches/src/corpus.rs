//! A generated corpus of notebook-like cells (for throughput over megabytes without checking
//! megabytes into git), and percent-format (`# %%`) files of cells.

use pyrepl3_analyzer::Mode;

use crate::cells::cell_variant;

/// A small deterministic pseudo-random generator (xorshift64*), so the corpus is the same on
/// every machine and run.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Cells whose total size is at least `target_bytes`: mostly plain and blocking cells, some that
/// await at top level or define coroutines, a few with syntax errors; mostly 5–60 lines, a few
/// of 150–300. The same `seed` gives the same corpus.
pub fn generate(target_bytes: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed | 1);
    let mut cells = Vec::new();
    let mut total = 0;
    let mut offset = 0;
    while total < target_bytes {
        let mode = match rng.below(100) {
            0..45 => Mode::SimpleSync,
            45..70 => Mode::BlockingSync,
            70..85 => Mode::TopLevelAwait,
            85..95 => Mode::AsyncDef,
            _ => Mode::SyntaxError,
        };
        let lines = if rng.below(20) == 0 {
            150 + rng.below(151) as usize
        } else {
            5 + rng.below(56) as usize
        };
        let text = cell_variant(mode, lines, offset);
        offset += lines;
        total += text.len();
        cells.push(text);
    }
    cells
}

/// The marker that starts a cell in the percent format (Jupytext, VS Code, Spyder).
pub const CELL_MARKER: &str = "# %%";

/// A percent-format file holding `cells`, each after a `# %%` line.
pub fn percent_file<S: AsRef<str>>(cells: &[S]) -> String {
    let mut out = String::new();
    for c in cells {
        out.push_str(CELL_MARKER);
        out.push('\n');
        out.push_str(c.as_ref());
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// One cell of a percent-format file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PercentCell<'a> {
    /// The 1-based line of the file where the cell's text starts.
    pub first_line: u32,
    /// The cell's text (without its marker line).
    pub text: &'a str,
}

/// Splits a file at lines starting with `# %%`. The marker lines belong to no cell; text before
/// the first marker is a cell; cells that are only whitespace are left out.
///
/// `benches/python/predecessor.py` splits the same way, so both sides analyze the same cells.
pub fn split_percent(text: &str) -> Vec<PercentCell<'_>> {
    let mut cells = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1u32;
    let mut pos = 0usize;
    let mut line = 1u32;
    let mut push = |from: usize, to: usize, first_line: u32| {
        let t = &text[from..to];
        if !t.trim().is_empty() {
            cells.push(PercentCell {
                first_line,
                text: t,
            });
        }
    };
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
        if text[pos..end].starts_with(CELL_MARKER) {
            push(start, pos, start_line);
            start = end;
            start_line = line + 1;
        }
        pos = end;
        line += 1;
    }
    push(start, text.len(), start_line);
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_is_deterministic_and_large_enough() {
        let a = generate(200_000, 7);
        let b = generate(200_000, 7);
        assert_eq!(a, b);
        assert!(a.iter().map(String::len).sum::<usize>() >= 200_000);
        assert_ne!(a, generate(200_000, 8));
    }

    #[test]
    fn percent_round_trip() {
        let cells = generate(20_000, 3);
        let file = percent_file(&cells);
        let back: Vec<&str> = split_percent(&file).iter().map(|c| c.text).collect();
        assert_eq!(back, cells);
    }

    #[test]
    fn split_reports_first_lines_and_skips_blank_cells() {
        let file = "x = 1\n# %%\n\n# %% second\ny = 2\nz = 3\n# %%\nw = 4";
        let cells = split_percent(file);
        assert_eq!(
            cells,
            [
                PercentCell {
                    first_line: 1,
                    text: "x = 1\n"
                },
                PercentCell {
                    first_line: 5,
                    text: "y = 2\nz = 3\n"
                },
                PercentCell {
                    first_line: 8,
                    text: "w = 4"
                },
            ]
        );
    }
}
