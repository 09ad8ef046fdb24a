//! The synchronous side of a connection, for the worker process: std threads and crossbeam channels,
//! no tokio runtime, nothing that needs Python's lock.
//!
//! # Channels at each boundary
//!
//! * main thread → writer thread: a **bounded crossbeam** channel of encoded frames (sync → sync).
//!   A flooding `print` loop blocks on it once the peer stops reading, so a worker's output queue has
//!   bounded memory. Envelopes are stamped, encoded and queued under one lock, so sequence numbers go
//!   out in order.
//! * reader thread → main thread: an **unbounded crossbeam** channel (sync → sync). The reader must
//!   never block on a main thread that is busy running Python: it keeps reading so that it can answer
//!   `heartbeat_ping` and see `interrupt_request` while user code runs. The peer is the (trusted,
//!   authenticated) session, which sends few requests.
//!
//! The reader thread answers heartbeats itself and calls an optional hook for every message before
//! queueing it, e.g. to deliver `interrupt_request` as `SIGINT` while the main thread is stuck in a C call.

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use crossbeam_channel as cb;

use crate::codec::{Decoder, Encoder, Stats, log_rejection, read_frame};
use crate::conn::{Config, SendError, protocol_error_reply};
use crate::error::TransportError;
use crate::message::{Envelope, Header, Heartbeat, Message};

/// A blocking byte stream that can be split into a read and a write handle.
pub trait SyncStream: Read + Write + Send + Sized + 'static {
    /// A second handle to the same socket.
    fn try_clone_stream(&self) -> std::io::Result<Self>;
    /// Shuts down one or both directions.
    fn shutdown_stream(&self, how: Shutdown) -> std::io::Result<()>;
}

impl SyncStream for UnixStream {
    fn try_clone_stream(&self) -> std::io::Result<Self> {
        self.try_clone()
    }
    fn shutdown_stream(&self, how: Shutdown) -> std::io::Result<()> {
        self.shutdown(how)
    }
}

impl SyncStream for TcpStream {
    fn try_clone_stream(&self) -> std::io::Result<Self> {
        self.try_clone()
    }
    fn shutdown_stream(&self, how: Shutdown) -> std::io::Result<()> {
        self.shutdown(how)
    }
}

/// Hook called on the reader thread for every accepted message before it is queued.
pub type MessageHook = Arc<dyn Fn(&Envelope) + Send + Sync>;

enum Outgoing {
    Frame(Vec<u8>),
    /// Write and flush everything queued before this, then signal.
    Flush(cb::Sender<()>),
    /// The last user handle was dropped: finish writing and close our direction.
    Close,
}

struct CloseOnDrop(cb::Sender<Outgoing>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(Outgoing::Close);
    }
}

/// Sending half of a blocking connection. Cheap to clone; when the last clone is dropped the writer
/// flushes and shuts down the write direction (the peer sees end of stream).
#[derive(Clone)]
pub struct BlockingSender {
    tx: cb::Sender<Outgoing>,
    encoder: Arc<Mutex<Encoder>>,
    _close: Arc<CloseOnDrop>,
}

impl std::fmt::Debug for BlockingSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingSender").finish_non_exhaustive()
    }
}

fn queue(
    tx: &cb::Sender<Outgoing>,
    encoder: &Mutex<Encoder>,
    mut envelope: Envelope,
) -> Result<Header, SendError> {
    let mut enc = encoder.lock().unwrap_or_else(|p| p.into_inner());
    let frame = enc.encode(&mut envelope)?;
    tx.send(Outgoing::Frame(frame))
        .map_err(|_| SendError::Closed)?;
    Ok(envelope.header)
}

impl BlockingSender {
    /// Sends `envelope`, blocking while the outbound queue is full. Returns the stamped header.
    pub fn send(&self, envelope: Envelope) -> Result<Header, SendError> {
        queue(&self.tx, &self.encoder, envelope)
    }

    /// Blocks until every message sent before this call has been written to the socket (or the
    /// writer has stopped), at most `timeout`. Returns whether the flush completed. For a worker
    /// about to end its process abruptly (`os._exit`), so its last output is not lost.
    pub fn flush(&self, timeout: std::time::Duration) -> bool {
        let (done_tx, done_rx) = cb::bounded(1);
        if self
            .tx
            .send_timeout(Outgoing::Flush(done_tx), timeout)
            .is_err()
        {
            return false;
        }
        done_rx.recv_timeout(timeout).is_ok()
    }

    /// The session id stamped on this connection's outgoing messages.
    pub fn session(&self) -> String {
        self.encoder
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .session()
            .to_owned()
    }
}

/// Receiving half of a blocking connection: a crossbeam receiver. The last item is the reason the
/// connection ended (`Err`).
#[derive(Debug, Clone)]
pub struct BlockingReceiver {
    rx: cb::Receiver<Result<Envelope, TransportError>>,
}

impl BlockingReceiver {
    /// Blocks for the next message; `Err` when the connection has ended.
    pub fn recv(&self) -> Result<Envelope, TransportError> {
        self.rx.recv().unwrap_or(Err(TransportError::Closed))
    }

    /// Like [`recv`](Self::recv) with a timeout; `Ok(None)` on timeout.
    pub fn recv_timeout(
        &self,
        timeout: std::time::Duration,
    ) -> Result<Option<Envelope>, TransportError> {
        match self.rx.recv_timeout(timeout) {
            Ok(item) => item.map(Some),
            Err(cb::RecvTimeoutError::Timeout) => Ok(None),
            Err(cb::RecvTimeoutError::Disconnected) => Err(TransportError::Closed),
        }
    }

