//! Bad input on real sockets (Unix and loopback TCP): truncated frames, garbage, oversized frames, forged,
//! unsigned and replayed frames, unknown message kinds. Each test checks that the bad frame is rejected
//! and counted, and that the server goes on serving valid messages afterwards.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{RawClient, TestServer, serve_async};
use pyrepl3_transport::codec::{LEN_PREFIX, raw_frame};
use pyrepl3_transport::message::*;
use pyrepl3_transport::net::{TcpServer, UnixServer};
use pyrepl3_transport::{Config, Key};

#[derive(Clone, Copy, Debug)]
enum Kind {
    Unix,
    Tcp,
}

enum RawSock {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Read for RawSock {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            RawSock::Unix(s) => s.read(buf),
            RawSock::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for RawSock {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            RawSock::Unix(s) => s.write(buf),
            RawSock::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl RawSock {
    fn shutdown_write(&self) {
        match self {
            RawSock::Unix(s) => s.shutdown(Shutdown::Write).unwrap(),
            RawSock::Tcp(s) => s.shutdown(Shutdown::Write).unwrap(),
        }
    }
}

struct Fixture {
    server: TestServer,
    key: Key,
    unix: Option<PathBuf>,
    tcp: Option<SocketAddr>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn start(kind: Kind) -> Fixture {
        let key = Key::generate();
        let dir = tempfile::tempdir().unwrap();
        let runtime = TestServer::runtime();
        let stats = Arc::new(Mutex::new(Vec::new()));
        let config = Config::new(key.clone()).with_max_frame(64 * 1024);
        let (mut unix, mut tcp) = (None, None);
        match kind {
            Kind::Unix => {
                let path = dir.path().join("s.sock");
                let _guard = runtime.enter();
                let server = UnixServer::bind(&path, config).unwrap();
                unix = Some(path);
                let stats = stats.clone();
                runtime.spawn(async move {
                    while let Ok(conn) = server.accept().await {
                        stats.lock().unwrap().push(conn.stats());
                        tokio::spawn(serve_async(conn));
                    }
                });
            }
            Kind::Tcp => {
                let server = runtime.block_on(TcpServer::bind_loopback(config)).unwrap();
                tcp = Some(server.local_addr().unwrap());
                let stats = stats.clone();
                runtime.spawn(async move {
                    while let Ok(conn) = server.accept().await {
                        stats.lock().unwrap().push(conn.stats());
                        tokio::spawn(serve_async(conn));
                    }
                });
            }
        }
        Fixture {
            server: TestServer { runtime, stats },
            key,
            unix,
            tcp,
            _dir: dir,
        }
    }

    fn connect(&self) -> RawClient<RawSock> {
        let sock = if let Some(path) = &self.unix {
            let s = UnixStream::connect(path).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            RawSock::Unix(s)
        } else {
            let s = TcpStream::connect(self.tcp.unwrap()).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            RawSock::Tcp(s)
        };
        RawClient::new(sock, &self.key)
    }
}

fn info_request() -> Envelope {
    Envelope::new(Message::KernelInfoRequest(KernelInfoRequest::default()))
}

/// Body of a valid kernel_info_request with the given header fields.
fn info_body(msg_id: &str, session: &str, seq: u64) -> Vec<u8> {
    format!(
        r#"{{"header":{{"msg_id":"{msg_id}","session":"{session}","seq":{seq}}},"msg_type":"kernel_info_request","content":{{"protocol_version":"1.0"}}}}"#
    )
    .into_bytes()
}

fn forged_signature(kind: Kind) {
    let fx = Fixture::start(kind);
    let mut c = fx.connect();
    // Signed with a different key.
    c.send_bytes(&raw_frame(
        Some(&Key::generate()),
        &info_body("forged-1", "attacker", 1),
    ));
    // Signed with the right key, then one body byte changed.
    let mut tampered = raw_frame(Some(&fx.key), &info_body("forged-2", "attacker", 2));
    let n = tampered.len();
    tampered[n - 3] ^= 0x20;
    c.send_bytes(&tampered);
    // The next reply answers the valid request, not the forged ones.
    c.assert_serves();
    let t = fx.server.wait_totals(|t| t.forged == 2);
    assert_eq!((t.forged, t.rejected()), (2, 2));
}

fn unsigned_frame(kind: Kind) {
    let fx = Fixture::start(kind);
    let mut c = fx.connect();
    c.send_bytes(&raw_frame(None, &info_body("u-1", "attacker", 1)));
    c.assert_serves();
    let t = fx.server.wait_totals(|t| t.unsigned == 1);
    assert_eq!((t.unsigned, t.rejected()), (1, 1));
}

fn replayed_message(kind: Kind) {
    let fx = Fixture::start(kind);
    let mut c = fx.connect();
    let (frame, first) = c.send(info_request());
    assert_eq!(
        c.recv().unwrap().header.parent_id.as_deref(),
        Some(first.msg_id.as_str())
    );
    // The identical frame again on the same connection: rejected, not answered twice.
    c.send_bytes(&frame);
    c.assert_serves();
    // And on a fresh connection: the replay guard is process-wide.
    let mut c2 = fx.connect();
    c2.send_bytes(&frame);
    c2.assert_serves();
    let t = fx.server.wait_totals(|t| t.replayed == 2);
    assert_eq!((t.replayed, t.rejected()), (2, 2));
}

fn unknown_msg_type_gets_correlated_error(kind: Kind) {
    let fx = Fixture::start(kind);
    let mut c = fx.connect();
    // A unique session id: the replay guard is shared by every connection of this test process.
    let session = new_id();
    let body = format!(
        r#"{{"header":{{"msg_id":"odd-1","session":"{session}","seq":1,"execution_id":"e5"}},"msg_type":"comm_open","content":{{"x":1}}}}"#
    );
    c.send_bytes(&raw_frame(Some(&fx.key), body.as_bytes()));
    let reply = c.recv().unwrap();
    assert_eq!(reply.header.parent_id.as_deref(), Some("odd-1"));
    assert_eq!(reply.header.execution_id.as_deref(), Some("e5"));
    match reply.message {
        Message::Error(e) => {
            assert_eq!(e.ename, "UnknownMessageType");
            assert!(e.evalue.contains("comm_open"), "{}", e.evalue);
        }
        other => panic!("expected error, got {other:?}"),
    }
    // Known type, content that does not fit it: also answered, as InvalidMessage.
    let body = format!(
        r#"{{"header":{{"msg_id":"odd-2","session":"{session}","seq":2}},"msg_type":"execute_request","content":{{"code":5}}}}"#
    );
    c.send_bytes(&raw_frame(Some(&fx.key), body.as_bytes()));
    let reply = c.recv().unwrap();
    assert_eq!(reply.header.parent_id.as_deref(), Some("odd-2"));
    assert!(matches!(&reply.message, Message::Error(e) if e.ename == "InvalidMessage"));
    c.assert_serves();
    let t = fx
        .server
        .wait_totals(|t| t.unknown_type == 1 && t.bad_content == 1);
    assert_eq!((t.unknown_type, t.bad_content), (1, 1));
}

fn framed_garbage_is_dropped(kind: Kind) {
    let fx = Fixture::start(kind);
    let mut c = fx.connect();
    // Random payloads in well-formed frames.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for len in [0usize, 1, 2, 33, 100, 1000] {
        let payload: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let mut frame = (len as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&payload);
        c.send_bytes(&frame);
    }
    // Authentic but not JSON, and JSON without a header.
    c.send_bytes(&raw_frame(Some(&fx.key), b"\x00\xffnot json{{{"));
    c.send_bytes(&raw_frame(Some(&fx.key), br#"{"msg_type":"stream"}"#));
    c.assert_serves();
    let t = fx.server.wait_totals(|t| t.rejected() == 8);
    assert_eq!(t.rejected(), 8, "{t:?}");
    assert_eq!(t.unparsable, 2, "{t:?}");
}

fn raw_garbage_ends_only_that_connection(kind: Kind) {
    let fx = Fixture::start(kind);
    let mut bystander = fx.connect();
    bystander.assert_serves();
    let mut c = fx.connect();
    // Not framed at all: the first four bytes read as a length far over the maximum.
    c.send_bytes(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(c.recv().is_none(), "server must close the connection");
    // The server and its other connections go on.
    bystander.assert_serves();
    fx.connect().assert_serves();
}

fn oversized_frame_ends_connection(kind: Kind) {
    let fx = Fixture::start(kind);
    let mut c = fx.connect();
    c.assert_serves();
    // One write: the server closes as soon as it has read the length, so a second write could
    // meet a closed socket (EPIPE) before the test looks for the close.
    let mut frame = ((64 * 1024 + 1) as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&[0u8; 64]);
    c.send_bytes(&frame);
    assert!(c.recv().is_none(), "server must close the connection");
    fx.connect().assert_serves();
}

fn truncated_frame(kind: Kind) {
    let fx = Fixture::start(kind);
    let mut bystander = fx.connect();
    let mut c = fx.connect();
    let frame = raw_frame(Some(&fx.key), &info_body("t-1", "trunc", 1));
    c.send_bytes(&frame[..frame.len() / 2]);
    c.stream.shutdown_write();
    assert!(c.recv().is_none(), "server must close the connection");
    // Truncated length prefix too.
    let mut c = fx.connect();
    c.send_bytes(&frame[..LEN_PREFIX - 1]);
    c.stream.shutdown_write();
    assert!(c.recv().is_none());
    bystander.assert_serves();
    fx.connect().assert_serves();
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod unix {
            $(#[test] fn $name() { super::$name(super::Kind::Unix) })*
        }
        mod tcp {
            $(#[test] fn $name() { super::$name(super::Kind::Tcp) })*
        }
    };
}

both!(
    forged_signature,
    unsigned_frame,
    replayed_message,
    unknown_msg_type_gets_correlated_error,
    framed_garbage_is_dropped,
    raw_garbage_ends_only_that_connection,
    oversized_frame_ends_connection,
    truncated_frame,
);

/// The async receiver reports fatal framing errors to its user and ends the whole connection.
#[tokio::test]
async fn async_receiver_reports_oversized_and_truncated() {
    use pyrepl3_transport::net::{into_tokio, socketpair};
    use pyrepl3_transport::{FrameError, TransportError};

    // Oversized.
    let (ours, mut theirs) = socketpair().unwrap();
    let conn = pyrepl3_transport::Connection::new(
        into_tokio(ours).unwrap(),
        Config::new(Key::generate()).with_max_frame(1024),
    );
    let (_tx, mut rx) = conn.split();
    theirs.write_all(&(1025u32).to_be_bytes()).unwrap();
    match rx.recv().await {
        Err(TransportError::Frame(FrameError::TooLarge {
            len: 1025,
            max: 1024,
        })) => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(matches!(rx.recv().await, Err(TransportError::Closed)));
    // The connection is closed from our side too: the peer reads end of stream.
    theirs
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(theirs.read(&mut buf).unwrap(), 0);

    // Truncated.
    let (ours, mut theirs) = socketpair().unwrap();
    let key = Key::generate();
    let conn =
        pyrepl3_transport::Connection::new(into_tokio(ours).unwrap(), Config::new(key.clone()));
    let (_tx, mut rx) = conn.split();
    let frame = raw_frame(Some(&key), &info_body("x", "y", 1));
    theirs.write_all(&frame[..frame.len() - 5]).unwrap();
    drop(theirs);
    match rx.recv().await {
        Err(TransportError::Frame(FrameError::Truncated { got, expected })) => {
            assert_eq!((got, expected), (frame.len() - 5, frame.len()));
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
}
