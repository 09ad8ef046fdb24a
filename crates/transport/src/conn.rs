//! The async (tokio) side of a connection: a reader task and a writer task around any byte stream,
//! exposed as a cloneable [`Sender`] and a [`Receiver`].
//!
//! # Channels at each boundary
//!
//! * user code → writer task: a bounded **tokio mpsc** of encoded frames. Async senders `await` a slot
//!   (backpressure without blocking the runtime); synchronous callers use [`Sender::blocking_send`]
//!   (sync → async: tokio mpsc, the writer task awaits it). Envelopes are stamped, encoded and queued
//!   under one lock, so sequence numbers go out in order.
//! * reader task → user code: a bounded **tokio mpsc** of decoded envelopes (async → async). When the
//!   consumer is slow the reader stops reading, the socket buffer fills and the peer is slowed down:
//!   an output flood cannot grow memory without bound.
//! * reader task → synchronous consumer: [`Receiver::into_crossbeam`] moves the messages onto a
//!   **crossbeam** channel (async → sync) from a dedicated thread, so blocking code never touches the
//!   runtime and the runtime never blocks on a full crossbeam channel.
//!
//! The reader answers `heartbeat_ping` itself and publishes `heartbeat_pong`s on a watch channel
//! ([`Receiver::heartbeats`]) rather than queueing them behind output, and answers messages of an
//! unknown kind (or with invalid content) with an `error` whose `parent_id` is the offending `msg_id`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, mpsc, watch};

use crate::codec::{
    DEFAULT_MAX_FRAME, Decoder, EncodeError, Encoder, ReplayGuard, Stats, log_rejection,
    read_frame_async,
};
use crate::error::{DecodeError, FrameError, TransportError};
use crate::key::Key;
use crate::message::{
    Envelope, ErrorContent, Header, Heartbeat, KernelInfoReply, KernelInfoRequest, Message,
    PROTOCOL_VERSION, new_id, protocol_compatible,
};

/// Settings of one connection.
#[derive(Debug, Clone)]
pub struct Config {
    /// Key that signs outgoing and verifies incoming frames. `None` turns authentication off; only for
    /// in-process tests and benchmarks.
    pub key: Option<Key>,
    /// Session id stamped on outgoing envelopes. Must be unique per connection (sequence numbers
    /// restart at 1 on every connection, and the peer's replay guard remembers sessions): use
    /// [`Config::fresh_session`] when reusing a `Config`. The `net` helpers do this themselves.
    pub session: String,
    /// Largest payload accepted or sent.
    pub max_frame: usize,
    /// Capacity of the inbound queue (decoded messages waiting for the consumer).
    pub inbound_capacity: usize,
    /// Capacity of the outbound queue (encoded frames waiting for the writer).
    pub outbound_capacity: usize,
    /// Whether the reader answers `heartbeat_ping` with `heartbeat_pong` itself.
    pub answer_heartbeats: bool,
    /// Name of the peer in log lines.
    pub peer: String,
    /// Where accepted sequence numbers are recorded; process-wide by default, so frames cannot be
    /// replayed across connections either.
    pub replay: ReplayGuard,
}

impl Config {
    /// Authenticated connection with a fresh session id and default limits.
    pub fn new(key: Key) -> Config {
        Config {
            key: Some(key),
            ..Config::unauthenticated()
        }
    }

    /// A connection without signatures. Frames are not authenticated: use only where both ends are in
    /// one process (tests, benchmarks).
    pub fn unauthenticated() -> Config {
        Config {
            key: None,
            session: new_id(),
            max_frame: DEFAULT_MAX_FRAME,
            inbound_capacity: 256,
            outbound_capacity: 256,
            answer_heartbeats: true,
            peer: "peer".into(),
            replay: ReplayGuard::process_wide(),
        }
    }

    /// The decoder for a connection with these settings: verifies with `key`, records sequence numbers
    /// in `replay`, rejects reflections of our own `session`.
    pub fn decoder(&self) -> Decoder {
        Decoder::with_guard(
            self.key.clone(),
            self.replay.clone(),
            Some(self.session.clone()),
        )
    }

