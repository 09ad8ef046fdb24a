//! Deep syntax from an earlier cell, copied and dropped while a later, shallow cell runs it:
//! the copy must get stack for the depth of the tree it copies, not of the cell being analyzed.

use pyrepl3_analyzer::{SessionState, analyze_cell};

/// Runs `f` on a thread with a small stack (as an embedder's worker thread might have).
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .expect("a thread")
        .join()
        .expect("no stack overflow, no panic");
}

#[test]
fn a_deep_function_inside_an_earlier_cells_function_runs_from_a_shallow_cell() {
    on_small_stack(|| {
        let mut s = SessionState::new();
        // Brackets nest at most 200 deep (CPython's limit); unary minus nests without brackets.
        let deep = format!("-{}", "-".repeat(2500)) + "1";
        let cell1 = format!(
            "def outer():\n    def inner():\n        return {deep}\n    f = lambda: {deep}\n    return inner() + f()\n"
        );
        let a = analyze_cell(&cell1, &mut s);
        assert!(a.error.is_none(), "{:?}", a.error);
        // Running `outer` from a shallow cell copies `inner` and the lambda (2,500 levels deep),
        // then drops the copies.
        let b = analyze_cell("outer()\n", &mut s);
        assert!(b.error.is_none(), "{:?}", b.error);
        let c = analyze_cell("y = outer()\nz = outer()\n", &mut s);
        assert!(c.error.is_none(), "{:?}", c.error);
    });
}

#[test]
fn subtrees_the_parser_throws_away_are_dropped_with_room_on_the_stack() {
    // Ruff's parser drops, recursively and without growing the stack, an expression it cannot
    // use as a keyword name and the speculative parse of parenthesized `with` items. Both are
    // syntax errors CPython reports too; on a small stack they overflowed (fuzz findings).
    on_small_stack(|| {
        let n = 20_000;
        let cells = [
            format!("f({}x = 1)\n", "-".repeat(n)),
            format!("f({}x{} = 1)\n", "[".repeat(n), "]".repeat(n)),
            format!(
                "async with ({}x{} as y, 1 = 2):\n    pass\n",
                "[".repeat(n),
                "]".repeat(n)
            ),
        ];
        for cell in cells {
            let a = analyze_cell(&cell, &mut SessionState::new());
            assert!(a.error.is_some(), "{}…: {:?}", &cell[..12], a.mode);
        }
    });
}
