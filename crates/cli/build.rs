//! Build script: link `pyrepl3` (which embeds CPython) against the libpython pyo3 was configured for.

fn main() {
    // Without the rpath, binaries silently load the system's older libpython3.11.so.1.0.
    pyo3_build_config::add_libpython_rpath_link_args();
}
