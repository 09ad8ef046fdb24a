//! The messages a session and its worker exchange, named and meant as in the Jupyter messaging protocol.
//!
//! Every message travels inside one [`Envelope`]: a [`Header`] (message id, parent id, session id,
//! per-session sequence number, and the execution a message belongs to) plus the message itself, which
//! serializes adjacently tagged as `"msg_type": "...", "content": {...}`. On the wire an envelope looks like
//!
//! ```json
//! {"header":{"msg_id":"…","session":"…","seq":7,"parent_id":"…","execution_id":"e1"},
//!  "msg_type":"stream","content":{"name":"stdout","text":"hello\n"}}
//! ```
//!
//! Unlike Jupyter there is one ordered stream per direction (no shell/iopub split): every message of an
//! execution, output included, arrives in the order it was produced and its terminal `execute_reply` comes
//! last. Output produced later by a background task still carries `header.execution_id` of the execution
//! that started it, so it can be attributed.

use std::collections::BTreeMap;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// Version of the pyrepl3 wire protocol, exchanged in the `kernel_info` handshake.
///
/// The major number changes on incompatible changes; peers with different majors refuse to talk.
pub const PROTOCOL_VERSION: &str = "1.0";

/// The message header: identity, correlation and ordering of one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Unique id of this message.
    pub msg_id: String,
    /// Id of the sending session (stamped by the sender's encoder).
    #[serde(default)]
    pub session: String,
    /// Per-session, per-direction sequence number, strictly increasing (stamped by the encoder).
    /// A receiver rejects a sequence number it has already seen (replay).
    #[serde(default)]
    pub seq: u64,
    /// `msg_id` of the message this one answers or was caused by (Jupyter's parent header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The execution this message belongs to, so that late output of a background task is attributed to
    /// the execution that started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
}

/// One message with its header: the unit that is framed, signed and sent.
///
/// Serialized with `msg_type` and `content` flattened next to `header`. Deserialization is written by
/// hand: when `msg_type` precedes `content`, as our encoder writes it, the
/// content is parsed straight into its type instead of being buffered first, which makes decoding
/// about twice as fast as serde's derived `flatten`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope {
    /// Identity, correlation and ordering.
    pub header: Header,
    /// The message: serialized as `"msg_type"` and `"content"` next to the header.
    #[serde(flatten)]
    pub message: Message,
}

impl Envelope {
    /// A new envelope with a fresh random `msg_id`. Session and sequence number are stamped by the
    /// encoder when the envelope is sent.
    pub fn new(message: Message) -> Self {
        Envelope {
            header: Header {
                msg_id: new_id(),
                session: String::new(),
                seq: 0,
                parent_id: None,
                execution_id: None,
            },
            message,
        }
    }

    /// An envelope answering `parent`: `parent_id` is the parent's `msg_id`, and the execution id is
    /// inherited from the parent.
    pub fn reply_to(parent: &Header, message: Message) -> Self {
        let mut env = Envelope::new(message);
        env.header.parent_id = Some(parent.msg_id.clone());
        env.header.execution_id = parent.execution_id.clone();
        env
    }

    /// Sets the parent message id.
    pub fn with_parent(mut self, parent_id: impl Into<String>) -> Self {
        self.header.parent_id = Some(parent_id.into());
        self
    }

    /// Sets the execution this message belongs to.
    pub fn with_execution(mut self, execution_id: impl Into<String>) -> Self {
        self.header.execution_id = Some(execution_id.into());
        self
    }

