"""pyrepl3 executor support, loaded once per process by pyrepl3-executor.

Compiles cells (whole cell, trailing-expression capture, per-cell linecache entries), captures
sys.stdout/sys.stderr with per-execution attribution, routes input() to the embedder, and shuts
a session loop down cleanly. The Rust side owns threads, timeouts, interrupts and routing.
"""

import ast
import asyncio
import asyncio.futures
import builtins
import contextvars
import dis
import io
import linecache
import sys
import threading
import traceback
import __future__
from types import CodeType

ALLOW_TLA = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
ONLY_AST = ast.PyCF_ONLY_AST
CO_COROUTINE = 0x80
SUPPORT_FILENAME = "<pyrepl3 support>"
# The analyzer's wrapper function name and `pyast_build(wire)` (the analyzer's wire decoder)
# are set by the Rust side when it loads this module.
WRAPPER_NAME = None
FUTURE_FLAGS = [getattr(__future__, f).compiler_flag for f in __future__.all_feature_names]
DYNAMIC_NAMES = frozenset({"globals", "exec", "eval", "vars", "locals", "__dict__"})
IMPORT_STAR = bytes([__import__("dis").opmap["IMPORT_STAR"]])

# (port, execution id or None) of the code running in this context: output and input() use it.
current = contextvars.ContextVar("pyrepl3_execution")


class CellTimeout(BaseException):
    """Raised by pyrepl3 into a cell that ran past its timeout.

    A BaseException so `except Exception` in user code does not swallow it, and distinct from
    the user's own TimeoutError.
    """


CellTimeout.__module__ = "pyrepl3"


def _suppressed(text_bytes, line_starts, node):
    """True when a `;` follows the statement `node` (decided on tokens after its end)."""
    pos = line_starts[node.end_lineno - 1] + node.end_col_offset
    n = len(text_bytes)
    while pos < n:
        c = text_bytes[pos]
        if c == 0x3B:  # ;
            return True
        if c == 0x23:  # '#': comment to end of line
            while pos < n and text_bytes[pos] not in (0x0A, 0x0D):
                pos += 1
            continue
        if c in (0x20, 0x09, 0x0C, 0x0A, 0x0D, 0x5C):  # space, tab, FF, newlines, backslash
            pos += 1
            continue
        return False
    return False


def _line_starts(text_bytes):
    starts = [0]
    i, n = 0, len(text_bytes)
    while i < n:
        c = text_bytes[i]
        if c == 0x0D:
            if i + 1 < n and text_bytes[i + 1] == 0x0A:
                i += 1
            starts.append(i + 1)
        elif c == 0x0A:
            starts.append(i + 1)
        i += 1
    return starts


