#!/usr/bin/env python3
"""CPython 3.11 as the oracle for pyrepl3's analyzer.

    python3 oracle.py record [cells.txt] [expected.json]
        Read the hand-written edge cells (sections starting with a line `# ---- name`), ask CPython
        about each one and write the checked-in expectations (source + verdict) as JSON.

    python3 oracle.py serve
        Read a JSON array of cell sources on stdin, write a JSON array of verdicts on stdout
        (one process for any number of cells; used by tests/oracle.rs and tests/stdlib.rs).

    python3 oracle.py serve-flag-only
        Like serve, without the extra compile without the flag (`plain_ok` is null).

    python3 oracle.py bindings
        Read a JSON array of cell sources, write for each the module-scope names CPython's symbol
        table says the cell binds (null when the cell does not compile).

    python3 oracle.py files
        Like serve, but the input is a JSON array of file paths (read as bytes, like a module).

A verdict is {"ast_ok": bool, "ok": bool, "coroutine": bool | null, "error": null | {"type",
"msg", "lineno", "offset", "end_lineno", "end_offset", "line_ascii"}}:
- `ok`: compile(src, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
  succeeds; `coroutine`: the module code has CO_COROUTINE (0x80) set;
- `ast_ok`: the parser alone (ast.parse, no flag needed) accepts the cell, so a failure with
  `ast_ok` true comes from the compiler (symtable/codegen), not the parser;
- `plain_ok`: compile without the flag succeeds (top-level await needs the flag); not asked
  (null) in `files` mode;
- `line_ascii`: the error's line is ASCII, so CPython's 1-based `offset` is a byte column.
"""
import ast
import json
import sys
import warnings

FLAG = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
assert FLAG == 0x2000
CO_COROUTINE = 0x80


REFUSALS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)