    /// The wire name of the message kind, e.g. `"execute_request"`.
    pub fn msg_type(&self) -> &'static str {
        self.message.msg_type()
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum EnvelopeField {
    Header,
    MsgType,
    Content,
    #[serde(other)]
    Other,
}

/// Deserializes an [`Envelope`] from a map with `header`, `msg_type` and `content` in any order.
struct EnvelopeVisitor;

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = Envelope;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a message envelope with header, msg_type and content")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
        let mut header: Option<Header> = None;
        let mut msg_type: Option<String> = None;
        let mut message: Option<Message> = None;
        let mut buffered: Option<serde_json::Value> = None;
        while let Some(field) = map.next_key::<EnvelopeField>()? {
            match field {
                EnvelopeField::Header => {
                    if header.is_some() {
                        return Err(de::Error::duplicate_field("header"));
                    }
                    header = Some(map.next_value()?);
                }
                EnvelopeField::MsgType => {
                    if msg_type.is_some() {
                        return Err(de::Error::duplicate_field("msg_type"));
                    }
                    msg_type = Some(map.next_value()?);
                }
                EnvelopeField::Content => {
                    if message.is_some() || buffered.is_some() {
                        return Err(de::Error::duplicate_field("content"));
                    }
                    match &msg_type {
                        Some(t) => message = Some(map.next_value_seed(ContentSeed(t))?),
                        None => buffered = Some(map.next_value()?),
                    }
                }
                EnvelopeField::Other => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let header = header.ok_or_else(|| de::Error::missing_field("header"))?;
        let msg_type = msg_type.ok_or_else(|| de::Error::missing_field("msg_type"))?;
        let message = match (message, buffered) {
            (Some(message), _) => message,
            (None, Some(content)) => ContentSeed(&msg_type)
                .deserialize(content)
                .map_err(de::Error::custom)?,
            (None, None) => return Err(de::Error::missing_field("content")),
        };
        Ok(Envelope { header, message })
    }
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

/// Deserializes the `content` of a message whose `msg_type` is known.
struct ContentSeed<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for ContentSeed<'_> {
    type Value = Message;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Message, D::Error> {
        Ok(match self.0 {
            "execute_request" => Message::ExecuteRequest(Deserialize::deserialize(d)?),
            "execute_reply" => Message::ExecuteReply(Deserialize::deserialize(d)?),
            "stream" => Message::Stream(Deserialize::deserialize(d)?),
            "execute_result" => Message::ExecuteResult(Deserialize::deserialize(d)?),
            "error" => Message::Error(Deserialize::deserialize(d)?),
            "status" => Message::Status(Deserialize::deserialize(d)?),
            "input_request" => Message::InputRequest(Deserialize::deserialize(d)?),
            "input_reply" => Message::InputReply(Deserialize::deserialize(d)?),
            "interrupt_request" => Message::InterruptRequest(Deserialize::deserialize(d)?),
            "interrupt_reply" => Message::InterruptReply(Deserialize::deserialize(d)?),
            "shutdown_request" => Message::ShutdownRequest(Deserialize::deserialize(d)?),
            "shutdown_reply" => Message::ShutdownReply(Deserialize::deserialize(d)?),
            "kernel_info_request" => Message::KernelInfoRequest(Deserialize::deserialize(d)?),
            "kernel_info_reply" => Message::KernelInfoReply(Deserialize::deserialize(d)?),
            "heartbeat_ping" => Message::HeartbeatPing(Deserialize::deserialize(d)?),
            "heartbeat_pong" => Message::HeartbeatPong(Deserialize::deserialize(d)?),
            "checkpoint_request" => Message::CheckpointRequest(Deserialize::deserialize(d)?),
            "checkpoint_reply" => Message::CheckpointReply(Deserialize::deserialize(d)?),
            "restore_request" => Message::RestoreRequest(Deserialize::deserialize(d)?),
            "restore_reply" => Message::RestoreReply(Deserialize::deserialize(d)?),
            other => return Err(de::Error::unknown_variant(other, MSG_TYPES)),
        })
    }
}

/// A fresh random message id: 128 random bits as 32 lowercase hex digits.
pub fn new_id() -> String {
    let bits: u128 = rand::random();
    format!("{bits:032x}")
}

/// Every message kind of the protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "msg_type", content = "content", rename_all = "snake_case")]
pub enum Message {
    /// Session → worker: run a cell.
    ExecuteRequest(ExecuteRequest),
    /// Worker → session: the one terminal reply of an execution; it comes after all its output.
    ExecuteReply(ExecuteReply),
    /// Worker → session: text written to stdout or stderr.
    Stream(Stream),
    /// Worker → session: the value of the cell's trailing expression.
    ExecuteResult(ExecuteResult),
    /// Worker → session (or either way for protocol errors): an exception or an error about a message.
    Error(ErrorContent),
    /// Worker → session: busy / idle.
    Status(Status),
    /// Worker → session: user code called `input()`.
    InputRequest(InputRequest),
    /// Session → worker: the answer to an `input_request`.
    InputReply(InputReply),
    /// Session → worker: interrupt the running execution.
    InterruptRequest(InterruptRequest),
    /// Worker → session: the interrupt was delivered.
    InterruptReply(InterruptReply),
    /// Session → worker: shut down (optionally for a restart).
    ShutdownRequest(ShutdownRequest),
    /// Worker → session: shutdown acknowledged; the worker exits after sending it.
    ShutdownReply(ShutdownReply),
    /// Either way: the handshake request, carrying the sender's protocol version.
    KernelInfoRequest(KernelInfoRequest),
    /// The handshake answer: protocol version, implementation and capabilities.
    KernelInfoReply(KernelInfoReply),
    /// Either way: liveness probe; answered by the transport itself, not by the executor.
    HeartbeatPing(Heartbeat),
    /// The answer to a `heartbeat_ping`, echoing its nonce.
    HeartbeatPong(Heartbeat),
    /// Session → worker: snapshot the namespace.
    CheckpointRequest(CheckpointRequest),
    /// Worker → session: the snapshot and what could not be included.
    CheckpointReply(CheckpointReply),
    /// Session → worker: restore a snapshot into a fresh namespace.
    RestoreRequest(RestoreRequest),
    /// Worker → session: what was restored and what could not be, by name.
    RestoreReply(RestoreReply),
}

/// Wire names of all message kinds, in declaration order.
pub const MSG_TYPES: &[&str] = &[
    "execute_request",
    "execute_reply",
    "stream",
    "execute_result",
    "error",
    "status",
    "input_request",
    "input_reply",
    "interrupt_request",
    "interrupt_reply",
    "shutdown_request",
    "shutdown_reply",
    "kernel_info_request",
    "kernel_info_reply",
    "heartbeat_ping",
    "heartbeat_pong",
    "checkpoint_request",
    "checkpoint_reply",
    "restore_request",
    "restore_reply",
];

impl Message {
    /// The wire name of this message kind (its `msg_type`).
    pub fn msg_type(&self) -> &'static str {
        match self {
            Message::ExecuteRequest(_) => "execute_request",
            Message::ExecuteReply(_) => "execute_reply",
            Message::Stream(_) => "stream",
            Message::ExecuteResult(_) => "execute_result",
            Message::Error(_) => "error",
            Message::Status(_) => "status",
            Message::InputRequest(_) => "input_request",
            Message::InputReply(_) => "input_reply",
            Message::InterruptRequest(_) => "interrupt_request",
            Message::InterruptReply(_) => "interrupt_reply",
            Message::ShutdownRequest(_) => "shutdown_request",
            Message::ShutdownReply(_) => "shutdown_reply",
            Message::KernelInfoRequest(_) => "kernel_info_request",
            Message::KernelInfoReply(_) => "kernel_info_reply",
            Message::HeartbeatPing(_) => "heartbeat_ping",
            Message::HeartbeatPong(_) => "heartbeat_pong",
            Message::CheckpointRequest(_) => "checkpoint_request",
            Message::CheckpointReply(_) => "checkpoint_reply",
            Message::RestoreRequest(_) => "restore_request",
            Message::RestoreReply(_) => "restore_reply",
        }
    }

