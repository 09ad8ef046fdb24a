//! Round trips over every transport with real sockets: socketpair (async session ↔ blocking worker
//! thread), Unix socket and loopback TCP (async and blocking clients), a Python child speaking the wire
//! format over an inherited fd, heartbeats answered while the worker's main thread is busy, interrupts
//! seen by the reader thread, and late output attributed to its execution.

mod common;

use std::io::Read;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::{assert_execution, execute, serve_async, serve_blocking};
use pyrepl3_transport::blocking::MessageHook;
use pyrepl3_transport::message::*;
use pyrepl3_transport::net::{
    DEFAULT_CHILD_FD, TcpServer, UnixServer, connect_tcp, connect_tcp_blocking, connect_unix,
    connect_unix_blocking, into_tokio, pass_fd_to_child, socketpair,
};
use pyrepl3_transport::{
    BlockingConnection, Config, Connection, Key, Receiver, Sender, TransportError,
};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

async fn recv(rx: &mut Receiver) -> Envelope {
    timeout(LIMIT, rx.recv())
        .await
        .expect("message within the time limit")
        .expect("connection alive")
}

/// Runs one execution and returns everything up to and including the trailing idle status.
async fn run_cell(tx: &Sender, rx: &mut Receiver, id: &str, code: &str) -> (Header, Vec<Envelope>) {
    let header = tx.send(execute(id, code)).await.unwrap();
    let mut msgs = Vec::new();
    loop {
        let m = recv(rx).await;
        let idle = matches!(
            m.message,
            Message::Status(Status {
                execution_state: ExecutionState::Idle
            })
        );
        msgs.push(m);
        if idle {
            return (header, msgs);
        }
    }
}

async fn do_handshake(tx: &Sender, rx: &mut Receiver) -> KernelInfoReply {
    pyrepl3_transport::handshake(tx, rx, LIMIT)
        .await
        .expect("handshake")
}

