//! Rule PR305 `transform-refused`.

crate::declare_rule! {
    /// ## What it does
    /// Explains why pyrepl3 refuses to rewrite a cell whose plain `def` or `lambda` awaits (or
    /// to wrap a cell), and what to write instead. Refused: dunder methods (Python calls them
    /// synchronously), properties, functions with `yield from`, generators consumed
    /// synchronously (`for`, `list(...)`, `sum(...)`... in the same or a later cell), async
    /// generators that return a value, `@contextmanager` generators that await, lambdas that capture a comprehension's variable or an
    /// enclosing lambda's parameter, lambdas in a statement on its `def` line; for the wrapper,
    /// `return`/`yield` at cell level, star imports that do not lead the cell, annotations
    /// CPython refuses, and `locals()`/`vars()`/`dir()`/`exec`/`eval` without an explicit
    /// namespace at cell level.
    ///
    /// ## Why is this bad?
    /// No rewrite can make these run as written: the cell is a syntax error, as CPython would
    /// say, with a reason instead of a silently wrong result.
    ///
    /// ## Example
    /// ```python
    /// class Feed:
    ///     def __len__(self):
    ///         return len(await self.fetch())
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// class Feed:
    ///     async def load(self):
    ///         self.items = await self.fetch()
    ///
    ///     def __len__(self):
    ///         return len(self.items)
    /// ```
    pub struct TransformRefused { code: "PR305", name: "transform-refused", severity: Error }
}
