//! Socket transports: an inherited socketpair to a child worker (passed on a known fd number, never the
//! child's stdout), Unix socket listener and connector, and TCP bound to loopback by default.
//!
//! Every accepted or connected socket becomes a [`Connection`] (tokio) or a
//! [`BlockingConnection`] (std threads) with a fresh session id, authenticated with the configured key.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::{Path, PathBuf};

use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

use crate::blocking::BlockingConnection;
use crate::conn::{Config, Connection};

/// Environment variable telling a child which fd number its end of the socketpair has.
pub const TRANSPORT_FD_ENV: &str = "PYREPL3_TRANSPORT_FD";

/// The fd number a worker's transport socket gets by default (the first after stdin, stdout, stderr).
pub const DEFAULT_CHILD_FD: RawFd = 3;

/// A connected pair of Unix sockets: one end for the parent, one for a child worker.
pub fn socketpair() -> io::Result<(StdUnixStream, StdUnixStream)> {
    StdUnixStream::pair()
}

/// Converts a std Unix socket into a tokio one (switching it to non-blocking mode).
pub fn into_tokio(stream: StdUnixStream) -> io::Result<UnixStream> {
    stream.set_nonblocking(true)?;
    UnixStream::from_std(stream)
}

/// Arranges for `fd` to appear in the child spawned by `command` as fd number `target` (≥ 3, so never
/// stdin, stdout or stderr: user code writes to stdout) and sets [`TRANSPORT_FD_ENV`] to `target`.
/// For a `tokio::process::Command` pass `command.as_std_mut()`.
///
/// `fd` is kept open by `command` until the command is dropped: drop it right after spawning, or the
/// parent will not see end of stream on its own end when the child dies.
pub fn pass_fd_to_child(
    command: &mut std::process::Command,
    fd: OwnedFd,
    target: RawFd,
) -> io::Result<()> {
    if target < 3 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("fd {target} is a standard stream; pass the transport on fd 3 or above"),
        ));
    }
    command.env(TRANSPORT_FD_ENV, target.to_string());
    let source = fd.as_raw_fd();
    // SAFETY: the closure runs in the forked child before exec and only calls dup2 and fcntl, which are
    // async-signal-safe; it allocates nothing and touches no locks. `fd` is moved into the closure and so
    // stays open in the parent until the command is dropped, which keeps `source` valid at fork time.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(move || {
            let _keep_open = &fd;
            if source == target {
                // dup2 onto itself keeps FD_CLOEXEC; clear it by hand.
                let flags = libc::fcntl(target, libc::F_GETFD);
                if flags < 0 || libc::fcntl(target, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                    return Err(io::Error::last_os_error());
                }
            } else if libc::dup2(source, target) < 0 {
                // The new descriptor made by dup2 does not have FD_CLOEXEC, so it survives exec.
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(())
}

/// In a child worker: takes the socket passed by [`pass_fd_to_child`] (the fd named in
/// [`TRANSPORT_FD_ENV`]), checks that it is a socket, marks it close-on-exec so the worker's own children
/// do not inherit it, and removes the variable from the environment.
///
/// # Safety
/// Must be called at most once, at the start of the worker's `main` before other threads exist (it
/// modifies the environment), and nothing else in the process may own that fd.
pub unsafe fn inherited_stream() -> io::Result<StdUnixStream> {
    let value = std::env::var(TRANSPORT_FD_ENV).map_err(|_| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{TRANSPORT_FD_ENV} is not set: this process was not started as a pyrepl3 worker"
            ),
        )
    })?;
    let fd: RawFd = value.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{TRANSPORT_FD_ENV}={value:?} is not a file descriptor number"),
        )
    })?;
    if fd < 3 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{TRANSPORT_FD_ENV}={fd} names a standard stream"),
        ));
    }
    // SAFETY: `st` is plain data, fully written by a successful fstat before it is read.
    let is_socket = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) < 0 {
            return Err(io::Error::other(format!(
                "{TRANSPORT_FD_ENV}={fd}: {}",
                io::Error::last_os_error()
            )));
        }
        st.st_mode & libc::S_IFMT == libc::S_IFSOCK
    };
    if !is_socket {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{TRANSPORT_FD_ENV}={fd} is not a socket"),
        ));
    }
    // SAFETY: fcntl on an fd just checked to be open; only the close-on-exec flag changes.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    // SAFETY: the caller guarantees no other thread touches the environment now.
    unsafe { std::env::remove_var(TRANSPORT_FD_ENV) };
    // SAFETY: the fd is an open socket and the caller guarantees nothing else owns it.
    Ok(unsafe { StdUnixStream::from_raw_fd(fd) })
}