async fn exercise(tx: Sender, mut rx: Receiver) {
    let info = do_handshake(&tx, &mut rx).await;
    assert_eq!(info.language_info.name, "python");
    for i in 0..20 {
        let id = format!("e{i}");
        let code = format!("print({i})");
        let (h, msgs) = run_cell(&tx, &mut rx, &id, &code).await;
        assert_execution(&msgs, &h, &id, &code);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketpair_async_session_blocking_worker() {
    let key = Key::generate();
    let (session_end, worker_end) = socketpair().unwrap();
    let worker = BlockingConnection::new(worker_end, Config::new(key.clone())).unwrap();
    let worker_thread = std::thread::spawn(move || serve_blocking(worker));
    let conn = Connection::new(into_tokio(session_end).unwrap(), Config::new(key));
    let stats = conn.stats();
    let (tx, rx) = conn.split();
    exercise(tx, rx).await;
    // Dropping the session's sender closes its write side; the worker sees end of stream and stops.
    worker_thread.join().unwrap();
    let s = stats.snapshot();
    assert_eq!(s.rejected(), 0);
    assert_eq!(s.frames_in, 1 + 20 * 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_async_and_blocking_clients() {
    let key = Key::generate();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("worker.sock");
    let server = UnixServer::bind(&path, Config::new(key.clone())).unwrap();
    let mode = std::fs::metadata(&path).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);
    tokio::spawn(async move {
        while let Ok(conn) = server.accept().await {
            tokio::spawn(serve_async(conn));
        }
    });
    let (tx, rx) = connect_unix(&path, Config::new(key.clone()))
        .await
        .unwrap()
        .split();
    exercise(tx, rx).await;

    // A blocking client (the worker-side API) against the same server.
    let key2 = key.clone();
    let path2 = path.clone();
    tokio::task::spawn_blocking(move || {
        blocking_client(connect_unix_blocking(path2, Config::new(key2)).unwrap())
    })
    .await
    .unwrap();
}

fn blocking_client(conn: BlockingConnection) {
    let (tx, rx) = conn.split();
    let h = tx.send(execute("b1", "x = 1")).unwrap();
    let mut msgs = Vec::new();
    while msgs.len() < 6 {
        msgs.push(rx.recv_timeout(LIMIT).unwrap().expect("reply in time"));
    }
    assert_execution(&msgs, &h, "b1", "x = 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_loopback_async_and_blocking_clients() {
    let key = Key::generate();
    let server = TcpServer::bind_loopback(Config::new(key.clone()))
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    assert!(addr.ip().is_loopback());
    tokio::spawn(async move {
        while let Ok(conn) = server.accept().await {
            tokio::spawn(serve_async(conn));
        }
    });
    let (tx, rx) = connect_tcp(addr, Config::new(key.clone()))
        .await
        .unwrap()
        .split();
    exercise(tx, rx).await;
    tokio::task::spawn_blocking(move || {
        blocking_client(connect_tcp_blocking(addr, Config::new(key)).unwrap())
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn tcp_refuses_non_loopback_unless_allowed() {
    let err = TcpServer::bind(
        "0.0.0.0:0".parse().unwrap(),
        Config::new(Key::generate()),
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("not a loopback address"));
}

#[tokio::test]
async fn wrong_key_peers_cannot_talk() {
    let (a, b) = socketpair().unwrap();
    let conn_a = Connection::new(into_tokio(a).unwrap(), Config::new(Key::generate()));
    let conn_b = Connection::new(into_tokio(b).unwrap(), Config::new(Key::generate()));
    let stats_b = conn_b.stats();
    let (tx_a, _rx_a) = conn_a.split();
    let (_tx_b, rx_b) = conn_b.split();
    let mut rx_b = rx_b;
    tx_a.send(execute("e1", "1")).await.unwrap();
    tx_a.send(execute("e2", "2")).await.unwrap();
    drop(tx_a);
    // Nothing is delivered; the connection just ends when A closes.
    assert!(matches!(
        timeout(LIMIT, rx_b.recv()).await.unwrap(),
        Err(TransportError::Closed)
    ));
    assert_eq!(stats_b.snapshot().forged, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_answered_while_worker_main_thread_is_busy_and_interrupt_hook_runs() {
    let key = Key::generate();
    let (session_end, worker_end) = socketpair().unwrap();
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    let hook: MessageHook = Arc::new(move |env: &Envelope| {
        if matches!(env.message, Message::InterruptRequest(_)) {
            flag.store(true, Ordering::SeqCst);
        }
    });
    let worker =
        BlockingConnection::with_hook(worker_end, Config::new(key.clone()), Some(hook)).unwrap();
    let busy = interrupted.clone();
    let worker_thread = std::thread::spawn(move || {
        let (tx, rx) = worker.split();
        // The "main thread" is busy (like Python in time.sleep) and does not read the connection until
        // the reader thread's hook has seen the interrupt.
        while !busy.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let req = rx.recv().unwrap();
        tx.send(Envelope::reply_to(
            &req.header,
            Message::InterruptReply(InterruptReply {
                status: ReplyStatus::Ok,
            }),
        ))
        .unwrap();
    });

    let (tx, mut rx) = Connection::new(into_tokio(session_end).unwrap(), Config::new(key)).split();
    let mut pongs = rx.heartbeats();
    for _ in 0..3 {
        let nonce = tx.ping().await.unwrap();
        timeout(
            LIMIT,
            pongs.wait_for(|p| p.is_some_and(|p| p.nonce == nonce)),
        )
        .await
        .expect("pong while the worker's main thread is busy")
        .unwrap();
    }
    let h = tx
        .send(Envelope::new(Message::InterruptRequest(
            InterruptRequest {},
        )))
        .await
        .unwrap();
    let reply = recv(&mut rx).await;
    assert_eq!(reply.header.parent_id, Some(h.msg_id));
    assert!(matches!(reply.message, Message::InterruptReply(_)));
    assert!(interrupted.load(Ordering::SeqCst));
    worker_thread.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_background_output_is_attributed_to_its_execution() {
    let key = Key::generate();
    let (session_end, worker_end) = socketpair().unwrap();
    let worker = BlockingConnection::new(worker_end, Config::new(key.clone())).unwrap();
    let worker_thread = std::thread::spawn(move || {
        let (tx, rx) = worker.split();
        let first = rx.recv().unwrap();
        let second = rx.recv().unwrap();
        let exec_id = |e: &Envelope| match &e.message {
            Message::ExecuteRequest(r) => r.execution_id.clone(),
            _ => panic!("expected execute_request"),
        };
        let (id1, id2) = (exec_id(&first), exec_id(&second));
        let msg = |parent: &Envelope, id: &str, m| {
            Envelope::reply_to(&parent.header, m).with_execution(id.to_string())
        };
        let reply = |status| {
            Message::ExecuteReply(ExecuteReply {
                status,
                execution_count: 1,
                error: None,
                metadata: Default::default(),
            })
        };
        let out = |text: &str| {
            Message::Stream(Stream {
                name: StreamName::Stdout,
                text: text.into(),
            })
        };
        tx.send(msg(&first, &id1, out("a1"))).unwrap();
        tx.send(msg(&first, &id1, reply(ReplyStatus::Ok))).unwrap();
        // The second execution runs while a background task of the first still prints.
        tx.send(msg(&second, &id2, out("b1"))).unwrap();
        tx.send(msg(&first, &id1, out("late from e1"))).unwrap();
        tx.send(msg(&second, &id2, reply(ReplyStatus::Ok))).unwrap();
    });
    let (tx, mut rx) = Connection::new(into_tokio(session_end).unwrap(), Config::new(key)).split();
    tx.send(execute("e1", "task()")).await.unwrap();
    tx.send(execute("e2", "2")).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..5 {
        let m = recv(&mut rx).await;
        let text = match &m.message {
            Message::Stream(s) => s.text.clone(),
            other => other.msg_type().to_string(),
        };
        got.push((m.header.execution_id.unwrap(), text));
    }
    let want = [
        ("e1", "a1"),
        ("e1", "execute_reply"),
        ("e2", "b1"),
        ("e1", "late from e1"),
        ("e2", "execute_reply"),
    ];
    let got: Vec<(&str, &str)> = got.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(got, want);
    worker_thread.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_flood_is_delivered_in_order_with_bounded_queues() {
    let key = Key::generate();
    let (session_end, worker_end) = socketpair().unwrap();
    let mut config = Config::new(key.clone());
    config.outbound_capacity = 8;
    let worker = BlockingConnection::new(worker_end, config).unwrap();
    const N: u64 = 20_000;
    let sent = Arc::new(AtomicU64::new(0));
    let sent2 = sent.clone();
    let worker_thread = std::thread::spawn(move || {
        let (tx, _rx) = worker.split();
        for i in 0..N {
            tx.send(
                Envelope::new(Message::Stream(Stream {
                    name: if i % 3 == 0 {
                        StreamName::Stderr
                    } else {
                        StreamName::Stdout
                    },
                    text: format!("{i}\n"),
                }))
                .with_execution("flood"),
            )
            .unwrap();
            sent2.store(i + 1, Ordering::SeqCst);
        }
    });
    let mut config = Config::new(key);
    config.inbound_capacity = 8;
    let (_tx, mut rx) = Connection::new(into_tokio(session_end).unwrap(), config).split();
    // Do not read for a while: the worker must be held back by the bounded queues and socket buffers,
    // not buffer the whole flood in memory.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stalled_at = sent.load(Ordering::SeqCst);
    assert!(
        stalled_at < N,
        "the sender should block on backpressure, but sent all {N} messages without a reader"
    );
    for i in 0..N {
        let m = recv(&mut rx).await;
        match m.message {
            Message::Stream(s) => assert_eq!(s.text, format!("{i}\n")),
            other => panic!("expected stream, got {other:?}"),
        }
    }
    worker_thread.join().unwrap();
}

/// A Python 3 child speaks the wire format over the socketpair end passed on fd 3, with the key handed
/// over in the environment. Proves the format is language neutral and that the child's stdout stays
/// separate from the transport.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_child_over_inherited_fd() {
    const CHILD: &str = r#"
import hashlib, hmac, json, os, socket, struct, sys
key = bytes.fromhex(os.environ.pop("PYREPL3_KEY"))
fd = int(os.environ["PYREPL3_TRANSPORT_FD"])
sock = socket.socket(fileno=fd)
print("user code writes to stdout", flush=True)

def read_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            sys.exit(0)
        buf += chunk
    return buf

seq = 0
def send(msg_type, content, parent):
    global seq
    seq += 1
    body = json.dumps({"header": {"msg_id": "py-%d" % seq, "session": "python-child", "seq": seq,
                                  "parent_id": parent["msg_id"]},
                       "msg_type": msg_type, "content": content}).encode()
    tag = hmac.new(key, body, hashlib.sha256).digest()
    payload = bytes([32]) + tag + body
    sock.sendall(struct.pack(">I", len(payload)) + payload)

while True:
    (length,) = struct.unpack(">I", read_exact(4))
    payload = read_exact(length)
    sig_len = payload[0]
    sig, body = payload[1:1 + sig_len], payload[1 + sig_len:]
    if not hmac.compare_digest(sig, hmac.new(key, body, hashlib.sha256).digest()):
        send("error", {"ename": "Forged", "evalue": "bad signature", "traceback": []}, {"msg_id": "?"})
        continue
    msg = json.loads(body)
    if msg["msg_type"] == "kernel_info_request":
        send("kernel_info_reply", {"protocol_version": "1.0", "implementation": "python-child",
             "implementation_version": "0", "language_info": {"name": "python",
             "version": sys.version.split()[0]}, "capabilities": [], "pid": os.getpid()}, msg["header"])
    elif msg["msg_type"] == "execute_request":
        send("stream", {"name": "stdout", "text": msg["content"]["code"]}, msg["header"])
        send("execute_reply", {"status": "ok", "execution_count": 1}, msg["header"])
"#;
    let key = Key::generate();
    let (session_end, child_end) = socketpair().unwrap();
    let mut cmd = std::process::Command::new("python3");
    cmd.arg("-c")
        .arg(CHILD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    key.pass_to(&mut cmd);
    pass_fd_to_child(&mut cmd, child_end.into(), DEFAULT_CHILD_FD).unwrap();
    let mut child = cmd.spawn().unwrap();
    drop(cmd); // closes our copy of the child's end

    let (tx, mut rx) = Connection::new(into_tokio(session_end).unwrap(), Config::new(key)).split();
    let info = do_handshake(&tx, &mut rx).await;
    assert_eq!(info.implementation, "python-child");
    assert_eq!(info.pid, Some(child.id()));
    let h = tx.send(execute("py1", "print('hi')")).await.unwrap();
    let out = recv(&mut rx).await;
    assert_eq!(out.header.parent_id.as_deref(), Some(h.msg_id.as_str()));
    assert!(matches!(&out.message, Message::Stream(s) if s.text == "print('hi')"));
    assert!(matches!(
        recv(&mut rx).await.message,
        Message::ExecuteReply(_)
    ));
    drop(tx); // the child sees end of stream and exits
    let status = tokio::task::spawn_blocking(move || {
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (child.wait().unwrap(), stdout, stderr)
    })
    .await
    .unwrap();
    assert!(status.0.success(), "child failed: {}", status.2);
    assert_eq!(status.1, "user code writes to stdout\n");
    // The child is gone: the session's receiver reports the end of the connection.
    assert!(matches!(
        timeout(LIMIT, rx.recv()).await.unwrap(),
        Err(TransportError::Closed)
    ));
}

#[test]
fn pass_fd_refuses_standard_streams() {
    let (_a, b) = socketpair().unwrap();
    let mut cmd = std::process::Command::new("true");
    let err = pass_fd_to_child(&mut cmd, b.into(), 1).unwrap_err();
    assert!(err.to_string().contains("standard stream"), "{err}");
}

/// A worker that answers the handshake with `reply` (or not at all).
fn fake_worker(reply: Option<Message>) -> (Sender, Receiver, std::thread::JoinHandle<()>) {
    let key = Key::generate();
    let (session_end, worker_end) = socketpair().unwrap();
    let worker = BlockingConnection::new(worker_end, Config::new(key.clone())).unwrap();
    let t = std::thread::spawn(move || {
        let (tx, rx) = worker.split();
        let req = rx.recv().unwrap();
        tx.send(Envelope::reply_to(
            &req.header,
            Message::Status(Status {
                execution_state: ExecutionState::Starting,
            }),
        ))
        .unwrap();
        if let Some(m) = reply {
            tx.send(Envelope::reply_to(&req.header, m)).unwrap();
        }
        // Stay connected until the session hangs up.
        let _ = rx.recv();
    });
    let (tx, rx) = Connection::new(into_tokio(session_end).unwrap(), Config::new(key)).split();
    (tx, rx, t)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_rejects_other_major_versions_wrong_replies_and_silence() {
    use pyrepl3_transport::HandshakeError;
    let info = |v: &str| {
        Message::KernelInfoReply(KernelInfoReply {
            protocol_version: v.into(),
            implementation: "w".into(),
            implementation_version: "0".into(),
            language_info: LanguageInfo {
                name: "python".into(),
                version: "3.11".into(),
            },
            capabilities: vec!["checkpoint".into()],
            pid: None,
        })
    };
    let (tx, mut rx, t) = fake_worker(Some(info("1.9")));
    let got = pyrepl3_transport::handshake(&tx, &mut rx, LIMIT)
        .await
        .unwrap();
    assert_eq!(got.capabilities, ["checkpoint"]);
    drop(tx);
    t.join().unwrap();

    let (tx, mut rx, t) = fake_worker(Some(info("2.0")));
    match pyrepl3_transport::handshake(&tx, &mut rx, LIMIT).await {
        Err(HandshakeError::Incompatible { ours, theirs }) => {
            assert_eq!((ours.as_str(), theirs.as_str()), (PROTOCOL_VERSION, "2.0"))
        }
        other => panic!("expected Incompatible, got {other:?}"),
    }
    drop(tx);
    t.join().unwrap();

    let (tx, mut rx, t) = fake_worker(Some(Message::Stream(Stream {
        name: StreamName::Stdout,
        text: "banner".into(),
    })));
    let err = pyrepl3_transport::handshake(&tx, &mut rx, LIMIT)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, HandshakeError::Unexpected(t) if t == "stream"),
        "{err}"
    );
    drop(tx);
    t.join().unwrap();

    let (tx, mut rx, t) = fake_worker(None);
    let err = pyrepl3_transport::handshake(&tx, &mut rx, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(matches!(err, HandshakeError::Timeout(_)), "{err}");
    assert!(err.to_string().contains("no kernel_info_reply"));
    drop(tx);
    t.join().unwrap();
}

/// The sync facade over an async connection: `blocking_send` (sync → async through the tokio mpsc)
/// and `into_crossbeam` (async → sync through a crossbeam channel), used from a plain thread.
#[test]
fn sync_facade_over_async_connection() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let key = Key::generate();
    let (session_end, worker_end) = socketpair().unwrap();
    let worker = BlockingConnection::new(worker_end, Config::new(key.clone())).unwrap();
    let worker_thread = std::thread::spawn(move || serve_blocking(worker));
    let conn = {
        let _guard = rt.enter();
        Connection::new(into_tokio(session_end).unwrap(), Config::new(key))
    };
    let (tx, rx) = conn.split();
    let events = rx.into_crossbeam(4);
    for i in 0..10 {
        let id = format!("s{i}");
        let h = tx.blocking_send(execute(&id, "1 + 1")).unwrap();
        let msgs: Vec<Envelope> = (0..6)
            .map(|_| events.recv_timeout(LIMIT).unwrap().unwrap())
            .collect();
        assert_execution(&msgs, &h, &id, "1 + 1");
    }
    drop(tx);
    // The worker hangs up after our end closes; the last item reports the end of the connection.
    worker_thread.join().unwrap();
    assert!(matches!(
        events.recv_timeout(LIMIT).unwrap(),
        Err(TransportError::Closed)
    ));
    assert!(events.recv_timeout(Duration::from_millis(50)).is_err());
}

/// Soak: thousands of executions back to back over one socketpair, every message checked for order,
/// attribution and completeness.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_thousands_of_executions_in_order() {
    let key = Key::generate();
    let (session_end, worker_end) = socketpair().unwrap();
    let worker = BlockingConnection::new(worker_end, Config::new(key.clone())).unwrap();
    let worker_thread = std::thread::spawn(move || serve_blocking(worker));
    let (tx, mut rx) = Connection::new(into_tokio(session_end).unwrap(), Config::new(key)).split();
    const CELLS: usize = 3000;
    // Pipeline: the sender runs ahead of the reader, as a busy session would.
    let sender = tokio::spawn(async move {
        let mut headers = Vec::new();
        for i in 0..CELLS {
            headers.push(
                tx.send(execute(&format!("k{i}"), &format!("c{i}")))
                    .await
                    .unwrap(),
            );
        }
        (tx, headers)
    });
    let mut all = Vec::with_capacity(CELLS * 6);
    for _ in 0..CELLS * 6 {
        all.push(recv(&mut rx).await);
    }
    let (tx, headers) = sender.await.unwrap();
    for (i, (chunk, h)) in all.chunks(6).zip(&headers).enumerate() {
        assert_execution(chunk, h, &format!("k{i}"), &format!("c{i}"));
    }
    drop(tx);
    worker_thread.join().unwrap();
}
