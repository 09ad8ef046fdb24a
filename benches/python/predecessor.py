#!/usr/bin/env python3
"""The predecessor's Python routing approach, reimplemented for side-by-side timing.

The design notes pyrepl3 grew from (reference seeds 002 and 003) route a cell in Python:
``ast.parse`` the cell, then walk the tree

1. top-level await: for every module-level expression statement, ``ast.walk`` it for ``Await``
   (seed 003 ``_contains_await_at_top_level``);
2. coroutine definitions: ``ast.walk`` the module for ``AsyncFunctionDef``;
3. blocking I/O with alias tracking (seed 002 "Enhanced Blocking I/O Detection"): one
   ``ast.walk`` collecting ``import``/``from ... import`` aliases to their top-level module, a
   second ``ast.walk`` over calls, matching bare names against a list of blocking names and
   imported blocking modules, and attribute calls (base name resolved through the aliases)
   against per-module blocking methods;
4. the mode, in the notes' order: top_level_await, async_def, blocking_sync, simple_sync; a
   ``SyntaxError`` is routed to top_level_await when ``'await'`` occurs in the message or the
   code, else to "unknown" (counted here as syntax_error).

This is written from the notes' description, not copied; it keeps their behaviour, including its
known weaknesses (the notes' own `'await' in code` fast path of ``execute()`` is left out so
every cell is parsed, as the comparison is about analysis cost). With ``--compile`` each cell is
also compiled with ``ast.PyCF_ALLOW_TOP_LEVEL_AWAIT`` and ``CO_COROUTINE`` read from the code
object, as the notes' direct path does before running a cell: that is the "ask CPython" approach.

Standard library only.

Usage:
    predecessor.py cells DIR [--compile] [--min-time S] [--clock cpu|wall]
                                                      per-cell medians of DIR/*.py, as JSON
    predecessor.py process PATH... [--compile]            analyze every cell of every .py file
    predecessor.py selftest [--split]                     the notes' acceptance cases
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import sys
import time
import timeit

TOP_LEVEL_AWAIT = "top_level_await"
ASYNC_DEF = "async_def"
BLOCKING_SYNC = "blocking_sync"
SIMPLE_SYNC = "simple_sync"
SYNTAX_ERROR = "syntax_error"  # the notes' ExecutionMode.UNKNOWN

PYCF_ALLOW_TOP_LEVEL_AWAIT = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
CO_COROUTINE = 0x80

# Seed 003: names whose bare call counts as blocking.
BLOCKING_IO_CALLS = {"open", "input", "sleep", "wait", "read", "write", "recv", "send"}
# Seed 002: modules whose imported names and attribute calls count as blocking.
BLOCKING_IO_MODULES = {
    "requests", "urllib", "socket", "subprocess", "sqlite3", "psycopg2",
    "pymongo", "redis", "time", "os", "shutil", "pathlib",
}
BLOCKING_METHODS = {
    "time": {"sleep", "wait"},
    "socket": {"recv", "send", "accept", "connect"},
    "requests": {"get", "post", "put", "delete", "patch"},
    "os": {"system", "popen", "waitpid"},
    "pathlib": {"read_text", "read_bytes", "write_text", "write_bytes"},
}


class PredecessorAnalyzer:
    """Routes cells the way the predecessor's notes describe."""

    def __init__(self, compile_check: bool = False) -> None:
        self.compile_check = compile_check
        self._ast_cache: dict[int, ast.AST] = {}

    def analyze_execution_mode(self, code: str) -> str:
        try:
            tree = ast.parse(code)
            self._ast_cache[hash(code)] = tree
        except SyntaxError as e:
            if "await" in str(e) or "await" in code:
                return TOP_LEVEL_AWAIT
            return SYNTAX_ERROR

        if self.compile_check:
            try:
                compiled = compile(
                    tree, "<cell>", "exec",
                    flags=PYCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True,
                )
                if compiled.co_flags & CO_COROUTINE:
                    return TOP_LEVEL_AWAIT
            except SyntaxError:
                return SYNTAX_ERROR

        for node in tree.body:
            if isinstance(node, ast.Expr) and self._contains_await_at_top_level(node.value):
                return TOP_LEVEL_AWAIT

        for node in ast.walk(tree):
            if isinstance(node, ast.AsyncFunctionDef):
                return ASYNC_DEF

        if self._contains_blocking_io(tree):
            return BLOCKING_SYNC
        return SIMPLE_SYNC

    @staticmethod
    def _contains_await_at_top_level(node: ast.AST) -> bool:
        if isinstance(node, ast.Await):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        for child in ast.walk(node):
            if isinstance(child, ast.Await):
                return True
        return False

    @staticmethod
    def _resolve_attribute_base(node: ast.AST) -> str | None:
        while isinstance(node, ast.Attribute):
            node = node.value
        if isinstance(node, ast.Name):
            return node.id
        return None

    def _contains_blocking_io(self, tree: ast.AST) -> bool:
        alias_to_module: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    module_name = alias.name.split(".")[0]
                    alias_to_module[alias.asname or alias.name] = module_name
            elif isinstance(node, ast.ImportFrom):
                if node.module:
                    module_name = node.module.split(".")[0]
                    for alias in node.names:
                        alias_to_module[alias.asname or alias.name] = module_name

        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name):
                if func.id in BLOCKING_IO_CALLS:
                    return True
                if alias_to_module.get(func.id) in BLOCKING_IO_MODULES:
                    return True
            elif isinstance(func, ast.Attribute):
                base = self._resolve_attribute_base(func.value)
                if base in alias_to_module:
                    module = alias_to_module[base]
                    if module in BLOCKING_IO_MODULES and func.attr in BLOCKING_METHODS.get(module, ()):
                        return True
        return False


