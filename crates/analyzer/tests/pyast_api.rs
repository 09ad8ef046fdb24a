//! The CPython-schema tree's API: accessors, walking, schema validation, errors, deep trees,
//! and the wire text built back into `ast` objects by the shipped Python decoder.

use std::io::Write;
use std::process::{Command, Stdio};

use pyrepl3_analyzer::pyast::{self, Loc, Node, Value};

/// Run `pyast_build` (from `pyast::WIRE_DECODER`) on `wire` in python3, then `check`, a Python
/// expression over the built `tree`; returns what it prints.
fn python_build(wire: &str, check: &str) -> String {
    let program = format!(
        "{}\nimport sys, ast\ntree = pyast_build(sys.stdin.read())\nprint({check})\n",
        pyast::WIRE_DECODER
    );
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().expect("piped");
    let input = wire.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("python3 exits");
    writer.join().expect("writer").expect("written");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

#[test]
fn accessors_give_cpython_names_and_positions() {
    let tree = pyast::from_source("def f(a, *b):\n    return a\n").expect("parses");
    assert_eq!(tree.kind(), "Module");
    assert_eq!(tree.loc(), None);
    let body = tree.get("body").and_then(Value::as_list).expect("body");
    let f = body[0].as_node().expect("node");
    assert_eq!(f.kind(), "FunctionDef");
    assert_eq!(f.get("name").and_then(Value::as_str), Some("f"));
    let names: Vec<_> = f.fields().iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "name",
            "args",
            "body",
            "decorator_list",
            "returns",
            "type_comment"
        ]
    );
    assert!(f.get("returns").is_some_and(Value::is_none));
    assert_eq!(
        f.loc(),
        Some(Loc {
            lineno: 1,
            col_offset: 0,
            end_lineno: 2,
            end_col_offset: 12
        })
    );
    let vararg = f
        .get("args")
        .and_then(Value::as_node)
        .and_then(|a| a.get("vararg"))
        .and_then(Value::as_node)
        .expect("vararg");
    assert_eq!(
        vararg.loc().map(|l| l.col_offset),
        Some(10),
        "at the name, not the star"
    );
    assert_eq!(f.schema().map(|s| s.category), Some("stmt"));

    let mut kinds = Vec::new();
    tree.walk(&mut |n| kinds.push(n.kind()));
    assert_eq!(
        kinds,
        [
            "Module",
            "FunctionDef",
            "arguments",
            "arg",
            "arg",
            "Return",
            "Name",
            "Load"
        ]
    );
}

#[test]
fn validate_checks_the_schema() {
    let tree = pyast::from_source("x = [a for a in b if c]\nprint(*x, sep='')\n").expect("ok");
    assert_eq!(tree.validate(), Ok(()));

    let loc = Some(Loc {
        lineno: 1,
        col_offset: 0,
        end_lineno: 1,
        end_col_offset: 1,
    });
    let load = Value::from(Node::new("Load", vec![], None));
    let name = Node::new(
        "Name",
        vec![("id", Value::Str("x".into())), ("ctx", load.clone())],
        loc,
    );
    assert_eq!(name.validate(), Ok(()));
    let missing_loc = Node::new(
        "Name",
        vec![("id", Value::Str("x".into())), ("ctx", load.clone())],
        None,
    );
    assert!(missing_loc.validate().is_err());
    let wrong_field = Node::new(
        "Name",
        vec![("name", Value::Str("x".into())), ("ctx", load.clone())],
        loc,
    );
    assert!(wrong_field.validate().is_err());
    let wrong_category = Node::new(
        "Name",
        vec![
            ("id", Value::Str("x".into())),
            ("ctx", Value::from(Node::new("Add", vec![], None))),
        ],
        loc,
    );
    assert!(wrong_category.validate().is_err());
    let unknown = Node::new("Frobnicate", vec![], None);
    assert!(unknown.validate().is_err());
    let expr_stmt = Node::new("Expr", vec![("value", Value::List(vec![]))], loc);
    assert!(expr_stmt.validate().is_err(), "a list where a node belongs");
}

#[test]
fn syntax_errors_are_errors_not_panics() {
    for src in [
        "x = (",
        "def f(:\n",
        "\u{0}",
        "if x:\npass\n",
        "f'{'",
        "x = 1 +",
    ] {
        let err = pyast::from_source(src).expect_err(src);
        assert!(err.kind.ends_with("Error"), "{src:?}: {}", err.kind);
    }
}

#[test]
fn deep_trees_on_a_small_stack() {
    // Close to the parser's depth limit, on a thread with a 256 KiB stack.
    let src = format!("x = {}1\n", "-".repeat(950));
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let tree = pyast::from_source(&src).expect("parses");
            tree.validate().expect("valid");
            let dump = tree.dump(true);
            let wire = tree.to_wire();
            let mut count = 0;
            tree.walk(&mut |n| count += usize::from(n.kind() == "USub"));
            drop(tree);
            (dump.matches("UnaryOp(").count(), count, wire)
        })
        .expect("thread");
    let (unary_ops, usubs, wire) = handle.join().expect("no overflow");
    assert_eq!(unary_ops, 950);
    assert_eq!(usubs, 950);
    // The decoder has no recursion: the tree arrives whole whatever its depth.
    let depth_check = "(lambda n: [n := n.operand for _ in iter(lambda: isinstance(n, ast.UnaryOp), False)] and isinstance(n, ast.Constant))(tree.body[0].value)";
    assert_eq!(python_build(&wire, depth_check), "True");
}

#[test]
fn wire_carries_every_kind_of_constant() {
    let hex = "f".repeat(4000);
    let src = format!(
        "a = 0x{hex}\nb = '\\ud800\u{e9}'\nc = b'\\x00\\xff'\nd = 1e400\ne = 2.5j\nf = (True, False, None, ...)\ng = u'k'\n"
    );
    let tree = pyast::from_source(&src).expect("parses");
    let wire = tree.to_wire();
    let check = format!(
        "[tree.body[0].value.value == int('{hex}', 16), tree.body[1].value.value == '\\ud800\\xe9', tree.body[2].value.value == b'\\x00\\xff', tree.body[3].value.value == float('inf'), tree.body[4].value.value == 2.5j, [e.value for e in tree.body[5].value.elts] == [True, False, None, ...], tree.body[6].value.kind == 'u', compile(tree, 'w', 'exec') is not None]"
    );
    assert_eq!(
        python_build(&wire, &check),
        "[True, True, True, True, True, True, True, True]"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// Any text: an error or a valid tree, never a panic.
    #[test]
    fn arbitrary_text_never_panics(src in "[a-z0-9_ \\t\\n\\r\\\\'\"{}()\\[\\]:=,.+*@!#;rbfu\u{e9}\u{d7ff}-]{0,60}") {
        if let Ok(tree) = pyast::from_source(&src) {
            proptest::prop_assert_eq!(tree.validate(), Ok(()));
            let _ = tree.dump(true);
            let _ = tree.to_wire();
        }
    }
}