    /// The underlying crossbeam receiver, for `select!` with other channels.
    pub fn channel(&self) -> &cb::Receiver<Result<Envelope, TransportError>> {
        &self.rx
    }
}

/// A blocking connection: a reader thread and a writer thread around a socket.
#[derive(Debug)]
pub struct BlockingConnection {
    /// Sending half.
    pub sender: BlockingSender,
    /// Receiving half.
    pub receiver: BlockingReceiver,
    stats: Arc<Stats>,
}

impl BlockingConnection {
    /// Starts the reader and writer threads.
    pub fn new<S: SyncStream>(stream: S, config: Config) -> std::io::Result<BlockingConnection> {
        BlockingConnection::with_hook(stream, config, None)
    }

    /// Like [`new`](Self::new), calling `hook` on the reader thread for every accepted message (heartbeats
    /// excluded) before it is queued.
    pub fn with_hook<S: SyncStream>(
        stream: S,
        config: Config,
        hook: Option<MessageHook>,
    ) -> std::io::Result<BlockingConnection> {
        let write_stream = stream.try_clone_stream()?;
        let stats = Arc::new(Stats::default());
        let encoder = Arc::new(Mutex::new(Encoder::new(
            config.key.clone(),
            config.session.clone(),
            config.max_frame,
        )));
        let (out_tx, out_rx) = cb::bounded(config.outbound_capacity.max(1));
        let (in_tx, in_rx) = cb::unbounded();

        let writer_stats = stats.clone();
        std::thread::Builder::new()
            .name("pyrepl3-transport-writer".into())
            .spawn(move || writer_thread(write_stream, out_rx, writer_stats))?;

        let reader = ReaderThread {
            // Buffered: one read syscall fetches many small frames.
            stream: BufReader::with_capacity(64 * 1024, stream),
            decoder: config.decoder(),
            max_frame: config.max_frame,
            deliver: in_tx,
            replies: out_tx.clone(),
            encoder: encoder.clone(),
            stats: stats.clone(),
            answer_heartbeats: config.answer_heartbeats,
            peer: config.peer,
            hook,
        };
        std::thread::Builder::new()
            .name("pyrepl3-transport-reader".into())
            .spawn(move || reader.run())?;

        Ok(BlockingConnection {
            sender: BlockingSender {
                tx: out_tx.clone(),
                encoder,
                _close: Arc::new(CloseOnDrop(out_tx)),
            },
            receiver: BlockingReceiver { rx: in_rx },
            stats,
        })
    }

    /// The connection's counters.
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// Splits into the two halves.
    pub fn split(self) -> (BlockingSender, BlockingReceiver) {
        (self.sender, self.receiver)
    }
}

fn writer_thread<S: SyncStream>(stream: S, frames: cb::Receiver<Outgoing>, stats: Arc<Stats>) {
    let mut out = BufWriter::with_capacity(64 * 1024, stream);
    'outer: while let Ok(first) = frames.recv() {
        let mut next = Some(first);
        let mut n = 0;
        // Write everything already queued, then flush once.
        while let Some(item) = next.take() {
            match item {
                Outgoing::Frame(frame) => {
                    if out.write_all(&frame).is_err() {
                        break 'outer;
                    }
                    n += 1;
                }
                Outgoing::Close => {
                    let _ = out.flush();
                    stats.frames_out(n);
                    break 'outer;
                }
                Outgoing::Flush(done) => {
                    if out.flush().is_err() {
                        break 'outer;
                    }
                    let _ = done.send(());
                }
            }
            next = frames.try_recv().ok();
        }
        if out.flush().is_err() {
            break;
        }
        stats.frames_out(n);
    }
    let _ = out.flush();
    let _ = out.get_ref().shutdown_stream(Shutdown::Write);
}

struct ReaderThread<S> {
    stream: BufReader<S>,
    decoder: Decoder,
    max_frame: usize,
    deliver: cb::Sender<Result<Envelope, TransportError>>,
    replies: cb::Sender<Outgoing>,
    encoder: Arc<Mutex<Encoder>>,
    stats: Arc<Stats>,
    answer_heartbeats: bool,
    peer: String,
    hook: Option<MessageHook>,
}

impl<S: SyncStream> ReaderThread<S> {
    fn run(mut self) {
        let end = loop {
            let payload = match read_frame(&mut self.stream, self.max_frame) {
                Ok(Some(payload)) => payload,
                Ok(None) => break TransportError::Closed,
                Err(e) => {
                    eprintln!("pyrepl3-transport: {}: {e}", self.peer);
                    // A fatal framing error ends the whole connection.
                    let _ = self.stream.get_ref().shutdown_stream(Shutdown::Both);
                    break TransportError::Frame(e);
                }
            };
            self.stats.frame_in();
            match self.decoder.decode(&payload) {
                Ok(env) => match env.message {
                    Message::HeartbeatPing(Heartbeat { nonce }) if self.answer_heartbeats => {
                        let pong = Envelope::reply_to(
                            &env.header,
                            Message::HeartbeatPong(Heartbeat { nonce }),
                        );
                        let _ = queue(&self.replies, &self.encoder, pong);
                    }
                    _ => {
                        if let Some(hook) = &self.hook {
                            hook(&env);
                        }
                        if self.deliver.send(Ok(env)).is_err() {
                            return;
                        }
                    }
                },
                Err(err) => {
                    let count = self.stats.reject(&err);
                    log_rejection(&self.peer, &err, count);
                    if let Some(reply) = protocol_error_reply(&err) {
                        let _ = queue(&self.replies, &self.encoder, reply);
                    }
                }
            }
        };
        let _ = self.deliver.send(Err(end));
    }
}
