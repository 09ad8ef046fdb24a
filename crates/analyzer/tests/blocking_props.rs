//! Property tests of blocking-I/O detection over random sessions built from statement
//! fragments (imports, typed bindings, helpers, shadowing, async code): analysis never panics,
//! its findings are well-formed, and a cloned session state behaves exactly like the original.

use proptest::prelude::*;
use pyrepl3_analyzer::{CellAnalysis, SessionState, analyze_cell};

const FRAGMENTS: &[&str] = &[
    "import time",
    "import time as t",
    "from time import sleep",
    "import requests",
    "import sqlite3",
    "import asyncio",
    "time = 3",
    "def sleep(x):\n    return x",
    "t.sleep(1)",
    "time.sleep(0)",
    "sleep(1)",
    "s = requests.Session()",
    "s.get('u')",
    "conn = sqlite3.connect('db')",
    "conn.execute('q').fetchall()",
    "def fetch(u):\n    return requests.get(u)",
    "fetch('u')",
    "def rec():\n    rec()\n    fetch('x')",
    "rec()",
    "class C:\n    def __init__(self):\n        self.c = sqlite3.connect('x')\n    def q(self):\n        return self.c.execute('q')",
    "C().q()",
    "async def main():\n    await asyncio.sleep(0)\n    sleep(1)",
    "await main()",
    "f = open('x')",
    "f.read()",
    "nap = t.sleep",
    "nap(2)",
    "del time",
    "x = [fetch(u) for u in ['a', 'b']]",
    "with open('p') as g:\n    g.write('x')",
    "handler = registry['k']",
    "handler()",
    "lock = __import__('threading').Lock()",
    "with lock:\n    pass",
    "for line in f:\n    break",
    "print('hi')",
];

fn session() -> impl Strategy<Value = Vec<String>> {
    let cell = prop::collection::vec(prop::sample::select(FRAGMENTS), 1..6)
        .prop_map(|parts| parts.join("\n"));
    prop::collection::vec(cell, 1..6)
}

fn check(a: &CellAnalysis, src: &str) {
    let mut last = 0;
    for call in &a.blocking_calls {
        assert!(call.span.start <= call.span.end);
        assert!(call.span.end as usize <= src.len());
        assert!(call.span.start >= last, "calls out of source order");
        last = call.span.start;
        assert!(call.rule.code.starts_with("PR2"));
        assert!(!call.name.is_empty() && !call.via.is_empty());
        assert!(
            a.reasons
                .iter()
                .any(|r| r.rule == call.rule && r.span == call.span),
            "no reason for {}",
            call.name
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_sessions_are_analysed_consistently(cells in session()) {
        let mut state = SessionState::new();
        for (i, src) in cells.iter().enumerate() {
            let mut twin = state.clone();
            let a = analyze_cell(src, &mut state);
            let b = analyze_cell(src, &mut twin);
            check(&a, src);
            prop_assert_eq!(&a.blocking_calls, &b.blocking_calls, "cell {}", i);
            prop_assert_eq!(&a.reasons, &b.reasons);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,200}") {
        let mut state = SessionState::new();
        let a = analyze_cell(&src, &mut state);
        check(&a, &src);
    }
}
