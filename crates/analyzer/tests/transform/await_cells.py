# Differential corpus for transforms 1 and 2: cells CPython refuses as written ('await' outside
# async function) that pyrepl3 rewrites. Sessions start with "# === name", cells with "# %%".
# "# expect: R" ends a cell whose trailing expression must have repr R once run;
# "# refuse: text" marks a cell that must be refused with a reason containing text;
# A line ending in a literal backslash-r stands for a CRLF line ending.
# "# raises: Type line N" marks a cell whose traceback must point at the user's line N.

# === plain-def-awaits
import asyncio
def f():
    await asyncio.sleep(0)
    return 41
f() + 1
# expect: 42

# === later-cell-call
import asyncio
def get(x):
    return await asyncio.sleep(0, x * 2)
# %%
get(21)
# expect: 42
# %%
[get(i) for i in range(3)]
# expect: [0, 2, 4]
# %%
def again(y):
    return get(y) + 1
again(1)
# expect: 3

# === fixed-point-chain
import asyncio
def a():
    return await asyncio.sleep(0, 1)
def b():
    return a() + 1
def c():
    return b() * 10
c()
# expect: 20

# === attribute-on-result
import asyncio
def name():
    return await asyncio.sleep(0, "pyrepl3")
name().upper()
# expect: 'PYREPL3'

# === subscript-and-call-on-result
import asyncio
def pair():
    return await asyncio.sleep(0, [10, 20])
def adder():
    await asyncio.sleep(0)
    return lambda v: v + 1
pair()[1] + adder()(1)
# expect: 22

