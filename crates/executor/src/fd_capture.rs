//! The worker's descriptor 1 as a pipe it reads itself, so what cells write there without
//! `sys.stdout` (`os.system`, subprocesses, `os.write(1, …)`, `sys.__stdout__`) travels on the
//! worker's one ordered connection, in order with the cell's captured output.
//!
//! Were descriptor 1 the worker's stdout pipe to the session, its bytes would race the socket:
//! `os.system('echo a'); print('b')` could reach the session as `b`, `a`. Here every captured
//! write first drains what is already in the pipe ([`FdCapture::pump`] under one lock), so bytes
//! written before a `print` are sent before it.
//!
//! Descriptor 2 stays the pipe to the session: a fatal error (a segfault's faulthandler
//! traceback, `Fatal Python error`) is written there as the process dies, when no thread of the
//! worker is left to forward it.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};

use pyrepl3_transport::message::Utf8Decoder;

/// Most bytes one [`FdCapture::pump`] reads, so a writer that never stops cannot hold a
/// `print` forever; the reader thread forwards the rest.
const PUMP_LIMIT: usize = 1 << 20;

/// The read end of the pipe that is now descriptor 1, and the one lock that orders its bytes
/// with the captured output.
pub(crate) struct FdCapture {
    read: OwnedFd,
    decoder: Mutex<Utf8Decoder>,
}

/// Held while bytes of the pipe or a captured write are sent: sending under it keeps the order.
pub(crate) struct PumpGuard<'a> {
    decoder: MutexGuard<'a, Utf8Decoder>,
}

impl FdCapture {
    /// Makes descriptor 1 the write end of a fresh pipe (inherited by child processes, as a
    /// stdout should be) and keeps the read end, non-blocking and close-on-exec.
    pub(crate) fn install() -> io::Result<Self> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 fills the two descriptors of a fresh pipe, both ours from now on.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just created by pipe2 and are owned by nobody else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // The write end was made non-blocking with the read end; a stdout must block when full
        // (writers wait for the reader rather than lose output or see EAGAIN).
        // SAFETY: fcntl on a descriptor we own.
        if unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETFL, 0) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: dup2 makes descriptor 1 a copy of our write end; descriptor 1 is the worker's
        // stdout, which nothing in the worker reads. dup2 clears close-on-exec on the copy, so
        // child processes inherit it as their stdout. `write` is closed when it drops.
        if unsafe { libc::dup2(write.as_raw_fd(), 1) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            read,
            decoder: Mutex::new(Utf8Decoder::default()),
        })
    }

    /// Takes the lock that orders output: the caller sends under it.
    pub(crate) fn lock(&self) -> PumpGuard<'_> {
        PumpGuard {
            decoder: self.decoder.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Reads what the pipe holds now (without waiting) and returns it as text, whole characters
    /// only. The caller holds [`FdCapture::lock`] and sends the text before releasing it.
    /// `None` when the pipe's writers are all gone.
    pub(crate) fn pump(&self, guard: &mut PumpGuard<'_>) -> Option<String> {
        let decoder = &mut *guard.decoder;
        let mut text = String::new();
        let mut buf = [0u8; 16 * 1024];
        let mut total = 0;
        while total < PUMP_LIMIT {
            // SAFETY: reads into a local buffer of `buf.len()` bytes from a descriptor we own.
            let n =
                unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            match n {
                0 => {
                    text.push_str(&decoder.finish());
                    return (!text.is_empty()).then_some(text);
                }
                n if n > 0 => {
                    let n = n as usize;
                    total += n;
                    text.push_str(&decoder.push(&buf[..n]));
                }
                _ => {
                    let err = io::Error::last_os_error();
                    match err.kind() {
                        io::ErrorKind::Interrupted => continue,
                        // EAGAIN: nothing more for now.
                        _ => break,
                    }
                }
            }
        }
        Some(text)
    }

    /// Blocks until the pipe has bytes (or its writers are gone), without taking the lock.
    pub(crate) fn wait_readable(&self) {
        let mut pfd = libc::pollfd {
            fd: self.read.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: polls one pollfd that lives on this stack frame for the call.
        unsafe { libc::poll(&mut pfd, 1, -1) };
    }
}
