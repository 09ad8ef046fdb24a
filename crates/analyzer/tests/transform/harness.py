"""Differential harness for pyrepl3's cell transforms: CPython 3.11 is the oracle.

Reads a JSON request (path in argv[1]) and prints a JSON answer on stdout.

Request: {"sessions": [{"id": str, "mode": "run" | "compile" | "compile_pairs" | "compare",
                        "cells": [cell, ...]}]}
  cell: {"source": str,                  # what the user wrote
         "transformed": str | null,       # what pyrepl3 runs instead (null: the source)
         "starts": [int] | null,          # transformed byte offset -> user byte offset (starts)
         "ends": [int] | null,            # same, for end positions
         "wrapped": str | null}           # "compare" mode: the wrapper path's source

"run": one asyncio loop, one dict as globals for the whole session; each cell is compiled with
  ast.PyCF_ALLOW_TOP_LEVEL_AWAIT from a tree whose positions were mapped back to the user's,
  and its trailing expression's value is taken the way a REPL does.
  Answer per cell: {"compiled": bool, "error": str|null, "value": repr|null,
                    "exc": "Type: msg"|null, "tb_lines": [user line numbers of the cell's frames],
                    "tb_text": [source lines shown for those frames],
                    "name_mismatches": [names whose remapped position is not the user's text]}
"run" with "wrapped": true: the cells are wrapped cells, compiled without the flag; the module
  code runs, then the wrapper is awaited for the cell's value and deleted.
"compile": each cell's source is compiled with the flag; answer {"ok": bool, "error": str|null}.
"compile_pairs": each cell's source is compiled with the flag, its "wrapped" source without;
  answer {"original_ok": bool, "wrapped_ok": bool, "error": str|null}.
"compare" (optional "module_name", default "__main__"): every cell runs twice, in two
  namespaces: directly (compiled with the flag) and via the wrapper (compiled without the flag;
  exec the wrapper module, await __pyrepl3_cell__(), delete it). Answer per cell:
  {"direct": outcome, "wrapped": outcome, "same": bool} where outcome holds the value, the
  exception and the namespace, with memory addresses removed from reprs.
"""

import ast
import asyncio
import inspect
import json
import linecache
import re
import sys
import traceback
import types

FLAG = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
CO_COROUTINE = inspect.CO_COROUTINE
WRAPPER = "__pyrepl3_cell__"


def line_starts(text_bytes):
    starts = [0]
    for i, b in enumerate(text_bytes):
        if b == 0x0A:
            starts.append(i + 1)
    return starts