    /// The same settings with a fresh session id: every new connection needs one, because the peer's
    /// replay guard remembers the sequence numbers of every session it has seen.
    pub fn fresh_session(&self) -> Config {
        self.clone().with_session(new_id())
    }

    /// Sets the peer name used in log lines.
    pub fn with_peer(mut self, peer: impl Into<String>) -> Config {
        self.peer = peer.into();
        self
    }

    /// Sets the maximum frame size.
    pub fn with_max_frame(mut self, max_frame: usize) -> Config {
        self.max_frame = max_frame;
        self
    }

    /// Sets the session id.
    pub fn with_session(mut self, session: impl Into<String>) -> Config {
        self.session = session.into();
        self
    }
}

/// Why a message could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The connection's writer has stopped (peer gone, fatal error, or closed).
    #[error("connection closed")]
    Closed,
    /// The message could not be encoded (too large for a frame).
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// The most recent `heartbeat_pong` received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pong {
    /// Its nonce (echo of the ping's).
    pub nonce: u64,
    /// When it arrived.
    pub at: Instant,
}

/// Stamps, encodes and queues a frame; shared by [`Sender`] and the reader's weak handle.
fn encode_locked(
    encoder: &Mutex<Encoder>,
    mut envelope: Envelope,
) -> Result<(Header, Vec<u8>), EncodeError> {
    let mut enc = encoder
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let frame = enc.encode(&mut envelope)?;
    Ok((envelope.header, frame))
}

/// Sending half of an async connection. Cheap to clone; the connection's write side closes (the peer
/// sees end of stream) when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Sender {
    tx: mpsc::Sender<Vec<u8>>,
    encoder: Arc<Mutex<Encoder>>,
}

impl Sender {
    /// Sends `envelope`, waiting for room in the outbound queue. Returns the header as stamped (session,
    /// sequence number) so the caller can correlate replies with its `msg_id`.
    pub async fn send(&self, envelope: Envelope) -> Result<Header, SendError> {
        let permit = self.tx.reserve().await.map_err(|_| SendError::Closed)?;
        // Encoding and queueing happen under the encoder lock (no await inside), so frames enter the
        // queue in sequence-number order.
        let mut enc = self.encoder.lock().unwrap_or_else(|p| p.into_inner());
        let mut envelope = envelope;
        let frame = enc.encode(&mut envelope)?;
        permit.send(frame);
        Ok(envelope.header)
    }

    /// Sends from synchronous code (sync → async boundary: the tokio mpsc the writer task awaits).
    /// Blocks the calling thread while the queue is full. Must not be called from inside the runtime.
    pub fn blocking_send(&self, envelope: Envelope) -> Result<Header, SendError> {
        let mut enc = self.encoder.lock().unwrap_or_else(|p| p.into_inner());
        let mut envelope = envelope;
        let frame = enc.encode(&mut envelope)?;
        self.tx
            .blocking_send(frame)
            .map_err(|_| SendError::Closed)?;
        Ok(envelope.header)
    }

    /// Sends a `heartbeat_ping` with a random nonce and returns the nonce.
    pub async fn ping(&self) -> Result<u64, SendError> {
        let nonce: u64 = rand::random();
        self.send(Envelope::new(Message::HeartbeatPing(Heartbeat { nonce })))
            .await?;
        Ok(nonce)
    }

    /// The session id stamped on this connection's outgoing messages.
    pub fn session(&self) -> String {
        self.encoder
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .session()
            .to_owned()
    }