/// A Unix socket server. The socket file is made accessible to its owner only (mode 0600) and removed
/// when the server is dropped. For full protection bind it inside a directory only you can enter.
#[derive(Debug)]
pub struct UnixServer {
    listener: UnixListener,
    path: PathBuf,
    config: Config,
}

impl UnixServer {
    /// Binds `path`. Every accepted connection uses `config` with a fresh session id.
    pub fn bind(path: impl AsRef<Path>, config: Config) -> io::Result<UnixServer> {
        let path = path.as_ref().to_path_buf();
        let listener = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        Ok(UnixServer {
            listener,
            path,
            config,
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for the next client.
    pub async fn accept(&self) -> io::Result<Connection> {
        let (stream, _) = self.listener.accept().await?;
        let config = self
            .config
            .fresh_session()
            .with_peer(format!("unix client of {}", self.path.display()));
        Ok(Connection::new(stream, config))
    }
}

impl Drop for UnixServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Connects to a Unix socket server.
pub async fn connect_unix(path: impl AsRef<Path>, config: Config) -> io::Result<Connection> {
    let stream = UnixStream::connect(path.as_ref()).await?;
    Ok(Connection::new(
        stream,
        config
            .fresh_session()
            .with_peer(format!("unix server {}", path.as_ref().display())),
    ))
}

/// Connects to a Unix socket server from synchronous code (the worker side).
pub fn connect_unix_blocking(
    path: impl AsRef<Path>,
    config: Config,
) -> io::Result<BlockingConnection> {
    let stream = StdUnixStream::connect(path.as_ref())?;
    BlockingConnection::new(
        stream,
        config
            .fresh_session()
            .with_peer(format!("unix server {}", path.as_ref().display())),
    )
}

/// A TCP server, bound to the loopback interface unless explicitly told otherwise.
#[derive(Debug)]
pub struct TcpServer {
    listener: TcpListener,
    config: Config,
}

impl TcpServer {
    /// Binds `127.0.0.1` on an ephemeral port.
    pub async fn bind_loopback(config: Config) -> io::Result<TcpServer> {
        TcpServer::bind(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            config,
            false,
        )
        .await
    }

    /// Binds `addr`. A non-loopback address is refused unless `allow_non_loopback` is set: the key
    /// authenticates frames but does not encrypt them.
    pub async fn bind(
        addr: SocketAddr,
        config: Config,
        allow_non_loopback: bool,
    ) -> io::Result<TcpServer> {
        if !addr.ip().is_loopback() && !allow_non_loopback {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "refusing to bind {addr}: not a loopback address (frames are signed, not encrypted)"
                ),
            ));
        }
        let listener = TcpListener::bind(addr).await?;
        Ok(TcpServer { listener, config })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Waits for the next client.
    pub async fn accept(&self) -> io::Result<Connection> {
        let (stream, peer) = self.listener.accept().await?;
        stream.set_nodelay(true)?;
        let config = self
            .config
            .fresh_session()
            .with_peer(format!("tcp client {peer}"));
        Ok(Connection::new(stream, config))
    }
}

/// Connects to a TCP server.
pub async fn connect_tcp(addr: SocketAddr, config: Config) -> io::Result<Connection> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(Connection::new(
        stream,
        config
            .fresh_session()
            .with_peer(format!("tcp server {addr}")),
    ))
}

/// Connects to a TCP server from synchronous code (the worker side).
pub fn connect_tcp_blocking(addr: SocketAddr, config: Config) -> io::Result<BlockingConnection> {
    let stream = std::net::TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    BlockingConnection::new(
        stream,
        config
            .fresh_session()
            .with_peer(format!("tcp server {addr}")),
    )
}
