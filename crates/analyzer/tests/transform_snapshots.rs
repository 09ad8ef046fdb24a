//! Insta snapshots of the transforms: input cell → transformed source, rewrites and reasons,
//! for each transform and every refusal. Every transformed cell is also transformed a second
//! time, which must change nothing.

mod transform_common;

use pyrepl3_analyzer::SessionState;
use pyrepl3_analyzer::transform::{TransformOptions, transform_cell};

fn check(cells: &[&str], wrap: bool) -> String {
    // Idempotence on every transformed cell.
    let mut state = SessionState::new();
    for cell in cells {
        let r = transform_cell(cell, &mut state, &TransformOptions { wrap });
        if let Some(t) = &r.transformed_source {
            let again = transform_cell(t, &mut state.clone(), &TransformOptions { wrap });
            assert!(
                again.transformed_source.is_none()
                    || again.transformed_source.as_deref() == Some(t),
                "second transform changed:\n{t}\n=>\n{:?}",
                again.transformed_source
            );
            assert!(
                again.refused.is_none(),
                "second transform refused: {:?}",
                again.refused
            );
        }
    }
    transform_common::run_session(cells, wrap)
}

macro_rules! snap {
    ($name:ident, wrap, $($cell:expr),+ $(,)?) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), check(&[$($cell),+], true));
        }
    };
    ($name:ident, $($cell:expr),+ $(,)?) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), check(&[$($cell),+], false));
        }
    };
}

// --- def → async def ---
snap!(
    def_basic,
    "import asyncio\n\ndef fetch(n):\n    await asyncio.sleep(0)\n    return n\n\nvalue = fetch(1)\nfetch(2).bit_length()\n"
);
snap!(
    def_fixed_point,
    "def a():\n    return await x()\n\ndef b():\n    return a() + 1\n\ndef c():\n    return [b() for _ in range(2)]\n\nc()\n"
);
snap!(
    def_async_constructs,
    "def f():\n    async for x in aiter_():\n        pass\n\ndef g():\n    async with lock:\n        pass\n\ndef h():\n    return [y async for y in agen()]\n\ndef not_rewritten():\n    return (await z for z in items)\n"
);
snap!(
    def_nested_in_async_def,
    "async def outer():\n    def inner():\n        return await g()\n    return inner()\n"
);
snap!(
    def_method_and_decorator,
    "class C:\n    def m(self):\n        return await self.fetch()\n\n    @staticmethod\n    def s():\n        return await g()\n\n@app.route('/')\ndef view():\n    return await render()\n"
);
snap!(
    def_value_uses_warned,
    "def price(item):\n    return await lookup(item)\n\ncheapest = sorted(items, key=price)\ncallbacks.append(price)\n"
);
snap!(
    def_sync_contexts_warned,
    "def g():\n    return await x()\n\ndef gen():\n    yield g()\n\nclass K:\n    v = g()\n\nlazy = (g() for _ in range(3))\nf = lambda: g()\n\ndef __repr__():\n    return g()\n"
);
snap!(
    def_coroutine_consumers_not_awaited,
    "import asyncio\n\ndef work():\n    return await asyncio.sleep(0, 1)\n\ntask = asyncio.create_task(work())\nresults = await asyncio.gather(work(), work())\nawait work()\n"
);
snap!(
    def_async_generator,
    "def ticks(n):\n    for i in range(n):\n        await sleep(0)\n        yield i\n\nasync for t in ticks(3):\n    print(t)\n"
);
snap!(
    def_later_cells,
    "def f():\n    return await g()\n",
    "x = f()\n",
    "def h():\n    return f()\n\nh()\n",
    "f = 3\n",
    "f()\n"
);
snap!(
    def_shadowing_respected,
    "def f():\n    return await g()\n\ndef user(f):\n    return f()\n\ndef other():\n    f = len\n    return f('ab')\n\nf()\n"
);
snap!(
    def_async_generator_across_cells,
    "def ticks(n):\n    for i in range(n):\n        await sleep(0)\n        yield i\n\nstream = ticks(3)\n",
    "async for t in stream:\n    print(t)\n",
    "total = sum(ticks(2))\n"
);
snap!(
    def_asyncio_run_of_rewritten_function,
    "import asyncio\n\ndef main():\n    await asyncio.sleep(1)\n    return 42\n\nasyncio.run(main())\nasyncio.run(main()).real\nasyncio.run(other())\n"
);
snap!(
    def_self_method_calls,
    "class Client:\n    def fetch(self, k):\n        return await self.session.get(k)\n\n    def both(self):\n        return [self.fetch('a'), self.fetch('b')]\n\n    def __init__(self):\n        self.first = self.fetch('x')\n\n    @staticmethod\n    def helper(self):\n        return self.fetch('y')\n"
);
snap!(
    def_ambiguous_binding,
    "def f():\n    return await g()\n\nif flag:\n    f = something_else\n\nf()\n"
);