    /// Whether `msg_type` names a message kind of this protocol.
    pub fn is_known_type(msg_type: &str) -> bool {
        MSG_TYPES.contains(&msg_type)
    }
}

/// `execute_request`: run `code` as one cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecuteRequest {
    /// Id of this execution, chosen by the session. All messages of the execution carry it in
    /// `header.execution_id`; its reply promise is `exec:{execution_id}`.
    pub execution_id: String,
    /// The cell's source.
    pub code: String,
    /// Run without producing output or incrementing the execution count.
    #[serde(default)]
    pub silent: bool,
    /// Count this cell in the history / execution counter.
    #[serde(default = "yes")]
    pub store_history: bool,
    /// Whether the session can answer `input_request`s; if not, `input()` raises.
    #[serde(default = "yes")]
    pub allow_stdin: bool,
    /// Per-call timeout in milliseconds: the worker stops the cell (as a timeout, not an
    /// interrupt) when it runs longer. `None`: the worker's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Line of the enclosing file where the cell starts (1-based), so tracebacks name file lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_line: Option<u32>,
}

fn yes() -> bool {
    true
}

/// Terminal status of an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyStatus {
    /// The cell ran to completion.
    Ok,
    /// The cell raised (or could not be compiled); `error` says what.
    Error,
    /// The cell did not run to completion for a reason outside it: interrupted before start, worker lost,
    /// shut down.
    Aborted,
}

