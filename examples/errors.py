# %% [markdown]
# Cells CPython refuses to compile. `pyrepl3-analyze examples/errors.py` exits with status 1.

# %% A plain syntax error.
total = (1 +
         2

# %% `await` inside a plain `def`: CPython refuses it even with top-level await allowed.
import asyncio

def wait_a_bit():
    await asyncio.sleep(1)

# %% `return` outside a function parses, but CPython's compiler rejects it.
x = 1
return x

# %% This cell is fine: one bad cell does not stop the others.
y = 2
