//! Execution basics against real embedded CPython: results, modes, namespace, errors.

use pyrepl3_executor::{ExecOptions, ExecOutcome, Executor, Mode, Status};

fn exec(ex: &Executor, src: &str) -> ExecOutcome {
    ex.execute(src, &ExecOptions::default())
        .expect("executor runs cells")
}

/// Run a cell that must succeed; its result repr.
fn ok(ex: &Executor, src: &str) -> Option<String> {
    let out = exec(ex, src);
    assert_eq!(out.status, Status::Ok, "{src:?} failed: {:?}", out.error);
    assert!(out.warnings.is_empty(), "{src:?}: {:?}", out.warnings);
    out.result_repr
}

fn new() -> Executor {
    Executor::builder().build().expect("executor builds")
}

#[test]
fn trailing_expression_is_the_result() {
    let ex = new();
    assert_eq!(ok(&ex, "1 + 1"), Some("2".into()));
    assert_eq!(ok(&ex, "x = 5\nx * 2"), Some("10".into()));
    assert_eq!(ok(&ex, "x = 5"), None);
    assert_eq!(ok(&ex, "None"), None);
    assert_eq!(ok(&ex, "'a'  # comment"), Some("'a'".into()));
    assert_eq!(
        ok(&ex, "if x:\n    x + 1\n"),
        None,
        "only a top-level trailing expression"
    );
    assert_eq!(ok(&ex, "x; x + 2"), Some("7".into()));
}

#[test]
fn trailing_semicolon_suppresses_by_tokens() {
    let ex = new();
    assert_eq!(ok(&ex, "1 + 1;"), None);
    assert_eq!(ok(&ex, "1 + 1 ;  # done"), None);
    assert_eq!(ok(&ex, "1 + 1  # ;"), Some("2".into()));
    assert_eq!(ok(&ex, "';'"), Some("';'".into()));
    assert_eq!(ok(&ex, "'''a;\n'''"), Some("'a;\\n'".into()));
    assert_eq!(ok(&ex, "(1 +\n 2);\n\n"), None);
    assert_eq!(ok(&ex, "x = 1; x"), Some("1".into()));
}

#[test]
fn history_underscores() {
    let ex = new();
    ok(&ex, "1");
    ok(&ex, "None");
    ok(&ex, "2");
    ok(&ex, "3;");
    ok(&ex, "'three'");
    assert_eq!(ok(&ex, "(_, __, ___)"), Some("('three', 2, 1)".into()));
    assert_eq!(ok(&ex, "_"), Some("('three', 2, 1)".into()));
}

#[test]
fn top_level_await_returns_its_value() {
    let ex = new();
    let out = exec(
        &ex,
        "import asyncio\nawait asyncio.sleep(0.01)\nawait asyncio.sleep(0, 'v')",
    );
    assert_eq!(out.status, Status::Ok, "{:?}", out.error);
    assert_eq!(out.mode, Mode::TopLevelAwait);
    assert_eq!(out.result_repr.as_deref(), Some("'v'"));
    Python_check(&ex);
}

#[allow(non_snake_case)]
fn Python_check(ex: &Executor) {
    // The result object itself is handed to the embedder.
    let out = exec(ex, "[1, 2]");
    let obj = out.result.expect("result object");
    pyo3::Python::attach(|py| {
        use pyo3::types::PyAnyMethods;
        assert_eq!(obj.bind(py).len().unwrap(), 2);
    });
}

