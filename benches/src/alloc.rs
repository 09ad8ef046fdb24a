//! The global allocator of every benchmark binary: mimalloc, as `pyrepl3-analyze` links, unless
//! the package is built without its `mimalloc` feature (then the system allocator).

/// Declared in the library, so that every bench, example and binary of this package that uses it
/// allocates alike; they name [`ALLOCATOR`] in their output, which also links this crate in.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Which allocator the benchmark binaries were built with: `"mimalloc"` or `"system"`.
pub const ALLOCATOR: &str = if cfg!(feature = "mimalloc") {
    "mimalloc"
} else {
    "system"
};