// --- lambda → async def ---
snap!(
    lambda_assigned,
    "import asyncio\nget = lambda key, default=None: await cache.get(key, default)\nget('a')\n"
);
snap!(
    lambda_assigned_multiline,
    "fetch = (lambda url:\n    await session.get(\n        url))\nfetch('u')\n"
);
snap!(
    lambda_inline_new_line,
    "results = await asyncio.gather(*map(lambda v: await work(v), values))\n"
);
snap!(
    lambda_inline_blank_line_above,
    "import asyncio\n\nhandlers = {'a': lambda e: await handle(e)}\n"
);
snap!(
    lambda_inline_in_function,
    "async def main(k):\n    fns = [lambda: await g(k)]\n    return fns\n"
);
snap!(
    lambda_inline_one_line_compound,
    "if ready: hs = [lambda: await g()]\n"
);
snap!(
    lambda_in_class_body,
    "class Handlers:\n    on_event = staticmethod(lambda e: await handle(e))\n"
);
snap!(
    lambda_in_comprehension_not_capturing,
    "fs = [lambda: await g(k) for _ in range(3)]\n"
);
snap!(lambda_after_semicolon, "x = 1; fs = [lambda: await g()]\n");
snap!(
    lambda_assigned_not_at_line_start,
    "x = 1; f = lambda: await g()\nif c: h = lambda: await g()\nf(); h()\n"
);
snap!(
    lambda_called_immediately,
    "x = (lambda v: await g(v))(1)\n(lambda: await g())()\n"
);

// --- refusals ---
snap!(
    refuse_dunder,
    "class Feed:\n    def __len__(self):\n        return len(await self.fetch())\n"
);
snap!(
    refuse_property,
    "class User:\n    @property\n    def name(self):\n        return await self.load_name()\n"
);
snap!(
    refuse_yield_from,
    "def relay():\n    await ready()\n    yield from source()\n"
);
snap!(
    refuse_sync_generator,
    "def gen():\n    await ready()\n    yield 1\n\nfor v in gen():\n    print(v)\n"
);
snap!(
    refuse_async_generator_return,
    "def gen():\n    await ready()\n    yield 1\n    return 'done'\n"
);
snap!(
    refuse_lambda_captures_comprehension_variable,
    "fs = [lambda: await fetch(u) for u in urls]\n"
);
snap!(
    refuse_lambda_defaults_in_comprehension,
    "fs = [lambda u=u: await fetch(u) for u in urls]\n"
);
snap!(
    refuse_lambda_on_def_line,
    "def make(): return [lambda: await g()]\n"
);
snap!(
    refuse_lambda_awaits_and_yields,
    "f = lambda: (await g(), (yield))\n"
);
snap!(
    refuse_nested_lambda_capture,
    "outer = lambda x: (lambda: await g(x))\n"
);

snap!(
    refuse_contextmanager_generator,
    "import contextlib\n\n@contextlib.contextmanager\ndef session():\n    conn = await connect()\n    yield conn\n    await conn.close()\n"
);

// --- wrapper ---
snap!(
    wrap_bindings,
    wrap,
    "import os, collections.abc as cabc\nfrom math import pi as PI\na, *b = 1, 2, 3\nc += 1\nfor i in range(2): pass\nwith open(p) as fh: pass\ntry:\n    pass\nexcept E as err:\n    pass\ndef f(): pass\nclass K: pass\n[w := 1 for _ in range(1)]\nmatch v:\n    case [m1, *ms]: pass\n    case {'k': mk, **mrest}: pass\n    case P(x=px) as whole: pass\ndel a\ndef g():\n    global made\n    made = 1\nresult = f()\nresult\n"
);
snap!(
    wrap_annotations,
    wrap,
    "x: int = 1\ny: list[\n    int\n]\nobj.attr: str = 's'\n(z): float = 2.0\n"
);
snap!(
    wrap_future_annotations,
    wrap,
    "from __future__ import annotations\nx: dict[str, 'int'] | None = None\n"
);
snap!(
    wrap_docstring_and_star_import,
    wrap,
    "\"\"\"Docs.\"\"\"\nfrom math import *\nr = floor(pi)\nr\n"
);
snap!(
    wrap_star_import_same_line,
    wrap,
    "from math import *; r = floor(pi)\n"
);
snap!(
    wrap_strings_and_layout,
    wrap,
    "s = '''first\n  second'''\nt = f\"\"\"{s}\nend\"\"\"\nu = 1 + \\\n    2\nif u:\n\tv = 1\n"
);
snap!(
    wrap_with_asyncify,
    wrap,
    "def f():\n    return await g()\nf()\n"
);
snap!(wrap_empty_cell, wrap, "# only a comment\n");
snap!(wrap_refuse_return, wrap, "x = 1\nreturn x\n");
snap!(wrap_refuse_yield, wrap, "if x:\n    yield 1\n");
snap!(wrap_refuse_star_import, wrap, "x = 1\nfrom os import *\n");
snap!(wrap_refuse_locals, wrap, "names = list(locals())\n");

// --- nothing to do ---
snap!(unchanged_plain_cell, "x = 1\nprint(x)\n");
snap!(unchanged_syntax_error, "def f(:\n    pass\n");
snap!(
    unchanged_async_def,
    "async def f():\n    return await g()\nawait f()\n"
);