#[test]
fn mode_follows_co_coroutine() {
    let ex = new();
    // Expected modes as CPython 3.11 decides them (checked with compile(..., flags=0x2000)).
    let tla = Some(Mode::TopLevelAwait);
    for (src, expected) in [
        ("import asyncio", None),
        ("x = [await asyncio.sleep(0, i) for i in range(2)]", tla),
        ("async def f():\n    await asyncio.sleep(0)", None),
        ("f'{await asyncio.sleep(0, 1)}'", tla),
        ("async with asyncio.Lock():\n    pass", tla),
        ("awaiting = 'await x'", None),
        ("if False:\n    await asyncio.sleep(0)", tla),
        // `await` in a plain def: the analyzer makes it `async def` (transformed tree).
        (
            "def g():\n    return [await z for z in ()]",
            Some(Mode::AsyncDef),
        ),
        // A class body cannot await: CPython refuses it, and so does the analyzer.
        (
            "class C:\n    await asyncio.sleep(0)",
            Some(Mode::SyntaxError),
        ),
    ] {
        let out = exec(&ex, src);
        match expected {
            Some(mode) => assert_eq!(out.mode, mode, "{src}: {:?}", out.error),
            None => {
                assert_eq!(out.status, Status::Ok, "{src}");
                assert!(
                    matches!(out.mode, Mode::SimpleSync | Mode::AsyncDef),
                    "{src}"
                );
            }
        }
    }
}

#[test]
fn async_def_then_await_in_next_cell_and_mixed_modes() {
    let ex = new();
    ok(&ex, "x = 1");
    ok(&ex, "async def double(n):\n    return n * 2");
    ok(&ex, "y = await double(x)");
    assert_eq!(ok(&ex, "y"), Some("2".into()));
    assert_eq!(ok(&ex, "y == 2"), Some("True".into()));
}

#[test]
fn namespace_persists_across_modes() {
    let ex = new();
    ok(&ex, "import asyncio\na = 1");
    ok(&ex, "b = a + await asyncio.sleep(0, 1)");
    let out = ex
        .execute(
            "import time\ntime.sleep(0.01)\nc = b + 1",
            &ExecOptions::forced(Mode::BlockingSync),
        )
        .unwrap();
    assert_eq!(out.status, Status::Ok);
    assert_eq!(out.mode, Mode::BlockingSync);
    assert_eq!(ok(&ex, "(a, b, c)"), Some("(1, 2, 3)".into()));
    // One dict: closures, comprehensions and class bodies see cell variables.
    assert_eq!(
        ok(
            &ex,
            "k = 3\nclass C:\n    v = [k * i for i in range(3)]\nC.v"
        ),
        Some("[0, 3, 6]".into())
    );
    pyo3::Python::attach(|py| {
        let d = ex.namespace().dict(py);
        use pyo3::types::PyDictMethods;
        assert!(d.contains("k").unwrap());
        assert!(!d.contains("__pyrepl3_result__").unwrap());
    });
}

#[test]
fn blocking_cell_runs_on_a_worker_thread() {
    let ex = new();
    let loop_thread = ok(&ex, "import threading\nthreading.get_ident()").unwrap();
    let worker = ex
        .execute(
            "import time\ntime.sleep(0.01)\nthreading.get_ident()",
            &ExecOptions::forced(Mode::BlockingSync),
        )
        .unwrap();
    assert_eq!(worker.status, Status::Ok);
    assert_ne!(worker.result_repr.unwrap(), loop_thread);
    // Async cells run on the loop thread.
    assert_eq!(
        ok(
            &ex,
            "await asyncio.sleep(0) if False else None\nimport asyncio\nthreading.get_ident()"
        ),
        Some(loop_thread)
    );
}

#[test]
fn syntax_error_is_data_and_executor_survives() {
    let ex = new();
    ok(&ex, "before = 1");
    let out = exec(&ex, "x = 1\ndef f(:\n    pass");
    assert_eq!(out.status, Status::Error);
    assert_eq!(out.mode, Mode::SyntaxError);
    let err = out.error.unwrap();
    assert_eq!(err.type_name, "SyntaxError");
    assert!(err.traceback.contains("line 2"), "{}", err.traceback);
    // Nothing of the cell ran: `x` is not bound.
    assert_eq!(ok(&ex, "'x' in globals()"), Some("False".into()));
    // Compile-stage errors too (CPython decides).
    let out = exec(&ex, "y = 2\nreturn 5");
    assert_eq!(out.error.unwrap().message, "'return' outside function");
    let out = exec(&ex, "class C:\n    x = await g()");
    assert_eq!(out.mode, Mode::SyntaxError);
    assert_eq!(
        out.error.unwrap().message,
        "'await' outside function",
        "CPython's message"
    );
    assert_eq!(ok(&ex, "before + 1"), Some("2".into()));
}