def verdict(src, plain=True):
    out = {"ast_ok": True, "ok": True, "plain_ok": None, "coroutine": None, "error": None}
    if plain:
        try:
            compile(src, "<cell>", "exec", dont_inherit=True)
            out["plain_ok"] = True
        except REFUSALS:
            out["plain_ok"] = False
    try:
        code = compile(src, "<cell>", "exec", flags=FLAG, dont_inherit=True)
        out["coroutine"] = bool(code.co_flags & CO_COROUTINE)
    except SyntaxError as e:
        out["ok"] = False
        try:
            compile(src, "<cell>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        except REFUSALS:
            out["ast_ok"] = False
        line_ascii = None
        if e.lineno is not None:
            text = src if isinstance(src, str) else src.decode("utf-8", "replace")
            lines = text.splitlines()
            if 1 <= e.lineno <= len(lines):
                line_ascii = lines[e.lineno - 1].isascii()
        out["error"] = {
            "type": type(e).__name__,
            "msg": e.msg,
            "lineno": e.lineno,
            "offset": e.offset,
            "end_lineno": e.end_lineno,
            "end_offset": e.end_offset,
            "line_ascii": line_ascii,
        }
    except (ValueError, RecursionError, MemoryError, OverflowError) as e:
        out["ok"] = False
        out["ast_ok"] = False
        out["error"] = {"type": type(e).__name__, "msg": str(e), "lineno": None,
                        "offset": None, "end_lineno": None, "end_offset": None,
                        "line_ascii": None}
    return out


def module_bindings(src):
    """The names a cell binds or deletes in the module namespace, by CPython's symbol table.

    Module-level symbols that are assigned, imported or defined, plus names declared `global`
    and bound in nested scopes. `annotation_only` lists names whose only module-level
    "assignment" is a bare annotation (`x: int`): the symbol table marks them assigned, but
    running the cell does not bind them.
    """
    import symtable

    try:
        top = symtable.symtable(src, "<cell>", "exec")
    except SyntaxError:
        return None
    names = set()
    for s in top.get_symbols():
        if s.is_assigned() or s.is_imported() or s.is_namespace():
            names.add(s.get_name())

    def walk(table):
        for child in table.get_children():
            for s in child.get_symbols():
                if s.is_declared_global() and (s.is_assigned() or s.is_imported()):
                    names.add(s.get_name())
            walk(child)

    walk(top)
    tree = ast.parse(src)
    bound_otherwise, annotated = set(), set()

    class Scan(ast.NodeVisitor):
        # Only module-level code: bodies of functions, lambdas and classes bind their own names.
        def visit_FunctionDef(self, node):
            bound_otherwise.add(node.name)
            for d in node.decorator_list:
                self.visit(d)
        visit_AsyncFunctionDef = visit_FunctionDef

        def visit_ClassDef(self, node):
            bound_otherwise.add(node.name)
            for e in node.decorator_list + node.bases + [k.value for k in node.keywords]:
                self.visit(e)

        def visit_Lambda(self, node):
            pass

        def visit_AnnAssign(self, node):
            if node.value is None and isinstance(node.target, ast.Name):
                annotated.add(node.target.id)
            else:
                self.generic_visit(node)

        # A comprehension's targets are its own; only walrus targets inside bind here.
        def visit_comprehension(self, node):
            self.visit(node.iter)
            for cond in node.ifs:
                self.visit(cond)

        def visit_Name(self, node):
            if not isinstance(node.ctx, ast.Load):
                bound_otherwise.add(node.id)

    Scan().visit(tree)
    return {"names": sorted(names), "annotation_only": sorted(annotated - bound_otherwise)}


def read_cells(path):
    cells = []
    name, buf = None, []
    with open(path, encoding="utf-8") as f:
        for line in f.read().split("\n"):
            if line.startswith("# ---- "):
                if name is not None:
                    cells.append((name, "\n".join(buf).rstrip("\n") + "\n"))
                name, buf = line[len("# ---- "):].strip(), []
            elif name is not None:
                buf.append(line)
    if name is not None:
        cells.append((name, "\n".join(buf).rstrip("\n") + "\n"))
    return cells


def main():
    assert sys.version_info[:2] == (3, 11), f"the oracle must be CPython 3.11, not {sys.version}"
    sys.setrecursionlimit(1000)
    # Warnings (SyntaxWarning for `x is 1`...) do not change a verdict; keep the output clean.
    warnings.simplefilter("ignore")
    mode = sys.argv[1] if len(sys.argv) > 1 else "serve"
    if mode == "record":
        here = __file__.rsplit("/", 1)[0]
        src_path = sys.argv[2] if len(sys.argv) > 2 else f"{here}/cells.txt"
        out_path = sys.argv[3] if len(sys.argv) > 3 else f"{here}/expected.json"
        cells = read_cells(src_path)
        names = [n for n, _ in cells]
        dupes = {n for n in names if names.count(n) > 1}
        assert not dupes, f"duplicate cell names: {sorted(dupes)}"
        records = [{"name": n, "source": s, "expected": verdict(s)} for n, s in cells]
        with open(out_path, "w", encoding="utf-8") as f:
            json.dump({"python": sys.version.split()[0], "flag": FLAG, "cells": records},
                      f, indent=1, ensure_ascii=False)
            f.write("\n")
        errors = sum(1 for r in records if not r["expected"]["ok"])
        tla = sum(1 for r in records if r["expected"]["coroutine"])
        print(f"recorded {len(records)} cells ({errors} errors, {tla} top-level await)"
              f" -> {out_path}", file=sys.stderr)
    elif mode in ("serve", "serve-flag-only"):
        sources = json.load(sys.stdin)
        plain = mode == "serve"
        json.dump([verdict(s, plain) for s in sources], sys.stdout)
    elif mode == "bindings":
        sources = json.load(sys.stdin)
        json.dump([module_bindings(s) for s in sources], sys.stdout)
    elif mode == "files":
        paths = json.load(sys.stdin)
        results = []
        for p in paths:
            with open(p, "rb") as f:
                results.append(verdict(f.read(), plain=False))
        json.dump(results, sys.stdout)
    else:
        sys.exit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
