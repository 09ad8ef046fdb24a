//! A real Rust worker subprocess: this test binary re-executes itself as the child, which takes its
//! socket with `inherited_stream()` and its key with `Key::take_from_env()` and serves the toy worker
//! over the blocking connection. The parent (async session side) checks the handshake, executions,
//! shutdown, that the child's stdout stays separate, and that a SIGKILLed worker is seen as the end of
//! the connection and rejects the promises pending on it.
//!
//! `harness = false`: `main` is the test; it exits non-zero (by panicking) on failure.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use common::{assert_execution, execute, toy_replies};
use pyrepl3_transport::message::*;
use pyrepl3_transport::net::{TRANSPORT_FD_ENV, inherited_stream, into_tokio, pass_fd_to_child};
use pyrepl3_transport::promise::{PromiseRegistry, PromiseState, RejectKind, exec_promise_id};
use pyrepl3_transport::{
    BlockingConnection, Config, Connection, HeartbeatLost, KEY_ENV, Key, TransportError,
    heartbeat_monitor,
};
use tokio::time::timeout;

const CHILD_MARKER: &str = "PYREPL3_TRANSPORT_TEST_CHILD";
const LIMIT: Duration = Duration::from_secs(20);
const TARGET_FD: i32 = 5;

fn main() {
    if std::env::var_os(CHILD_MARKER).is_some() {
        child();
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(parent_serves_and_shuts_down());
    runtime.block_on(parent_sees_killed_worker());
    runtime.block_on(heartbeats_detect_stopped_and_killed_worker());
    println!("child_worker: 3 tests passed");
}

fn child() {
    // SAFETY: first thing in main, no other threads exist yet.
    let key = unsafe { Key::take_from_env() }.expect("key in the environment");
    // SAFETY: as above; nothing else owns the inherited fd.
    let stream = unsafe { inherited_stream() }.expect("inherited transport socket");
    let mut caps = Vec::new();
    if std::env::var_os(KEY_ENV).is_none() {
        caps.push("key_env_removed".to_string());
    }
    if std::env::var_os(TRANSPORT_FD_ENV).is_none() {
        caps.push("fd_env_removed".to_string());
    }
    println!("child stdout");
    let conn = BlockingConnection::new(stream, Config::new(key)).expect("connection");
    let (tx, rx) = conn.split();
    while let Ok(req) = rx.recv() {
        for mut reply in toy_replies(&req) {
            if let Message::KernelInfoReply(info) = &mut reply.message {
                info.capabilities.extend(caps.iter().cloned());
            }
            let last = matches!(reply.message, Message::ShutdownReply(_));
            tx.send(reply).expect("send");
            if last {
                // Dropping the sender flushes and closes our direction before exiting.
                drop(tx);
                std::thread::sleep(Duration::from_millis(50));
                std::process::exit(0);
            }
        }
    }
}

/// Spawns the child worker. With `same_fd` the child's end is first moved to a high fd number that is
/// then also the target, exercising the branch of `pass_fd_to_child` where no dup2 is needed and the
/// close-on-exec flag must be cleared by hand.
fn spawn_child(key: &Key, same_fd: bool) -> (std::process::Child, Connection) {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let (session_end, child_end) = std::os::unix::net::UnixStream::pair().unwrap();
    let (child_end, target): (OwnedFd, i32) = if same_fd {
        // SAFETY: F_DUPFD_CLOEXEC duplicates an fd we own onto the lowest free number >= 57.
        let high = unsafe { libc::fcntl(child_end.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 57) };
        assert!(high >= 57, "{}", std::io::Error::last_os_error());
        // SAFETY: `high` is a fresh fd owned by nobody else.
        (unsafe { OwnedFd::from_raw_fd(high) }, high)
    } else {
        (child_end.into(), TARGET_FD)
    };
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env(CHILD_MARKER, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    key.pass_to(&mut cmd);
    pass_fd_to_child(&mut cmd, child_end, target).unwrap();
    let child = cmd.spawn().unwrap();
    drop(cmd);
    let conn = Connection::new(into_tokio(session_end).unwrap(), Config::new(key.clone()));
    (child, conn)
}

async fn parent_serves_and_shuts_down() {
    let key = Key::generate();
    let (mut child, conn) = spawn_child(&key, false);
    let (tx, mut rx) = conn.split();
    let mut next = async || {
        timeout(LIMIT, rx.recv())
            .await
            .expect("reply in time")
            .expect("connection alive")
    };

    let h = tx
        .send(Envelope::new(Message::KernelInfoRequest(
            KernelInfoRequest::default(),
        )))
        .await
        .unwrap();
    let reply = next().await;
    assert_eq!(reply.header.parent_id, Some(h.msg_id));
    match reply.message {
        Message::KernelInfoReply(info) => {
            assert_eq!(info.pid, Some(child.id()));
            assert!(info.capabilities.contains(&"key_env_removed".to_string()));
            assert!(info.capabilities.contains(&"fd_env_removed".to_string()));
        }
        other => panic!("expected kernel_info_reply, got {other:?}"),
    }
    for i in 0..3 {
        let id = format!("c{i}");
        let h = tx.send(execute(&id, "x = 1")).await.unwrap();
        let mut msgs = Vec::new();
        for _ in 0..6 {
            msgs.push(next().await);
        }
        assert_execution(&msgs, &h, &id, "x = 1");
    }
    tx.send(Envelope::new(Message::ShutdownRequest(ShutdownRequest {
        restart: false,
    })))
    .await
    .unwrap();
    assert!(matches!(next().await.message, Message::ShutdownReply(_)));
    assert!(matches!(
        timeout(LIMIT, rx.recv()).await.unwrap(),
        Err(TransportError::Closed)
    ));
    let (status, stdout) = tokio::task::spawn_blocking(move || {
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        (child.wait().unwrap(), out)
    })
    .await
    .unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(stdout, "child stdout\n");
}

async fn parent_sees_killed_worker() {
    let key = Key::generate();
    let (mut child, conn) = spawn_child(&key, true);
    let (tx, mut rx) = conn.split();
    let promises = PromiseRegistry::<String>::new();
    let worker = format!("worker-{}", child.id());
    // Make sure the child is up, then leave an execution pending on it.
    tx.send(Envelope::new(Message::KernelInfoRequest(
        KernelInfoRequest::default(),
    )))
    .await
    .unwrap();
    timeout(LIMIT, rx.recv()).await.unwrap().unwrap();
    let pending = promises.promise(&exec_promise_id("k1"), LIMIT, Some(&worker));
    let waiter = tokio::spawn(pending.into_future());

    // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGKILL) }, 0);
    // The transport reports the end of the connection (end of stream, or a reset if the kernel still
    // held bytes for the dead process); the session then fails what was pending.
    match timeout(LIMIT, rx.recv()).await.unwrap() {
        Err(TransportError::Closed) => {}
        Err(TransportError::Frame(pyrepl3_transport::FrameError::Io(e)))
            if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the connection to end, got {other:?}"),
    }
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    promises.reject_owned(
        Some(&worker),
        RejectKind::Rejected,
        format!("WorkerDied: killed by signal {}", libc::SIGKILL),
    );
    let record = timeout(LIMIT, waiter).await.unwrap().unwrap().unwrap();
    assert_eq!(record.state, PromiseState::Rejected);
    assert!(record.value.unwrap().contains("signal 9"));
    assert!(record.settled_on.unwrap() <= SystemTime::now());
}

async fn heartbeats_detect_stopped_and_killed_worker() {
    let key = Key::generate();
    let (mut child, conn) = spawn_child(&key, false);
    let (tx, mut rx) = conn.split();
    pyrepl3_transport::handshake(&tx, &mut rx, LIMIT)
        .await
        .unwrap();
    let interval = Duration::from_millis(100);
    // A live worker keeps answering: the monitor does not give up within many intervals.
    tokio::select! {
        lost = heartbeat_monitor(&tx, rx.heartbeats(), interval, 5) => {
            panic!("live worker declared lost: {lost}")
        }
        _ = tokio::time::sleep(interval * 8) => {}
    }
    // SIGSTOP freezes the worker (its socket stays open): only heartbeats can tell.
    let pid = child.id() as i32;
    // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    let lost = timeout(LIMIT, heartbeat_monitor(&tx, rx.heartbeats(), interval, 3))
        .await
        .expect("a stopped worker is detected");
    assert_eq!(lost, HeartbeatLost::Missed(3));
    // Killed: the monitor reports the closed connection.
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    // Drain the receiver so the reader task sees the end of stream.
    let reader = tokio::spawn(async move {
        while rx.recv().await.is_ok() {}
        rx
    });
    let rx = timeout(LIMIT, reader).await.unwrap().unwrap();
    let lost = timeout(LIMIT, heartbeat_monitor(&tx, rx.heartbeats(), interval, 3))
        .await
        .expect("monitor returns");
    assert_eq!(lost, HeartbeatLost::Closed);
}
