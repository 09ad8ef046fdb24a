# %% [markdown]
# Cells that CPython refuses ("'await' outside async function") and that pyrepl3 rewrites so they
# run. `pyrepl3-analyze --transform examples/transforms.py` shows every rewrite and the code that
# runs; `--wrap` shows the wrapper fallback too.

# %% A plain `def` that awaits becomes `async def`; calling it here gets `await`.
import asyncio

def fetch(n):
    await asyncio.sleep(0)
    return n * 2

first = fetch(1)

# %% Later cells: calls of `fetch` get `await`, and so does a plain function that calls it.
def fetch_pair(n):
    return fetch(n) + fetch(n + 1)

print(fetch(5), fetch_pair(2))

# %% A lambda assigned to a name becomes an `async def` of that name.
scale = lambda x: await asyncio.sleep(0, result=x * 10)

scaled = scale(4)

# %% A lambda used inline moves into a helper `async def` defined just before its statement.
doubled = await asyncio.gather(*map(lambda v: await fetch(v), range(3)))

# %% Refused: Python calls `__init__` synchronously, so it cannot become `async def`.
class Client:
    def __init__(self, n):
        self.value = await fetch(n)

# %% Nothing to rewrite: this cell runs as written.
summary = {"first": first, "scaled": scaled, "doubled": doubled}
summary
