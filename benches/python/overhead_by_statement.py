#!/usr/bin/env python3
"""Where a cell's analysis overhead goes, statement by statement.

For one cell, counts with callgrind the instructions of `analyze_cell` and of the bare ruff parse
(`examples/repeat.rs`, as `benches/instructions.sh` does), then the same for the cell without each
top-level statement in turn. A statement's share is how much the overhead (analysis minus parse)
drops without it. Shares include effects on other statements (without an import, later calls of
the module are not resolved), so they add up to more than the whole: they say where to look, not
an exact split.

    benches/python/overhead_by_statement.py CELL.py [--n 40] [--top 10] [--alloc mimalloc]

Needs valgrind; builds `examples/repeat` (unless `--no-build`) with the system allocator, as
`benches/instructions.sh` counts, or with mimalloc. Instruction counts do not move with the
machine's load.
"""

import argparse
import ast
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
REPEAT = ROOT / "target" / "release" / "examples" / "repeat"


def instructions(repeat: pathlib.Path, what: str, text: str, n: int) -> float:
    """Instructions per run of `analyze_cell` or the bare parse of `text`, counted by callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        cell = pathlib.Path(tmp, "cell.py")
        cell.write_text(text)
        out = pathlib.Path(tmp, "callgrind.out")
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                "--collect-atstart=no",
                f"--toggle-collect=*pyrepl3_measured_{what}*",
                str(repeat),
                what,
                str(cell),
                str(n),
            ],
            check=True,
            capture_output=True,
        )
        for line in out.read_text().splitlines():
            if line.startswith("summary:"):
                return int(line.split()[1]) / n
    raise RuntimeError("callgrind wrote no summary")


def overhead(repeat: pathlib.Path, text: str, n: int) -> tuple[float, float]:
    """Instructions of the analysis and of the bare parse of `text`."""
    return instructions(repeat, "analyze", text, n), instructions(repeat, "parse", text, n)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cell", type=pathlib.Path, help="a Python file holding one cell")
    ap.add_argument("--n", type=int, default=40, help="runs per count (default 40)")
    ap.add_argument("--top", type=int, default=0, help="show only the N largest shares")
    ap.add_argument(
        "--alloc",
        choices=["system", "mimalloc"],
        default="system",
        help="the counted binary's allocator (default: system, as benches/instructions.sh)",
    )
    ap.add_argument("--no-build", action="store_true", help="do not build examples/repeat")
    ap.add_argument(
        "--repeat",
        type=pathlib.Path,
        default=REPEAT,
        help="the repeat binary to count (default: target/release/examples/repeat)",
    )
    args = ap.parse_args()

    if not args.no_build:
        features = ["--no-default-features"] if args.alloc == "system" else []
        subprocess.run(
            ["cargo", "build", "--release", "-q", "-p", "pyrepl3-benches", *features]
            + ["--example", "repeat"],
            cwd=ROOT,
            check=True,
        )
    try:
        source = args.cell.read_text()
        tree = ast.parse(source)
    except (OSError, SyntaxError) as e:
        print(f"overhead_by_statement: cannot use {args.cell}: {e}", file=sys.stderr)
        return 2
    lines = source.splitlines(keepends=True)
    if not args.repeat.is_file():
        print(f"overhead_by_statement: no binary at {args.repeat}", file=sys.stderr)
        return 2
    analysis, parse = overhead(args.repeat, source, args.n)
    whole = analysis - parse
    print(
        f"{args.cell}: analysis {analysis:,.0f}, parse {parse:,.0f}, "
        f"overhead {whole:,.0f} instructions ({analysis / parse:.2f}x)"
    )
    shares = []
    for stmt in tree.body:
        # Decorators belong to their statement.
        first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
        rest = "".join(lines[: first - 1] + lines[stmt.end_lineno :])
        a, p = overhead(args.repeat, rest, args.n)
        shares.append((whole - (a - p), first, lines[first - 1].strip()))
    shown = sorted(shares, reverse=True)[: args.top] if args.top else shares
    for share, line, text in shown:
        print(f"{share:9,.0f}  line {line:<4} {text[:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
