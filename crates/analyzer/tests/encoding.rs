//! PEP 263 source encodings against a live CPython 3.11: for every codec name and alias Python
//! knows (and misspellings it does not), and for text in the encodings pyrepl3 decodes, the
//! analyzer accepts, refuses and decodes source bytes as `compile(bytes, ...)` does.

use std::io::Write;
use std::process::{Command, Stdio};

use pyrepl3_analyzer::encoding::decode_source;
use pyrepl3_analyzer::{Mode, SessionState, analyze_bytes};
use serde::Deserialize;

/// CPython's answer for one source: the decoded text, or the `SyntaxError` message.
#[derive(Debug, Deserialize)]
struct Answer {
    text: Option<String>,
    error: Option<String>,
}

/// Asks CPython to compile each source (hex-encoded bytes) and, when it compiles, to decode it as
/// its tokenizer did (`tokenize.detect_encoding`, then the codec, after a BOM).
fn ask(sources: &[Vec<u8>]) -> Vec<Answer> {
    const SCRIPT: &str = r#"
import codecs, io, json, sys, tokenize
out = []
for h in json.load(sys.stdin):
    b = bytes.fromhex(h)
    try:
        compile(b, "<cell>", "exec", 0x2000)
    except SyntaxError as e:
        out.append({"text": None, "error": e.msg})
        continue
    enc, _ = tokenize.detect_encoding(io.BytesIO(b).readline)
    body = b[3:] if b.startswith(codecs.BOM_UTF8) else b
    out.append({"text": body.decode("utf-8" if enc == "utf-8-sig" else enc), "error": None})
json.dump(out, sys.stdout)
"#;
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let hex: Vec<String> = sources.iter().map(|s| hex(s)).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&hex).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the oracle failed");
    serde_json::from_slice(&out.stdout).expect("the oracle's JSON")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every codec module and alias of Python's registry, in several spellings, and names it lacks.
fn names() -> Vec<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import encodings, encodings.aliases, pkgutil, json; \
             print(json.dumps(sorted(set(encodings.aliases.aliases) | \
             {m.name for m in pkgutil.iter_modules(encodings.__path__)})))",
        ])
        .output()
        .expect("python3 runs");
    let registry: Vec<String> = serde_json::from_slice(&out.stdout).expect("a JSON list");
    assert!(registry.len() > 300, "{registry:?}");
    let mut names = Vec::new();
    for n in registry {
        names.push(n.to_uppercase().replace('_', "-"));
        names.push(n.replace('_', "."));
        names.push(n);
    }
    names.extend(
        [
            "uft-8",
            "utf8",
            "UTF-8",
            "utf-8-sig",
            "utf_8_sig",
            "UTF8-SIG",
            "latin-1",
            "Latin_1",
            "iso-latin-1-x",
            "iso-8859-1-foo",
            "latin-1-unix",
            "utf-8-unix",
            "koi8-r",
            "KOI8_R",
            "mbcs",
            "oem",
            "rot13",
            "rot-13",
            "hex",
            "base64",
            "zlib",
            "cp65001",
            "x-unknown",
            "euc-jp",
            "shift-jis",
            "SJIS",
            "iso8859-15",
            "mac-roman",
            "macintosh",
            "cp1252.x",
            "a..b",
            "-utf-8",
            "utf--8",
            "latin",
            "l1",
            "ascii",
            "us-ascii",
            "646",
            "undefined",
        ]
        .map(String::from),
    );
    names
}

