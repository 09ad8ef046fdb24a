//! Transformed cells against real embedded CPython: `await` in plain `def`s and `lambda`s,
//! refusals, tracebacks at the user's lines, the wrapper fallback, and the trailing expression
//! decided by the analyzer's tokens.

use std::io::Write;
use std::process::{Command, Stdio};

use pyrepl3_analyzer::transform::TransformKind;
use pyrepl3_executor::{ExecOptions, ExecOutcome, Executor, Mode, Status};

fn exec(ex: &Executor, src: &str) -> ExecOutcome {
    ex.execute(src, &ExecOptions::default())
        .expect("executor runs cells")
}

/// Run a cell that must succeed; its result repr.
fn ok(ex: &Executor, src: &str) -> Option<String> {
    let out = exec(ex, src);
    assert_eq!(out.status, Status::Ok, "{src:?} failed: {:?}", out.error);
    out.result_repr
}

fn new() -> Executor {
    Executor::builder().build().expect("executor builds")
}

fn kinds(out: &ExecOutcome) -> Vec<TransformKind> {
    out.transforms.iter().map(|t| t.kind).collect()
}

#[test]
fn plain_def_with_await_runs_and_later_cells_get_its_value() {
    let ex = new();
    let out = exec(
        &ex,
        "import asyncio\ndef f(n):\n    await asyncio.sleep(0)\n    return n + 1\nf(41)",
    );
    assert_eq!(out.status, Status::Ok, "{:?}", out.error);
    assert_eq!(out.result_repr.as_deref(), Some("42"));
    // `f(41)` got `await`: the cell is a coroutine, run as a task on the loop.
    assert_eq!(out.mode, Mode::TopLevelAwait);
    assert_eq!(
        kinds(&out),
        [TransformKind::DefToAsyncDef, TransformKind::AwaitInserted]
    );
    let t = &out.transforms[0];
    assert!(t.message.contains("`f`"), "{}", t.message);
    assert_eq!(
        ok(&ex, "import inspect\ninspect.iscoroutinefunction(f)"),
        Some("True".into())
    );

    // A later cell calling it gets the value, not a coroutine.
    let out = exec(&ex, "y = f(1) * 10\ny + f(0)");
    assert_eq!(out.status, Status::Ok, "{:?}", out.error);
    assert_eq!(out.result_repr.as_deref(), Some("21"));
    assert_eq!(
        kinds(&out),
        [TransformKind::AwaitInserted, TransformKind::AwaitInserted]
    );
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert_eq!(ok(&ex, "y"), Some("20".into()));

    // A def without a trailing call: defined, nothing else.
    let out = exec(&ex, "def g():\n    return await asyncio.sleep(0, 'g')");
    assert_eq!(out.status, Status::Ok, "{:?}", out.error);
    assert_eq!(out.result_repr, None);
    assert_eq!(out.mode, Mode::AsyncDef);
    assert_eq!(ok(&ex, "g()"), Some("'g'".into()));

    let stats = ex.stats();
    assert_eq!(stats.transforms, 4, "{stats:?}");
    assert_eq!(stats.wrapper_fallbacks, 0);
}

#[test]
fn lambdas_with_await() {
    let ex = new();
    ok(&ex, "import asyncio");
    // Assigned: becomes `async def`; calls get `await`.
    let out = exec(
        &ex,
        "double = lambda a: await asyncio.sleep(0, a * 2)\ndouble(21)",
    );
    assert_eq!(out.status, Status::Ok, "{:?}", out.error);
    assert_eq!(out.result_repr.as_deref(), Some("42"));
    assert!(kinds(&out).contains(&TransformKind::LambdaToAsyncDef));
    assert_eq!(ok(&ex, "double(5)"), Some("10".into()));

    // Inline: a helper `async def` just before the statement; closures keep working.
    ok(&ex, "async def apply(fn, v):\n    return await fn(v)");
    let out = exec(
        &ex,
        "k = 10\nawait apply(lambda v: await asyncio.sleep(0, v * k), 4)",
    );
    assert_eq!(out.status, Status::Ok, "{:?}", out.error);
    assert_eq!(out.result_repr.as_deref(), Some("40"));
    assert_eq!(kinds(&out), [TransformKind::LambdaToAsyncDef]);
    assert_eq!(ex.stats().transforms, 3);
}

