//! Focused differential tests of the CPython-schema tree: tricky constructs, each compared
//! with `ast.dump(ast.parse(src), include_attributes=True)` from the real CPython 3.11.

use std::io::Write;
use std::process::{Command, Stdio};

use pyrepl3_analyzer::pyast;

/// What CPython made of one input: its dump and whether `compile()` takes the tree.
struct Outcome {
    dump: String,
    compile: String,
}

/// Run `cpython_dump.py MODE` on `inputs` (one `python3` process).
fn cpython(mode: &str, inputs: &[String]) -> Vec<Result<Outcome, String>> {
    let input = if mode == "rebuild" {
        serde_json::json!({"decoder": pyast::WIRE_DECODER, "wires": inputs}).to_string()
    } else {
        serde_json::to_string(inputs).expect("json")
    };
    let n = inputs.len();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pyast/cpython_dump.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("python3 exits");
    writer.join().expect("writer").expect("written");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let results: Vec<_> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            match v["dump"].as_str() {
                Some(d) => Ok(Outcome {
                    dump: d.to_string(),
                    compile: v["compile"].as_str().unwrap_or("?").to_string(),
                }),
                None => Err(v["error"].as_str().unwrap_or("?").to_string()),
            }
        })
        .collect();
    assert_eq!(results.len(), n);
    results
}

/// CPython's dumps of `sources` (or its error).
fn cpython_dumps(sources: &[String]) -> Vec<Result<Outcome, String>> {
    cpython("sources", sources)
}

