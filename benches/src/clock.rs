//! The CPU-time clock of the calling thread, which the per-cell benchmarks time with: on a shared
//! machine it does not count the time other processes take the core.

/// CPU time consumed by the calling thread so far, in nanoseconds.
///
/// # Panics
///
/// If `clock_gettime(CLOCK_THREAD_CPUTIME_ID)` fails, which it does not on the Linux and macOS
/// this project builds on (a benchmark must not go on with a wrong clock).
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID is supported on every
    // Linux and macOS this project builds on, and the call only writes `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_this_threads_work() {
        let start = super::thread_cpu_ns();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        assert!(super::thread_cpu_ns() > start, "{x}");
    }
}
