# Corpus for the wrapper (transform 3): every cell runs directly and through the wrapper, in two
# namespaces, and both must agree on namespace and value. Sessions start with "# === name",
# cells with "# %%". "# refuse: text" marks a cell the wrapper must refuse.

# === assignments
x = 1
# %%
x
# %%
a, b = 1, 2
# %%
a, *rest = [1, 2, 3, 4]
rest
# %%
(p, q), r = (1, 2), 3
p + q + r
# %%
[s, t] = "st"
s * 2 + t
# %%
u = v = w = 5
u + v + w
# %%
x += 10
x
# %%
x -= 1; x *= 2
x
# %%
lst = [1, 2, 3]
lst[0] = 9
lst
# %%
class O: pass
o = O()
o.attr = 3
o.attr
# %%
del a
b
# %%
del p, q

# === annotations
n: int = 3
n
# %%
m: "str"
# %%
__annotations__
# %%
(k): int = 4
k
# %%
class Box: pass
bx = Box()
bx.v: int = 1
bx.v
# %%
deep: list[int] = [
    1,
    2,
]
deep
# %%
if False:
    never: int = 1
# %%
z: undefined_name_in_annotation = 1

# === future-annotations
from __future__ import annotations
fa: dict[str, 'int'] | None = None
fb: lambda: "a" = 2
__annotations__

# === docstring-and-future
"""A cell docstring."""
from __future__ import annotations
da: int = 1
__doc__

# === docstring-only-trailing
"just a string"

# === docstring-then-code
"doc"
y = 2
y + 1

# === loops
for i in range(3):
    last = i
last
# %%
for j, (k1, k2) in enumerate([(1, 2), (3, 4)]):
    pass
j, k1, k2
# %%
total = 0
while total < 10:
    total += 3
else:
    done = True
total, done
# %%
for ch in "ab": pass
else: fin = ch
fin
# %%
for _ in []:
    never_bound = 1
"never_bound" in dir(__builtins__) if False else 0

# === with-and-except
import contextlib
with contextlib.nullcontext(5) as cm:
    inside = cm + 1
inside
# %%
with contextlib.nullcontext(1) as (w1), contextlib.nullcontext(2) as w2:
    pass
w1 + w2
# %%
try:
    1 / 0
except ZeroDivisionError as err:
    caught = str(err)
caught
# %%
try:
    raise KeyError("x")
except* KeyError as eg:
    group = len(eg.exceptions)
group
# %%
try:
    pass
finally:
    cleaned = True
cleaned

# === imports
import os
import os.path as osp
from collections import OrderedDict as OD, defaultdict
import json, sys as system
osp.join("a", "b"), OD.__name__, defaultdict.__name__
# %%
import xml.etree.ElementTree
xml.__name__
# %%
from math import *
pi > 3

# === star-import-not-leading
x = 1
from math import *
# refuse: does not lead the cell

# === defs-and-classes
def f(a, b=2, *args, c, d=4, **kw):
    return a + b + c + d
f(1, c=3)
# %%
def rec(n):
    return 1 if n <= 1 else n * rec(n - 1)
rec(5)
# %%
class C:
    attr = 1
    def m(self):
        return self.attr + helper()
def helper():
    return 10
C().m()
# %%
C.__qualname__, C.m.__qualname__, f.__qualname__
# %%
import functools
@functools.lru_cache(None)
def cached(n):
    return n * 2
cached(4), cached.__wrapped__.__qualname__
# %%
class D(C):
    def m(self):
        return super().m() + 1
D().m()
# %%
def outer():
    def inner():
        return 3
    return inner
outer().__qualname__
# %%
def counter():
    n = 0
    def inc():
        nonlocal n
        n += 1
        return n
    return inc
inc = counter()
inc(), inc()
# %%
def setg():
    global made_global
    made_global = "yes"
setg()
made_global
# %%
class WithClassVar:
    items = [1, 2]
    doubled = [i * 2 for i in items]
WithClassVar.doubled

# === closures-over-cell-names
base = 10
def add(v):
    return v + base
base = 20
add(1)
# %%
vals = [lambda: base]
base = 30
vals[0]()

# === comprehensions-and-walrus
sq = [n * n for n in range(4)]
sq
# %%
[(wal := n) for n in range(3)]
wal
# %%
if (walrus_top := 5) > 3:
    big = True
walrus_top, big
# %%
{k: v for k, v in zip("ab", (1, 2))}
# %%
{c for c in "hello"}
# %%
n
# %%
gen = (i for i in range(3))
sum(gen)

# === match
point = (1, 2)
match point:
    case (0, 0):
        where = "origin"
    case (px, py):
        where = f"{px},{py}"
where, px, py
# %%
match {"k": 1, "other": 2}:
    case {"k": kv, **others}:
        pass
kv, others
# %%
match [1, 2, 3]:
    case [first, *middle, lastv]:
        pass
first, middle, lastv
# %%
match 5:
    case int() as whole:
        pass
whole
# %%
class Pt:
    __match_args__ = ("xx", "yy")
    def __init__(self):
        self.xx, self.yy = 3, 4
match Pt():
    case Pt(xx=cx, yy=cy):
        pass
cx + cy
# %%
match "s":
    case "a" | "b":
        alt = 1
    case _:
        alt = 2
