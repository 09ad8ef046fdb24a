//! Spawning a worker process: the socketpair on fd 3, the key in the environment, stdout and stderr
//! captured through pipes, its own process group, and resource limits set between fork and exec.

use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};

use crate::key::Key;
use crate::net::{DEFAULT_CHILD_FD, pass_fd_to_child, socketpair};

/// Resource limits of a worker process, set with `setrlimit` in the child before it execs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Address-space limit (`RLIMIT_AS`) in bytes. A cell that allocates past it gets
    /// `MemoryError`; if the runtime itself cannot allocate, the worker dies and the session
    /// reports it as `WorkerDied`, naming the limit.
    pub memory_bytes: Option<u64>,
    /// CPU-time limit (`RLIMIT_CPU`) in seconds for the worker's whole life. Past it the worker
    /// gets `SIGXCPU` (and `SIGKILL` a second later), reported as `WorkerDied`.
    pub cpu_seconds: Option<u64>,
}

/// How to start a worker: the program and its arguments (e.g. the `pyrepl3` binary and
/// `["worker"]`, or `pyrepl3-worker`), plus extra environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCommand {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments (never the key: that goes in the environment).
    pub args: Vec<OsString>,
    /// Extra environment variables.
    pub env: Vec<(OsString, OsString)>,
}

impl WorkerCommand {
    /// `program` with no arguments.
    pub fn new(program: impl Into<PathBuf>) -> WorkerCommand {
        WorkerCommand {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> WorkerCommand {
        self.args.push(arg.into());
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> WorkerCommand {
        self.env.push((name.into(), value.into()));
        self
    }
}

/// A freshly spawned worker: the child and the session's end of the socketpair.
pub(crate) struct Spawned {
    pub(crate) child: tokio::process::Child,
    pub(crate) socket: std::os::unix::net::UnixStream,
}

/// Spawns the worker with its socket on fd 3, the key in [`crate::KEY_ENV`], stdin from
/// `/dev/null`, stdout and stderr piped to the session, in a process group of its own (so a
/// terminal's Ctrl-C reaches the session, which decides what to interrupt), with `limits`.
pub(crate) fn spawn(
    command: &WorkerCommand,
    key: &Key,
    limits: Limits,
) -> std::io::Result<Spawned> {
    let (ours, theirs) = socketpair()?;
    let mut cmd = std::process::Command::new(&command.program);
    cmd.args(&command.args)
        .envs(command.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if limits.memory_bytes.is_some() {
        // glibc reserves 64 MiB of address space per malloc arena; with many threads that alone can
        // exhaust an address-space limit. Two arenas keep the limit about the cell's data.
        cmd.env("MALLOC_ARENA_MAX", "2");
    }
    key.pass_to(&mut cmd);
    pass_fd_to_child(&mut cmd, OwnedFd::from(theirs), DEFAULT_CHILD_FD)?;
    let memory = limits.memory_bytes;
    let cpu = limits.cpu_seconds;
    // SAFETY: the closure runs in the forked child before exec and only calls setpgid and
    // setrlimit, which are async-signal-safe; it allocates nothing and takes no locks.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setpgid(0, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(bytes) = memory {
                let lim = libc::rlimit {
                    rlim_cur: bytes as libc::rlim_t,
                    rlim_max: bytes as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &lim) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if let Some(secs) = cpu {
                // Soft limit: SIGXCPU; hard limit a second later: SIGKILL.
                let lim = libc::rlimit {
                    rlim_cur: secs as libc::rlim_t,
                    rlim_max: secs.saturating_add(1) as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_CPU, &lim) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut tokio_cmd = tokio::process::Command::from(cmd);
    tokio_cmd.kill_on_drop(true);
    let child = tokio_cmd.spawn()?;
    // `tokio_cmd` (holding the child's end of the socketpair) is dropped here, so the session sees
    // end of stream as soon as the worker dies.
    drop(tokio_cmd);
    Ok(Spawned {
        child,
        socket: ours,
    })
}

/// The name of a signal, e.g. `SIGSEGV`.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}

/// How a worker process ended, from its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// Its exit status could not be read.
    Unknown,
}

impl Exit {
    pub(crate) fn from_status(status: std::io::Result<ExitStatus>) -> Exit {
        use std::os::unix::process::ExitStatusExt;
        match status {
            Ok(s) => match (s.code(), s.signal()) {
                (Some(code), _) => Exit::Code(code),
                (None, Some(sig)) => Exit::Signal(sig),
                _ => Exit::Unknown,
            },
            Err(_) => Exit::Unknown,
        }
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(code) => write!(f, "exited with code {code}"),
            Exit::Signal(sig) => write!(f, "was killed by {} ({sig})", signal_name(*sig)),
            Exit::Unknown => f.write_str("ended (exit status unknown)"),
        }
    }
}
