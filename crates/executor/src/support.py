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
import io
import linecache
import sys
import threading
import traceback
import __future__

RESULT_NAME = "__pyrepl3_result__"
ALLOW_TLA = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
ONLY_AST = ast.PyCF_ONLY_AST
CO_COROUTINE = 0x80
FUTURE_FLAGS = [getattr(__future__, f).compiler_flag for f in __future__.all_feature_names]
DYNAMIC_NAMES = frozenset({"globals", "exec", "eval", "vars", "locals", "__dict__"})

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


def prepare(src, filename, first_line, flags):
    """Compile the whole cell; nothing runs. Returns (code, has_result, names, dynamic, flags).

    The trailing expression statement (unless a `;` follows it) becomes an assignment to
    RESULT_NAME at the same position, so the cell's value is captured in one code object and
    line numbers stay the user's. `first_line` shifts lines to where the cell sits in its file.
    `flags` are the session's `from __future__` flags; the returned flags add the cell's own.
    """
    text = "\n" * (first_line - 1) + src
    lines = text.splitlines(True)
    linecache.cache[filename] = (len(text), None, lines, filename)
    compile_flags = ALLOW_TLA | flags
    try:
        tree = compile(text, filename, "exec", ONLY_AST | compile_flags, dont_inherit=True)
        has_result = False
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = tree.body[-1]
            raw = text.encode("utf-8", "surrogatepass")
            if not _suppressed(raw, _line_starts(raw), last):
                target = ast.Name(RESULT_NAME, ast.Store())
                ast.copy_location(target, last)
                assign = ast.Assign(targets=[target], value=last.value)
                ast.copy_location(assign, last)
                tree.body[-1] = assign
                has_result = True
        code = compile(tree, filename, "exec", compile_flags, dont_inherit=True)
    except SyntaxError as e:
        if e.text is None and e.lineno and 0 < e.lineno <= len(lines):
            e.text = lines[e.lineno - 1]
        raise
    new_flags = flags
    for f in FUTURE_FLAGS:
        if code.co_flags & f:
            new_flags |= f
    names = _all_names(code, set())
    names.discard(RESULT_NAME)
    dynamic = bool(names & DYNAMIC_NAMES)
    return code, has_result, sorted(names), dynamic, new_flags


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
        if only:
            tb = "".join(traceback.format_exception(type(exc), exc, None))
        else:
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
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


def safe_repr(value):
    try:
        return repr(value)
    except BaseException as e:
        return f"<repr() failed: {type(e).__name__}: {e}>"


def is_coroutine(value):
    return asyncio.iscoroutine(value)


class Writer(io.TextIOBase):
    """sys.stdout/sys.stderr: writes go to the session of the execution that made them."""

    def __init__(self, stream, fallback):
        super().__init__()
        self._stream = stream
        self._fallback = fallback

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


def base_context(port):
    """A fresh session context: output without a cell goes to the session, unattributed."""
    ctx = contextvars.Context()
    ctx.run(current.set, (port, None))
    return ctx


def _report_loop_exception(loop, context):
    """Loop exception handler: unhandled errors of background work go to the session's stderr."""
    msg = context.get("message", "unhandled exception in event loop")
    exc = context.get("exception")
    text = f"{msg}\n"
    if exc is not None:
        text += "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    fut = context.get("future") or context.get("task")
    cur = None
    if fut is not None and hasattr(fut, "get_context"):
        cur = fut.get_context().get(current, None)
    if cur is None:
        cur = current.get(None)
    if cur is not None:
        cur[0].emit(cur[1], 1, text)
    else:
        sys.__stderr__.write(text)


def new_loop():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(_report_loop_exception)
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