alt

# === top-level-await
import asyncio
val = await asyncio.sleep(0, 42)
val
# %%
async def agen():
    for i in range(3):
        yield i
acc = []
async for item in agen():
    acc.append(item)
acc, item
# %%
import contextlib
@contextlib.asynccontextmanager
async def acm():
    yield "in"
async with acm() as got:
    pass
got
# %%
[i async for i in agen()]
# %%
await asyncio.gather(asyncio.sleep(0, 1), asyncio.sleep(0, 2))
# %%
async def coro():
    return 7
await coro()

# === errors
undefined_name
# %%
partial = 1
raise ValueError("stop")
after = 2
# %%
partial
# %%
del never_defined
# %%
int("x")
# %%
if False:
    cond = 1
cond

# === layout
text = """line one
    indented in string
line three"""
text
# %%
bs = "a\
b"
bs
# %%
total2 = 1 + \
    2
total2
# %%
a1 = 1; b1 = 2; a1 + b1
# %%
if True: one_line = "yes"
one_line
# %%
nested = {
    "k": [
        1,
    ],
}
nested
# %%
f"{'multi'}" f"""
{1 + 1}"""
# %%
data = (
"not indented inside brackets"
)
data
# %%
bb = b"""bytes
  keep"""
bb

# === tabs
if True:
	tabbed = 1
	if tabbed:
		tabbed += 1
tabbed

# === globals-and-builtins
global declared_at_top
declared_at_top = 1
declared_at_top
# %%
print = lambda *a: "shadowed"
print("x")
# %%
del print
len("abc")
# %%
__name__

# === trailing-values
1; 2
# %%
x = 5
-x
# %%
*[1, 2], 3
# %%
lambda: 0
# %%
None
# %%
(yield_word := "y")
# %%
not True

# === lambda-qualname
fn = lambda: 1
fn.__qualname__

# === refusals
return 5
# refuse: 'return' outside function

# === refuse-yield
yield 1
# refuse: 'yield' outside function

# === refuse-locals
locals()["q"] = 1
# refuse: `locals(...)`

# === refuse-exec
exec("zz = 1")
# refuse: `exec(...)`

# === refuse-dir
dir()
# refuse: `dir(...)`

# === nested-scopes
def mk():
    loc = 1
    return locals()
mk()
# %%
class Meta(type):
    def __new__(m, name, bases, ns):
        ns["tag"] = name
        return super().__new__(m, name, bases, ns)
class Tagged(metaclass=Meta):
    pass
Tagged.tag
# %%
exec("ex_made = 5", globals())
ex_made
# %%
eval("1 + 1", {})

# === decorators-and-defaults
def deco(fn):
    fn.marked = True
    return fn
@deco
def decorated(x=[]):
    x.append(1)
    return len(x)
decorated(), decorated(), decorated.marked
# %%
default_src = 3
def with_default(v=default_src):
    return v
default_src = 4
with_default()

# === try-else
try:
    te = 1
except Exception:
    te = 2
else:
    te_else = te + 1
te_else

# === ann-in-class
class Ann:
    field: int = 3
    other: str
Ann.__annotations__, Ann.field

# === session-chain
counter_v = 0
# %%
counter_v += 1
# %%
counter_v += 1
counter_v
# %%
def bump():
    global counter_v
    counter_v += 10
bump()
counter_v

# === annotations-in-blocks
import contextlib
with contextlib.nullcontext():
    wa: int = 1
try:
    ta: str = "t"
except Exception:
    pass
match 1:
    case 1:
        ma: float = 1.0
__annotations__, wa, ta, ma

# === nonlocal-at-cell-level-fails-both-ways
nl = 1
def bad():
    nonlocal nl
    nl = 2

# === walrus-in-lambda-default
fl = lambda a=(wd := 4): a
fl() + wd

# === class-body-reads-cell-names
seed = 3
class Reader:
    value = seed * 2
    items = [seed for _ in range(2)]
Reader.value, Reader.items

# === async-genexp-at-cell-level
import asyncio
agx = (await asyncio.sleep(0, i) for i in range(3))
[v async for v in agx]

# === conditional-import
try:
    import not_a_real_module_pyrepl3 as maybe
except ImportError:
    maybe = None
maybe

# === main-guard
if __name__ == "__main__":
    ran_main = True
ran_main

# === future-annotation-strings
from __future__ import annotations
a1: tuple[int, ...]
a2: "x" | None
a3: m[1:2, ::3]
a4: lambda x, *a, k=1, **kw: x
a5: (a, b)
a6: a or b and c
a7: -x ** 2
a8: {**a, 'b': 1}
a9: a.b[c](d=1, *e, **f)
b1: f'{x!r:>{w}}'
b2: 1e10
b3: 0x10
b4: [*a]
b5: x if y else z
b6: a[()]
b7: a[(1,)]
b8: not a
c1: 'it''s'
c2: b'x'
c3: a < b <= c
c4: ~a @ b
c5: {1, 2}
c6: {k: v for k, v in x}
c7: (x for x in y)
c9: ...
__annotations__

# === future-annotation-refusal
from __future__ import annotations
w1: (y := 1) = 2
# refuse: 'named expression' can not be used within an annotation
