//! Keeping `pyrepl3 run --format jsonl`'s standard output for the records alone.
//!
//! Cells can write to file descriptor 1 without going through `sys.stdout`: `os.system`,
//! `subprocess` children, `os.write(1, ...)`, C extensions, `sys.__stdout__`. Such bytes would
//! land between the JSON records. [`take_stdout`] moves the real standard output to a new
//! descriptor that only the record writer uses, and points descriptor 1 at standard error.

use std::fs::File;
use std::os::fd::FromRawFd;

/// The real standard output as a `File` for the caller alone; from now on descriptor 1 is a copy
/// of standard error. `None` (nothing changed) if a descriptor cannot be duplicated.
pub fn take_stdout() -> Option<File> {
    // SAFETY: dup(2) on descriptor 1 only creates a new descriptor; no memory is involved.
    let fd = unsafe { libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3) };
    if fd < 0 {
        return None;
    }
    // SAFETY: dup2(2) makes descriptor 1 a copy of descriptor 2; both are open (we write our own
    // errors to 2). `std::io::stdout()` keeps writing to descriptor 1, now standard error.
    if unsafe { libc::dup2(2, 1) } < 0 {
        // SAFETY: `fd` was just created by us and is not used elsewhere.
        unsafe { libc::close(fd) };
        return None;
    }
    // SAFETY: `fd` is a freshly duplicated, open descriptor that nothing else owns.
    Some(unsafe { File::from_raw_fd(fd) })
}
