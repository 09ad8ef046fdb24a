//! Shared helpers of the integration tests: a toy worker that answers requests the way a pyrepl3 worker
//! does (busy, output, result, terminal reply, idle), test servers, and a raw client that puts exact
//! bytes on a real socket.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyrepl3_transport::codec::{Decoder, Encoder, read_frame};
use pyrepl3_transport::message::*;
use pyrepl3_transport::{
    BlockingConnection, Connection, DEFAULT_MAX_FRAME, FrameError, Key, Stats, StatsSnapshot,
};

/// The toy worker's answer to one request, in order.
pub fn toy_replies(req: &Envelope) -> Vec<Envelope> {
    let reply = |m| Envelope::reply_to(&req.header, m);
    match &req.message {
        Message::KernelInfoRequest(_) => vec![reply(Message::KernelInfoReply(KernelInfoReply {
            protocol_version: PROTOCOL_VERSION.into(),
            implementation: "toy".into(),
            implementation_version: "0".into(),
            language_info: LanguageInfo {
                name: "python".into(),
                version: "3.11".into(),
            },
            capabilities: vec!["input".into()],
            pid: Some(std::process::id()),
        }))],
        Message::ExecuteRequest(er) => {
            // Outputs carry the execution id of the request.
            let out =
                |m| Envelope::reply_to(&req.header, m).with_execution(er.execution_id.clone());
            let mut data = BTreeMap::new();
            data.insert(
                "text/plain".to_string(),
                serde_json::Value::String(er.code.len().to_string()),
            );
            vec![
                out(Message::Status(Status {
                    execution_state: ExecutionState::Busy,
                })),
                out(Message::Stream(Stream {
                    name: StreamName::Stdout,
                    text: er.code.clone(),
                })),
                out(Message::Stream(Stream {
                    name: StreamName::Stderr,
                    text: format!("err:{}", er.code),
                })),
                out(Message::ExecuteResult(ExecuteResult {
                    execution_count: 1,
                    data,
                    metadata: BTreeMap::new(),
                })),
                out(Message::ExecuteReply(ExecuteReply {
                    status: ReplyStatus::Ok,
                    execution_count: 1,
                    error: None,
                    metadata: Default::default(),
                })),
                out(Message::Status(Status {
                    execution_state: ExecutionState::Idle,
                })),
            ]
        }
        Message::InterruptRequest(_) => vec![reply(Message::InterruptReply(InterruptReply {
            status: ReplyStatus::Ok,
        }))],
        Message::ShutdownRequest(r) => vec![reply(Message::ShutdownReply(ShutdownReply {
            restart: r.restart,
            status: ReplyStatus::Ok,
        }))],
        _ => vec![],
    }
}

/// Serves one async connection with the toy worker until it ends.
pub async fn serve_async(conn: Connection) {
    let (tx, mut rx) = conn.split();
    while let Ok(req) = rx.recv().await {
        for reply in toy_replies(&req) {
            if tx.send(reply).await.is_err() {
                return;
            }
        }
    }
}

/// Serves one blocking connection with the toy worker on the calling thread until it ends.
pub fn serve_blocking(conn: BlockingConnection) {
    let (tx, rx) = conn.split();
    while let Ok(req) = rx.recv() {
        for reply in toy_replies(&req) {
            if tx.send(reply).is_err() {
                return;
            }
        }
    }
}

/// An execute request for `code` with execution id `id`.
pub fn execute(id: &str, code: &str) -> Envelope {
    Envelope::new(Message::ExecuteRequest(ExecuteRequest {
        execution_id: id.into(),
        code: code.into(),
        silent: false,
        store_history: true,
        allow_stdin: true,
        timeout_ms: None,
        first_line: None,
    }))
    .with_execution(id)
}

