"""Runs analyzer-built trees in CPython 3.11, for tests/transform_routing.rs.

Reads JSON from stdin: {"decoder": <pyast wire decoder source>, "sessions": [[cell, ...], ...]},
each cell {"user": <source>, "wire": <tree wire text or null>, "mode": <analyzer mode>}.
Cells of one session share one globals dict and one event loop. For every cell it reports
whether the tree compiled with PyCF_ALLOW_TOP_LEVEL_AWAIT, whether CO_COROUTINE was set, the
repr of the trailing expression's value, names whose remapped position does not slice the
user's text to their own identifier, and the user line of the innermost frame of an exception.
"""
import ast, asyncio, json, sys, traceback, linecache

FLAG = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
CO_COROUTINE = 0x80


def slice_user(src_bytes, starts, node):
    s = starts[node.lineno - 1] + node.col_offset
    e = starts[node.end_lineno - 1] + node.end_col_offset
    return src_bytes[s:e].decode("utf-8", "replace")


def line_starts(b):
    starts, i = [0], 0
    while i < len(b):
        if b[i:i + 1] == b"\n":
            starts.append(i + 1)
        elif b[i:i + 1] == b"\r":
            if b[i + 1:i + 2] == b"\n":
                i += 1
            starts.append(i + 1)
        i += 1
    return starts


async def run_cell(cell, ns, filename, pyast_build):
    out = {}
    user = cell["user"]
    tree = pyast_build(cell["wire"]) if cell["wire"] is not None else ast.parse(user, filename)
    b = user.encode()
    starts = line_starts(b)
    out["name_mismatches"] = [
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name)
        and not n.id.startswith(("_pyrepl3_", "__pyrepl3_"))  # names the transforms synthesised
        and slice_user(b, starts, n) != n.id
    ]
    value_expr = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        value_expr = ast.Expression(tree.body[-1].value)
        tree = ast.Module(tree.body[:-1], [])
    lines = user.splitlines(True)
    linecache.cache[filename] = (len(user), None, lines, filename)
    try:
        code = compile(tree, filename, "exec", flags=FLAG, dont_inherit=True)
        vcode = compile(value_expr, filename, "eval", flags=FLAG, dont_inherit=True) if value_expr else None
    except SyntaxError as e:
        out["compile_error"] = f"{e.msg} (line {e.lineno})"
        return out
    out["coroutine"] = bool(code.co_flags & CO_COROUTINE) or bool(vcode and vcode.co_flags & CO_COROUTINE)
    try:
        r = eval(code, ns)
        if asyncio.iscoroutine(r):
            await r
        value = None
        if vcode is not None:
            value = eval(vcode, ns)
            if asyncio.iscoroutine(value):
                value = await value
        out["value"] = repr(value)
    except BaseException as e:  # noqa: BLE001 - report, never crash the harness
        tb = traceback.extract_tb(e.__traceback__)
        frames = [f for f in tb if f.filename == filename]
        out["raised"] = type(e).__name__
        if frames:
            out["raised_line"] = frames[-1].lineno
            out["raised_text"] = frames[-1].line
    return out


async def main():
    req = json.load(sys.stdin)
    scope = {}
    exec(req["decoder"], scope)
    pyast_build = scope["pyast_build"]
    results = []
    for si, session in enumerate(req["sessions"]):
        ns = {"__name__": "__main__"}
        res = []
        for ci, cell in enumerate(session):
            res.append(await run_cell(cell, ns, f"<cell-{si}-{ci}>", pyast_build))
        results.append(res)
    json.dump(results, sys.stdout)


asyncio.run(main())