#[test]
fn refused_cells_are_syntax_errors_and_never_run() {
    let ex = new();
    let out = exec(
        &ex,
        "import asyncio\nran = True\nclass C:\n    def __len__(self):\n        await asyncio.sleep(0)\n        return 1",
    );
    assert_eq!(out.status, Status::Error);
    assert_eq!(out.mode, Mode::SyntaxError);
    let err = out.error.expect("error");
    assert_eq!(err.type_name, "SyntaxError");
    assert!(err.message.contains("__len__"), "{}", err.message);
    assert!(
        // `<cell-1>`, or `<cell-1@N>` when other tests' executors were made first.
        (err.traceback.contains("<cell-1>") || err.traceback.contains("<cell-1@"))
            && err.traceback.contains("line 4"),
        "{}",
        err.traceback
    );
    assert!(
        err.traceback.contains("def __len__(self):"),
        "the user's line: {}",
        err.traceback
    );
    assert!(!err.notes.is_empty(), "the refusal's help");
    assert!(out.transforms.is_empty());
    // None of it ran.
    assert_eq!(
        ok(&ex, "'ran' in globals() or 'C' in globals()"),
        Some("False".into())
    );
    assert_eq!(ex.stats().transforms, 0);
    assert_eq!(ex.stats().errors, 1);
}

#[test]
fn tracebacks_from_transformed_code_name_the_users_lines() {
    let ex = new();
    let src = "import asyncio\n\ndef boom(n):\n    await asyncio.sleep(0)\n    raise ValueError(f'bad {n}')\n\nx = 1\nboom(x)\n";
    let out = exec(&ex, src);
    assert_eq!(out.status, Status::Error);
    let err = out.error.expect("error");
    assert_eq!(err.type_name, "ValueError");
    assert_eq!(err.message, "bad 1");
    let tb = &err.traceback;
    assert!(tb.contains("line 8, in <module>"), "{tb}");
    // The user's line as written (the inserted `await` is not shown).
    assert!(tb.contains("\n    boom(x)\n"), "{tb}");
    assert!(tb.contains("line 5, in boom"), "{tb}");
    assert!(tb.contains("raise ValueError(f'bad {n}')"), "{tb}");
    assert!(!tb.contains("await boom"), "{tb}");

    // In a file: lines of the file.
    let options = ExecOptions {
        first_line: 20,
        ..ExecOptions::default()
    };
    let out = ex.execute("y = 2\nboom(y)", &options).expect("executes");
    let tb = out.error.expect("error").traceback;
    assert!(tb.contains("line 21, in <module>"), "{tb}");
    assert!(tb.contains("line 5, in boom"), "{tb}");

    // Columns are the user's too: the failing call is marked where the user wrote it.
    let out = exec(
        &ex,
        "def c():\n    await asyncio.sleep(0)\n    return 1 / 0\nv = [c()]",
    );
    let tb = out.error.expect("error").traceback;
    assert!(tb.contains("line 3, in c"), "{tb}");
    assert!(tb.contains("    return 1 / 0\n           ~~^~~\n"), "{tb}");
}

#[test]
fn trailing_semicolon_suppresses_on_every_path() {
    let ex = new();
    assert_eq!(ok(&ex, "x = 3\nx  ;  # comment"), None);
    assert_eq!(ok(&ex, "x  # ;"), Some("3".into()));
    assert_eq!(ok(&ex, "x;"), None);
    assert_eq!(
        ok(&ex, "_"),
        Some("3".into()),
        "suppressed values stay out of history"
    );
    // Transformed cells: the tree is split, the tokens decide.
    ok(
        &ex,
        "import asyncio\ndef f():\n    await asyncio.sleep(0)\n    return 'f'",
    );
    assert_eq!(ok(&ex, "f()  ;  # no value"), None);
    assert_eq!(ok(&ex, "f()"), Some("'f'".into()));
    // The wrapper fallback too.
    let wrapped = Executor::builder()
        .always_wrap(true)
        .build()
        .expect("executor");
    assert_eq!(ok(&wrapped, "x = 3\nx  ;  # comment"), None);
    assert_eq!(ok(&wrapped, "x + 1"), Some("4".into()));
}