/// `execute_reply`: exactly one per execution, after all of its output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecuteReply {
    /// ok / error / aborted.
    pub status: ReplyStatus,
    /// The execution counter after this cell (Jupyter's `execution_count`).
    pub execution_count: u64,
    /// The error for `status` error (and optionally aborted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorContent>,
    /// Extra facts about the execution (Jupyter's reply metadata), e.g. pyrepl3's `"mode"`,
    /// `"outcome"` (`ok`/`error`/`timeout`/`interrupted`), `"duration_ms"`, `"warnings"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
}

/// Which standard stream a `stream` message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamName {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// `stream`: text written by user code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stream {
    /// stdout or stderr.
    pub name: StreamName,
    /// The text, as written.
    pub text: String,
}

/// Splits `text` into pieces of at most `max_bytes` bytes (at least one character each), cutting only at
/// UTF-8 character boundaries: for sending a huge write as several `stream` messages that each fit in
/// a frame. Concatenating the pieces gives `text` back.
pub fn chunk_text(text: &str, max_bytes: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut cut = max_bytes.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut == 0 {
            // A single character longer than max_bytes: send it whole rather than loop forever.
            cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let (piece, tail) = rest.split_at(cut);
        rest = tail;
        Some(piece)
    })
}

/// Turns bytes read in arbitrary pieces (from a pipe) into text: only whole UTF-8 characters
/// come out, an incomplete character at the end waits for the next piece, and bytes that are not
/// UTF-8 become U+FFFD, as `String::from_utf8_lossy` would make them.
///
/// ```
/// use pyrepl3_transport::message::Utf8Decoder;
/// let mut d = Utf8Decoder::default();
/// assert_eq!(d.push(b"caf\xc3"), "caf");
/// assert_eq!(d.push(b"\xa9 \xff!"), "\u{e9} \u{fffd}!");
/// assert_eq!(d.push(b"\xe2\x82"), "");
/// assert_eq!(d.finish(), "\u{fffd}");
/// ```
#[derive(Debug, Default)]
pub struct Utf8Decoder {
    carry: Vec<u8>,
}

impl Utf8Decoder {
    /// Adds `bytes` and returns the text they complete.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.carry.extend_from_slice(bytes);
        let mut out = String::new();
        let mut start = 0;
        while start < self.carry.len() {
            match std::str::from_utf8(&self.carry[start..]) {
                Ok(text) => {
                    out.push_str(text);
                    start = self.carry.len();
                }
                Err(e) => {
                    let valid = start + e.valid_up_to();
                    if let Ok(text) = std::str::from_utf8(&self.carry[start..valid]) {
                        out.push_str(text);
                    }
                    start = valid;
                    match e.error_len() {
                        Some(n) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            start += n;
                        }
                        // An incomplete character at the end: wait for the rest.
                        None => break,
                    }
                }
            }
        }
        self.carry.drain(..start);
        out
    }

    /// The input ended: returns what is left, an incomplete character as U+FFFD.
    pub fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.carry).into_owned();
        self.carry.clear();
        text
    }
}

/// `execute_result`: the value of a cell's trailing expression as a MIME bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecuteResult {
    /// The execution counter of the cell.
    pub execution_count: u64,
    /// MIME type → representation; always has `text/plain` (the `repr`).
    pub data: BTreeMap<String, serde_json::Value>,
    /// Per-MIME-type metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
}

/// `error`: an exception raised by user code, or an error about a message (e.g. an unknown `msg_type`),
/// in which case `header.parent_id` names the offending message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorContent {
    /// Exception class name, e.g. `ZeroDivisionError`, or `WorkerDied`, `UnknownMessageType`.
    pub ename: String,
    /// The exception's message.
    pub evalue: String,
    /// Formatted traceback lines.
    #[serde(default)]
    pub traceback: Vec<String>,
}

impl ErrorContent {
    /// An error without a traceback.
    pub fn new(ename: impl Into<String>, evalue: impl Into<String>) -> Self {
        ErrorContent {
            ename: ename.into(),
            evalue: evalue.into(),
            traceback: Vec::new(),
        }
    }
}

