# %% [markdown]
# # A tour of pyrepl3's routing
#
# Each `# %%` line starts a cell (the percent format of Jupytext, VS Code and Spyder).
# `pyrepl3-analyze examples/tour.py` tells how pyrepl3 would run each cell, and why.
# The cells form one session: imports and helpers of earlier cells count in later ones.
# (Markdown cells like this one are skipped.)

# %% Imports alone call nothing: this cell runs directly.
import asyncio
import sqlite3
import time as t
from pathlib import Path
from subprocess import run as sh

# %% A plain cell: no await, nothing blocking.
squares = [n * n for n in range(10)]
total = sum(squares)
total

# %% Blocking calls through the aliases of the first cell: a worker thread runs this.
t.sleep(0.1)
notes = Path("notes.txt").read_text(encoding="utf-8")

# %% A value typed by its constructor: the connection's methods block too.
conn = sqlite3.connect(":memory:")
rows = conn.execute("select 1").fetchall()

# %% Defining a helper calls nothing yet...
def list_dir(path):
    return sh(["ls", path], capture_output=True).stdout

# %% ...but calling it, in a later cell, blocks.
listing = list_dir(".")

# %% Shadowing: this `sleep` is ours, not `time.sleep`.
def sleep(seconds):
    return seconds

sleep(3)

# %% Defining a coroutine function runs nothing: async_def.
async def tick(n):
    for _ in range(n):
        await asyncio.sleep(0.01)
    return n

# %% Top-level await: the cell is compiled as a coroutine and awaited on the session's loop.
result = await tick(3)

# %% Awaiting and blocking: the cell stays on the loop, which stalls at the blocking call.
await asyncio.sleep(0)
t.sleep(0.5)

# %% The fix: hand the blocking call to a thread.
await asyncio.to_thread(t.sleep, 0.5)

# %% Loop-bound asyncio APIs need the loop's thread.
task = asyncio.get_running_loop().create_task(tick(2))

# %% Writes the executor cannot see as bindings.
globals()["answer"] = 42
exec("late = 1")