#[test]
fn runtime_errors_are_data_with_user_lines() {
    let ex = new();
    let out = exec(&ex, "a = 1\n\nb = a / 0\n");
    assert_eq!(out.status, Status::Error);
    let err = out.error.unwrap();
    assert_eq!(err.type_name, "ZeroDivisionError");
    assert_eq!(err.message, "division by zero");
    assert!(err.traceback.contains("line 3"), "{}", err.traceback);
    assert!(err.traceback.contains("b = a / 0"), "{}", err.traceback);
    // Earlier statements of the failing cell did run (as in CPython).
    assert_eq!(ok(&ex, "a"), Some("1".into()));
    // first_line shifts the lines to the enclosing file.
    let out = ex
        .execute(
            "x = 1\nraise ValueError('bad')",
            &ExecOptions {
                first_line: 10,
                ..ExecOptions::default()
            },
        )
        .unwrap();
    let err = out.error.unwrap();
    assert!(err.traceback.contains("line 11"), "{}", err.traceback);
    assert!(
        err.traceback.contains("raise ValueError('bad')"),
        "{}",
        err.traceback
    );
    // A function defined in one cell and failing in another points at its own cell's lines.
    ok(&ex, "def boom():\n    return 1 / 0");
    let err = exec(&ex, "boom()").error.unwrap();
    assert!(err.traceback.contains("return 1 / 0"), "{}", err.traceback);
    // Notes survive.
    let err = exec(&ex, "e = ValueError('x')\ne.add_note('hello')\nraise e")
        .error
        .unwrap();
    assert_eq!(err.notes, ["hello"]);
}

#[test]
fn sessions_in_one_process_keep_their_own_lines_in_tracebacks() {
    // `linecache` is one per process: two executors' first cells must not share a filename,
    // or a traceback through one session's function shows the other session's line.
    let first = new();
    let second = new();
    ok(&first, "def boom():\n    return 1 / 0  # first session");
    ok(&second, "def boom():\n    return {}['k']  # second session");
    let err = exec(&first, "boom()").error.expect("fails");
    assert!(
        err.traceback.contains("# first session"),
        "{}",
        err.traceback
    );
    assert!(
        !err.traceback.contains("# second session"),
        "{}",
        err.traceback
    );
    let err = exec(&second, "boom()").error.expect("fails");
    assert!(
        err.traceback.contains("# second session"),
        "{}",
        err.traceback
    );
}

#[test]
fn base_exceptions_end_only_that_cell() {
    let ex = new();
    for (src, ty) in [
        ("raise SystemExit(3)", "SystemExit"),
        ("raise KeyboardInterrupt", "KeyboardInterrupt"),
        ("raise GeneratorExit", "GeneratorExit"),
        (
            "import asyncio\nawait asyncio.sleep(0)\nraise SystemExit(1)",
            "SystemExit",
        ),
        (
            "import asyncio\nawait asyncio.sleep(0)\nraise KeyboardInterrupt",
            "KeyboardInterrupt",
        ),
        ("next(iter([]))", "StopIteration"),
    ] {
        let out = exec(&ex, src);
        assert_eq!(out.status, Status::Error, "{src}");
        assert_eq!(out.error.unwrap().type_name, ty, "{src}");
        assert_eq!(ok(&ex, "1 + 1"), Some("2".into()), "after {src}");
    }
    // StopIteration escaping a thread does not hang the cell (asyncio.to_thread would).
    let out = exec(
        &ex,
        "import asyncio\nawait asyncio.to_thread(next, iter([]))",
    );
    assert_eq!(out.status, Status::Error);
    assert_eq!(out.error.unwrap().type_name, "RuntimeError");
    // A background task raising SystemExit does not kill the loop.
    ok(
        &ex,
        "async def die():\n    raise SystemExit(9)\nt = asyncio.ensure_future(die())",
    );
    assert_eq!(
        ok(&ex, "await asyncio.sleep(0.01)\n'alive'"),
        Some("'alive'".into())
    );
    assert_eq!(ok(&ex, "await asyncio.sleep(0, 5)"), Some("5".into()));
}

