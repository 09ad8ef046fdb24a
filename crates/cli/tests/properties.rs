//! Property tests: any bytes, split into cells, analyzed (with the transforms, and the wrapper or
//! not), rendered as text (with the transformed source) and JSON, never panic, and every position
//! lands inside its cell's lines.

use proptest::prelude::*;
use pyrepl3_cli::inputs::Kind;
use pyrepl3_cli::json;
use pyrepl3_cli::report::{ReportOptions, analyze_file, analyze_file_with};
use pyrepl3_cli::text::{TextRenderer, concise};

/// Fragments that exercise cell markers, line endings, multi-byte and wide characters, BOMs,
/// invalid UTF-8, tabs, IPython escapes and unbalanced brackets.
const FRAGMENTS: &[&[u8]] = &[
    b"# %%\n",
    b"# %% [markdown]\n",
    b"\n",
    b"\r\n",
    b"\r",
    b"\t",
    b" ",
    b"x = 1",
    b"(",
    b")",
    b"'",
    b"\"\"\"",
    b"await f()",
    b"async def g():\n    await h()\n",
    b"def f():\n    return 1\n",
    b"import time\ntime.sleep(1)\n",
    b"\xC3\xA9",
    b"\xE6\x97\xA5",
    b"\xEF\xBB\xBF",
    b"\xFF",
    b"\xC3",
    b"%time x\n",
    b"!ls\n",
    b"\x0c",
    b"\\\n",
    b"def w():\n    await h()\n",
    b"w()\n",
    b"k = lambda: await h()\n",
    b"print(lambda a: await h(a))\n",
    b"class C:\n    def __len__(self):\n        return await h()\n",
    b"locals()\n",
    b"    ",
];

fn source() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn python_files_never_panic_and_positions_stay_in_their_cell(bytes in source(), wrap in any::<bool>()) {
        let options = ReportOptions { transform: true, wrap };
        let report = analyze_file_with("p.py".into(), Kind::Python, &bytes, &options).unwrap();
        // A file of markdown cells only has no code cell; any other file has at least one.
        prop_assert!(
            !report.cells.is_empty() || bytes.windows(15).any(|w| w == b"# %% [markdown]")
        );
        let _ = TextRenderer::new().with_transformed_source(true).file(&report);
        let _ = concise(&report);
        let file = serde_json::to_value(json::File::with(&report, true)).unwrap();
        let mut previous_end = 0;
        for (cell, value) in report.cells.iter().zip(file["cells"].as_array().unwrap()) {
            let (first, last) = (cell.line as u64, cell.end_line() as u64);
            prop_assert!(first > previous_end, "cells do not overlap");
            prop_assert!(last >= first);
            previous_end = last;
            let mut places = Vec::new();
            for r in value["reasons"].as_array().unwrap() {
                places.push((r["line"].as_u64().unwrap(), r["column"].as_u64().unwrap()));
                places.push((r["end_line"].as_u64().unwrap(), r["end_column"].as_u64().unwrap()));
            }
            for t in value["transforms"].as_array().unwrap() {
                places.push((t["line"].as_u64().unwrap(), t["column"].as_u64().unwrap()));
                places.push((t["end_line"].as_u64().unwrap(), t["end_column"].as_u64().unwrap()));
            }
            // A cell is rewritten exactly when it has rewrites to show.
            prop_assert_eq!(
                value["transformed_source"].is_string(),
                !value["transforms"].as_array().unwrap().is_empty(),
                "{}", value
            );
            if let Some(e) = value["error"].as_object() {
                places.push((e["line"].as_u64().unwrap(), e["column"].as_u64().unwrap()));
            }
            for (line, column) in places {
                prop_assert!((first..=last).contains(&line), "line {line} outside {first}..={last}");
                prop_assert!(column >= 1);
            }
        }
    }

    #[test]
    fn notebooks_never_panic(bytes in source(), as_list in any::<bool>()) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let source = if as_list {
            serde_json::Value::from(text.split_inclusive('\n').collect::<Vec<_>>())
        } else {
            serde_json::Value::from(text)
        };
        let nb = serde_json::json!({"cells": [{"cell_type": "code", "source": source}]});
        let report = analyze_file("n.ipynb".into(), Kind::Notebook, nb.to_string().as_bytes()).unwrap();
        let _ = TextRenderer::new().with_transformed_source(true).file(&report);
        let _ = serde_json::to_string(&json::File::new(&report)).unwrap();
    }

    #[test]
    fn arbitrary_bytes_as_a_notebook_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = analyze_file("n.ipynb".into(), Kind::Notebook, &bytes);
    }
}