#[test]
fn every_declared_encoding_is_accepted_or_refused_as_cpython_does() {
    let names = names();
    let sources: Vec<Vec<u8>> = names
        .iter()
        .map(|n| format!("# -*- coding: {n} -*-\nx = 1\n").into_bytes())
        .collect();
    let answers = ask(&sources);
    let mut wrong = Vec::new();
    for ((name, src), answer) in names.iter().zip(&sources).zip(&answers) {
        let ours = decode_source(src);
        // The verdict always agrees; where CPython refuses while looking the name up, so does
        // pyrepl3, in the same words. (After decoding, CPython's errors are about the text it
        // decoded, which the analysis reports in its own words.)
        let refused = analyze_bytes(src, &mut SessionState::new(), &Default::default()).mode
            == Mode::SyntaxError;
        let lookup_stage = answer.error.as_deref().is_some_and(|m| {
            m.starts_with("unknown encoding")
                || m.contains("is not a text encoding")
                || m.contains("with BOM")
                || m.contains("undefined encoding")
        });
        let agree = refused == answer.error.is_some()
            && (!lookup_stage || ours.as_ref().err().map(|e| &e.message) == answer.error.as_ref());
        if !agree {
            wrong.push(format!(
                "{name:?}: ours {:?} (refused: {refused}), CPython {:?}",
                ours.map(|t| t.len()).map_err(|e| e.message),
                answer.error
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn text_in_other_encodings_decodes_as_cpython_decodes_it() {
    // (declared name, text of a string literal) in encodings with non-ASCII bytes.
    let cases: &[(&str, &str)] = &[
        ("latin-1", "café, naïve, ¿qué?, \u{80}\u{9f}"),
        ("iso-8859-1", "déjà vu ÿ"),
        ("cp1252", "€ “quoted” — ok"),
        ("koi8-r", "привет, мир"),
        ("koi8_u", "ґанок"),
        ("iso-8859-5", "Здравствуйте"),
        ("iso8859-15", "€uro œuvre"),
        ("cp1251", "Съешь же ещё этих"),
        ("cp866", "ДОС"),
        ("mac-roman", "Ωmega ∑"),
        ("shift_jis", "こんにちは、世界"),
        ("euc-jp", "日本語のテキスト"),
        ("gbk", "中文文本"),
        ("gb18030", "汉字"),
        ("big5", "繁體中文"),
        ("euc-kr", "한국어"),
        ("utf-8", "ünïcödé ✓"),
        ("ascii", "plain"),
    ];
    let mut sources = Vec::new();
    for (name, text) in cases {
        let encoded = Command::new("python3")
            .args([
                "-c",
                "import sys; n, t = sys.argv[1:]; \
                 sys.stdout.buffer.write(f'# coding: {n}\\ns = {t!r}\\n'.encode(n))",
                name,
                text,
            ])
            .output()
            .expect("python3 runs");
        assert!(encoded.status.success(), "{name}");
        sources.push(encoded.stdout);
    }
    // A BOM with a UTF-8 declaration is fine; with another one CPython refuses.
    sources.push(b"\xEF\xBB\xBF# coding: utf-8\ns = '\xC3\xA9'\n".to_vec());
    sources.push(b"\xEF\xBB\xBF# coding: latin-1\ns = 'x'\n".to_vec());
    sources.push(b"\xEF\xBB\xBF# coding: utf8\ns = 'x'\n".to_vec());
    // Undecodable bytes, and a declaration too late to count.
    sources.push(b"# coding: ascii\ns = '\xE9'\n".to_vec());
    sources.push(b"x = 1\n# coding: koi8-r\ns = '\xC1'\n".to_vec());
    sources.push(b"\n# coding: latin-1\ns = '\x80'\n".to_vec());
    sources.push(b"#!/usr/bin/env python\n# vim: set fileencoding=koi8-r :\ns = '\xC1'\n".to_vec());
    let answers = ask(&sources);
    let mut wrong = Vec::new();
    for (src, answer) in sources.iter().zip(&answers) {
        let ours = decode_source(src);
        let agree = match (&ours, answer) {
            (Ok(text), Answer { text: Some(t), .. }) => text == t,
            (Err(e), Answer { error: Some(m), .. }) => {
                // Decoding errors name the codec in both; CPython adds the byte's position.
                e.message == *m
                    || (m.contains("codec can't decode")
                        && e.message.contains("codec can't decode"))
            }
            _ => false,
        };
        if !agree {
            wrong.push(format!(
                "{:?}: ours {ours:?}, CPython {answer:?}",
                String::from_utf8_lossy(src)
            ));
        }
        // And the analysis: what CPython compiles is analyzed, what it refuses is a syntax error.
        let a = analyze_bytes(src, &mut SessionState::new(), &Default::default());
        assert_eq!(
            a.mode == Mode::SyntaxError,
            answer.error.is_some(),
            "{:?}: {a:?}",
            String::from_utf8_lossy(src)
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