/// Cells run through the wrapper (the test hook forces the fallback) leave the same namespace
/// and give the same value as the direct path.
#[test]
fn wrapper_fallback_matches_the_direct_path() {
    let direct = new();
    let wrapped = Executor::builder()
        .always_wrap(true)
        .build()
        .expect("executor");
    let cells = [
        "import asyncio\nimport math as m",
        "x = 1",
        "y, *z = [1, 2, 3]\nz",
        "def f(a):\n    return a + x\nf(2)",
        "f.__qualname__",
        "(lambda q: q * 2)(x)",
        "(lambda: 0).__qualname__",
        "[(lambda: j).__qualname__ for j in range(1)]",
        "class K:\n    v = 3\n    def m(self):\n        return self.v\nK().m()",
        "K.m.__qualname__",
        "for i in range(3):\n    pass\ni",
        "[j for j in range(3)]",
        "w: int = 5\nsorted(__annotations__)",
        "del y\n'y' in globals()",
        "x;",
        "if (n := 10) > 5:\n    pass\nn",
        "await asyncio.sleep(0, 'slept')",
        "async def co():\n    return 7",
        "await co()",
        "g = (k for k in range(2))\nlist(g)",
        "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    err = str(e)\nerr",
        "'e' in globals()",
        "import os.path\nos.path.basename('/a/b')",
        "with open(__file__ if False else '/dev/null') as fh:\n    data = fh.read()\ndata",
        "m.sqrt(16)",
        "x += 41\nx",
        "global gl\ngl = 'g'\ngl",
        "def h():\n    global made\n    made = 1\nh()\nmade",
        "match [1, 2]:\n    case [a, b]:\n        pair = a + b\npair, a, b",
        "def plain():\n    await asyncio.sleep(0)\n    return 'transformed'\nplain()",
        "plain()",
        "_",
    ];
    let summary = "sorted((k, type(v).__name__, repr(v) if isinstance(v, (int, str, list, tuple, \
                   float, bool, type(None))) else '') for k, v in globals().items() \
                   if not k.startswith('_'))";
    for cell in cells {
        let a = exec(&direct, cell);
        let b = exec(&wrapped, cell);
        assert_eq!(a.status, Status::Ok, "{cell:?} direct: {:?}", a.error);
        assert_eq!(b.status, Status::Ok, "{cell:?} wrapped: {:?}", b.error);
        assert_eq!(a.result_repr, b.result_repr, "{cell:?}");
        assert_eq!(
            b.transforms.last().map(|t| t.kind),
            Some(TransformKind::WrapWithGlobals),
            "{cell:?}"
        );
        assert!(
            b.warnings.iter().any(|w| w.contains("wrapper fallback")),
            "{cell:?}: {:?}",
            b.warnings
        );
        assert!(
            a.transforms
                .iter()
                .all(|t| t.kind != TransformKind::WrapWithGlobals)
        );
        let na = exec(&direct, summary);
        let nb = exec(&wrapped, summary);
        assert_eq!(na.result_repr, nb.result_repr, "namespace after {cell:?}");
        assert!(
            !nb.result_repr
                .as_deref()
                .unwrap_or("")
                .contains("__pyrepl3_cell__"),
            "the wrapper is deleted"
        );
    }
    let s = wrapped.stats();
    assert_eq!(s.wrapper_fallbacks, s.executions, "{s:?}");
    assert_eq!(s.transforms, s.executions);
    assert_eq!(direct.stats().wrapper_fallbacks, 0);
}

#[test]
fn wrapper_fallback_errors_and_modes() {
    let wrapped = Executor::builder()
        .always_wrap(true)
        .build()
        .expect("executor");
    // A cell that awaits runs as a task; one that does not runs on its thread.
    let out = exec(&wrapped, "import asyncio\nawait asyncio.sleep(0, 1)");
    assert_eq!(out.mode, Mode::TopLevelAwait);
    let out = exec(&wrapped, "v = 1");
    assert_eq!(out.mode, Mode::SimpleSync);
    let out = wrapped
        .execute(
            "import time\ntime.sleep(0)\n'slept'",
            &ExecOptions::default(),
        )
        .expect("executes");
    assert_eq!(out.mode, Mode::BlockingSync);
    assert_eq!(out.result_repr.as_deref(), Some("'slept'"));
    // Errors name the user's lines.
    let out = exec(&wrapped, "a = 1\nb = a / 0");
    let err = out.error.expect("error");
    assert_eq!(err.type_name, "ZeroDivisionError");
    assert!(err.traceback.contains("line 2"), "{}", err.traceback);
    assert!(err.traceback.contains("b = a / 0"), "{}", err.traceback);
    assert!(
        !err.traceback.contains("pyrepl3 support"),
        "{}",
        err.traceback
    );
    // Syntax errors are CPython's, never wrapped.
    let out = exec(&wrapped, "x = (");
    assert_eq!(out.mode, Mode::SyntaxError);
    assert!(out.transforms.is_empty());
    // `return` at cell level: the wrapper refuses, the direct compile reports CPython's error.
    let out = exec(&wrapped, "return 1");
    assert_eq!(
        out.error.expect("error").message,
        "'return' outside function"
    );
}