/// Every source must be accepted by CPython and give exactly CPython's dump. Our tree, sent as
/// wire text and built into `ast` objects by `pyast::WIRE_DECODER` (the executor's path), must
/// give the same dump again, and `compile()` must treat it as it treats CPython's own tree.
fn assert_same_as_cpython(sources: &[&str]) {
    let owned: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
    let expected = cpython_dumps(&owned);
    let mut failures = Vec::new();
    let mut ours_all = Vec::new();
    let mut wires = Vec::new();
    let mut compiles = Vec::new();
    for (src, exp) in owned.iter().zip(expected) {
        let exp = exp.unwrap_or_else(|e| panic!("CPython refuses {src:?}: {e}"));
        let tree =
            pyast::from_source(src).unwrap_or_else(|e| panic!("we refuse {src:?}: {}", e.message));
        tree.validate()
            .unwrap_or_else(|e| panic!("invalid tree for {src:?}: {e}"));
        let ours = tree.dump(true);
        if ours != exp.dump {
            failures.push(format!(
                "{src:?}\n  ours:    {ours}\n  CPython: {}",
                exp.dump
            ));
        }
        // Without attributes too.
        assert!(!tree.dump(false).contains("lineno"));
        ours_all.push(ours);
        wires.push(tree.to_wire());
        compiles.push(exp.compile);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let rebuilt = cpython("rebuild", &wires);
    for ((ours, want_compile), back) in ours_all.iter().zip(&compiles).zip(rebuilt) {
        let back = back.expect("rebuilt");
        assert_eq!(&back.dump, ours, "the wire text builds a different tree");
        assert_eq!(
            &back.compile, want_compile,
            "compile() treats the rebuilt tree differently"
        );
    }
}

#[test]
fn constants() {
    assert_same_as_cpython(&[
        "1\n0\n00\n0x_FF\n0o17\n0b1010\n1_000_000\n",
        "123456789012345678901234567890\n0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\n0o7777777777777777777777777\n",
        "1.5\n1e16\n1e15\n1.0e-5\n0.0001\n1e400\n1_0.2_5e1_0\n.5\n5.\n0.1\n",
        "1j\n0j\n2.5J\n1e16j\n1e400j\n1_0j\n",
        "True, False, None, ...\n",
        "'a' 'b'\n'''x\ny''' \"z\"\n",
        "u'abc'\nU'abc'\n'a' u'b'\nu'a' 'b'\n",
        "b'a' b'\\x00\\xff' rb'\\n'\nb\"'\"\nb'\"'\nb'\\''\n",
        "'\\n\\t\\r\\x00\\x7f\\x80\\xa0\\u2028\\U0001F600\\N{BULLET}'\n",
        "'\\ud800' '\\udfff'\n'a\\ud83d\\ude00b'\n",
        "'don\\'t'\n\"say \\\"hi\\\"\"\n'both \\' and \"'\n",
        "r'\\d+' R'\\'' \n",
        "'\\101\\0\\777'\n'\\q'\n",
        "'''a\\\nb'''\n'a\\\nb'\n",
        "'\u{e9}t\u{e9}' + '\u{1F600}'\nx = '\u{200b}\u{ad}\u{3000}'\n",
    ]);
}

#[test]
fn fstrings_with_cpython_311_positions() {
    assert_same_as_cpython(&[
        "f'{x}'\nf''\nf'a'\nf'{x!r}{y!s:>10}{z!a}'\n",
        "f'{x=}'\nf'{x = }'\nf'{x=!s}'\nf'{x=:>10}'\nf'{(x)=}'\n",
        "f'{x:}'\nf'{x:{y}}'\nf'{x:a{y}b{z}c}'\nf'{x:{y}.{z}f}'\n",
        "'a' f'{x}' 'b'\nu'a' f'{y:>{w}}b'\nf'{x}' f'{y}'\n",
        "f'{{}}'\nf'a{{b{x}c}}d'\n",
        "f'{x,}'\nf'{x, y}'\nf'{x,y!r}'\nf'{ x , y = }'\nf'{*x, y}'\n",
        "f'{f\"{x}\"}'\nf'''{\nx\n}'''\nf'''\n{x}\n'''\n",
        "f'''{\n  x, y}'''\nx = 1; f'''a\n  {x, \n y}'''\n",
        "x = (   f'{a.b(c)[d]}'  )\n",
        "f'\\N{BULLET}{x}'\n",
        "f'\u{e9}{x}\u{e9}{y}'\n",
        "(f'{x}'\n 'y'\n f'{z}')\n",
        "f'{x:\\n}'\nf'{(lambda: 1)()}'\ndef g():\n    f'{yield}'\n",
        "f'{x!r:^{width}.{prec}}'\n",
    ]);
}

#[test]
fn fstring_expressions_spanning_lines() {
    assert_same_as_cpython(&[
        "x = f'''abc {a +\n   b} def {\n c} {d\n}'''\n",
        "x = f'''\n  {a}\n    {b:>{c}}'''\n",
        "y = (1,\n     f'''{a}\n{b\n.c}''')\n",
        "f'a\\\nb{c}'\n",
        "f'''{a[\n1]}'''\n",
        "f'{\"a\" \"b\"}'\nf'{\"\"\"x\"\"\"}'\n",
        "f'''{f\"{a}\" + \"x\"}''' '''\nz'''\n",
        "\u{e9} = f'\u{e9}{\u{e9}}\u{e9}{\u{e9}!r}'\n",
        "f'{a!r}' f'{b:{c}{d}}' 'e'\n",
        "x = (f'{a}'\n     f'{b}'\n     'c')\n",
        "f'{ a }'\nf'{\ta\t}'\n",
        "f'''{\n(a,\n b)}'''\n",
        "f'{a if b else c}'\nf'{a:=b}'\nf'{(a:=b)}'\nf'{a!=b}'\nf'{a<b}'\n",
        "f'{[x for x in y]}' f'{ {1: 2}[1] }'\n",
        "x = [f'{1}', f'{2,}']\n",
    ]);
}

#[test]
fn fstring_311_multiline_string_quirk() {
    // A string token starting on the `{`'s line and ending later is located relative to the `{`.
    assert_same_as_cpython(&[
        "x = f\"\"\"{'''a\nb''' + y}\"\"\"\n",
        "x = f\"\"\"{y + '''a\nb'''}\"\"\"\n",
        "x = f\"\"\"ab\n  {'''a\nb''' + y}\"\"\"\n",
        "x = f\"\"\"{('''a\nb''', c)}\"\"\"\n",
        "x = f\"\"\"{'''a\nb''', c}\"\"\"\n",
        "x = f\"\"\"{y:{'''a\nb'''}}\"\"\"\n",
        "x = f\"\"\"{'a' + '''b\nc''' 'd'}\"\"\"\n",
        "x = f\"\"\"{f'''{a}\n{b}''' + c}\"\"\"\n",
        "x = f\"\"\"{f'{a}' + f'''{b}\n'''}\"\"\"\n",
        "x = f\"\"\"{g(\n'''a\nb''')}\"\"\"\n",
        "x = f\"\"\"{g(b'''a\nb''')}\"\"\"\n",
    ]);
}

#[test]
fn statements_and_locations() {
    assert_same_as_cpython(&[
        "@d\ndef f(): pass\n@a.b(c)\n@e\nasync def g(): pass\n@(x)\nclass C: pass\n",
        "def f(a, /, b=1, *args, c, d=2, **kw) -> int: return a\n",
        "def f(*, a=1, b): pass\ndef g(a: int = 1, *b: str, **c: 'x'): pass\nlambda *a, **k: 0\nlambda: 0\n",
        "class C(A, B, metaclass=M, **kw):\n    x: int\n    y: int = 1\n    (z): int = 2\n    a.b: int\n",
        "if a: pass\nelif b: pass\nelif c: pass\nelse: pass\n",
        "if a:\n    x = 1; y = 2;\nelif b:\n    z = 3;\n",
        "def f():\n    return 1;\nclass C:\n    pass;  # c\n",
        "for x, y in z: pass\nelse: pass\nasync def f():\n    async for a in b: pass\n    async with c as d, e: pass\n    await x\n    [i async for i in j]\n",
        "while x: break\nelse: continue\n",
        "with (a as b, c as d): pass\nwith (a, b): pass\nwith a as (b, c): pass\n",
        "try: pass\nexcept E as e: pass\nexcept (A, B): pass\nexcept: pass\nelse: pass\nfinally: pass\n",
        "try: pass\nexcept* E as e: pass\nexcept* F: x;\n",
        "import a.b.c as d, e\nfrom . import x\nfrom ..a import (b as c, d)\nfrom a import *\n",
        "global a, b\ndef f():\n    nonlocal c\n",
        "del a, b[1], c.d\nassert x, 'm'\nraise E from F\nraise\n",
        "x = y = z\nx += 1\nx @= y\na, *b = c\n[a, b] = c\n(a) = b\n",
        "match x:\n    case 1 | 2: pass\n    case [a, *rest]: pass\n    case {'k': v, **kw}: pass\n    case Point(x=0, y=_) if y: pass\n    case C(a, b, c=d): pass\n    case None | True | False: pass\n    case -1 | 1+2j | a.b: pass\n    case (a as b): pass\n    case [*_]: pass\n    case _: pass\n",
        "if x:\n\tpass\n",
        "x = 1\\\n  + 2\n",
        "def f():\n    '''doc'''\n    yield\n    yield x\n    y = yield from z\n",
    ]);
}

#[test]
fn expressions() {
    assert_same_as_cpython(&[
        "a and b and c\na or b and c\n(a and b) and c\nnot a\n-a\n+a\n~a\n",
        "a < b <= c != d is e is not f in g not in h\n",
        "a if b else c\nlambda x, y=1: x\n(x := 1)\n[y := 2, 3]\n",
        "{}\n{1: 2, **a}\n{1, 2}\n[]\n()\n(1,)\n1,\n(1, 2)\n",
        "[x for x in y if x if z for w in x]\n{x for x in y}\n{k: v for k, v in z}\n(x for x in y)\n",
        "f(x for x in y)\nf((x for x in y))\nf(x for x in y)(z)\nf(a, *b, c=d, **e)\nf(*a, b)\n",
        "a[1]\na[1:2]\na[:]\na[::]\na[1:2:3]\na[1, 2]\na[1:2, 3]\na[()]\na[*b]\n",
        "a.b.c\na().b[c].d()\n*a, b = c\n",
        "x = (\n  1 +\n  2\n)\n",
        "print(1, 2, sep='')\n",
        "\u{e9} = 1\nx = '\u{e9}'; y = \u{e9}\n",
        "x = [\n    1,\n    2,\n]\n",
        "a = b'x' b'y'\n",
        "x = ((((((((((1))))))))))\n",
    ]);
}

#[test]
fn newlines_and_odd_whitespace() {
    assert_same_as_cpython(&[
        "x = 1\r\ny = '''a\r\nb'''\r\n",
        "x = '''a\rb\\\r\nc''' r'''\r\n'''\r\ny = b'''\r\n\\r''' rb'''\r'''\r\n",
        "x = f'''{a}\r\n{{b}}\r\n{c:\r\n}''' rf'''\r\n{d}'''\r\n",
        "x = 1\ry = 2\r",
        "x = 1",
        "# only a comment\n",
        "",
        "\n\n\n",
        "x = 1 \x0c\n",
        "if x:\n    pass\n# trailing comment\n",
        "\x0cx = 1\nif x:\n\x0c    pass\n  \x0c\n",
        "if x:\n\t  y = 1\n\t  z = 2\n",
        "x = 1 \\\n + 2\n\\\n\ny = 3\n",
        "def f():\n    pass\n\n\n\n# c\n    # d\n",
        "x = [1,\n# c\n2]  # e\n",
        "\u{1D518}\u{1D52B} = 1\nprint(\u{1D518}\u{1D52B})\n",
    ]);
}

#[test]
fn deep_and_long_inputs() {
    let chain = vec!["a"; 500].join(" + ");
    let elifs: String = (0..200)
        .map(|i| format!("elif x == {i}:\n    pass\n"))
        .collect();
    let nested_calls = format!("{}x{}", "f(".repeat(150), ")".repeat(150));
    let big = format!("x = {}\n", "9".repeat(4000));
    assert_same_as_cpython(&[
        &format!("{chain}\n"),
        &format!("if x:\n    pass\n{elifs}else:\n    pass\n"),
        &format!("{nested_calls}\n"),
        &big,
    ]);
}

#[test]
fn sources_cpython_refuses_are_refused() {
    let sources: Vec<String> = vec![
        format!("x = {}\n", "9".repeat(4301)),
        format!("x = 1_{}\n", "0".repeat(4300)),
        "f'{x!r=}'\n".into(),
        "x = (\n".into(),
        "def f(:\n".into(),
        "print 'hello'\n".into(),
        "type X = int\n".into(),
        "f(**a, *b)\n".into(),
        "\u{1F600} = 1\n".into(),
        "x = 1\n\u{feff}y = 2\n".into(),
    ];
    for (src, cpython) in sources.iter().zip(cpython_dumps(&sources)) {
        assert!(cpython.is_err(), "CPython accepts {src:?}");
        assert!(
            pyast::from_source(src).is_err(),
            "we accept what CPython refuses: {src:?}"
        );
    }
    let err = pyast::from_source(&sources[0]).expect_err("too long");
    assert_eq!(err.kind, "SyntaxError");
    assert!(err.message.starts_with("Exceeds the limit (4300 digits)"));
    // Hexadecimal literals have no limit.
    let hex = format!("x = 0x{}\n", "f".repeat(4000));
    assert!(pyast::from_source(&hex).is_ok());
}
