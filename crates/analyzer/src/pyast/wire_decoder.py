"""Build CPython `ast` objects from pyrepl3's pyast wire text (`Node::to_wire` in Rust).

The wire text is a postfix program, one instruction per line; a stack machine (no recursion,
so trees of any depth) turns it into `ast` nodes generically, with no per-class code.
"""
import ast as _ast
import sys as _sys


def _int(digits):
    try:
        return int(digits)
    except ValueError:
        # More than sys.get_int_max_str_digits() digits: a hexadecimal literal can hold that.
        old = _sys.get_int_max_str_digits()
        _sys.set_int_max_str_digits(0)
        try:
            return int(digits)
        finally:
            _sys.set_int_max_str_digits(old)


_KEYWORDS = {"True": True, "False": False, "None": None, "Ellipsis": ...}


def pyast_build(text):
    """Return the `ast` tree (usually an `ast.Module`) that `text` describes."""
    stack = []
    push = stack.append
    for line in text.split("\n"):
        op = line[:1]
        arg = line[2:]
        if op == "N":
            parts = arg.split(" ")
            cls = getattr(_ast, parts[0])
            n = int(parts[1])
            values = stack[len(stack) - n :]
            del stack[len(stack) - n :]
            node = cls(**dict(zip(cls._fields, values)))
            if len(parts) == 6:
                node.lineno = int(parts[2])
                node.col_offset = int(parts[3])
                node.end_lineno = int(parts[4])
                node.end_col_offset = int(parts[5])
            push(node)
        elif op == "L":
            n = int(arg)
            values = stack[len(stack) - n :]
            del stack[len(stack) - n :]
            push(values)
        elif op == "S":
            push(bytes.fromhex(arg).decode("utf-8", "surrogatepass"))
        elif op == "B":
            push(bytes.fromhex(arg))
        elif op == "I":
            push(_int(arg))
        elif op == "F":
            push(float(arg))
        elif op == "J":
            push(complex(0.0, float(arg)))
        elif op == "K":
            push(_KEYWORDS[arg])
        elif line:
            raise ValueError(f"pyast wire: unknown instruction {line!r}")
    if len(stack) != 1:
        raise ValueError(f"pyast wire: {len(stack)} values left, expected 1")
    return stack[0]