/// The worker's execution state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionState {
    /// Starting up (before the handshake completes).
    Starting,
    /// Running an execution.
    Busy,
    /// Waiting for a request.
    Idle,
}

/// `status`: busy / idle transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The new state.
    pub execution_state: ExecutionState,
}

/// `input_request`: user code called `input()` (or `getpass`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRequest {
    /// The prompt to show.
    pub prompt: String,
    /// Whether to hide the typed text.
    #[serde(default)]
    pub password: bool,
    /// 1-based number of this input request within its execution; its promise is
    /// `{execution_id}:input:{n}`.
    pub n: u64,
}

/// `input_reply`: the line typed in answer to an `input_request` (`parent_id` = the request's `msg_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputReply {
    /// The request number this answers.
    pub n: u64,
    /// The text, without its trailing newline.
    pub value: String,
    /// The front end has no more input (its standard input ended): `input()` raises `EOFError`
    /// and `value` is ignored.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub eof: bool,
}

/// `interrupt_request`: interrupt the running execution (as `KeyboardInterrupt`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterruptRequest {}

/// `interrupt_reply`: the interrupt was delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterruptReply {
    /// ok, or error if nothing could be interrupted.
    pub status: ReplyStatus,
}

/// `shutdown_request`: stop the worker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShutdownRequest {
    /// Whether a restart follows (informational).
    #[serde(default)]
    pub restart: bool,
}

/// `shutdown_reply`: sent just before the worker exits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShutdownReply {
    /// Echo of the request's `restart`.
    pub restart: bool,
    /// ok.
    pub status: ReplyStatus,
}

/// `kernel_info_request`: the first message of the handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelInfoRequest {
    /// The requester's protocol version ([`PROTOCOL_VERSION`]).
    pub protocol_version: String,
}

impl Default for KernelInfoRequest {
    fn default() -> Self {
        KernelInfoRequest {
            protocol_version: PROTOCOL_VERSION.to_string(),
        }
    }
}

/// Name and version of the language the worker runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanguageInfo {
    /// `python`.
    pub name: String,
    /// e.g. `3.11.9`.
    pub version: String,
}

/// `kernel_info_reply`: protocol version, implementation and capabilities of the answering peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelInfoReply {
    /// The answerer's protocol version ([`PROTOCOL_VERSION`]).
    pub protocol_version: String,
    /// `pyrepl3`.
    pub implementation: String,
    /// The implementation's version.
    pub implementation_version: String,
    /// The language the worker runs.
    pub language_info: LanguageInfo,
    /// Optional features this peer supports, e.g. `"top_level_await"`, `"input"`, `"checkpoint"`.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Process id of the worker, for signals (`SIGINT`, `SIGKILL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// Whether two protocol versions can talk: their major numbers agree.
pub fn protocol_compatible(ours: &str, theirs: &str) -> bool {
    let major = |v: &str| v.split('.').next().map(str::to_owned);
    major(ours).is_some() && major(ours) == major(theirs)
}

/// `heartbeat_ping` / `heartbeat_pong`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Chosen by the pinger, echoed by the pong.
    pub nonce: u64,
}

/// `checkpoint_request`: snapshot the namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRequest {}

/// A name that could not be checkpointed or restored, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedName {
    /// The namespace name.
    pub name: String,
    /// Why, e.g. `cannot pickle '_io.TextIOWrapper' object`.
    pub reason: String,
}

/// `checkpoint_reply`: an opaque snapshot (its encoding is the worker's business) and what it left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointReply {
    /// ok or error.
    pub status: ReplyStatus,
    /// The snapshot, opaque to the transport (e.g. base64 of a pickle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// Names left out of the snapshot.
    #[serde(default)]
    pub skipped: Vec<SkippedName>,
}

/// `restore_request`: restore a snapshot from a `checkpoint_reply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreRequest {
    /// The snapshot, as received in `checkpoint_reply`.
    pub checkpoint: String,
}

