//! Notebook-like cells of every mode at a chosen number of lines (5, 30 and 300 for the benches).
//!
//! The 5-line cells are written by hand. Longer cells are assembled from blocks of realistic
//! notebook code (imports and aliases, helpers, loops, comprehensions, f-strings, a small class,
//! pandas-style chains), one block that makes the cell's mode what it is, and one-line
//! statements that pad the cell to exactly the requested number of lines.

use pyrepl3_analyzer::Mode;

/// The cell sizes (in lines) the criterion benches measure.
pub const SIZES: [usize; 3] = [5, 30, 300];

/// A cell of `mode` with exactly `lines` lines (5 at least), ending in a newline.
///
/// `cell(mode, lines)` is deterministic. Block names are numbered so a cell never repeats a
/// definition.
pub fn cell(mode: Mode, lines: usize) -> String {
    cell_variant(mode, lines, 0)
}

/// Like [`cell`], with names numbered from `offset` and the blocks rotated by it, so a corpus of
/// cells is not the same cell repeated.
pub fn cell_variant(mode: Mode, lines: usize, offset: usize) -> String {
    let mut out: Vec<String> = Vec::with_capacity(lines.max(5));
    let mut k = offset;
    if lines < 20 {
        // Short cells: the hand-written 5-line cell, padded with one-liners.
        push_block(&mut out, small_cell(mode), k);
        fill(&mut out, lines, &mut k, false);
    } else {
        push_block(&mut out, HEADER, k);
        let trigger = trigger_block(mode);
        let tail = if mode == Mode::SyntaxError {
            SYNTAX_ERROR_TAIL
        } else {
            ""
        };
        let budget = lines - count_lines(tail);
        // The block that decides the mode sits in the middle of the cell.
        let trigger_at = ((budget - count_lines(trigger)) / 2).max(out.len());
        fill(&mut out, trigger_at, &mut k, true);
        push_block(&mut out, trigger, k);
        fill(&mut out, budget, &mut k, true);
        push_block(&mut out, tail, k);
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// Appends filler blocks (when `blocks`) or one-liners until `out` has `target` lines.
fn fill(out: &mut Vec<String>, target: usize, k: &mut usize, blocks: bool) {
    while out.len() < target {
        let block = FILLERS[*k % FILLERS.len()];
        if blocks && out.len() + count_lines(block) <= target {
            push_block(out, block, *k);
        } else {
            push_block(out, ONE_LINERS[*k % ONE_LINERS.len()], *k);
        }
        *k += 1;
    }
}

fn count_lines(block: &str) -> usize {
    if block.is_empty() {
        0
    } else {
        block.lines().count()
    }
}

fn push_block(out: &mut Vec<String>, block: &str, k: usize) {
    if block.is_empty() {
        return;
    }
    let n = k.to_string();
    out.extend(block.lines().map(|l| l.replace("{i}", &n)));
}

fn small_cell(mode: Mode) -> &'static str {
    match mode {
        Mode::SimpleSync => {
            "import math
values = [1.5, 2.25, 3.0]
scaled = [math.sqrt(v) * 10 for v in values]
summary = {\"n\": len(scaled), \"max\": max(scaled)}
print(f\"{summary['n']} values, max {summary['max']:.2f}\")
"
        }
        Mode::BlockingSync => {
            "import requests as rq
from time import sleep as nap
resp = rq.get(\"https://example.org/api/items\", timeout=5)
nap(0.5)
items = [it[\"id\"] for it in resp.json()]
"
        }
        Mode::TopLevelAwait => {
            "import asyncio
async def tick(i):
    await asyncio.sleep(0.01)
    return i * 2
results = await asyncio.gather(*(tick(i) for i in range(10)))
"
        }
        Mode::AsyncDef => {
            "import asyncio
async def fetch_all(client, urls):
    tasks = [client.get(u) for u in urls]
    responses = await asyncio.gather(*tasks)
    return {str(r.url): r.status_code for r in responses}
"
        }
        Mode::SyntaxError => {
            "import math
values = [1.5, 2.25, 3.0]
for v in values
    print(f\"{v}: {math.sqrt(v):.3f}\")
total = sum(values)
"
        }
    }
}

/// Imports and the data the blocks work on.
const HEADER: &str = r#"import json
import math
import numpy as np
import pandas as pd
from collections import Counter, defaultdict
records = [{"id": n, "category": "abc"[n % 3], "amount": n * 1.5} for n in range(100)]"#;

fn trigger_block(mode: Mode) -> &'static str {
    match mode {
        Mode::SimpleSync => "",
        Mode::SyntaxError => "",
        Mode::BlockingSync => {
            r#"import requests as rq
from time import sleep as nap
session_{i} = rq.Session()
resp_{i} = session_{i}.get("https://example.org/api/items", params={"page": {i}}, timeout=5)
with open(f"/tmp/items_{i}.json", "w") as fh:
    json.dump(resp_{i}.json(), fh)
nap(0.1)"#
        }
        Mode::TopLevelAwait => {
            r#"import asyncio
async def tick_{i}(n):
    await asyncio.sleep(0)
    return n * 2
doubled_{i} = await asyncio.gather(*(tick_{i}(n) for n in range(10)))
print(f"doubled: {sum(doubled_{i})}")"#
        }
        Mode::AsyncDef => {
            r#"import asyncio
async def fetch_{i}(client, urls):
    async with asyncio.timeout(10):
        responses = await asyncio.gather(*(client.get(u) for u in urls))
    return {str(r.url): r.status_code for r in responses}"#
        }
    }
}

/// A plain `for` header without its colon, then its body: CPython says "expected ':'".
const SYNTAX_ERROR_TAIL: &str = r#"for v in records
    print(f"{v['id']}: {v['amount']:.2f}")"#;

/// Realistic module-level notebook code, none of which awaits or blocks.
const FILLERS: [&str; 6] = [
    r#"def clean_row_{i}(row, defaults=None):
    defaults = defaults or {}
    out = {k.strip().lower(): v for k, v in row.items() if v is not None}
    for key, value in defaults.items():
        out.setdefault(key, value)
    if "name" in out:
        out["name"] = f"{out['name'].title()} ({len(out)} fields)"
    return out"#,
    r#"totals_{i} = defaultdict(float)
for idx, rec in enumerate(records):
    key = rec.get("category", "other")
    totals_{i}[key] += rec.get("amount", 0) * (1 + idx % 3)
top_{i} = sorted(totals_{i}.items(), key=lambda kv: kv[1], reverse=True)[:5]
print(f"block {i}: {len(totals_{i})} categories, top={top_{i}[0] if top_{i} else None}")"#,
    r#"class Stats{i}:
    """Running mean of the values pushed so far."""
    def __init__(self):
        self.n = 0
        self.mean = 0.0
    def push(self, x):
        self.n += 1
        self.mean += (x - self.mean) / self.n
        return self
stats_{i} = Stats{i}()"#,
    r#"matrix_{i} = [[(r * c) % 7 for c in range(8)] for r in range(8)]
diag_{i} = {r: row[r] for r, row in enumerate(matrix_{i}) if row[r]}
uniq_{i} = sorted({v for row in matrix_{i} for v in row})
label_{i} = ", ".join(f"{k}->{v:02d}" for k, v in diag_{i}.items())"#,
    r#"try:
    ratio_{i} = sum(r["amount"] for r in records) / len(records)
except ZeroDivisionError as exc:
    ratio_{i} = float("nan")
    print(f"no records: {exc!r}")
else:
    ratio_{i} = round(ratio_{i}, 3)"#,
    r#"frame_{i} = pd.DataFrame(records)
frame_{i}["z"] = (frame_{i}["amount"] - frame_{i}["amount"].mean()) / frame_{i}["amount"].std()
summary_{i} = frame_{i}.groupby("category").agg(total=("amount", "sum"), n=("amount", "size"))
counts_{i} = Counter(r["category"] for r in records).most_common(2)
payload_{i} = json.dumps({"summary": summary_{i}.to_dict(), "counts": counts_{i}}, indent=2)"#,
];

/// One-line statements that pad a cell to its exact length.
const ONE_LINERS: [&str; 4] = [
    r#"print(f"step {i}: {len(records)} records, mean={np.mean([r['amount'] for r in records]):.2f}")"#,
    r#"norm_{i} = math.sqrt(sum(r["amount"] ** 2 for r in records))"#,
    r#"ids_{i} = [r["id"] for r in records if r["category"] in {"a", "c"}][:10]"#,
    r#"cfg_{i} = {**{"limit": {i}, "verbose": False}, "tags": ["x", "y"]}"#,
];

#[cfg(test)]
mod tests {
    use super::*;
    use pyrepl3_analyzer::{SessionState, analyze_cell};

    #[test]
    fn cells_have_the_requested_number_of_lines() {
        for mode in Mode::ALL {
            for lines in [5, 6, 12, 30, 31, 57, 300] {
                let text = cell(mode, lines);
                assert_eq!(text.lines().count(), lines, "{mode} {lines}:\n{text}");
                assert!(text.ends_with('\n'));
            }
        }
    }

    #[test]
    fn cells_are_routed_to_their_mode() {
        // The benches label each cell by its mode: the analyzer must agree, at every size.
        for mode in Mode::ALL {
            for lines in [5, 12, 30, 57, 300] {
                let a = analyze_cell(&cell(mode, lines), &mut SessionState::new());
                assert_eq!(a.mode, mode, "{mode} {lines}: {:?}", a.reasons);
            }
        }
    }

    #[test]
    fn trigger_block_is_present() {
        assert!(cell(Mode::TopLevelAwait, 300).contains("= await asyncio.gather"));
        assert!(cell(Mode::BlockingSync, 30).contains("rq.Session()"));
        assert!(cell(Mode::AsyncDef, 30).contains("async def fetch_"));
        assert!(!cell(Mode::SimpleSync, 300).contains("await"));
    }
}
