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
//!
//! One ordered stream per direction: every message of an execution, output included, arrives in the
//! order it was produced, and the terminal `execute_reply` comes last.

pub mod blocking;
pub mod codec;
pub mod conn;
pub mod error;
pub mod key;
pub mod message;
pub mod net;
pub mod promise;

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
