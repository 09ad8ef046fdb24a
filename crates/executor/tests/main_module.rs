//! Cells live in the session's `__main__` module (its own test binary: `sys.modules["__main__"]`
//! is process-wide, so no other session may run concurrently).

use pyrepl3_executor::{ExecOptions, Executor, Status};

fn ok(ex: &Executor, src: &str) -> Option<String> {
    let out = ex.execute(src, &ExecOptions::default()).unwrap();
    assert_eq!(out.status, Status::Ok, "{src:?} failed: {:?}", out.error);
    out.result_repr
}

fn new() -> Executor {
    Executor::builder().build().expect("executor builds")
}

#[test]
fn cells_live_in_main_so_pickle_works() {
    let ex = new();
    ok(
        &ex,
        "import pickle\nclass Point:\n    def __init__(self, x):\n        self.x = x",
    );
    assert_eq!(
        ok(&ex, "pickle.loads(pickle.dumps(Point(3))).x"),
        Some("3".into())
    );
    assert_eq!(
        ok(&ex, "import __main__\n__main__.Point is Point"),
        Some("True".into())
    );
    assert_eq!(ok(&ex, "__name__"), Some("'__main__'".into()));
    ok(
        &ex,
        "from dataclasses import dataclass\n@dataclass\nclass D:\n    a: int\n    b: 'str' = 'x'",
    );
    assert_eq!(ok(&ex, "D(1)"), Some("D(a=1, b='x')".into()));
}