    /// Whether the writer has stopped.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// Receiving half of an async connection.
#[derive(Debug)]
pub struct Receiver {
    rx: mpsc::Receiver<Result<Envelope, TransportError>>,
    done: bool,
    pongs: watch::Receiver<Option<Pong>>,
}

impl Receiver {
    /// The next message, in the order the peer sent it. After the connection ends this returns the
    /// reason once (`Closed` for a clean end of stream, or the fatal frame error) and `Closed` after.
    pub async fn recv(&mut self) -> Result<Envelope, TransportError> {
        if self.done {
            return Err(TransportError::Closed);
        }
        match self.rx.recv().await {
            Some(Ok(env)) => Ok(env),
            Some(Err(e)) => {
                self.done = true;
                Err(e)
            }
            None => {
                self.done = true;
                Err(TransportError::Closed)
            }
        }
    }

    /// Watch channel holding the most recent `heartbeat_pong`; pongs are not delivered by `recv`.
    pub fn heartbeats(&self) -> watch::Receiver<Option<Pong>> {
        self.pongs.clone()
    }

    /// Moves delivery onto a bounded crossbeam channel for synchronous consumers (async → sync
    /// boundary). A dedicated thread waits on the tokio channel and blocks on the crossbeam one, so
    /// backpressure is kept and no runtime thread ever blocks. The last item is the reason the
    /// connection ended.
    pub fn into_crossbeam(
        mut self,
        capacity: usize,
    ) -> crossbeam_channel::Receiver<Result<Envelope, TransportError>> {
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        std::thread::Builder::new()
            .name("pyrepl3-transport-bridge".into())
            .spawn(move || {
                loop {
                    let item = match self.rx.blocking_recv() {
                        Some(item) => item,
                        None => Err(TransportError::Closed),
                    };
                    let last = item.is_err();
                    if tx.send(item).is_err() || last {
                        break;
                    }
                }
            })
            .map(drop)
            .unwrap_or_else(|e| eprintln!("pyrepl3-transport: cannot start bridge thread: {e}"));
        rx
    }
}

/// Why the `kernel_info` handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The connection ended before the reply.
    #[error("handshake failed: {0}")]
    Transport(#[from] TransportError),
    /// The request could not be sent.
    #[error("handshake failed: cannot send kernel_info_request: {0}")]
    Send(#[from] SendError),
    /// No reply in time.
    #[error("handshake failed: no kernel_info_reply within {0:?}")]
    Timeout(Duration),
    /// The peer speaks another major protocol version.
    #[error("handshake failed: peer speaks protocol {theirs}, we speak {ours}")]
    Incompatible {
        /// Our [`PROTOCOL_VERSION`].
        ours: String,
        /// The peer's.
        theirs: String,
    },
    /// Something other than the reply (or `status`) arrived first.
    #[error("handshake failed: expected kernel_info_reply, got {0}")]
    Unexpected(String),
}

/// The session side of the handshake: sends `kernel_info_request` and waits up to `within` for the
/// `kernel_info_reply` answering it (skipping `status` messages, e.g. `starting`), then checks that the
/// peer's protocol major version is ours. Returns the peer's info (capabilities, pid).
pub async fn handshake(
    sender: &Sender,
    receiver: &mut Receiver,
    within: Duration,
) -> Result<KernelInfoReply, HandshakeError> {
    let request = sender
        .send(Envelope::new(Message::KernelInfoRequest(
            KernelInfoRequest::default(),
        )))
        .await?;
    let wait = async {
        loop {
            let env = receiver.recv().await?;
            match env.message {
                Message::Status(_) => continue,
                Message::KernelInfoReply(info)
                    if env.header.parent_id.as_deref() == Some(request.msg_id.as_str()) =>
                {
                    return Ok(info);
                }
                Message::Error(e) => {
                    return Err(HandshakeError::Unexpected(format!(
                        "error {}: {}",
                        e.ename, e.evalue
                    )));
                }
                other => return Err(HandshakeError::Unexpected(other.msg_type().to_string())),
            }
        }
    };
    let info = tokio::time::timeout(within, wait)
        .await
        .map_err(|_| HandshakeError::Timeout(within))??;
    if !protocol_compatible(PROTOCOL_VERSION, &info.protocol_version) {
        return Err(HandshakeError::Incompatible {
            ours: PROTOCOL_VERSION.to_string(),
            theirs: info.protocol_version,
        });
    }
    Ok(info)
}

/// Why [`heartbeat_monitor`] gave up on the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeartbeatLost {
    /// This many consecutive pings went unanswered within the interval (peer frozen, e.g. stopped).
    #[error("{0} consecutive heartbeats unanswered")]
    Missed(u32),
    /// The connection ended (peer exited or was killed).
    #[error("connection closed")]
    Closed,
}

/// Pings the peer every `interval` and returns when `max_missed` consecutive pings got no pong within
/// `interval`, or when the connection ends. Run it next to the session's other work (e.g. in a
/// `select!`); it never returns while the peer answers. Pongs are answered by the peer's transport
/// reader, not by its executor, so a busy worker is not mistaken for a dead one.
pub async fn heartbeat_monitor(
    sender: &Sender,
    mut pongs: watch::Receiver<Option<Pong>>,
    interval: Duration,
    max_missed: u32,
) -> HeartbeatLost {
    let mut missed = 0;
    loop {
        let started = tokio::time::Instant::now();
        let Ok(nonce) = sender.ping().await else {
            return HeartbeatLost::Closed;
        };
        let answered = tokio::time::timeout(
            interval,
            pongs.wait_for(|p| p.is_some_and(|p| p.nonce == nonce)),
        )
        .await;
        match answered {
            Ok(Ok(_)) => {
                missed = 0;
                tokio::time::sleep_until(started + interval).await;
            }
            Ok(Err(_)) => return HeartbeatLost::Closed,
            Err(_) => {
                missed += 1;
                if missed >= max_missed.max(1) {
                    return HeartbeatLost::Missed(missed);
                }
            }
        }
    }
}

/// A connection over any async byte stream: a reader task and a writer task.
#[derive(Debug)]
pub struct Connection {
    /// Sending half.
    pub sender: Sender,
    /// Receiving half.
    pub receiver: Receiver,
    stats: Arc<Stats>,
}

impl Connection {
    /// Starts the reader and writer tasks on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime (as `tokio::spawn` does).
    pub fn new<S>(stream: S, config: Config) -> Connection
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read_half, write_half) = tokio::io::split(stream);
        let stats = Arc::new(Stats::default());
        let encoder = Arc::new(Mutex::new(Encoder::new(
            config.key.clone(),
            config.session.clone(),
            config.max_frame,
        )));
        let (out_tx, out_rx) = mpsc::channel::<Vec<u8>>(config.outbound_capacity.max(1));
        let (in_tx, in_rx) = mpsc::channel(config.inbound_capacity.max(1));
        let (pong_tx, pong_rx) = watch::channel(None);
        let stop_writer = Arc::new(Notify::new());

