//! pyrepl3-transport: the message transport between a pyrepl3 session and its worker process.
//!
//! Pure Rust, no Python. The pieces:
//!
//! * [`message`]: Jupyter-style messages (`execute_request`, `execute_reply`, `stream`, `error`,
//!   `input_request`, `kernel_info` handshake, heartbeats, …) in one [`Envelope`] with msg id, parent id,
//!   session id, per-session sequence number and the execution a message belongs to.
//! * [`codec`]: length-prefixed frames (u32 big endian, explicit maximum) carrying JSON, each signed with
//!   HMAC-SHA256 under a 256-bit [`Key`]; unsigned, forged and replayed frames are rejected and counted,
//!   bad frames never panic.
//! * [`conn`]: the async (tokio) connection; [`blocking`]: the synchronous one for the worker (std
//!   threads, crossbeam channels).
//! * [`net`]: socketpair to a child on a known fd, Unix sockets, TCP on loopback.
//! * [`promise`]: the registry of pending promises (`exec:{id}`, `{id}:input:{n}`) with Resonate's
//!   durable-promise semantics.
//! * [`session`]: the host side — a [`session::Session`] runs cells in a worker subprocess it
//!   spawns and supervises (streamed events, input, interrupts, timeouts, resource limits, crash
//!   detection and restart with checkpoint restore), with a blocking facade and a pool. Pure
//!   Rust: a host using it does not link libpython.
//!
//! One ordered stream per direction: every message of an execution, output included, arrives in the
//! order it was produced, and the terminal `execute_reply` comes last.
//!
//! # Example: a session and a worker over a socketpair
//!
//! In real use the worker end goes to a child process with [`net::pass_fd_to_child`] and
//! [`Key::pass_to`], and the child picks them up with [`net::inherited_stream`] and
//! [`Key::take_from_env`]. Here the worker is a thread.
//!
//! ```
//! use std::time::Duration;
//! use pyrepl3_transport::message::*;
//! use pyrepl3_transport::net::{into_tokio, socketpair};
//! use pyrepl3_transport::promise::{PromiseRegistry, PromiseState, exec_promise_id};
//! use pyrepl3_transport::{BlockingConnection, Config, Connection, Key, handshake};
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() {
//! let key = Key::generate();
//! let (session_end, worker_end) = socketpair().unwrap();
//!
//! // Worker side: blocking, std threads + crossbeam.
//! let worker = BlockingConnection::new(worker_end, Config::new(key.clone())).unwrap();
//! std::thread::spawn(move || {
//!     let (tx, rx) = worker.split();
//!     while let Ok(req) = rx.recv() {
//!         let reply = match &req.message {
//!             Message::KernelInfoRequest(_) => Message::KernelInfoReply(KernelInfoReply {
//!                 protocol_version: PROTOCOL_VERSION.into(),
//!                 implementation: "pyrepl3".into(),
//!                 implementation_version: "0.1.0".into(),
//!                 language_info: LanguageInfo { name: "python".into(), version: "3.11".into() },
//!                 capabilities: vec![],
//!                 pid: Some(std::process::id()),
//!             }),
//!             Message::ExecuteRequest(_) => {
//!                 let out = Message::Stream(Stream { name: StreamName::Stdout, text: "hi\n".into() });
//!                 tx.send(Envelope::reply_to(&req.header, out)).unwrap();
//!                 Message::ExecuteReply(ExecuteReply {
//!                     status: ReplyStatus::Ok, execution_count: 1, error: None,
//!                     metadata: Default::default(),
//!                 })
//!             }
//!             _ => continue,
//!         };
//!         tx.send(Envelope::reply_to(&req.header, reply)).unwrap();
//!     }
//! });
//!
//! // Session side: async.
//! let (tx, mut rx) = Connection::new(into_tokio(session_end).unwrap(), Config::new(key)).split();
//! let info = handshake(&tx, &mut rx, Duration::from_secs(10)).await.unwrap();
//! assert_eq!(info.implementation, "pyrepl3");
//!
//! let promises = PromiseRegistry::<ExecuteReply>::new();
//! let reply = promises.promise(&exec_promise_id("e1"), Duration::from_secs(10), Some("worker-1"));
//! tx.send(Envelope::new(Message::ExecuteRequest(ExecuteRequest {
//!     execution_id: "e1".into(), code: "print('hi')".into(),
//!     silent: false, store_history: true, allow_stdin: true,
//!     timeout_ms: None, first_line: None,
//! })).with_execution("e1")).await.unwrap();
//! loop {
//!     let msg = rx.recv().await.unwrap();
//!     match msg.message {
//!         Message::Stream(s) => assert_eq!(s.text, "hi\n"),
//!         Message::ExecuteReply(r) => {
//!             promises.resolve(&exec_promise_id("e1"), r).unwrap();
//!             break;
//!         }
//!         other => panic!("unexpected {other:?}"),
//!     }
//! }
//! assert_eq!(reply.await.unwrap().state, PromiseState::Resolved);
//! # }
//! ```

pub mod blocking;
pub mod codec;
pub mod conn;
pub mod error;
pub mod key;
pub mod message;
pub mod net;
pub mod promise;
pub mod session;

pub use blocking::{BlockingConnection, BlockingReceiver, BlockingSender};
pub use codec::{DEFAULT_MAX_FRAME, Decoder, Encoder, ReplayGuard, Stats, StatsSnapshot};
pub use conn::{
    Config, Connection, HandshakeError, HeartbeatLost, Receiver, SendError, Sender, handshake,
    heartbeat_monitor,
};
pub use error::{DecodeError, FrameError, KeyError, TransportError};
pub use key::{KEY_ENV, Key};
pub use message::{Envelope, Header, Message, PROTOCOL_VERSION};
pub use promise::{
    Promise, PromiseError, PromiseRecord, PromiseRegistry, PromiseState, PromiseStore, RejectKind,
    Settlement, exec_promise_id, input_promise_id,
};