def _all_names(code, out):
    out.update(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            _all_names(const, out)
    return out


def _compile(text, filename, mode, flags):
    return compile(text, filename, mode, flags, dont_inherit=True)


def _parse(text, filename, flags):
    """The cell's AST. CPython 3.11 keeps the AST constructor's recursion depth per interpreter,
    so a thread switch during another thread's construction can make it fail spuriously with
    "SystemError: AST constructor recursion depth mismatch": retry then."""
    for _ in range(4):
        try:
            return _compile(text, filename, "exec", ONLY_AST | flags)
        except SystemError as e:
            if "recursion depth mismatch" not in str(e):
                raise
            err = e
    raise err


def _register(src, filename, first_line):
    """Put the user's cell text in linecache under `filename` (at its lines in its file)."""
    text = "\n" * (first_line - 1) + src
    lines = text.splitlines(True)
    linecache.cache[filename] = (len(text), None, lines, filename)
    return text, lines


def _with_text(e, lines):
    """A SyntaxError from compiling an AST or a split cell: show the user's line."""
    if isinstance(e, SyntaxError) and e.text is None and e.lineno and 0 < e.lineno <= len(lines):
        e.text = lines[e.lineno - 1]
    return e


def _result(body, expr, flags, note):
    new_flags = flags
    for f in FUTURE_FLAGS:
        if body.co_flags & f:
            new_flags |= f
    names = _all_names(body, set())
    if expr is not None:
        _all_names(expr, names)
    # Until the analyzer reports dynamic writes, a cheap superset: names that can write the
    # namespace behind the compiler's back, or an IMPORT_STAR opcode byte in the module code.
    dynamic = bool(names & DYNAMIC_NAMES) or IMPORT_STAR in body.co_code
    return body, expr, sorted(names), dynamic, new_flags, note


def prepare(src, filename, first_line, flags, split=None):
    """Compile the whole cell; nothing runs.

    Returns (body, expr, names, dynamic, flags, note). `expr` is the trailing expression
    statement compiled in 'eval' mode (None when there is none or a `;` follows it) and `body`
    everything before it, both compiled from the cell's text at their original lines and
    columns, so the value is captured without touching the namespace and CPython's own limits
    apply exactly as for `compile(cell)`. Any compile error is the one `compile(cell)` raises.
    `first_line` shifts lines to where the cell sits in its file; `flags` are the session's
    `from __future__` flags (the returned flags add the cell's own); `note` explains a value
    that could not be captured.

    `split` is the analyzer's verdict on the trailing expression: `()` when there is no value
    to capture, `(head, value)` the two texts to compile (already padded to their lines and
    columns), `None` when the analyzer could not tell (it predicted a syntax error): then the
    cell is parsed here to find it.
    """
    text, lines = _register(src, filename, first_line)
    compile_flags = ALLOW_TLA | flags
    if split is not None:
        try:
            if not split:
                return _result(_compile(text, filename, "exec", compile_flags), None, flags, None)
            head, value = split
            try:
                body = _compile(head, filename, "exec", compile_flags)
                expr_flags = compile_flags
                for f in FUTURE_FLAGS:
                    expr_flags |= body.co_flags & f
                expr = _compile(value, filename, "eval", expr_flags)
                return _result(body, expr, flags, None)
            except Exception as e:
                # Report exactly what compiling the whole cell reports; if it compiles after
                # all, run it whole without capturing the value.
                body = _compile(text, filename, "exec", compile_flags)
                note = f"the cell's value was not captured ({type(e).__name__}: {e})"
                return _result(body, None, flags, note)
        except SyntaxError as e:
            raise _with_text(e, lines)
    expr = None
    note = None
    try:
        try:
            tree = _parse(text, filename, compile_flags)
        except SyntaxError:
            raise
        except Exception as e:
            # Python AST objects could not be built (too deep): CPython's compile decides.
            tree = None
            note = f"the cell's value was not captured ({type(e).__name__}: {e})"
        last = None
        if tree is not None and tree.body and isinstance(tree.body[-1], ast.Expr):
            last = tree.body[-1]
            raw = text.encode("utf-8", "surrogatepass")
            starts = _line_starts(raw)
            if _suppressed(raw, starts, last):
                last = None
        if last is None:
            body = _compile(text, filename, "exec", compile_flags)
        else:
            start = starts[last.lineno - 1] + last.col_offset
            end = starts[last.end_lineno - 1] + last.end_col_offset
            head = raw[:start].decode("utf-8", "surrogatepass")
            value = raw[start:end].decode("utf-8", "surrogatepass")
            pad = "\n" * (last.lineno - 1)
            if last.col_offset:
                # Parentheses keep the expression at its column (eval input cannot be indented).
                value = pad + "(" + " " * (last.col_offset - 1) + value + ")"
            else:
                value = pad + value
            try:
                body = _compile(head, filename, "exec", compile_flags)
                expr_flags = compile_flags
                for f in FUTURE_FLAGS:
                    expr_flags |= body.co_flags & f
                expr = _compile(value, filename, "eval", expr_flags)
            except Exception as e:
                # Report exactly what compiling the whole cell reports; if it compiles after
                # all, run it whole without capturing the value.
                body = _compile(text, filename, "exec", compile_flags)
                expr = None
                note = f"the cell's value was not captured ({type(e).__name__}: {e})"
    except SyntaxError as e:
        raise _with_text(e, lines)
    return _result(body, expr, flags, note)


def _compile_tree(tree, filename, mode, flags):
    """compile() of an AST, retrying CPython 3.11's spurious "recursion depth mismatch"
    (its AST converters keep their depth per interpreter, so a thread switch during another
    thread's conversion can trip it)."""
    for _ in range(4):
        try:
            return _compile(tree, filename, mode, flags)
        except SystemError as e:
            if "recursion depth mismatch" not in str(e):
                raise
            err = e
    raise err


def _build(wire, first_line):
    tree = pyast_build(wire)
    if first_line > 1:
        ast.increment_lineno(tree, first_line - 1)
    return tree


def prepare_tree(wire, src, filename, first_line, flags, keep_value):
    """Compile a transformed cell from the analyzer's CPython-schema tree (wire text, every
    position already the user's); nothing runs. The user's source goes to linecache, so
    tracebacks show the user's lines. Splits the trailing expression statement off the tree
    when `keep_value`. Returns what `prepare` returns."""
    text, lines = _register(src, filename, first_line)
    compile_flags = ALLOW_TLA | flags
    try:
        tree = _build(wire, first_line)
        if keep_value and tree.body and isinstance(tree.body[-1], ast.Expr):
            last = tree.body.pop()
            try:
                body = _compile_tree(tree, filename, "exec", compile_flags)
                expr_flags = compile_flags
                for f in FUTURE_FLAGS:
                    expr_flags |= body.co_flags & f
                expression = ast.Expression(body=last.value)
                expr = _compile_tree(expression, filename, "eval", expr_flags)
                return _result(body, expr, flags, None)
            except Exception as e:
                tree.body.append(last)
                body = _compile_tree(tree, filename, "exec", compile_flags)
                note = f"the cell's value was not captured ({type(e).__name__}: {e})"
                return _result(body, None, flags, note)
        return _result(_compile_tree(tree, filename, "exec", compile_flags), None, flags, None)
    except SyntaxError as e:
        raise _with_text(e, lines)


_SUSPENDS = frozenset({"GET_AWAITABLE", "GET_AITER", "GET_ANEXT", "BEFORE_ASYNC_WITH"})


def _unwrap_qualnames(code):
    """Nested code objects of the wrapper get the qualified names they get at module level."""
    consts = tuple(_unwrap_qualnames(c) if isinstance(c, CodeType) else c for c in code.co_consts)
    qualname = code.co_qualname
    prefix = WRAPPER_NAME + ".<locals>."
    if qualname.startswith(prefix):
        qualname = qualname[len(prefix):]
    if consts == code.co_consts and qualname == code.co_qualname:
        return code
    return code.replace(co_consts=consts, co_qualname=qualname)


def prepare_wrapped(wire, src, filename, first_line, flags):
    """Compile a cell wrapped in `async def __pyrepl3_cell__()` with `global` hoisting (the
    fallback path); nothing runs. Returns (module code, awaits, names, dynamic, flags): `awaits`
    is CPython's verdict on whether the wrapper's own body suspends (await, async for/with), so
    the cell must run as a task on the loop."""
    text, lines = _register(src, filename, first_line)
    try:
        code = _compile_tree(_build(wire, first_line), filename, "exec", ALLOW_TLA | flags)
    except SyntaxError as e:
        raise _with_text(e, lines)
    consts = []
    awaits = False
    for c in code.co_consts:
        if isinstance(c, CodeType) and c.co_name == WRAPPER_NAME:
            awaits = any(i.opname in _SUSPENDS for i in dis.get_instructions(c))
            consts.append(c.replace(co_consts=tuple(
                _unwrap_qualnames(k) if isinstance(k, CodeType) else k for k in c.co_consts)))
        else:
            consts.append(c)
    code = code.replace(co_consts=tuple(consts))
    body, _, names, dynamic, new_flags, _ = _result(code, None, flags, None)
    return body, awaits, names, dynamic, new_flags


def _wrapper(code, ns):
    """Define the wrapper function in the session namespace, take it out again, call it."""
    eval(code, ns)
    return ns.pop(WRAPPER_NAME)()


async def run_wrapped_async(code, ns):
    """A wrapped cell that awaits: its value."""
    return await _wrapper(code, ns)


def run_wrapped_sync(code, ns):
    """A wrapped cell that never suspends: drive its coroutine in one step; its value."""
    coro = _wrapper(code, ns)
    try:
        coro.send(None)
    except StopIteration as e:
        return e.value
    coro.close()
    raise RuntimeError("the wrapped cell suspended outside the event loop")


def refusal(src, filename, first_line, message, lineno, offset, end_lineno, end_offset, notes):
    """A cell the transforms refused, as a SyntaxError (type, message, traceback, notes)."""
    text, lines = _register(src, filename, first_line)
    line = lines[lineno - 1] if 0 < lineno <= len(lines) else None
    exc = SyntaxError(message, (filename, lineno, offset, line, end_lineno, end_offset))
    return describe_error(exc, notes, only=True)


async def run_cell_async(body, expr, ns):
    """A cell with a trailing expression where either part awaits: its value."""
    r = eval(body, ns)
    if body.co_flags & CO_COROUTINE:
        await r
    value = eval(expr, ns)
    if expr.co_flags & CO_COROUTINE:
        value = await value
    return value


def type_name(exc_type):
    mod = getattr(exc_type, "__module__", None)
    name = getattr(exc_type, "__qualname__", None) or exc_type.__name__
    if mod in (None, "builtins", "__main__"):
        return name
    return f"{mod}.{name}"


def describe_error(exc, notes, only=False):
    """(type, message, traceback text, notes) of an exception, after adding `notes` to it.

    `only`: format the exception without its frames (compile errors: the frames are ours)."""
    for note in notes:
        try:
            exc.add_note(note)
        except Exception:
            pass
    try:
        tb = exc.__traceback__
        # The runtime's own frames (run_cell_async) are not the user's.
        while tb is not None and tb.tb_frame.f_code.co_filename == SUPPORT_FILENAME:
            tb = tb.tb_next
        if only:
            tb = None
        tb = "".join(traceback.format_exception(type(exc), exc, tb))
    except BaseException as e:  # a broken __str__ must not break the runtime
        tb = f"{type(exc).__name__}: <traceback unavailable: {type(e).__name__}>\n"
    try:
        message = str(exc)
    except BaseException:
        message = "<str() failed>"
    if isinstance(exc, SyntaxError):
        message = exc.msg if exc.msg is not None else message
    all_notes = getattr(exc, "__notes__", None)
    all_notes = [str(n) for n in all_notes] if isinstance(all_notes, list) else []
    return type_name(type(exc)), message, tb, all_notes


def is_coroutine(value):
    return asyncio.iscoroutine(value)


class _BufferWriter(io.RawIOBase):
    """`sys.stdout.buffer`: bytes written are decoded as UTF-8 and go through the text writer."""

    def __init__(self, text):
        super().__init__()
        self._text = text

    def writable(self):
        return True

    def write(self, b):
        data = bytes(b)
        self._text.write(data.decode("utf-8", "replace"))
        return len(data)


class Writer(io.TextIOBase):
    """sys.stdout/sys.stderr: writes go to the session of the execution that made them."""

    def __init__(self, stream, fallback):
        super().__init__()
        self._stream = stream
        self._fallback = fallback
        self._buffer = _BufferWriter(self)

    @property
    def buffer(self):
        return self._buffer

    encoding = "utf-8"
    errors = "strict"
    newlines = None

    @property
    def name(self):
        return "<stdout>" if self._stream == 0 else "<stderr>"

    def writable(self):
        return True

    def readable(self):
        return False

    def seekable(self):
        return False

    def isatty(self):
        return False

    def fileno(self):
        raise io.UnsupportedOperation("pyrepl3 output streams have no file descriptor")

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        cur = current.get(None)
        if cur is None:
            if self._fallback is not None:
                return self._fallback.write(s)
            return len(s)
        if s:
            cur[0].emit(cur[1], self._stream, s)
        return len(s)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if current.get(None) is None and self._fallback is not None:
            self._fallback.flush()


_original_input = builtins.input


def _input(prompt=""):
    """input(): asks the embedder of the session whose cell is running."""
    cur = current.get(None)
    if cur is None:
        return _original_input(prompt)
    line = cur[0].read_input(cur[1], str(prompt))
    if line is None:
        raise EOFError("input() refused: the embedder gave no input")
    if line.endswith("\n"):
        line = line[:-1]
        if line.endswith("\r"):
            line = line[:-1]
    return line


_input.__name__ = "input"
_input.__qualname__ = "input"


async def ainput(prompt=""):
    """Await a line of input from the embedder without blocking the event loop."""
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    return await loop.run_in_executor(None, ctx.run, _input, prompt)


_original_thread_start = threading.Thread.start


def _thread_start(self):
    """Threads started by a cell inherit its output attribution."""
    cur = current.get(None)
    if cur is not None and not getattr(self, "_pyrepl3_attributed", False):
        self._pyrepl3_attributed = True
        run = self.run

        def run_attributed():
            current.set(cur)
            run()

        self.run = run_attributed
    return _original_thread_start(self)


_original_convert_future_exc = asyncio.futures._convert_future_exc


def _convert_future_exc(exc):
    """StopIteration cannot be set on an asyncio future (it would hang `await to_thread(...)`
    forever); turn it into a RuntimeError, as generators and coroutines do (PEP 479)."""
    if isinstance(exc, StopIteration):
        new = RuntimeError("StopIteration raised in a thread")
        new.__cause__ = exc
        return new
    return _original_convert_future_exc(exc)


_installed = False


def install():
    """Install process-wide hooks once: output writers, input(), thread attribution."""
    global _installed
    if _installed:
        return
    _installed = True
    sys.stdout = Writer(0, sys.__stdout__)
    sys.stderr = Writer(1, sys.__stderr__)
    builtins.input = _input
    threading.Thread.start = _thread_start
    asyncio.futures._convert_future_exc = _convert_future_exc


def sigint_handler(signum, frame):
    """SIGINT on the main-lane thread: raise only for a cell with a pending stop request, so a
    late signal never lands in a later cell. `pending_stop` is provided by the Rust side."""
    code = pending_stop()
    if code == 1:
        raise KeyboardInterrupt
    if code == 2:
        raise CellTimeout


def is_main_thread():
    return threading.current_thread() is threading.main_thread()


def new_context(base, port, execution_id):
    """A copy of the session context in which `current` names this execution."""
    ctx = base.copy()
    ctx.run(current.set, (port, execution_id))
    return ctx


def enter_session_thread(port, name):
    """Called once on a session's own thread (loop or worker): name it for `threading` and make
    output written there outside any cell (finalizers, warnings) session-level output."""
    current.set((port, None))
    try:
        threading.current_thread().name = name
    except Exception:
        pass


def base_context(port):
    """A fresh session context: output without a cell goes to the session, unattributed."""
    ctx = contextvars.Context()
    ctx.run(current.set, (port, None))
    return ctx


def _report_loop_exception(port, loop, context):
    """Loop exception handler: unhandled errors of background work go to the session's stderr
    (attributed to the running execution when raised inside one, else session-level)."""
    msg = context.get("message", "unhandled exception in event loop")
    exc = context.get("exception")
    text = f"{msg}\n"
    if exc is not None:
        text += "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    cur = current.get(None)
    if cur is None or cur[0] is not port:
        cur = (port, None)
    port.emit(cur[1], 1, text)


def new_loop(port):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(lambda loop, context: _report_loop_exception(port, loop, context))
    return loop


def report_escape(port, exc):
    """A BaseException escaped the loop (e.g. SystemExit in a background task): report it."""
    text = "pyrepl3: the event loop caught an exception from a callback and keeps running:\n"
    text += "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    port.emit(None, 1, text)


def shutdown_loop(loop, grace):
    """Cancel every task of the loop, wait up to `grace` seconds, close async generators."""
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in tasks:
        t.cancel()
    if tasks:
        try:
            loop.run_until_complete(asyncio.wait(tasks, timeout=grace))
        except BaseException:
            pass
    try:
        loop.run_until_complete(loop.shutdown_asyncgens())
    except BaseException:
        pass
    try:
        loop.run_until_complete(
            asyncio.wait_for(loop.shutdown_default_executor(), timeout=grace)
        )
    except BaseException:
        pass
    left = sum(1 for t in asyncio.all_tasks(loop) if not t.done())
    loop.close()
    asyncio.set_event_loop(None)
    return left


def pending_tasks(loop):
    return sum(1 for t in asyncio.all_tasks(loop) if not t.done())
