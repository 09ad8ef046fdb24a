//! Rule PR304 `coroutine-used-synchronously`.

crate::declare_rule! {
    /// ## What it does
    /// Warns where a function pyrepl3 made async is used where nothing awaits it: passed as a
    /// value (`map(f, xs)`, `sorted(xs, key=f)`, a callback), called from a function that cannot
    /// become async (a generator, a dunder method, a decorated function, a class body, a
    /// generator expression), called through an instance (`self.method()`), or wrapped by a
    /// decorator.
    ///
    /// ## Why is this bad?
    /// Calling an `async def` returns a coroutine, not its result: `sorted(xs, key=f)` would
    /// compare coroutines, a callback would never run its body, and Python warns
    /// "coroutine ... was never awaited".
    ///
    /// ## Example
    /// ```python
    /// def price(item):
    ///     return await lookup(item)
    ///
    /// cheapest = sorted(items, key=price)
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// async def price(item):
    ///     return await lookup(item)
    ///
    /// prices = await asyncio.gather(*map(price, items))
    /// cheapest = [i for _, i in sorted(zip(prices, items))]
    /// ```
    pub struct CoroutineUsedSynchronously { code: "PR304", name: "coroutine-used-synchronously", severity: Warning }
}