#[test]
fn no_leaked_tasks_after_cells() {
    let ex = new();
    ok(&ex, "import asyncio\nawait asyncio.sleep(0)");
    ok(&ex, "x = 1");
    let _ = exec(&ex, "await asyncio.sleep(0)\n1/0");
    assert_eq!(
        ok(
            &ex,
            "[t for t in asyncio.all_tasks() if t is not asyncio.current_task()]"
        ),
        Some("[]".into())
    );
    assert_eq!(ex.pending_tasks(), 0);
}

#[test]
fn unawaited_coroutine_value_warns() {
    let ex = new();
    ok(&ex, "async def f():\n    return 1");
    let out = exec(&ex, "f()");
    assert_eq!(out.status, Status::Ok);
    assert!(out.result_repr.unwrap().starts_with("<coroutine object f"));
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    // The user can still await it through the history.
    assert_eq!(ok(&ex, "await _"), Some("1".into()));
}

#[test]
fn contextvars_persist_across_cells() {
    let ex = new();
    ok(
        &ex,
        "import contextvars\nvar = contextvars.ContextVar('var', default=0)\nvar.set(5)",
    );
    assert_eq!(ok(&ex, "var.get()"), Some("5".into()));
    ok(&ex, "import asyncio\nawait asyncio.sleep(0)\nvar.set(6)");
    assert_eq!(ok(&ex, "var.get()"), Some("6".into()));
    ex.execute("var.set(7)", &ExecOptions::forced(Mode::BlockingSync))
        .unwrap();
    assert_eq!(
        ok(&ex, "await asyncio.sleep(0, var.get())"),
        Some("7".into())
    );
}

#[test]
fn future_imports_persist_like_a_repl() {
    let ex = new();
    ok(&ex, "from __future__ import annotations");
    assert_eq!(
        ok(
            &ex,
            "def f(x: Undefined) -> int: ...\nf.__annotations__['x']"
        ),
        Some("'Undefined'".into())
    );
}

#[test]
fn compile_cache_and_stats() {
    let ex = Executor::builder().cache_size(2).build().unwrap();
    ok(&ex, "1");
    ok(&ex, "1");
    ok(&ex, "2");
    ok(&ex, "3");
    let _ = exec(&ex, "1/0");
    let _ = exec(&ex, "def (");
    ok(&ex, "import asyncio\nawait asyncio.sleep(0)");
    let s = ex.stats();
    assert_eq!(s.executions, 7);
    assert_eq!(s.cache_hits, 1);
    assert_eq!(s.errors, 2);
    assert!(ex.cached_cells() <= 2);
    assert_eq!(s.per_mode.get(&Mode::SyntaxError), Some(&1));
    assert_eq!(s.per_mode.get(&Mode::TopLevelAwait), Some(&1));
    assert!(s.max_duration <= s.total_duration);
    // The analyzer predicts top-level await (once its pass lands) or not: either way CPython
    // decided, and a disagreement is counted exactly when the prediction differs.
    let predicted_tla = exec(&ex, "await asyncio.sleep(0)").predicted_mode == Mode::TopLevelAwait;
    let after = ex.stats();
    assert_eq!(
        after.disagreements - s.disagreements,
        u64::from(!predicted_tla)
    );
}

