"""CPython's side of the pyast differential tests: print `ast.dump(..., include_attributes=True)`.

    python3 cpython_dump.py stdlib      # every .py file of the standard library, one JSON line each:
                                        # {"path": ..., "dump": ...} (+ "source" when the file is
                                        # not UTF-8), or {"path": ..., "error": ...} when
                                        # ast.parse refuses it
    python3 cpython_dump.py sources     # stdin: a JSON list of sources; stdout: one JSON line each,
                                        # {"dump": ...} or {"error": ...}
"""
import ast
import json
import os
import sys
import sysconfig

assert sys.version_info[:2] == (3, 11), sys.version


def dump(src):
    return ast.dump(ast.parse(src), include_attributes=True)


def stdlib():
    root = sysconfig.get_paths()["stdlib"]
    print(json.dumps({"root": root}), flush=True)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("site-packages", "__pycache__"))
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                data = f.read()
            rec = {"path": path}
            try:
                rec["dump"] = dump(data)
            except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
                rec["error"] = f"{type(e).__name__}: {e}"
            else:
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError:
                    import io
                    import tokenize

                    with tokenize.open(path) as f:
                        rec["source"] = f.read()
            print(json.dumps(rec), flush=False)
    sys.stdout.flush()


def sources():
    for src in json.load(sys.stdin):
        try:
            rec = {"dump": dump(src)}
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
            rec = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(rec))


if __name__ == "__main__":
    {"stdlib": stdlib, "sources": sources}[sys.argv[1]]()
