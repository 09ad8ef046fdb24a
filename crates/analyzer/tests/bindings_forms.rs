//! Module-scope bindings and dynamic namespace writes of cells whose binding forms are rare in
//! the benchmark cells, the corpus and the standard library: targets and annotations that code
//! generation does not visit, `global` declarations in nested scopes, assignment expressions.
//!
//! The compile-error check's walk collects the bindings; in debug builds (these tests) every
//! analysis also compares them with what the bindings' own walk finds.

use pyrepl3_analyzer::{Mode, SessionState, analyze_cell};

/// The names `src` binds at module scope and whether it writes the namespace dynamically.
fn bindings(src: &str) -> (Vec<String>, bool) {
    let a = analyze_cell(src, &mut SessionState::new());
    assert_ne!(a.mode, Mode::SyntaxError, "{src}: {:?}", a.error);
    let names = a
        .bound_names
        .iter()
        .map(|n| n.as_str().to_owned())
        .collect();
    (names, a.dynamic_writes)
}

#[track_caller]
fn check(src: &str, names: &[&str], dynamic: bool) {
    let (got, got_dynamic) = bindings(src);
    assert_eq!(got, names, "names of {src:?}");
    assert_eq!(got_dynamic, dynamic, "dynamic writes of {src:?}");
}

#[test]
fn annotations_that_are_not_evaluated_still_count() {
    // Under `from __future__ import annotations` code generation skips annotations.
    check(
        "from __future__ import annotations\ndef f(a: globals().update(x=1)) -> int: pass",
        &["annotations", "f"],
        true,
    );
    check(
        "from __future__ import annotations\ndef f(*a: int) -> exec('z'): pass",
        &["annotations", "f"],
        true,
    );
    check(
        "from __future__ import annotations\nx: exec('1')",
        &["__annotations__", "annotations"],
        true,
    );
    check(
        "from __future__ import annotations\nimport sys\nsys.modules[__name__].x: int",
        &["annotations", "sys"],
        true,
    );
    // Annotations in functions are never evaluated.
    check(
        "def f():\n    import sys\n    sys.modules[__name__].x: int",
        &["f"],
        true,
    );
    check("def f():\n    x: vars()['k'] = 1", &["f"], false);
    check("def f():\n    x: globals()['k'] = 1", &["f"], false);
    check(
        "def f():\n    global y\n    x: (y := 1) = 2",
        &["f", "y"],
        false,
    );
}

#[test]
fn annotated_targets_without_a_value() {
    check("import sys\nsys.modules[__name__].x: int", &["sys"], true);
    check("globals()['x']: int", &[], true);
    check("vars()['x']: int", &[], true);
    check("class C:\n    globals()['y']: int = 1", &["C"], true);
    check("class C:\n    vars()['y']: int", &["C"], false);
    check("d = {}\nd['x']: int", &["d"], false);
}

#[test]
fn augmented_and_deleted_targets() {
    check("vars()['x'] += 1", &[], true);
    check("import sys\nsys.modules[__name__].x += 1", &["sys"], true);
    check("del globals()['x']", &[], true);
    check("x = 1\ndel x", &["x"], false);
    check("x = [1]\nx[0] += 1\nx += [2]", &["x"], false);
}

#[test]
fn nested_scopes_with_global_declarations() {
    check(
        "def f(z, o):\n    global a, b, c\n    for a, (b, *c) in z: pass\n    with o as (d, e): pass",
        &["a", "b", "c", "f"],
        false,
    );
    check(
        "def f(p):\n    global a\n    match p:\n        case [a, *rest]: pass",
        &["a", "f"],
        false,
    );
    // CPython accepts a binding in an `except` handler before a declaration in `else`.
    check(
        "def f():\n    try:\n        pass\n    except E as e:\n        pass\n    else:\n        global e",
        &["e", "f"],
        false,
    );
    check(
        "class A:\n    global g\n    import os as g\n    def h(self): pass",
        &["A", "g"],
        false,
    );
    check(
        "def f():\n    global g\n    g = lambda q: [q for q in r]",
        &["f", "g"],
        false,
    );
}

#[test]
fn assignment_expressions() {
    check("x = [y := i for i in range(3)]", &["x", "y"], false);
    check("class A(x=(q := 1)): pass", &["A", "q"], false);
    check("f = lambda: (w := 1)", &["f"], false);
    check(
        "def f():\n    global w\n    return [[(w := j) for j in i] for i in r]",
        &["f", "w"],
        false,
    );
    check("if (n := 10) > 5:\n    pass", &["n"], false);
}

#[test]
fn dynamic_writes_in_expressions_and_nested_scopes() {
    check("f = lambda: exec('x')", &["f"], true);
    check("[exec(s) for s in src]", &[], true);
    check("@eval('print')\ndef f(): pass", &["f"], true);
    check("def f(a=eval('1')): pass", &["f"], true);
    check(
        "class C(globals().setdefault('k', object)): pass",
        &["C"],
        true,
    );
    check("def f():\n    vars()['x'] = 1", &["f"], false);
    check("def f():\n    locals().update(x=1)", &["f"], false);
    check(
        "import sys\nsetattr(sys.modules['__main__'], 'x', 1)",
        &["sys"],
        true,
    );
    check("print(globals()['x'])", &[], false);
}

#[test]
fn statements_inside_blocks_at_module_level() {
    check(
        "for i in range(3):\n    if i:\n        async def g(): pass\n    else:\n        class K: pass",
        &["K", "g", "i"],
        false,
    );
    check(
        "import os.path, a.b as c\nfrom . import d\nfrom ..m import e as f\nwhile 0:\n    import q",
        &["c", "d", "f", "os", "q"],
        false,
    );
    check(
        "\"doc\"\nx: int = 1",
        &["__annotations__", "__doc__", "x"],
        false,
    );
    check("from os import *", &[], true);
}