def remap_tree(tree, transformed, original, starts, ends):
    """Give every node of `tree` (parsed from `transformed`) the user's positions."""
    tb = transformed.encode()
    ob = original.encode()
    t_starts = line_starts(tb)
    o_starts = line_starts(ob)

    def to_off(lineno, col):
        return t_starts[lineno - 1] + col

    def to_pos(off):
        lo, hi = 0, len(o_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if o_starts[mid] <= off:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, off - o_starts[lo]

    for node in ast.walk(tree):
        if not hasattr(node, "lineno") or node.lineno is None:
            continue
        s = starts[min(to_off(node.lineno, node.col_offset), len(starts) - 1)]
        node.lineno, node.col_offset = to_pos(s)
        if getattr(node, "end_lineno", None) is not None:
            e = ends[min(to_off(node.end_lineno, node.end_col_offset), len(ends) - 1)]
            e = max(e, s)
            node.end_lineno, node.end_col_offset = to_pos(e)
    return tree


def check_names(tree, original):
    """Names the user wrote must sit, in the remapped tree, exactly on the user's text."""
    lines = original.encode().split(b"\n")
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id.encode() in original.encode():
            if node.lineno != node.end_lineno:
                bad.append(f"{node.id} spans lines")
                continue
            text = lines[node.lineno - 1][node.col_offset:node.end_col_offset].decode()
            if text != node.id and not node.id.startswith("_pyrepl3_"):
                bad.append(f"{node.id} at {node.lineno}:{node.col_offset} is {text!r}")
    return bad


def split_trailing(tree):
    """A REPL's split: the body, and the trailing expression statement (if any)."""
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body[-1]
        body = ast.Module(body=tree.body[:-1], type_ignores=[])
        return body, ast.Expression(body=last.value)
    return tree, None


async def run_code(code, ns):
    if code.co_flags & CO_COROUTINE:
        return await eval(code, ns)
    return eval(code, ns)


async def run_direct(tree, ns, filename):
    body, expr = split_trailing(tree)
    code = compile(body, filename, "exec", flags=FLAG, dont_inherit=True)
    await run_code(code, ns)
    if expr is None:
        return None
    code = compile(expr, filename, "eval", flags=FLAG, dont_inherit=True)
    return await run_code(code, ns)


ADDR = re.compile(r" at 0x[0-9a-fA-F]+")


def clean(text):
    return ADDR.sub(" at 0x?", text)


def safe_repr(v):
    try:
        return clean(repr(v))
    except Exception as e:  # a repr that raises is still an answer
        return f"<repr raised {type(e).__name__}>"


def describe(v):
    """A comparable description of a namespace value."""
    if isinstance(v, (types.FunctionType, type)):
        return f"{type(v).__name__} {v.__module__}.{v.__qualname__}"
    if isinstance(v, types.ModuleType):
        return f"module {v.__name__}"
    return safe_repr(v)


def namespace(ns):
    return {k: describe(v) for k, v in sorted(ns.items()) if k != "__builtins__"}


def exc_text(e):
    return f"{type(e).__name__}: {e}"


async def run_wrapped(tree, ns, filename):
    code = compile(tree, filename, "exec", dont_inherit=True)
    exec(strip_wrapper_qualnames(code), ns)
    return await ns.pop(WRAPPER)()


async def run_session_cells(session):
    ns = {"__name__": "__main__"}
    out = []
    for i, cell in enumerate(session["cells"]):
        src = cell["source"]
        text = cell.get("transformed") or src
        filename = f"<cell-{session['id']}-{i}>"
        # Tracebacks show the user's source for the user's line numbers.
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
        res = {"compiled": False, "error": None, "value": None, "exc": None,
               "tb_lines": [], "tb_text": [], "name_mismatches": []}
        try:
            tree = ast.parse(text, filename)
            if cell.get("starts"):
                tree = remap_tree(tree, text, src, cell["starts"], cell["ends"])
                res["name_mismatches"] = check_names(tree, src)
            # Compiling the whole cell with the flag is the acceptance check (a wrapped cell
            # needs no flag).
            flags = 0 if session.get("wrapped") else FLAG
            compile(tree, filename, "exec", flags=flags, dont_inherit=True)
            res["compiled"] = True
        except SyntaxError as e:
            res["error"] = f"SyntaxError: {e.msg} (line {e.lineno})"
            out.append(res)
            continue
        try:
            if session.get("wrapped"):
                value = await run_wrapped(tree, ns, filename)
            else:
                value = await run_direct(tree, ns, filename)
            res["value"] = safe_repr(value)
        except Exception as e:
            ns.pop(WRAPPER, None)
            res["exc"] = exc_text(e)
            for fr in traceback.extract_tb(e.__traceback__):
                if fr.filename == filename:
                    res["tb_lines"].append(fr.lineno)
                    res["tb_text"].append(fr.line)
        out.append(res)
    return out


def strip_wrapper_qualnames(code):
    """What the executor does with a wrapped cell's code: code objects nested in the wrapper get
    the qualified names they would have at module level (a lambda is `<lambda>`, not
    `__pyrepl3_cell__.<locals>.<lambda>`). `def`s and classes need nothing: the wrapper
    declares their names global, which already gives them module-level qualified names."""
    prefix = WRAPPER + ".<locals>."
    consts = []
    changed = False
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            new = strip_wrapper_qualnames(c)
            if new.co_qualname.startswith(prefix):
                new = new.replace(co_qualname=new.co_qualname[len(prefix):])
            changed = changed or new is not c
            c = new
        consts.append(c)
    return code.replace(co_consts=tuple(consts)) if changed else code


async def compare_session(session):
    name = session.get("module_name", "__main__")
    direct_ns = {"__name__": name}
    wrapped_ns = {"__name__": name}
    out = []
    for i, cell in enumerate(session["cells"]):
        src = cell["source"]
        wrapped = cell.get("wrapped")
        d = {"value": None, "exc": None}
        w = {"value": None, "exc": None}
        try:
            tree = ast.parse(src)
            compile(tree, "<direct>", "exec", flags=FLAG, dont_inherit=True)
        except SyntaxError as e:
            d["exc"] = f"SyntaxError: {e.msg}"
        else:
            try:
                d["value"] = safe_repr(await run_direct(tree, direct_ns, "<direct>"))
            except Exception as e:
                d["exc"] = exc_text(e)
        if wrapped is None:
            w["exc"] = "refused"
        else:
            try:
                # The wrapper needs no top-level-await flag: that is what it is for.
                code = compile(wrapped, "<wrapped>", "exec", dont_inherit=True)
                code = strip_wrapper_qualnames(code)
            except SyntaxError as e:
                w["exc"] = f"SyntaxError: {e.msg}"
            else:
                try:
                    await run_code(code, wrapped_ns)
                    fn = wrapped_ns.pop(WRAPPER)
                    w["value"] = safe_repr(await fn())
                except Exception as e:
                    wrapped_ns.pop(WRAPPER, None)
                    w["exc"] = exc_text(e)
        d["ns"] = namespace(direct_ns)
        w["ns"] = namespace(wrapped_ns)
        out.append({"direct": d, "wrapped": w, "same": d == w})
    return out


async def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    answers = []
    for session in request["sessions"]:
        if session["mode"] == "compile":
            cells = []
            for cell in session["cells"]:
                try:
                    compile(cell["source"], "<cell>", "exec", flags=FLAG, dont_inherit=True)
                    cells.append({"ok": True, "error": None})
                except SyntaxError as e:
                    cells.append({"ok": False, "error": f"{e.msg} (line {e.lineno})"})
        elif session["mode"] == "compile_pairs":
            cells = []
            for cell in session["cells"]:
                res = {"original_ok": False, "wrapped_ok": False, "error": None}
                try:
                    compile(cell["source"], "<cell>", "exec", flags=FLAG, dont_inherit=True)
                    res["original_ok"] = True
                    compile(cell["wrapped"], "<wrapped>", "exec", dont_inherit=True)
                    res["wrapped_ok"] = True
                except (SyntaxError, ValueError) as e:
                    res["error"] = f"{type(e).__name__}: {e}"
                cells.append(res)
        elif session["mode"] == "run":
            cells = await run_session_cells(session)
        else:
            cells = await compare_session(session)
        answers.append({"id": session["id"], "cells": cells})
    json.dump({"python": sys.version.split()[0], "sessions": answers}, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())
