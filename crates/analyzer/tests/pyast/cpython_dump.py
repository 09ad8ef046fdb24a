"""CPython's side of the pyast differential tests: print `ast.dump(..., include_attributes=True)`.

    python3 cpython_dump.py stdlib [ROOT]  # every .py file of the standard library (or under ROOT,
                                        # site-packages included then), one JSON line each:
                                        # {"path": ..., "dump": ...} (+ "source", the decoded
                                        # text, when its coding is not UTF-8), or {"path": ..., "error": ...} when
                                        # ast.parse refuses it
    python3 cpython_dump.py sources     # stdin: a JSON list of sources; stdout: one JSON line each,
                                        # {"dump": ..., "compile": ...} or {"error": ...}
    python3 cpython_dump.py rebuild     # stdin: {"decoder": pyast::WIRE_DECODER, "wires": [...]};
                                        # builds each tree with the decoder's pyast_build and
                                        # prints {"dump": ..., "compile": ...} of the result
"""
import ast
import io
import json
import os
import sys
import sysconfig
import tokenize
import warnings

assert sys.version_info[:2] == (3, 11), sys.version
# SyntaxWarnings (invalid escapes, `is` with a literal...) are not what these tests compare.
warnings.simplefilter("ignore")


def dump(src):
    return ast.dump(ast.parse(src), include_attributes=True)


def stdlib():
    root = sys.argv[2] if len(sys.argv) > 2 else sysconfig.get_paths()["stdlib"]
    skip = ("__pycache__",) if len(sys.argv) > 2 else ("site-packages", "__pycache__")
    print(json.dumps({"root": root}), flush=True)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
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
                # Files whose coding cookie is not UTF-8: hand over the text CPython decoded.
                encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
                if encoding not in ("utf-8", "utf-8-sig"):
                    rec["source"] = data.decode(encoding)
            print(json.dumps(rec), flush=False)
    sys.stdout.flush()


def compile_outcome(tree):
    try:
        compile(tree, "<pyast>", "exec", dont_inherit=True)
        return "ok"
    except Exception as e:  # the outcome is data here
        return f"{type(e).__name__}: {e}"


def sources():
    for src in json.load(sys.stdin):
        try:
            tree = ast.parse(src)
            rec = {"dump": ast.dump(tree, include_attributes=True), "compile": compile_outcome(tree)}
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
            rec = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(rec))


def rebuild():
    request = json.load(sys.stdin)
    namespace = {}
    exec(request["decoder"], namespace)
    for text in request["wires"]:
        tree = namespace["pyast_build"](text)
        print(json.dumps({"dump": ast.dump(tree, include_attributes=True), "compile": compile_outcome(tree)}))


if __name__ == "__main__":
    {"stdlib": stdlib, "sources": sources, "rebuild": rebuild}[sys.argv[1]]()
