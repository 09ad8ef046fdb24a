//! Reading the code cells of a Jupyter notebook (`.ipynb`, nbformat 4).
//!
//! Only what the analysis needs is read: each cell's `cell_type` and `source` (a string or a
//! list of strings, joined as Jupyter joins them). Anything malformed is a [`NotebookError`] with
//! one clear sentence, never a panic.

use serde_json::Value;

/// One code cell of a notebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookCell {
    /// Position of the cell in the notebook's `cells` list (0-based, counting every cell type).
    pub position: usize,
    /// The cell's source.
    pub source: String,
}

/// Why a file is not a notebook we can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookError(pub String);

impl std::fmt::Display for NotebookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a valid notebook: {}", self.0)
    }
}

impl std::error::Error for NotebookError {}

fn err<T>(msg: impl Into<String>) -> Result<T, NotebookError> {
    Err(NotebookError(msg.into()))
}

/// The code cells of the notebook in `bytes`, in order.
///
/// ```
/// use pyrepl3_cli::notebook::code_cells;
/// let nb = br##"{"nbformat": 4, "cells": [
///   {"cell_type": "markdown", "source": "# Title"},
///   {"cell_type": "code", "source": ["%time x = 1\n", "y = 2"]}]}"##;
/// let cells = code_cells(nb).unwrap();
/// assert_eq!(cells.len(), 1);
/// assert_eq!(cells[0].position, 1);
/// assert_eq!(cells[0].source, "%time x = 1\ny = 2");
/// ```
pub fn code_cells(bytes: &[u8]) -> Result<Vec<NotebookCell>, NotebookError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let doc: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return err(format!("invalid JSON: {e}")),
    };
    let Some(top) = doc.as_object() else {
        return err("the top level is not a JSON object");
    };
    if top.contains_key("worksheets") {
        return err(
            "nbformat 3 is not supported; convert it with `jupyter nbconvert --to notebook --nbformat 4`",
        );
    }
    let cells = match top.get("cells") {
        Some(Value::Array(cells)) => cells,
        Some(_) => return err("`cells` is not a list"),
        None => return err("no `cells` list"),
    };
    let mut out = Vec::new();
    for (position, cell) in cells.iter().enumerate() {
        let Some(cell) = cell.as_object() else {
            return err(format!("cell {position} is not a JSON object"));
        };
        match cell.get("cell_type").and_then(Value::as_str) {
            Some("code") => {}
            Some(_) => continue,
            None => return err(format!("cell {position} has no `cell_type`")),
        }
        let source = match cell.get("source") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(parts)) => {
                let mut s = String::new();
                for part in parts {
                    match part.as_str() {
                        Some(p) => s.push_str(p),
                        None => {
                            return err(format!(
                                "cell {position}: `source` must be a string or a list of strings"
                            ));
                        }
                    }
                }
                s
            }
            Some(_) => {
                return err(format!(
                    "cell {position}: `source` must be a string or a list of strings"
                ));
            }
            None => return err(format!("cell {position} has no `source`")),
        };
        out.push(NotebookCell { position, source });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_notebooks_are_errors() {
        for (nb, needle) in [
            (&b"{"[..], "invalid JSON"),
            (b"[]", "not a JSON object"),
            (b"{}", "no `cells`"),
            (br#"{"cells": 3}"#, "not a list"),
            (br#"{"cells": [1]}"#, "cell 0 is not"),
            (br#"{"cells": [{"source": ""}]}"#, "no `cell_type`"),
            (br#"{"cells": [{"cell_type": "code"}]}"#, "no `source`"),
            (
                br#"{"cells": [{"cell_type": "code", "source": [1]}]}"#,
                "list of strings",
            ),
            (
                br#"{"cells": [{"cell_type": "code", "source": 1}]}"#,
                "list of strings",
            ),
            (br#"{"worksheets": []}"#, "nbformat 3"),
        ] {
            let e = code_cells(nb).unwrap_err();
            assert!(e.to_string().contains(needle), "{e} lacks {needle}");
            assert!(!e.to_string().contains('\n'), "one line: {e}");
        }
    }

    #[test]
    fn string_and_list_sources() {
        let nb = br#"{"cells": [{"cell_type": "code", "source": "a\nb"},
                      {"cell_type": "raw", "source": "zzz"},
                      {"cell_type": "code", "source": ["c\n", "d\n"]}]}"#;
        let cells = code_cells(nb).unwrap();
        assert_eq!(
            cells,
            [
                NotebookCell {
                    position: 0,
                    source: "a\nb".into()
                },
                NotebookCell {
                    position: 2,
                    source: "c\nd\n".into()
                }
            ]
        );
    }
}