/// The executor's value capture (split at the analyzer's trailing expression) against CPython:
/// the value of the last statement when it is an expression statement not followed by `;`.
#[test]
fn trailing_expression_values_match_cpython() {
    let cells = [
        "1 + 1",
        "1 + 1;",
        "x = 2; x * 3",
        "x = 2; x * 3 ;  # c",
        "(1 +\n 2)",
        "(1 +\n 2)\n# c;\n",
        "'''a;\n'''",
        "[\n  1,\n  2,\n]",
        "x \\\n  + 1",
        "é = 'ü'\né",
        "d = {'k': 1}\nd['k']",
        "if True:\n    5\n",
        "for q in range(2):\n    q\nq",
        "class A:\n    pass\nA.__name__",
        "(lambda: 9)()",
        "x = 1\r\nx + 1\r\n",
        "None",
        "'x'  # ;",
    ];
    const ORACLE: &str = r#"
import ast, io, json, sys, tokenize
out = []
ns = {}
for src in json.load(sys.stdin):
    tree = ast.parse(src)
    toks = [t for t in tokenize.generate_tokens(io.StringIO(src).readline)
            if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT,
                              tokenize.DEDENT, tokenize.ENDMARKER)]
    value = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) and toks[-1].string != ";":
        last = tree.body.pop()
        exec(compile(tree, "<c>", "exec"), ns)
        value = eval(compile(ast.Expression(last.value), "<c>", "eval"), ns)
    else:
        exec(compile(tree, "<c>", "exec"), ns)
    out.append(None if value is None else repr(value))
print(json.dumps(out))
"#;
    let mut child = Command::new("python3")
        .args(["-c", ORACLE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let input = format!(
        "[{}]",
        cells
            .iter()
            .map(|c| json_string(c))
            .collect::<Vec<_>>()
            .join(",")
    );
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("writes");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(out.status.success(), "oracle failed");
    let expected: Vec<Option<String>> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(expected.len(), cells.len());
    let ex = Executor::builder().cache_size(0).build().expect("executor");
    for (cell, want) in cells.iter().zip(expected) {
        assert_eq!(ok(&ex, cell), want, "cell {cell:?}");
    }
    // Lines and columns of the trailing expression are the user's (and the file's).
    let options = ExecOptions {
        first_line: 10,
        ..ExecOptions::default()
    };
    let out = ex
        .execute(
            "a = 0\n\n# c\nb = [1,\n     2]; (b[0] +\n   1 / a)",
            &options,
        )
        .expect("executes");
    let tb = out.error.expect("error").traceback;
    assert!(tb.contains("line 15, in <module>"), "{tb}");
    assert!(tb.contains("1 / a"), "{tb}");
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The same cell text compiles differently once an earlier cell made a function async: the
/// compile cache must not hand back the other version.
#[test]
fn compile_cache_keys_on_the_transformed_source() {
    let ex = new();
    ok(&ex, "import asyncio\ndef f():\n    return 'plain'");
    assert_eq!(ok(&ex, "f()"), Some("'plain'".into()));
    ok(
        &ex,
        "def f():\n    await asyncio.sleep(0)\n    return 'async'",
    );
    let out = exec(&ex, "f()");
    assert_eq!(
        out.result_repr.as_deref(),
        Some("'async'"),
        "{:?}",
        out.warnings
    );
    assert_eq!(kinds(&out), [TransformKind::AwaitInserted]);
    ok(&ex, "def f():\n    return 'plain again'");
    let out = exec(&ex, "f()");
    assert_eq!(out.result_repr.as_deref(), Some("'plain again'"));
    assert!(out.transforms.is_empty());
    let s = ex.stats();
    assert_eq!(s.cache_hits, 1, "the direct `f()` was reused: {s:?}");
}