/// `restore_reply`: what was restored and what was not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreReply {
    /// ok or error.
    pub status: ReplyStatus,
    /// Names restored.
    #[serde(default)]
    pub restored: Vec<String>,
    /// Names that could not be restored, with the reason.
    #[serde(default)]
    pub skipped: Vec<SkippedName>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_types_table_matches_enum() {
        let samples = [
            Message::InterruptRequest(InterruptRequest {}),
            Message::HeartbeatPong(Heartbeat { nonce: 1 }),
            Message::CheckpointRequest(CheckpointRequest {}),
        ];
        for m in samples {
            let v = serde_json::to_value(&m).unwrap();
            assert_eq!(v["msg_type"], m.msg_type());
            assert!(Message::is_known_type(m.msg_type()));
        }
        assert_eq!(MSG_TYPES.len(), 20);
        assert!(!Message::is_known_type("comm_open"));
    }

    #[test]
    fn envelope_wire_shape_is_flat_msg_type_and_content() {
        let env = Envelope::new(Message::Stream(Stream {
            name: StreamName::Stdout,
            text: "hi\n".into(),
        }))
        .with_execution("e1")
        .with_parent("p1");
        let v = serde_json::to_value(&env).unwrap();
        assert_eq!(v["msg_type"], "stream");
        assert_eq!(v["content"]["name"], "stdout");
        assert_eq!(v["content"]["text"], "hi\n");
        assert_eq!(v["header"]["execution_id"], "e1");
        assert_eq!(v["header"]["parent_id"], "p1");
        let back: Envelope = serde_json::from_value(v).unwrap();
        assert_eq!(back, env);
    }

    #[test]
    fn envelope_fields_in_any_order_and_errors() {
        let content_first = r#"{"content":{"nonce":5},"header":{"msg_id":"m","seq":3},"extra":[1],"msg_type":"heartbeat_ping"}"#;
        let env: Envelope = serde_json::from_str(content_first).unwrap();
        assert_eq!(env.message, Message::HeartbeatPing(Heartbeat { nonce: 5 }));
        assert_eq!((env.header.msg_id.as_str(), env.header.seq), ("m", 3));
        for (bad, why) in [
            (
                r#"{"header":{"msg_id":"m"},"msg_type":"nope","content":{}}"#,
                "unknown variant",
            ),
            (
                r#"{"header":{"msg_id":"m"},"content":{}}"#,
                "missing field `msg_type`",
            ),
            (
                r#"{"header":{"msg_id":"m"},"msg_type":"status"}"#,
                "missing field `content`",
            ),
            (
                r#"{"msg_type":"status","content":{"execution_state":"idle"}}"#,
                "missing field `header`",
            ),
            (
                r#"{"header":{"msg_id":"m"},"msg_type":"status","msg_type":"status","content":{}}"#,
                "duplicate field",
            ),
            (r#"[1,2]"#, "invalid type"),
        ] {
            let err = serde_json::from_str::<Envelope>(bad)
                .unwrap_err()
                .to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn reply_to_correlates_and_inherits_execution() {
        let req = Envelope::new(Message::InputRequest(InputRequest {
            prompt: "? ".into(),
            password: false,
            n: 1,
        }))
        .with_execution("e9");
        let rep = Envelope::reply_to(
            &req.header,
            Message::InputReply(InputReply {
                n: 1,
                value: "x".into(),
                eof: false,
            }),
        );
        assert_eq!(
            rep.header.parent_id.as_deref(),
            Some(req.header.msg_id.as_str())
        );
        assert_eq!(rep.header.execution_id.as_deref(), Some("e9"));
        assert_ne!(rep.header.msg_id, req.header.msg_id);
    }

    #[test]
    fn chunk_text_respects_limits_and_char_boundaries() {
        let text = "aé€😀b".repeat(50);
        for max in [1, 2, 3, 4, 5, 7, 64, 10_000] {
            let pieces: Vec<&str> = chunk_text(&text, max).collect();
            assert_eq!(pieces.concat(), text);
            assert!(pieces.iter().all(|p| !p.is_empty()));
            assert!(
                pieces
                    .iter()
                    .all(|p| p.len() <= max || p.chars().count() == 1)
            );
        }
        assert_eq!(chunk_text("", 4).count(), 0);
        assert_eq!(chunk_text("😀", 1).collect::<Vec<_>>(), ["😀"]);
    }

    #[test]
    fn protocol_versions_compare_by_major() {
        assert!(protocol_compatible("1.0", "1.7"));
        assert!(!protocol_compatible("1.0", "2.0"));
        assert!(!protocol_compatible("1.0", ""));
    }
}
