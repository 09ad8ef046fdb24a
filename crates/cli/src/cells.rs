//! Splitting a `.py` file into cells at `# %%` lines (the percent format).
//!
//! The percent format is the one Jupytext, VS Code and Spyder use: a line that starts with
//! `# %%` starts a new cell, and belongs to the cell it starts. Text before the first marker is a
//! cell of its own unless it is only whitespace; a file with no marker is one cell. Cells marked
//! `[markdown]`, `[md]` or `[raw]` (`# %% [markdown]`) are not code and are skipped. Splitting is
//! textual, as in those editors: a marker inside a triple-quoted string still splits.
//!
//! Lines end at `\n`, `\r\n` or a lone `\r`, as in CPython's tokenizer, so line numbers agree with
//! the analyzer's.

/// One code cell of a percent-format file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PercentCell {
    /// 1-based line of the file where the cell starts.
    pub line: u32,
    /// Byte range of the cell in the file.
    pub range: std::ops::Range<usize>,
}

/// The marker that starts a cell.
pub const MARKER: &[u8] = b"# %%";

/// Byte ranges of the lines of `bytes` (each range includes its line ending).
fn lines(bytes: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let mut i = start;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    i += 1;
                    break;
                }
                b'\r' => {
                    i += if bytes.get(i + 1) == Some(&b'\n') {
                        2
                    } else {
                        1
                    };
                    break;
                }
                _ => i += 1,
            }
        }
        let range = start..i;
        start = i;
        Some(range)
    })
}

/// `true` for a marker line whose cell is not code (`# %% [markdown]`, `[md]`, `[raw]`).
fn is_non_code_marker(line: &[u8]) -> bool {
    let rest = &line[MARKER.len()..];
    [&b"[markdown]"[..], b"[md]", b"[raw]"]
        .iter()
        .any(|tag| rest.windows(tag.len()).any(|w| w == *tag))
}

/// Split the text of a file into its code cells, in order.
///
/// ```
/// use pyrepl3_cli::cells::split_percent;
/// let src = b"import time\n# %% second\nx = 1\n# %% [markdown]\n# text\n# %%\ny = 2\n";
/// let cells = split_percent(src);
/// assert_eq!(cells.iter().map(|c| c.line).collect::<Vec<_>>(), [1, 2, 6]);
/// assert_eq!(&src[cells[1].range.clone()], b"# %% second\nx = 1\n");
/// ```
pub fn split_percent(bytes: &[u8]) -> Vec<PercentCell> {
    // (line number, byte offset, is code) of every marker.
    let mut markers = Vec::new();
    for (n, range) in lines(bytes).enumerate() {
        let line = &bytes[range.clone()];
        if line.starts_with(MARKER) {
            markers.push((n as u32 + 1, range.start, !is_non_code_marker(line)));
        }
    }
    let Some(&(_, first_offset, _)) = markers.first() else {
        return vec![PercentCell {
            line: 1,
            range: 0..bytes.len(),
        }];
    };
    let mut cells = Vec::with_capacity(markers.len() + 1);
    if bytes[..first_offset]
        .iter()
        .any(|b| !b.is_ascii_whitespace())
    {
        cells.push(PercentCell {
            line: 1,
            range: 0..first_offset,
        });
    }
    for (i, &(line, start, code)) in markers.iter().enumerate() {
        let end = markers.get(i + 1).map_or(bytes.len(), |m| m.1);
        if code {
            cells.push(PercentCell {
                line,
                range: start..end,
            });
        }
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(src: &str) -> Vec<(u32, &str)> {
        split_percent(src.as_bytes())
            .into_iter()
            .map(|c| (c.line, &src[c.range]))
            .collect()
    }

    #[test]
    fn no_marker_is_one_cell() {
        assert_eq!(split("x = 1\ny = 2\n"), [(1, "x = 1\ny = 2\n")]);
        assert_eq!(split(""), [(1, "")]);
    }

    #[test]
    fn marker_line_belongs_to_the_cell_it_starts() {
        assert_eq!(
            split("# %%\na\n# %% two\nb\n"),
            [(1, "# %%\na\n"), (3, "# %% two\nb\n")]
        );
    }

    #[test]
    fn text_before_the_first_marker_is_a_cell_unless_blank() {
        assert_eq!(split("\n  \n# %%\na"), [(3, "# %%\na")]);
        assert_eq!(
            split("import os\n# %%\na"),
            [(1, "import os\n"), (2, "# %%\na")]
        );
    }

    #[test]
    fn only_lines_starting_with_the_marker_split() {
        assert_eq!(
            split("x = '# %%'\n  # %% indented\n#%% no space\n"),
            [(1, "x = '# %%'\n  # %% indented\n#%% no space\n")]
        );
    }

    #[test]
    fn markdown_and_raw_cells_are_skipped() {
        assert_eq!(
            split("# %% [markdown]\n# Title\n# %%\nx\n# %% [raw]\nraw\n# %% Plot [md]\n"),
            [(3, "# %%\nx\n")]
        );
    }

    #[test]
    fn crlf_and_lone_cr_end_lines() {
        assert_eq!(
            split("a\r\n# %%\r\nb\r# %%\rc"),
            [(1, "a\r\n"), (2, "# %%\r\nb\r"), (4, "# %%\rc")]
        );
    }
}
