#!/usr/bin/env python3
"""Write a corpus of real cells: CPython standard-library modules cut into notebook-sized cells.

Each chosen module becomes one percent-format file in OUT: its original text with a ``# %%``
line inserted before a top-level statement every ``--cell-lines`` lines or so, so every cell is a
run of whole top-level statements (decorators included) and the cells of one file read like a
notebook. Modules are sampled evenly across the library (sorted by path, every k-th file) until
``--bytes`` are written. Tests, data tables (``encodings``, ``pydoc_data``), files that do not
parse, and files that already contain a ``# %%`` line are left out.

Standard library only; deterministic for a given Python installation.

Usage: make_corpus.py OUT [--bytes N] [--cell-lines N] [--stdlib DIR]
"""

from __future__ import annotations

import argparse
import ast
import os
import sysconfig
import warnings

SKIP_DIRS = {"test", "tests", "idle_test", "site-packages", "encodings", "pydoc_data", "__pycache__"}
MARKER = "# %%"


def candidates(stdlib: str) -> list[str]:
    files = []
    for root, dirs, names in os.walk(stdlib):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        files.extend(os.path.join(root, n) for n in sorted(names) if n.endswith(".py"))
    return files


def cut(text: str, cell_lines: int) -> str | None:
    """The module's text with cell markers before top-level statements, or None to skip it."""
    lines = text.splitlines(keepends=True)
    if any(line.startswith(MARKER) for line in lines):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    starts = []
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        starts.append(first - 1)
    cuts = set()
    last = 0
    for s in starts:
        if s - last >= cell_lines:
            cuts.add(s)
            last = s
    out = [MARKER + "\n"]
    for i, line in enumerate(lines):
        if i in cuts:
            out.append(MARKER + "\n")
        out.append(line)
    if out and not out[-1].endswith("\n"):
        out[-1] += "\n"
    return "".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--bytes", type=int, default=4_000_000, help="total size to write")
    ap.add_argument("--cell-lines", type=int, default=40, help="approximate lines per cell")
    ap.add_argument("--stdlib", default=sysconfig.get_paths()["stdlib"])
    args = ap.parse_args()

    files = candidates(args.stdlib)
    sizes = {f: os.path.getsize(f) for f in files}
    stride = max(1, -(-sum(sizes.values()) // max(1, args.bytes)))  # ceiling division
    # Every stride-th file first, then the rest, until the target size is reached.
    order = files[::stride] + [f for i, f in enumerate(files) if i % stride]
    os.makedirs(args.out, exist_ok=True)
    total = written = 0
    for path in order:
        if total >= args.bytes:
            break
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        cells = cut(text, args.cell_lines)
        if cells is None:
            continue
        rel = os.path.relpath(path, args.stdlib).replace(os.sep, "__")
        with open(os.path.join(args.out, f"{written:04d}_{rel}"), "w", encoding="utf-8") as f:
            f.write(cells)
        total += len(cells.encode())
        written += 1
    print(f"make_corpus: {written} files, {total} bytes from {args.stdlib} into {args.out}")


if __name__ == "__main__":
    main()
