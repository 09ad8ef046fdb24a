#!/usr/bin/env python3
"""Print every benchmark figure of pyrepl3's analyzer next to the predecessor's Python approach.

Reads criterion's results (per-cell medians of ``analyze`` and ``bare_parse``, throughput), times
the same cells through ``predecessor.py``, and runs both sides as whole processes over the same
corpora of cells, reporting wall-clock and CPU time (the machine may be shared: CPU time of the
child process is the steadier figure). Normally run by ``benches/run.sh``.

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MODES = ["top_level_await", "blocking_sync", "async_def", "simple_sync", "syntax_error"]
SIZES = [5, 30, 300]
TARGET_CELL_US = 30.0
TARGET_PARSE_RATIO = 1.3
TARGET_PROCESS_SPEEDUP = 10.0


def criterion_median_ns(root: str, group: str, function: str) -> tuple[float, int] | None:
    """Median (ns) and throughput bytes of one criterion benchmark, if it was run."""
    base = os.path.join(root, group, function, "new")
    try:
        with open(os.path.join(base, "estimates.json")) as f:
            est = json.load(f)
        with open(os.path.join(base, "benchmark.json")) as f:
            bench = json.load(f)
    except OSError:
        return None
    tp = bench.get("throughput") or {}
    return est["median"]["point_estimate"], int(tp.get("Bytes") or tp.get("BytesDecimal") or 0)


def run(cmd: list[str], capture: bool | str = True) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (user+sys of the child), exit status and stdout of `cmd`."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE if capture else subprocess.DEVNULL)
    out = p.stdout.read().decode(errors="replace") if capture else ""
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    return wall, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status), out


def describe_json(out: str, code: int) -> str:
    """Cell count and modes of a `pyrepl3-analyze --format json` output, or why it is not one."""
    try:
        doc = json.loads(out)
        cells = [c for f in doc["files"] for c in f["cells"]]
    except (ValueError, KeyError, TypeError):
        return f"not JSON of the contract (exit {code}): {out[:60]!r}"
    counts = {m: 0 for m in ["syntax_error", "top_level_await", "blocking_sync", "async_def", "simple_sync"]}
    for c in cells:
        counts[c.get("mode")] = counts.get(c.get("mode"), 0) + 1
    return f"(exit {code}) files={len(doc['files'])} cells={len(cells)} " + " ".join(
        f"{m}={n}" for m, n in counts.items())


def best_of(cmd: list[str], runs: int, capture: bool | str = True) -> tuple[float, float, int, str]:
    results = [run(cmd, capture) for _ in range(runs)]
    wall = min(r[0] for r in results)
    cpu = min(r[1] for r in results)
    return wall, cpu, results[-1][2], results[-1][3]


def fmt_us(ns: float | None) -> str:
    return "-" if ns is None else f"{ns / 1000:.1f}"


def per_cell(args: argparse.Namespace) -> dict:
    print("== Per cell: analyze_cell (fresh session) vs bare ruff parse vs predecessor (Python) ==")
    print(f"   clock: {'thread CPU time' if args.clock == 'cpu' else 'wall clock'} (the same for criterion "
          "and Python when run through benches/run.sh)")
    py = json.loads(subprocess.check_output(
        [sys.executable, os.path.join(HERE, "predecessor.py"), "cells", args.cells,
         "--min-time", str(args.py_min_time), "--clock", args.clock]))
    rust_modes = {}
    out = subprocess.check_output([args.bin, "analyze", "--list", args.cells]).decode()
    for line in out.splitlines():
        if line.startswith("cell "):
            path, mode = line[len("cell "):].rsplit(" ", 1)
            name = os.path.splitext(os.path.basename(path.rsplit(":", 1)[0]))[0]
            rust_modes[name] = mode
    head = f"{'cell':<20} {'bytes':>6} {'analyze µs':>11} {'parse µs':>9} {'ratio':>6} {'python µs':>10} {'speedup':>8}  modes (pyrepl3 / predecessor)"
    print(head)
    print("-" * len(head))
    summary = {"ratios": [], "typical30": [], "speedups": []}
    for mode in MODES:
        for size in SIZES:
            name = f"{mode}_{size}"
            a = criterion_median_ns(args.criterion, name, "analyze")
            b = criterion_median_ns(args.criterion, name, "bare_parse")
            p = py.get(name)
            ratio = a[0] / b[0] if a and b else None
            speed = p["median_us"] * 1000 / a[0] if a and p else None
            if ratio is not None:
                summary["ratios"].append((ratio, name))
            if speed is not None:
                summary["speedups"].append((speed, name))
            if a and size == 30 and mode != "syntax_error":
                summary["typical30"].append((a[0] / 1000, name))
            print(f"{name:<20} {p['bytes'] if p else '-':>6} {fmt_us(a[0] if a else None):>11} "
                  f"{fmt_us(b[0] if b else None):>9} {f'{ratio:.2f}' if ratio else '-':>6} "
                  f"{p['median_us'] if p else 0:>10.1f} {f'{speed:.0f}x' if speed else '-':>8}  "
                  f"{rust_modes.get(name, '?')} / {p['mode'] if p else '?'}")
    print()
    return summary


def throughput(args: argparse.Namespace) -> list:
    print("== Throughput (criterion; whole corpus per iteration, 20 cells per session) ==")
    rows = []
    for group in ("throughput_generated", "throughput_corpus"):
        a = criterion_median_ns(args.criterion, group, "analyze")
        b = criterion_median_ns(args.criterion, group, "bare_parse")
        if not a:
            print(f"{group}: not measured")
            continue
        def mbs(r: tuple[float, int]) -> float:
            return r[1] / 1e6 / (r[0] / 1e9)

        line = f"{group}: {a[1] / 1e6:.2f} MB; analyze {a[0] / 1e6:.1f} ms = {mbs(a):.1f} MB/s"
        ratio = None
        if b:
            ratio = a[0] / b[0]
            line += f"; bare parse {b[0] / 1e6:.1f} ms = {mbs(b):.1f} MB/s; ratio {ratio:.2f}"
        rows.append((ratio, group))
        print(line)
    print()
    return rows


def whole_process(args: argparse.Namespace) -> list:
    print(f"== Whole process over each corpus (best of {args.runs}; wall and child CPU seconds) ==")
    pred = [sys.executable, os.path.join(HERE, "predecessor.py"), "process"]
    speedups = []
    for corpus in args.corpus:
        print(f"-- {corpus}")
        sides = [
            ("predecessor (ast.parse + walks)", pred + [corpus], True),
            ("predecessor + compile(flag)", pred + [corpus, "--compile"], True),
            ("pyrepl3-bench analyze", [args.bin, "analyze", corpus], True),
        ]
        if args.cli:
            sides.append(("pyrepl3-analyze --format json", [args.cli, "--format", "json", corpus], "json"))
        res = {}
        for label, cmd, capture in sides:
            wall, cpu, code, out = best_of(cmd, args.runs, capture)
            res[label] = (wall, cpu)
            if capture == "json":
                note = describe_json(out, code)
                if note.startswith("not"):
                    res[label] = None
            else:
                note = out.strip()
            print(f"  {label:<32} wall {wall:7.3f} s  cpu {cpu:7.3f} s  {note}")
        base_w, base_c = res["predecessor (ast.parse + walks)"]
        for label, r in res.items():
            if r is None:
                print(f"  => {label}: left out (its output is not the JSON contract yet)")
                continue
            wall, cpu = r
            if label.startswith("pyrepl3"):
                sw, sc = base_w / wall, base_c / max(cpu, 1e-9)
                speedups.append((sw, sc, f"{label} on {os.path.basename(corpus)}"))
                print(f"  => {label}: {sw:.1f}x faster (wall), {sc:.1f}x (CPU) than the predecessor")
    print()
    return speedups


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", required=True, help="path of the pyrepl3-bench binary")
    ap.add_argument("--cells", required=True, help="directory written by `pyrepl3-bench cells`")
    ap.add_argument("--corpus", action="append", default=[], help="directory of percent-format files")
    ap.add_argument("--criterion", default="target/criterion", help="criterion's output directory")
    ap.add_argument("--cli", help="path of pyrepl3-analyze, to time it as well")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clock", choices=["cpu", "wall"], default="wall",
                    help="clock of the Python per-cell timings; match PYREPL3_BENCH_CLOCK of criterion")
    ap.add_argument("--py-min-time", type=float, default=1.0, help="seconds of samples per cell (Python)")
    args = ap.parse_args()

    cells = per_cell(args)
    tp = throughput(args)
    procs = whole_process(args)

    print("== Targets (reported, not asserted) ==")
    if cells["typical30"]:
        worst, name = max(cells["typical30"])
        print(f"median of a typical 30-line cell <= {TARGET_CELL_US:.0f} µs: worst {worst:.1f} µs ({name}); "
              f"{'MET' if worst <= TARGET_CELL_US else 'NOT MET'}")
    if cells["ratios"]:
        rs = sorted(cells["ratios"])
        med = statistics.median(r for r, _ in rs)
        print(f"analysis <= {TARGET_PARSE_RATIO}x bare parse: per cell median {med:.2f}x, worst {rs[-1][0]:.2f}x "
              f"({rs[-1][1]}); {'MET' if rs[-1][0] <= TARGET_PARSE_RATIO else 'NOT MET'} (worst)")
    for ratio, group in tp:
        if ratio:
            print(f"analysis <= {TARGET_PARSE_RATIO}x bare parse on {group}: {ratio:.2f}x; "
                  f"{'MET' if ratio <= TARGET_PARSE_RATIO else 'NOT MET'}")
    for sw, sc, label in procs:
        print(f"whole process >= {TARGET_PROCESS_SPEEDUP:.0f}x faster ({label}): {sw:.1f}x wall, {sc:.1f}x CPU; "
              f"{'MET' if min(sw, sc) >= TARGET_PROCESS_SPEEDUP else 'NOT MET'}")


if __name__ == "__main__":
    main()
