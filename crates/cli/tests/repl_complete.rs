//! The REPL's "is this statement complete?" agrees with CPython's own interactive compiler
//! (`codeop.compile_command`, what `code.InteractiveConsole` uses) on a corpus of inputs.

use std::process::Command;

use pyrepl3_cli::complete::{Completeness, completeness};

const CASES: &[&str] = &[
    "x = 1",
    "print('hi')",
    "match = 3",
    "match(x)",
    "",
    "# a comment",
    "x = (1,",
    "f(1,\n  2",
    "f(1,\n  2)",
    "d = {",
    "s = '''abc",
    "s = '''abc\ndef'''",
    "s = \"\"\"abc\n",
    "x = 1 + \\",
    "if x:",
    "if x:\n",
    "if x:\n\n",
    "def f(x,\n\n",
    "for i in range(3):\n    print(i)",
    "for i in range(3):\n    print(i)\n",
    "def f():\n    return 1\n",
    "class A: pass",
    "class A: pass\n",
    "@dec",
    "@dec\ndef f(): pass",
    "async def f():",
    "async def f():\n    await g()\n",
    "try:\n    x\nexcept E:",
    "match x:",
    "x = = 1",
    "1 +* 2",
    ")",
    "s = 'abc",
    "s = rb'''abc",
    "if x:\n    pass\nelse:",
    "while True:\n    break",
    "with open(f) as g:\n    pass",
    "lambda: (",
    "x = [1,\n2,\n3]",
    "async with a:",
    "def f(x,",
    "'''doc",
    "if True:\n  x = (1,",
    "for x in y: pass",
    "x = 1; y = 2",
    "import asyncio",
    "del x",
    "x = {'a': [1, (2,\n",
    "x = {'a': [1, (2,\n3)]}",
];

/// CPython's answer for each case: true when it wants more input.
fn cpython_incomplete() -> Vec<bool> {
    let script = r#"
import codeop, json, sys, warnings
warnings.simplefilter("ignore")
out = []
for src in json.load(sys.stdin):
    try:
        out.append(codeop.compile_command(src, "<input>", "single") is None)
    except (SyntaxError, ValueError, OverflowError):
        out.append(False)
print(json.dumps(out))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let input = serde_json::to_vec(CASES).unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &input).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn completeness_matches_cpython_codeop() {
    let expected = cpython_incomplete();
    assert_eq!(expected.len(), CASES.len());
    let mut wrong = Vec::new();
    for (src, &more) in CASES.iter().zip(&expected) {
        let ours = completeness(src) == Completeness::Incomplete;
        if ours != more {
            wrong.push(format!(
                "{src:?}: CPython wants more input: {more}, pyrepl3: {ours}"
            ));
        }
    }
    assert!(wrong.is_empty(), "disagreements:\n{}", wrong.join("\n"));
}
