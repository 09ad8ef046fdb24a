"""IPython baseline for benches/cells.rs: the same cells through InteractiveShell.run_cell.

Run with `sh benches/ipython_baseline.sh` (creates a virtual environment with IPython).
Prints median and mean per cell in microseconds.
"""

import asyncio
import statistics
import sys
import time

from IPython.core.interactiveshell import InteractiveShell


def measure(shell, src, n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = shell.run_cell(src, store_history=False, silent=False)
        times.append(time.perf_counter() - t0)
        if not r.success:
            raise SystemExit(f"cell failed: {src!r}: {r.error_in_exec or r.error_before_exec}")
    return statistics.median(times) * 1e6, statistics.mean(times) * 1e6


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    shell = InteractiveShell.instance()
    shell.run_cell("import asyncio, time")
    rows = [
        ("cell/x = 1 + 1", "x = 1 + 1"),
        ("cell/await asyncio.sleep(0)", "await asyncio.sleep(0)"),
        ("cell/blocking time.sleep(0)", "time.sleep(0)"),
    ]
    for name, src in rows:
        med, mean = measure(shell, src, n)
        print(f"{name:40s} median {med:9.1f} us   mean {mean:9.1f} us")
    for size in (10, 10_000, 1_000_000):
        shell.reset(new_session=False)
        shell.run_cell(f"for _i in range({size}):\n    globals()[f'v{{_i}}'] = _i")
        med, mean = measure(shell, "x = 1 + 1", max(200, n // 4))
        print(f"{'namespace/x = 1 + 1/' + str(size):40s} median {med:9.1f} us   mean {mean:9.1f} us")


if __name__ == "__main__":
    main()