        tokio::spawn(writer_task(
            write_half,
            out_rx,
            stats.clone(),
            stop_writer.clone(),
        ));
        tokio::spawn(reader_task(ReaderState {
            // Buffered: one read syscall fetches many small frames.
            read: tokio::io::BufReader::with_capacity(64 * 1024, read_half),
            decoder: config.decoder(),
            max_frame: config.max_frame,
            deliver: in_tx,
            replies: out_tx.downgrade(),
            encoder: encoder.clone(),
            stats: stats.clone(),
            pongs: pong_tx,
            answer_heartbeats: config.answer_heartbeats,
            peer: config.peer,
            stop_writer,
        }));
        Connection {
            sender: Sender {
                tx: out_tx,
                encoder,
            },
            receiver: Receiver {
                rx: in_rx,
                done: false,
                pongs: pong_rx,
            },
            stats,
        }
    }

    /// The connection's counters (frames, rejections by kind).
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// Splits into the two halves.
    pub fn split(self) -> (Sender, Receiver) {
        (self.sender, self.receiver)
    }
}

async fn writer_task<W: AsyncWrite>(
    write: W,
    mut frames: mpsc::Receiver<Vec<u8>>,
    stats: Arc<Stats>,
    stop: Arc<Notify>,
) {
    let mut write = std::pin::pin!(write);
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        let first = tokio::select! {
            biased;
            _ = stop.notified() => break,
            frame = frames.recv() => match frame {
                Some(frame) => frame,
                None => break,
            },
        };
        // Coalesce whatever is already queued into one write.
        buf.clear();
        buf.extend_from_slice(&first);
        let mut n = 1;
        while buf.len() < 64 * 1024 {
            match frames.try_recv() {
                Ok(frame) => {
                    buf.extend_from_slice(&frame);
                    n += 1;
                }
                Err(_) => break,
            }
        }
        if write.write_all(&buf).await.is_err() || write.flush().await.is_err() {
            break;
        }
        stats.frames_out(n);
    }
    let _ = write.shutdown().await;
}