#[test]
fn change_tracking_reports_bindings() {
    let ex = new();
    ok(&ex, "a = 1\nb = 2");
    let out = exec(&ex, "a = 10\nc = 3\ndel b");
    assert_eq!(out.changes.added, ["c"]);
    assert_eq!(out.changes.changed, ["a"]);
    assert_eq!(out.changes.deleted, ["b"]);
    assert!(
        out.changes
            .context
            .contains(&format!("execution {}", out.execution_id))
    );
    let out = exec(&ex, "globals()['dyn'] = 1");
    assert_eq!(out.changes.added, ["dyn"]);
    assert!(out.changes.full_diff);
    let out = exec(&ex, "from math import *");
    assert!(
        out.changes.added.contains(&"pi".to_string()),
        "{:?}",
        out.changes
    );
    assert!(out.changes.full_diff);
}

#[test]
fn sessions_are_isolated() {
    let a = new();
    let b = new();
    ok(&a, "secret = 'a'\nprint('from a')");
    let out = exec(&b, "print('from b')\n'secret' in globals()");
    assert_eq!(out.result_repr.as_deref(), Some("False"));
    assert_eq!(out.stdout(), "from b\n");
}

#[test]
fn trailing_expression_keeps_lines_columns_and_cpython_limits() {
    let ex = new();
    // Errors in the trailing expression point at the user's line and column.
    let err = exec(&ex, "a = 1\nb = 0\n(a +\n  a / b)").error.unwrap();
    assert!(err.traceback.contains("line 4"), "{}", err.traceback);
    assert!(err.traceback.contains("a / b"), "{}", err.traceback);
    let err = exec(&ex, "x = 1;   1 / 0").error.unwrap();
    assert!(err.traceback.contains("line 1"), "{}", err.traceback);
    assert!(
        err.traceback
            .contains(&format!("{}~~^~~", " ".repeat(4 + 9))),
        "{}",
        err.traceback
    );
    assert!(
        !err.traceback.contains("pyrepl3 support"),
        "{}",
        err.traceback
    );
    let err = exec(&ex, "import asyncio\nawait asyncio.sleep(0)\n1 / 0")
        .error
        .unwrap();
    assert!(
        !err.traceback.contains("pyrepl3 support"),
        "{}",
        err.traceback
    );
    assert!(err.traceback.contains("line 3"), "{}", err.traceback);
    // Non-ASCII text before the expression (columns are UTF-8 bytes).
    assert_eq!(ok(&ex, "é = 'ü'; é"), Some("'ü'".into()));
    assert_eq!(ok(&ex, "é = 'ü'; é;"), None);
    assert_eq!(ok(&ex, "'ü' ;"), None);
    // Deep but valid cells: CPython's compile accepts them, and so does the executor.
    let terms = vec!["1"; 1000].join("+");
    assert_eq!(ok(&ex, &format!("x = {terms}\nx")), Some("1000".into()));
    assert_eq!(ok(&ex, &terms), Some("1000".into()));
    let unary = format!("{}1", "-".repeat(1000));
    assert_eq!(ok(&ex, &unary), Some("1".into()));
    // Too deep for CPython: its own error.
    let out = exec(&ex, &format!("{}1", "-".repeat(3000)));
    assert_eq!(out.status, Status::Error);
    assert_eq!(out.mode, Mode::SyntaxError);
    assert_eq!(out.error.unwrap().type_name, "RecursionError");
    // The namespace is not touched by result capture.
    assert_eq!(
        ok(&ex, "sorted(k for k in globals() if 'pyrepl3' in k)"),
        Some("[]".into())
    );
    // Windows line endings.
    assert_eq!(ok(&ex, "y = 2\r\ny * 3\r\n"), Some("6".into()));
    assert_eq!(ok(&ex, "y * 3;\r\n"), None);
    // Empty and comment-only cells.
    assert_eq!(ok(&ex, ""), None);
    assert_eq!(ok(&ex, "# nothing\n\n"), None);
}

