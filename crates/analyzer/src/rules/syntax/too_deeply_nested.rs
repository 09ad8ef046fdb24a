//! Rule PR004 `too-deeply-nested`.

crate::declare_rule! {
    /// ## What it does
    /// Reports cells nested more deeply than CPython can compile: more than 200 nested brackets, more than
    /// 100 indentation levels, or expressions so deep that CPython's parser raises `RecursionError`.
    ///
    /// ## Why is this bad?
    /// CPython refuses such cells, and analysing them would risk overflowing the stack.
    ///
    /// ## Example
    /// ```python
    /// x = ((((((...((1))...))))))  # 201 levels
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// Build deep structures with a loop.
    /// ```
    pub struct TooDeeplyNested { code: "PR004", name: "too-deeply-nested", severity: Error }
}
