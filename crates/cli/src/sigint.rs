//! Ctrl-C while a cell runs: a SIGINT handler that tells a watcher thread, which interrupts the
//! running cell.
//!
//! At the REPL's prompt the line editor has the terminal in raw mode, so Ctrl-C is a key, not a
//! signal. While a cell runs the terminal is in its normal mode and Ctrl-C sends SIGINT to the
//! process. The handler writes a byte to a pipe (async-signal-safe); the watcher thread reads it
//! and calls the interrupter of the session's running cell. A SIGINT with nothing running is
//! dropped, so Ctrl-C never ends the REPL.
//!
//! The embedded executor serves blocking cells on Python's main thread and breaks calls like
//! `time.sleep` there by sending that thread SIGINT itself (`pthread_kill`, which the kernel
//! reports as `SI_TKILL`), handled by Python's own handler. So this handler chains to the
//! handler it replaced (Python's), and ignores `SI_TKILL` signals for the watcher, which would
//! otherwise turn every interrupt into another one. Only those are passed on to Python's
//! handler: a Ctrl-C reaches Python as the executor's own signal, after its stop request.

use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::session::InterruptFn;

/// Write end of the pipe (-1: not set up).
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);
/// The handler this one replaced (`sa_sigaction` value), and whether it takes `siginfo_t`.
static PREVIOUS: AtomicUsize = AtomicUsize::new(0);
static PREVIOUS_SIGINFO: AtomicBool = AtomicBool::new(false);

/// The session whose running cell a Ctrl-C interrupts (replaced on `:restart`).
#[derive(Clone, Default)]
pub struct Target(Arc<Mutex<Option<InterruptFn>>>);

impl Target {
    /// Interrupt `f`'s session from now on.
    pub fn set(&self, f: InterruptFn) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(f);
    }

    fn fire(&self) {
        let f = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(f) = f {
            f();
        }
    }
}

extern "C" fn on_sigint(sig: c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    let code = if info.is_null() {
        0
    } else {
        // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler (not null here).
        unsafe { (*info).si_code }
    };
    if code != libc::SI_TKILL {
        let fd = PIPE_WRITE.load(Ordering::Relaxed);
        if fd >= 0 {
            let byte = 1u8;
            // SAFETY: write(2) is async-signal-safe; `byte` outlives the call. A full pipe
            // (many unread Ctrl-Cs) just drops this one.
            unsafe {
                libc::write(fd, (&byte as *const u8).cast(), 1);
            }
        }
        // Not passed on: Python's handler would run (and find no stop request yet) in the
        // middle of the interrupt the watcher is about to make, and swallow its signal.
        return;
    }
    let previous = PREVIOUS.load(Ordering::Relaxed);
    if previous == libc::SIG_DFL || previous == libc::SIG_IGN {
        return;
    }
    if PREVIOUS_SIGINFO.load(Ordering::Relaxed) {
        // SAFETY: `previous` is the SA_SIGINFO handler sigaction reported as installed before
        // ours; it is called with the same arguments the kernel gave us.
        let f: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
            unsafe { std::mem::transmute(previous) };
        f(sig, info, ctx);
    } else {
        // SAFETY: `previous` is the plain handler sigaction reported as installed before ours.
        let f: extern "C" fn(c_int) = unsafe { std::mem::transmute(previous) };
        f(sig);
    }
}

/// Start the watcher thread (once) that interrupts `target`'s running cell on each SIGINT.
pub fn start_watcher(target: Target) -> std::io::Result<()> {
    if PIPE_WRITE.load(Ordering::SeqCst) >= 0 {
        return Ok(());
    }
    let mut fds = [0 as c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let [read_fd, write_fd] = fds;
    // SAFETY: `write_fd` is the pipe's write end just created; non-blocking so the handler never
    // blocks.
    unsafe {
        let flags = libc::fcntl(write_fd, libc::F_GETFL);
        libc::fcntl(write_fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    PIPE_WRITE.store(write_fd, Ordering::SeqCst);
    std::thread::Builder::new()
        .name("pyrepl3-sigint".into())
        .spawn(move || {
            let mut buf = [0u8; 64];
            loop {
                // SAFETY: `buf` is valid for 64 bytes; `read_fd` stays open for the process.
                let n = unsafe { libc::read(read_fd, buf.as_mut_ptr().cast(), buf.len()) };
                if n > 0 {
                    target.fire();
                } else if n < 0
                    && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
                {
                    continue;
                } else {
                    break;
                }
            }
        })?;
    Ok(())
}

/// Install the handler, chaining to whichever one is installed now (call it again after Python
/// installs its own, e.g. after a session starts serving blocking cells on the main thread).
pub fn install() -> std::io::Result<()> {
    // SAFETY: zeroed is a valid `sigaction` (no flags, empty mask) before we fill it in.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_sigint as *const () as usize;
    action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART | libc::SA_ONSTACK;
    // SAFETY: `sa_mask` is a valid sigset_t to initialise.
    unsafe {
        libc::sigemptyset(&mut action.sa_mask);
    }
    // SAFETY: zeroed is a valid `sigaction` for the kernel to fill in.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both structs are valid; SIGINT is a valid signal.
    if unsafe { libc::sigaction(libc::SIGINT, &action, &mut old) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if old.sa_sigaction != action.sa_sigaction {
        PREVIOUS_SIGINFO.store(old.sa_flags & libc::SA_SIGINFO != 0, Ordering::SeqCst);
        PREVIOUS.store(old.sa_sigaction, Ordering::SeqCst);
    }
    Ok(())
}
