//! A parser-independent syntax tree in the schema of CPython 3.11's `ast` module.