struct ReaderState<R> {
    read: R,
    decoder: Decoder,
    max_frame: usize,
    deliver: mpsc::Sender<Result<Envelope, TransportError>>,
    replies: mpsc::WeakSender<Vec<u8>>,
    encoder: Arc<Mutex<Encoder>>,
    stats: Arc<Stats>,
    pongs: watch::Sender<Option<Pong>>,
    answer_heartbeats: bool,
    peer: String,
    stop_writer: Arc<Notify>,
}

impl<R> ReaderState<R> {
    /// Queues a reply from the reader itself (pong, protocol error) if the writer is still running.
    async fn reply(&mut self, envelope: Envelope) {
        let Some(tx) = self.replies.upgrade() else {
            return;
        };
        let Ok(permit) = tx.reserve().await else {
            return;
        };
        match encode_locked(&self.encoder, envelope) {
            Ok((_, frame)) => permit.send(frame),
            Err(e) => eprintln!("pyrepl3-transport: {}: cannot send reply: {e}", self.peer),
        }
    }
}

/// The error reply to an unknown or invalid message, correlated with it.
pub(crate) fn protocol_error_reply(err: &DecodeError) -> Option<Envelope> {
    let header = err.correlatable_header()?;
    let ename = match err {
        DecodeError::UnknownType { .. } => "UnknownMessageType",
        _ => "InvalidMessage",
    };
    Some(Envelope::reply_to(
        header,
        Message::Error(ErrorContent::new(ename, err.to_string())),
    ))
}

async fn reader_task<R: AsyncRead + Unpin>(mut st: ReaderState<R>) {
    let end = loop {
        let payload = match read_frame_async(&mut st.read, st.max_frame).await {
            Ok(Some(payload)) => payload,
            Ok(None) => break TransportError::Closed,
            Err(e) => {
                // A reset is how a peer that died with our frames unread (e.g. a killed worker)
                // ends the connection: the session reports that death itself, so no log line.
                let reset = matches!(&e, FrameError::Io(io)
                    if io.kind() == std::io::ErrorKind::ConnectionReset);
                if !reset {
                    eprintln!("pyrepl3-transport: {}: {e}", st.peer);
                }
                break TransportError::Frame(e);
            }
        };
        st.stats.frame_in();
        match st.decoder.decode(&payload) {
            Ok(env) => match env.message {
                Message::HeartbeatPing(hb) if st.answer_heartbeats => {
                    st.reply(Envelope::reply_to(&env.header, Message::HeartbeatPong(hb)))
                        .await;
                }
                Message::HeartbeatPong(hb) => {
                    st.pongs.send_replace(Some(Pong {
                        nonce: hb.nonce,
                        at: Instant::now(),
                    }));
                }
                _ => {
                    if st.deliver.send(Ok(env)).await.is_err() {
                        // Nobody listens any more; stop reading.
                        return;
                    }
                }
            },
            Err(err) => {
                let count = st.stats.reject(&err);
                log_rejection(&st.peer, &err, count);
                if let Some(reply) = protocol_error_reply(&err) {
                    st.reply(reply).await;
                }
            }
        }
    };
    if matches!(end, TransportError::Frame(_)) {
        // A fatal framing error ends the whole connection, not just the read side.
        st.stop_writer.notify_one();
    }
    let _ = st.deliver.send(Err(end)).await;
}
