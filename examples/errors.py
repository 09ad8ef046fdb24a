# %% [markdown]
# Cells CPython refuses to compile. `pyrepl3-analyze examples/errors.py` exits with status 1.

# %% A plain syntax error.
total = (1 +
         2

# %% `await` inside a plain `def`: CPython refuses it even with top-level await allowed, and
# pyrepl3 cannot make `__len__` async (Python calls it synchronously).
import asyncio

class Feed:
    def __len__(self):
        return len(await asyncio.sleep(0, result=[]))

# %% `return` outside a function parses, but CPython's compiler rejects it.
x = 1
return x

# %% This cell is fine: one bad cell does not stop the others.
y = 2