#[test]
fn tricky_cells() {
    let ex = new();
    ok(&ex, "import asyncio, sys");
    let cases: &[(&str, Status, Option<&str>)] = &[
        (
            "async def agen():\n    for i in range(3):\n        yield i\n[x async for x in agen()]",
            Status::Ok,
            Some("[0, 1, 2]"),
        ),
        (
            "async for v in agen():\n    last = v\nlast",
            Status::Ok,
            Some("2"),
        ),
        (
            "import contextlib\n@contextlib.asynccontextmanager\nasync def cm():\n    yield 5\nasync with cm() as v:\n    pass\nv",
            Status::Ok,
            Some("5"),
        ),
        (
            "asyncio.get_running_loop() is asyncio.get_event_loop()",
            Status::Ok,
            Some("True"),
        ),
        (
            "t = asyncio.create_task(asyncio.sleep(0, 'task'))\nawait t",
            Status::Ok,
            Some("'task'"),
        ),
        (
            "x = 10\ndef g():\n    return x\ng()",
            Status::Ok,
            Some("10"),
        ),
        ("global q\nq = 3\nq", Status::Ok, Some("3")),
        ("del q\n'q' in dir()", Status::Ok, Some("False")),
        ("exec('w = 5')\nw", Status::Ok, Some("5")),
        ("from math import *\npi > 3", Status::Ok, Some("True")),
        (
            "await asyncio.gather(*(asyncio.sleep(0, i) for i in range(3)))",
            Status::Ok,
            Some("[0, 1, 2]"),
        ),
        ("sys.exit(0)", Status::Error, None),
        ("1;2", Status::Ok, Some("2")),
        ("x = yield", Status::Error, None),
        (
            "await asyncio.wait_for(asyncio.sleep(10), 0.01)",
            Status::Error,
            None,
        ),
        ("await asyncio.to_thread(lambda: 5)", Status::Ok, Some("5")),
        (
            "import threading\nthreading.current_thread().name",
            Status::Ok,
            Some("'pyrepl3-loop'"),
        ),
        ("asyncio.current_task() is None", Status::Ok, Some("True")),
        ("if True:\n    1\nelse:\n    2", Status::Ok, None),
        (
            "sys.stdout.isatty(), sys.stdout.encoding",
            Status::Ok,
            Some("(False, 'utf-8')"),
        ),
    ];
    for (src, status, result) in cases {
        let out = exec(&ex, src);
        assert_eq!(out.status, *status, "{src}: {:?}", out.error);
        assert_eq!(out.result_repr.as_deref(), *result, "{src}");
    }
}

#[test]
fn executor_and_handles_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Executor>();
    send_sync::<pyrepl3_executor::InterruptHandle>();
    send_sync::<ExecOutcome>();
    let ex = std::sync::Arc::new(new());
    let threads: Vec<_> = (0..3)
        .map(|i| {
            let ex = ex.clone();
            std::thread::spawn(move || ok(&ex, &format!("{i} * 2")))
        })
        .collect();
    let mut got: Vec<String> = threads
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, ["0", "2", "4"]);
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    let ex = new();
    for force in [None, Some(Mode::BlockingSync)] {
        let options = ExecOptions {
            force_mode: force,
            ..ExecOptions::default()
        };
        let out = ex
            .execute("def r():\n    return r()\nr()", &options)
            .unwrap();
        assert_eq!(out.error.unwrap().type_name, "RecursionError");
        let out = ex
            .execute(
                "l = []\nfor _ in range(100000):\n    l = [l]\nimport json\njson.dumps(l)",
                &options,
            )
            .unwrap();
        assert_eq!(out.error.unwrap().type_name, "RecursionError");
        let out = ex.execute("repr(l)", &options).unwrap();
        assert_eq!(out.error.unwrap().type_name, "RecursionError");
    }
    assert_eq!(ok(&ex, "1"), Some("1".into()));
}