# === async-for-in-def
import asyncio
async def agen(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield i
def total(n):
    s = 0
    async for v in agen(n):
        s += v
    return s
total(5)
# expect: 10

# === async-with-in-def
import asyncio, contextlib
@contextlib.asynccontextmanager
async def res():
    yield "r"
def use():
    async with res() as r:
        return r * 3
use()
# expect: 'rrr'

# === async-comprehension-in-def
import asyncio
async def agen():
    for i in range(3):
        yield i
def collect():
    return [x async for x in agen()]
collect()
# expect: [0, 1, 2]

# === nested-plain-def-in-async-def
import asyncio
async def outer():
    def inner(v):
        return await asyncio.sleep(0, v + 1)
    return inner(1) * 2
await outer()
# expect: 4

# === nested-plain-def-in-plain-def
import asyncio
def outer():
    def inner(v):
        return await asyncio.sleep(0, v)
    return inner(5)
outer()
# expect: 5

# === method
import asyncio
class K:
    def m(self):
        return await asyncio.sleep(0, 7)
await K().m()
# expect: 7

# === self-method-calls
import asyncio
class Api:
    def get(self, k):
        return await asyncio.sleep(0, k * 2)
    def both(self):
        return self.get(1) + self.get(2)
    @classmethod
    def make(cls):
        return cls()
await Api.make().both()
# expect: 6

# === instance-method-calls
import asyncio
class Store:
    def load(self, k):
        return await asyncio.sleep(0, k + 1)
s = Store()
s.load(1) + Store().load(2)
# expect: 5

# === staticmethod
import asyncio
class S:
    @staticmethod
    def m():
        return await asyncio.sleep(0, 8)
await S.m()
# expect: 8

# === asyncio-run-of-rewritten-main
import asyncio
def main():
    await asyncio.sleep(0)
    return 42
result = asyncio.run(main())
asyncio.run(main())
# expect: 42

# === create-task-not-awaited
import asyncio
def work():
    return await asyncio.sleep(0, 5)
t = asyncio.create_task(work())
await t
# expect: 5

# === gather-map-value-use
import asyncio
def sq(x):
    return await asyncio.sleep(0, x * x)
await asyncio.gather(*map(sq, [1, 2, 3]))
# expect: [1, 4, 9]

# === already-awaited-call
import asyncio
def g():
    return await asyncio.sleep(0, 3)
await g()
# expect: 3

# === default-and-decorator-at-top-level
import asyncio
def base():
    return await asyncio.sleep(0, 2)
def k(v=base()):
    return v
k()
# expect: 2

# === f-string-call
import asyncio
def who():
    return await asyncio.sleep(0, "me")
f"it is {who()}!"
# expect: 'it is me!'

# === closure-in-def
import asyncio
def make(n):
    def inner():
        return n
    await asyncio.sleep(0)
    return inner
make(4)()
# expect: 4

# === lambda-assigned
import asyncio
double = lambda x: await asyncio.sleep(0, x * 2)
double(21)
# expect: 42

# === lambda-assigned-defaults
import asyncio
base = 10
plus = lambda x, k=base: await asyncio.sleep(0, x + k)
base = 100
plus(1)
# expect: 11

# === lambda-inline-gather
import asyncio
rs = await asyncio.gather(*map(lambda v: await asyncio.sleep(0, v + 1), [1, 2]))
rs
# expect: [2, 3]

# === lambda-inline-blank-line-above
import asyncio

fs = [lambda: await asyncio.sleep(0, 1)]
await fs[0]()
# expect: 1

# === lambda-inline-closure-in-function
import asyncio
async def outer(k):
    fns = {"a": lambda v: await asyncio.sleep(0, v * k)}
    return await fns["a"](3)
await outer(5)
# expect: 15

# === lambda-inline-in-if-one-line
import asyncio
if True: h = [lambda: await asyncio.sleep(0, "x")]
await h[0]()
# expect: 'x'

# === lambda-in-comprehension-not-capturing
import asyncio
k = 3
fs = [lambda: await asyncio.sleep(0, k) for _ in range(2)]
[await f() for f in fs]
# expect: [3, 3]

# === lambda-called-immediately
import asyncio
(lambda v: await asyncio.sleep(0, v + 1))(41)
# expect: 42

# === lambda-annotated
import asyncio
from typing import Callable
inc: Callable = lambda v: await asyncio.sleep(0, v + 1)
inc(1)
# expect: 2

# === lambda-default-of-def
import asyncio
def use(cb=lambda: await asyncio.sleep(0, "cb")):
    return cb
await use()()
# expect: 'cb'

# === lambda-in-decorator-and-fstring
import asyncio
def deco(cb):
    return lambda fn: fn
@deco(lambda: await asyncio.sleep(0))
def plain():
    return 1
f"{await (lambda: await asyncio.sleep(0, 'z'))()}" + str(plain())
# expect: 'z1'

# === lambda-in-elif
import asyncio
k = 0
if k:
    pick = None
elif (g := lambda: await asyncio.sleep(0, "elif")):
    pick = g
await pick()
# expect: 'elif'

# === recursion
import asyncio
def fact(n):
    await asyncio.sleep(0)
    return 1 if n <= 1 else n * fact(n - 1)
fact(5)
# expect: 120

# === await-in-first-iterator-and-default
import asyncio
def f():
    return [x for x in await asyncio.sleep(0, [1, 2])]
def g():
    def inner(a=await asyncio.sleep(0, 3)):
        return a
    return inner()
f() + [g()]
# expect: [1, 2, 3]

# === await-everywhere-in-def
import asyncio
def busy(n):
    total = 0
    while await asyncio.sleep(0, n > 0):
        try:
            total += await asyncio.sleep(0, n)
        finally:
            n -= 1
    return f"{await asyncio.sleep(0, total)}"
busy(3)
# expect: '6'

# === crlf-cell
import asyncio\r
def f():\r
    return await asyncio.sleep(0, "crlf")\r
xs = [lambda: await asyncio.sleep(0, 1)]\r
f() + str(await xs[0]())\r
# expect: 'crlf1'

# === lambda-later-cell
import asyncio
tw = lambda v: await asyncio.sleep(0, v * 3)
# %%
tw(2) + tw(1)
# expect: 9

# === traceback-line
import asyncio
def boom(x):
    await asyncio.sleep(0)
    raise ValueError(x)
boom("bad")
# raises: ValueError line 4

# === traceback-line-after-hoist
import asyncio
def fail():
    raise KeyError("k")
x = [lambda: await asyncio.sleep(0, fail())]
await x[0]()
# raises: KeyError line 3

# === refuse-dunder
class Bad:
    def __len__(self):
        return await other()
# refuse: special method `__len__`

# === refuse-property
class P:
    @property
    def v(self):
        return await other()
# refuse: property

# === refuse-yield-from
def g():
    await x
    yield from y
# refuse: yield from

# === refuse-sync-generator
import asyncio
def gen():
    for i in range(3):
        await asyncio.sleep(0)
        yield i
list(gen())
# refuse: consumed synchronously

# === async-generator-consumed-async
import asyncio
def gen():
    for i in range(3):
        await asyncio.sleep(0)
        yield i
[v async for v in gen()]
# expect: [0, 1, 2]

# === refuse-generator-consumed-by-builtin
def gen():
    await ready()
    yield 1
total = sum(gen())
# refuse: consumed synchronously

# === async-generator-stored-then-iterated
import asyncio
def gen():
    for i in range(3):
        await asyncio.sleep(0)
        yield i * 2
stream = gen()
[v async for v in stream]
# expect: [0, 2, 4]

# === refuse-contextmanager-generator
import contextlib
@contextlib.contextmanager
def opened():
    res = await acquire()
    yield res
# refuse: needs a plain generator

# === refuse-async-generator-return-value
def gen():
    await x
    yield 1
    return 2
# refuse: `return` with a value

# === refuse-lambda-captures-comprehension-variable
fs = [lambda: await g(i) for i in range(3)]
# refuse: comprehension's variable

# === refuse-lambda-default-in-comprehension
fs = [lambda v=i: await g(v) for i in range(3)]
# refuse: comprehension's variable

# === refuse-one-line-def-with-lambda
def f(): return [lambda: await g()]
# refuse: same line as its `def`