/// Checks the toy worker's answer to `execute(id, code)`.
pub fn assert_execution(msgs: &[Envelope], request: &Header, id: &str, code: &str) {
    let kinds: Vec<&str> = msgs.iter().map(|m| m.msg_type()).collect();
    assert_eq!(
        kinds,
        [
            "status",
            "stream",
            "stream",
            "execute_result",
            "execute_reply",
            "status"
        ]
    );
    for m in msgs {
        assert_eq!(m.header.parent_id.as_deref(), Some(request.msg_id.as_str()));
        assert_eq!(m.header.execution_id.as_deref(), Some(id));
    }
    match &msgs[1].message {
        Message::Stream(s) => assert_eq!((s.name, s.text.as_str()), (StreamName::Stdout, code)),
        other => panic!("expected stdout stream, got {other:?}"),
    }
    // Sequence numbers strictly increase in arrival order.
    assert!(msgs.windows(2).all(|w| w[0].header.seq < w[1].header.seq));
}

/// A test server on its own runtime, serving every accepted connection with the toy worker and keeping
/// the stats of every connection.
pub struct TestServer {
    pub runtime: tokio::runtime::Runtime,
    pub stats: Arc<Mutex<Vec<Arc<Stats>>>>,
}

impl TestServer {
    pub fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    /// Sum of the counters of all connections so far.
    pub fn totals(&self) -> StatsSnapshot {
        let mut t = StatsSnapshot::default();
        for s in self.stats.lock().unwrap().iter() {
            let s = s.snapshot();
            t.frames_in += s.frames_in;
            t.frames_out += s.frames_out;
            t.malformed += s.malformed;
            t.unsigned += s.unsigned;
            t.forged += s.forged;
            t.unparsable += s.unparsable;
            t.replayed += s.replayed;
            t.unknown_type += s.unknown_type;
            t.bad_content += s.bad_content;
        }
        t
    }

    /// Waits (bounded) until the server's counters satisfy `pred`; they are updated by server tasks
    /// concurrently with the client.
    pub fn wait_totals(&self, pred: impl Fn(&StatsSnapshot) -> bool) -> StatsSnapshot {
        for _ in 0..500 {
            let t = self.totals();
            if pred(&t) {
                return t;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.totals()
    }
}

/// A client that writes exact bytes on a real blocking socket and decodes what comes back.
pub struct RawClient<S: std::io::Read + Write> {
    pub stream: S,
    pub enc: Encoder,
    pub dec: Decoder,
}

impl<S: std::io::Read + Write> RawClient<S> {
    pub fn new(stream: S, key: &Key) -> Self {
        RawClient {
            stream,
            enc: Encoder::with_new_session(Some(key.clone()), DEFAULT_MAX_FRAME),
            dec: Decoder::new(Some(key.clone())),
        }
    }

    /// Encodes, signs and sends `env`; returns the frame bytes (for replaying) and the header.
    pub fn send(&mut self, mut env: Envelope) -> (Vec<u8>, Header) {
        let frame = self.enc.encode(&mut env).unwrap();
        self.stream.write_all(&frame).unwrap();
        (frame, env.header)
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// The next message, or `None` when the server closed the connection (end of stream, or a reset
    /// because it closed with our unread bytes still queued). The socket has a read timeout, so a
    /// missing answer fails the test instead of hanging it.
    pub fn recv(&mut self) -> Option<Envelope> {
        let payload = match read_frame(&mut self.stream, DEFAULT_MAX_FRAME) {
            Ok(p) => p?,
            Err(FrameError::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return None;
            }
            Err(e) => panic!("reading a frame from the server failed: {e}"),
        };
        Some(self.dec.decode(&payload).expect("server frames decode"))
    }

    /// Sends a kernel_info_request and checks the reply correlates to it.
    pub fn assert_serves(&mut self) {
        let (_, h) = self.send(Envelope::new(Message::KernelInfoRequest(
            KernelInfoRequest::default(),
        )));
        let reply = self.recv().expect("a reply");
        assert_eq!(reply.msg_type(), "kernel_info_reply");
        assert_eq!(reply.header.parent_id, Some(h.msg_id));
    }
}