CELL_MARKER = "# %%"


def split_percent(text: str) -> list[str]:
    """Split at lines starting with ``# %%``, exactly as ``pyrepl3_benches::split_percent``."""
    cells: list[str] = []
    current: list[str] = []
    for line in _split_lf(text):
        if line.startswith(CELL_MARKER):
            cells.append("".join(current))
            current = []
        else:
            current.append(line)
    cells.append("".join(current))
    return [c for c in cells if c.strip()]


def _split_lf(text: str) -> list[str]:
    # str.splitlines also splits at \r, \v, \f...; the Rust side splits at \n only.
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def py_files(paths: list[str]) -> list[str]:
    files: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs.sort()
                files.extend(os.path.join(root, n) for n in sorted(names) if n.endswith(".py"))
        else:
            files.append(p)
    return files


def cmd_cells(args: argparse.Namespace) -> None:
    analyzer = PredecessorAnalyzer(args.compile)
    results = {}
    for path in sorted(py_files([args.dir])):
        with open(path, encoding="utf-8") as f:
            src = f.read()
        clock = time.thread_time if args.clock == "cpu" else time.perf_counter
        timer = timeit.Timer(lambda: analyzer.analyze_execution_mode(src), timer=clock)
        number, _ = timer.autorange()  # loops per sample: at least 0.2 s
        samples = []
        deadline = time.perf_counter() + args.min_time
        while len(samples) < 5 or time.perf_counter() < deadline:
            samples.append(timer.timeit(number) / number)
        name = os.path.splitext(os.path.basename(path))[0]
        results[name] = {
            "median_us": statistics.median(samples) * 1e6,
            "mode": analyzer.analyze_execution_mode(src),
            "bytes": len(src.encode()),
        }
    json.dump(results, sys.stdout, indent=1)
    print()


def cmd_process(args: argparse.Namespace) -> None:
    start = time.perf_counter()
    analyzer = PredecessorAnalyzer(args.compile)
    counts = {m: 0 for m in (SYNTAX_ERROR, TOP_LEVEL_AWAIT, BLOCKING_SYNC, ASYNC_DEF, SIMPLE_SYNC)}
    files = py_files(args.paths)
    cells = nbytes = 0
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        try:
            text = data.decode("utf-8")
            chunks = split_percent(text)
        except UnicodeDecodeError:
            chunks = [data]  # ast.parse raises SyntaxError on invalid UTF-8, as CPython does
        for cell in chunks:
            try:
                mode = analyzer.analyze_execution_mode(cell)
            except (ValueError, RecursionError, MemoryError):  # null bytes, deep nesting
                mode = SYNTAX_ERROR
            counts[mode] += 1
            cells += 1
            nbytes += len(cell.encode()) if isinstance(cell, str) else len(cell)
        analyzer._ast_cache.clear()  # the notes cache per executor; one executor per file
    secs = time.perf_counter() - start
    modes = " ".join(f"{m}={n}" for m, n in counts.items())
    print(
        f"files={len(files)} cells={cells} bytes={nbytes} seconds={secs:.4f} "
        f"mb_per_s={nbytes / 1e6 / secs:.1f} {modes}"
    )


# The predecessor's own acceptance cases (seed 003, test_execution_mode_detection), plus cases
# that show the alias tracking of seed 002 at work.
SELFTEST_CASES = [
    ("await asyncio.sleep(0)", TOP_LEVEL_AWAIT),
    ("async def foo(): pass", ASYNC_DEF),
    ("import requests; r = requests.get('url')", BLOCKING_SYNC),
    ("x = 1 + 1", SIMPLE_SYNC),
    ("import requests as rq\nrq.get('u')", BLOCKING_SYNC),
    ("from time import sleep as nap\nnap(1)", BLOCKING_SYNC),
    ("import time\ntime.monotonic()", SIMPLE_SYNC),
    ("x = (", SYNTAX_ERROR),
]


def cmd_selftest(args: argparse.Namespace) -> None:
    """Check the reimplementation against the notes' cases; print the cells split from stdin."""
    analyzer = PredecessorAnalyzer()
    for code, expected in SELFTEST_CASES:
        got = analyzer.analyze_execution_mode(code)
        if got != expected:
            sys.exit(f"selftest: {code!r} -> {got}, expected {expected}")
    if args.split:
        json.dump(split_percent(sys.stdin.read()), sys.stdout)
    else:
        print(f"selftest: {len(SELFTEST_CASES)} cases ok")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("cells", help="per-cell medians of DIR/*.py (one cell per file), as JSON")
    c.add_argument("dir")
    c.add_argument("--compile", action="store_true", help="also compile with the top-level-await flag")
    c.add_argument("--min-time", type=float, default=1.0, help="seconds of samples per cell")
    c.add_argument("--clock", choices=["cpu", "wall"], default="wall",
                   help="time.thread_time (CPU time of this thread) or time.perf_counter")
    c.set_defaults(func=cmd_cells)
    p = sub.add_parser("process", help="analyze every cell of every .py file under PATHs")
    p.add_argument("paths", nargs="+")
    p.add_argument("--compile", action="store_true", help="also compile with the top-level-await flag")
    p.set_defaults(func=cmd_process)
    t = sub.add_parser("selftest", help="check the notes' acceptance cases")
    t.add_argument("--split", action="store_true", help="also print the cells split from stdin as JSON")
    t.set_defaults(func=cmd_selftest)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
