//! Framing, signing and decoding: turns envelopes into authenticated length-prefixed frames and back.
//!
//! # Wire format
//!
//! ```text
//! frame   = length:u32 (big endian, bytes of payload) payload
//! payload = sig_len:u8 (0 or 32) signature:[u8; sig_len] body
//! body    = the JSON envelope {"header":{…},"msg_type":"…","content":{…}}
//! ```
//!
//! The signature is HMAC-SHA256 over `body`, i.e. over the header and the content (and the `msg_type`
//! between them), under the connection's 256-bit [`Key`]. The signature is computed over the exact bytes
//! sent, so no JSON canonicalization is needed and any language with HMAC and JSON can speak the protocol.
//!
//! # Bad input
//!
//! * a length over the maximum → [`FrameError::TooLarge`]; the connection ends (the byte stream cannot
//!   be resynchronized),
//! * end of stream inside a frame → [`FrameError::Truncated`]; the connection ends,
//! * anything wrong inside a well-framed payload → a [`DecodeError`]; the frame is dropped and counted,
//!   the connection goes on (unknown `msg_type` and invalid content are answered with a correlated
//!   `error`, see [`crate::conn`]).

use std::collections::HashMap;
use std::io::{ErrorKind, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{DecodeError, FrameError};
use crate::key::{Key, TAG_LEN};
use crate::message::{Envelope, Header, Message, new_id};

/// Default maximum payload size of one frame: 16 MiB.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// Bytes of the length prefix.
pub const LEN_PREFIX: usize = 4;

/// Stamps session id and sequence numbers on outgoing envelopes, serializes and signs them.
///
/// One encoder per sending direction of a connection; its sequence numbers start at 1 and strictly
/// increase, which is what the peer's replay check relies on.
#[derive(Debug)]
pub struct Encoder {
    key: Option<Key>,
    session: String,
    next_seq: u64,
    max_frame: usize,
}

/// Why an envelope could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The encoded payload is larger than the maximum frame the peer accepts.
    #[error("{msg_type} message of {len} bytes exceeds the maximum frame of {max} bytes")]
    TooLarge {
        /// The message kind.
        msg_type: &'static str,
        /// Payload length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// serde_json refused the value.
    #[error("cannot serialize {msg_type}: {reason}")]
    Serialize {
        /// The message kind.
        msg_type: &'static str,
        /// serde's message.
        reason: String,
    },
}

impl Encoder {
    /// An encoder for `session` that signs with `key` (or sends unsigned frames if `None`).
    pub fn new(key: Option<Key>, session: impl Into<String>, max_frame: usize) -> Encoder {
        Encoder {
            key,
            session: session.into(),
            next_seq: 1,
            max_frame,
        }
    }

    /// An encoder with a fresh random session id.
    pub fn with_new_session(key: Option<Key>, max_frame: usize) -> Encoder {
        Encoder::new(key, new_id(), max_frame)
    }

    /// The session id stamped on every envelope.
    pub fn session(&self) -> &str {
        &self.session
    }

    /// Stamps `envelope` with this encoder's session and the next sequence number and returns the
    /// complete frame (length prefix included). The sequence number is consumed only on success.
    pub fn encode(&mut self, envelope: &mut Envelope) -> Result<Vec<u8>, EncodeError> {
        envelope.header.session.clone_from(&self.session);
        envelope.header.seq = self.next_seq;
        let msg_type = envelope.msg_type();
        let sig_len = if self.key.is_some() { TAG_LEN } else { 0 };
        let mut frame = Vec::with_capacity(256);
        frame.extend_from_slice(&[0; LEN_PREFIX]);
        frame.push(sig_len as u8);
        frame.resize(LEN_PREFIX + 1 + sig_len, 0);
        let body_start = frame.len();
        serde_json::to_writer(&mut frame, envelope).map_err(|e| EncodeError::Serialize {
            msg_type,
            reason: e.to_string(),
        })?;
        let payload_len = frame.len() - LEN_PREFIX;
        if payload_len > self.max_frame || payload_len > u32::MAX as usize {
            return Err(EncodeError::TooLarge {
                msg_type,
                len: payload_len,
                max: self.max_frame,
            });
        }
        if let Some(key) = &self.key {
            let tag = key.sign(&frame[body_start..]);
            frame[LEN_PREFIX + 1..body_start].copy_from_slice(&tag);
        }
        frame[..LEN_PREFIX].copy_from_slice(&(payload_len as u32).to_be_bytes());
        self.next_seq += 1;
        Ok(frame)
    }
}

/// Builds a frame around an arbitrary body, signed with `key` if given. For tests and tools that need
/// to put exact bytes on the wire (e.g. a forged or unsigned frame).
pub fn raw_frame(key: Option<&Key>, body: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(1 + TAG_LEN + body.len());
    match key {
        Some(key) => {
            payload.push(TAG_LEN as u8);
            payload.extend_from_slice(&key.sign(body));
        }
        None => payload.push(0),
    }
    payload.extend_from_slice(body);
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&payload);
    frame
}

/// Highest sequence number accepted per sending session, shareable between decoders.
///
/// The process-wide guard ([`ReplayGuard::process_wide`], the default of
/// [`Config`](crate::conn::Config)) is shared by every connection of the process, so a frame captured on
/// one connection cannot be replayed into another one either. Every encoder uses a fresh random 128-bit
/// session id, so genuine sessions never collide. Entries are only added for frames that passed the
/// signature check.
#[derive(Debug, Clone, Default)]
pub struct ReplayGuard(Arc<Mutex<HashMap<String, u64>>>);

impl ReplayGuard {
    /// A guard of its own.
    pub fn new() -> ReplayGuard {
        ReplayGuard::default()
    }

    /// The guard shared by all connections of this process.
    pub fn process_wide() -> ReplayGuard {
        static GUARD: OnceLock<ReplayGuard> = OnceLock::new();
        GUARD.get_or_init(ReplayGuard::new).clone()
    }

    /// Accepts `seq` for `session` if it is above the last one accepted.
    fn check(&self, header: &Header) -> Result<(), DecodeError> {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let replayed = |last| DecodeError::Replayed {
            session: header.session.clone(),
            seq: header.seq,
            last,
        };
        match seen.get_mut(&header.session) {
            Some(last) if header.seq <= *last => Err(replayed(*last)),
            Some(last) => {
                *last = header.seq;
                Ok(())
            }
            None if header.seq == 0 => Err(replayed(0)),
            None => {
                seen.insert(header.session.clone(), header.seq);
                Ok(())
            }
        }
    }
}

/// Verifies, parses and replay-checks incoming payloads.
#[derive(Debug)]
pub struct Decoder {
    key: Option<Key>,
    guard: ReplayGuard,
    own_session: Option<String>,
}

#[derive(Deserialize)]
struct PartialEnvelope {
    header: Header,
    msg_type: String,
}

impl Decoder {
    /// A decoder that requires every frame to be signed with `key`; with `None` signatures are not
    /// checked (only for in-process use and benchmarks: socket transports always pass a key).
    pub fn new(key: Option<Key>) -> Decoder {
        Decoder::with_guard(key, ReplayGuard::new(), None)
    }

    /// A decoder recording sequence numbers in `guard`, and rejecting frames that carry `own_session`,
    /// the session id this connection sends with (a reflection of our own frames back at us).
    pub fn with_guard(
        key: Option<Key>,
        guard: ReplayGuard,
        own_session: Option<String>,
    ) -> Decoder {
        Decoder {
            key,
            guard,
            own_session,
        }
    }

    /// Decodes one payload (a frame without its length prefix).
    ///
    /// Checks, in order: signature prefix shape, signature (when a key is set), JSON header, sequence
    /// number (strictly above the last one accepted for the same session; the check runs for every
    /// authentic frame, so a replayed unknown message is not answered twice), `msg_type`, content.
    pub fn decode(&mut self, payload: &[u8]) -> Result<Envelope, DecodeError> {
        let (&sig_len, rest) = payload
            .split_first()
            .ok_or_else(|| DecodeError::Malformed("empty frame".into()))?;
        let sig_len = sig_len as usize;
        if sig_len != 0 && sig_len != TAG_LEN {
            return Err(DecodeError::Malformed(format!(
                "signature length {sig_len}, expected 0 or {TAG_LEN}"
            )));
        }
        if rest.len() < sig_len {
            return Err(DecodeError::Malformed(format!(
                "frame of {} bytes cannot hold its {sig_len}-byte signature",
                payload.len()
            )));
        }
        let (sig, body) = rest.split_at(sig_len);
        if let Some(key) = &self.key {
            if sig_len == 0 {
                return Err(DecodeError::Unsigned);
            }
            if !key.verify(body, sig) {
                return Err(DecodeError::Forged);
            }
        }
        let parsed: Result<Envelope, _> = serde_json::from_slice(body);
        let (header, outcome) = match parsed {
            Ok(env) => (env.header.clone(), Ok(env)),
            Err(full_err) => {
                let partial: PartialEnvelope = serde_json::from_slice(body)
                    .map_err(|e| DecodeError::Unparsable(e.to_string()))?;
                let err = if Message::is_known_type(&partial.msg_type) {
                    DecodeError::BadContent {
                        header: Box::new(partial.header.clone()),
                        msg_type: partial.msg_type,
                        reason: full_err.to_string(),
                    }
                } else {
                    DecodeError::UnknownType {
                        header: Box::new(partial.header.clone()),
                        msg_type: partial.msg_type,
                    }
                };
                (partial.header, Err(err))
            }
        };
        self.check_replay(&header)?;
        outcome
    }

    fn check_replay(&mut self, header: &Header) -> Result<(), DecodeError> {
        if self.own_session.as_deref() == Some(header.session.as_str()) {
            return Err(DecodeError::Reflected {
                session: header.session.clone(),
            });
        }
        self.guard.check(header)
    }
}

fn check_len(prefix: [u8; LEN_PREFIX], max_frame: usize) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(prefix) as u64;
    if len > max_frame as u64 {
        return Err(FrameError::TooLarge {
            len,
            max: max_frame,
        });
    }
    Ok(len as usize)
}

/// Reads one frame's payload from a blocking reader. `Ok(None)` is a clean end of stream between
/// frames. `EINTR` is retried (the worker receives `SIGINT`).
pub fn read_frame(reader: &mut impl Read, max_frame: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let mut prefix = [0u8; LEN_PREFIX];
    let got = read_full(reader, &mut prefix)?;
    if got == 0 {
        return Ok(None);
    }
    if got < LEN_PREFIX {
        return Err(FrameError::Truncated {
            got,
            expected: LEN_PREFIX,
        });
    }
    let len = check_len(prefix, max_frame)?;
    let mut payload = vec![0u8; len];
    let got = read_full(reader, &mut payload)?;
    if got < len {
        return Err(FrameError::Truncated {
            got: LEN_PREFIX + got,
            expected: LEN_PREFIX + len,
        });
    }
    Ok(Some(payload))
}

/// Reads until `buf` is full or end of stream; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, FrameError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    Ok(filled)
}

/// Reads one frame's payload from an async reader; same contract as [`read_frame`].
///
/// Not cancellation safe (a partly read frame is lost if the future is dropped): call it from a
/// dedicated reader task, not from a `select!` branch.
pub async fn read_frame_async(
    reader: &mut (impl AsyncRead + Unpin),
    max_frame: usize,
) -> Result<Option<Vec<u8>>, FrameError> {
    let mut prefix = [0u8; LEN_PREFIX];
    let got = read_full_async(reader, &mut prefix).await?;
    if got == 0 {
        return Ok(None);
    }
    if got < LEN_PREFIX {
        return Err(FrameError::Truncated {
            got,
            expected: LEN_PREFIX,
        });
    }
    let len = check_len(prefix, max_frame)?;
    let mut payload = vec![0u8; len];
    let got = read_full_async(reader, &mut payload).await?;
    if got < len {
        return Err(FrameError::Truncated {
            got: LEN_PREFIX + got,
            expected: LEN_PREFIX + len,
        });
    }
    Ok(Some(payload))
}

async fn read_full_async(
    reader: &mut (impl AsyncRead + Unpin),
    buf: &mut [u8],
) -> Result<usize, FrameError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]).await {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    Ok(filled)
}

/// Counters of one connection, shared between its reader and its user.
#[derive(Debug, Default)]
pub struct Stats {
    frames_in: AtomicU64,
    frames_out: AtomicU64,
    malformed: AtomicU64,
    unsigned: AtomicU64,
    forged: AtomicU64,
    unparsable: AtomicU64,
    replayed: AtomicU64,
    unknown_type: AtomicU64,
    bad_content: AtomicU64,
}

/// A point-in-time copy of [`Stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Frames read off the wire (accepted or not).
    pub frames_in: u64,
    /// Frames written.
    pub frames_out: u64,
    /// Payloads with a bad signature prefix.
    pub malformed: u64,
    /// Frames without a signature where one was required.
    pub unsigned: u64,
    /// Frames with a wrong signature.
    pub forged: u64,
    /// Authentic frames whose JSON envelope did not parse.
    pub unparsable: u64,
    /// Frames with an already seen sequence number, or reflections of our own frames.
    pub replayed: u64,
    /// Messages of an unknown kind (answered with an error).
    pub unknown_type: u64,
    /// Messages whose content does not fit their kind (answered with an error).
    pub bad_content: u64,
}

impl StatsSnapshot {
    /// All rejected frames.
    pub fn rejected(&self) -> u64 {
        self.malformed
            + self.unsigned
            + self.forged
            + self.unparsable
            + self.replayed
            + self.unknown_type
            + self.bad_content
    }
}

impl Stats {
    /// Counts one frame read.
    pub fn frame_in(&self) {
        self.frames_in.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `n` frames written.
    pub fn frames_out(&self, n: u64) {
        self.frames_out.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts one rejection and returns how many of its kind there have been.
    pub fn reject(&self, err: &DecodeError) -> u64 {
        let counter = match err {
            DecodeError::Malformed(_) => &self.malformed,
            DecodeError::Unsigned => &self.unsigned,
            DecodeError::Forged => &self.forged,
            DecodeError::Unparsable(_) => &self.unparsable,
            DecodeError::Replayed { .. } | DecodeError::Reflected { .. } => &self.replayed,
            DecodeError::UnknownType { .. } => &self.unknown_type,
            DecodeError::BadContent { .. } => &self.bad_content,
        };
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            frames_in: get(&self.frames_in),
            frames_out: get(&self.frames_out),
            malformed: get(&self.malformed),
            unsigned: get(&self.unsigned),
            forged: get(&self.forged),
            unparsable: get(&self.unparsable),
            replayed: get(&self.replayed),
            unknown_type: get(&self.unknown_type),
            bad_content: get(&self.bad_content),
        }
    }
}

/// Logs a rejected frame on stderr: the first ten of each kind, then every thousandth, so that a flood of
/// garbage cannot flood the log.
pub(crate) fn log_rejection(peer: &str, err: &DecodeError, count: u64) {
    if count <= 10 || count.is_multiple_of(1000) {
        eprintln!("pyrepl3-transport: {peer}: dropped frame #{count} of its kind: {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Heartbeat, Stream, StreamName};

    fn stream_env(text: &str) -> Envelope {
        Envelope::new(Message::Stream(Stream {
            name: StreamName::Stdout,
            text: text.into(),
        }))
    }

    fn payload(frame: &[u8]) -> &[u8] {
        &frame[LEN_PREFIX..]
    }

    #[test]
    fn encode_stamps_increasing_seq_and_decodes() {
        let key = Key::generate();
        let mut enc = Encoder::new(Some(key.clone()), "s1", DEFAULT_MAX_FRAME);
        let mut dec = Decoder::new(Some(key));
        for i in 1..=3u64 {
            let mut env = stream_env("x");
            let frame = enc.encode(&mut env).unwrap();
            assert_eq!(env.header.seq, i);
            assert_eq!(
                u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize,
                frame.len() - 4
            );
            let got = dec.decode(payload(&frame)).unwrap();
            assert_eq!(got, env);
            assert_eq!(got.header.session, "s1");
        }
    }

    #[test]
    fn rejections_are_classified() {
        let key = Key::generate();
        let mut enc = Encoder::new(Some(key.clone()), "s", DEFAULT_MAX_FRAME);
        let mut dec = Decoder::new(Some(key.clone()));
        let frame = enc.encode(&mut stream_env("a")).unwrap();

        // Unsigned: same body, no signature.
        let body = &payload(&frame)[1 + TAG_LEN..];
        let unsigned = raw_frame(None, body);
        assert_eq!(dec.decode(payload(&unsigned)), Err(DecodeError::Unsigned));
        // Forged: signed with another key, and a flipped bit in the body.
        let forged = raw_frame(Some(&Key::generate()), body);
        assert_eq!(dec.decode(payload(&forged)), Err(DecodeError::Forged));
        let mut tampered = frame.clone();
        let last = tampered.len() - 3;
        tampered[last] ^= 1;
        assert_eq!(dec.decode(payload(&tampered)), Err(DecodeError::Forged));
        // Malformed prefix.
        assert!(matches!(dec.decode(&[]), Err(DecodeError::Malformed(_))));
        assert!(matches!(
            dec.decode(&[5, 1, 2]),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            dec.decode(&[32, 1, 2]),
            Err(DecodeError::Malformed(_))
        ));
        // Authentic garbage.
        let garbage = raw_frame(Some(&key), b"\xff\x00 not json");
        assert!(matches!(
            dec.decode(payload(&garbage)),
            Err(DecodeError::Unparsable(_))
        ));
        // The genuine frame is still accepted (nothing above consumed its seq) ...
        assert!(dec.decode(payload(&frame)).is_ok());
        // ... exactly once.
        assert_eq!(
            dec.decode(payload(&frame)),
            Err(DecodeError::Replayed {
                session: "s".into(),
                seq: 1,
                last: 1
            })
        );
    }

    #[test]
    fn unknown_type_and_bad_content_keep_the_header() {
        let key = Key::generate();
        let mut dec = Decoder::new(Some(key.clone()));
        let body = br#"{"header":{"msg_id":"m1","session":"s","seq":1},"msg_type":"comm_open","content":{}}"#;
        match dec.decode(payload(&raw_frame(Some(&key), body))) {
            Err(DecodeError::UnknownType { header, msg_type }) => {
                assert_eq!(header.msg_id, "m1");
                assert_eq!(msg_type, "comm_open");
            }
            other => panic!("expected UnknownType, got {other:?}"),
        }
        let body = br#"{"header":{"msg_id":"m2","session":"s","seq":2},"msg_type":"stream","content":{"name":"stdin"}}"#;
        let err = dec
            .decode(payload(&raw_frame(Some(&key), body)))
            .unwrap_err();
        assert_eq!(err.correlatable_header().unwrap().msg_id, "m2");
        assert!(matches!(err, DecodeError::BadContent { .. }));
        // The unknown message consumed seq 1: replaying it is rejected as a replay, not answered again.
        let body = br#"{"header":{"msg_id":"m1","session":"s","seq":1},"msg_type":"comm_open","content":{}}"#;
        assert!(matches!(
            dec.decode(payload(&raw_frame(Some(&key), body))),
            Err(DecodeError::Replayed { .. })
        ));
    }

    #[test]
    fn sessions_have_independent_sequences() {
        let key = Key::generate();
        let mut a = Encoder::new(Some(key.clone()), "a", DEFAULT_MAX_FRAME);
        let mut b = Encoder::new(Some(key.clone()), "b", DEFAULT_MAX_FRAME);
        let mut dec = Decoder::new(Some(key));
        let fa = a.encode(&mut stream_env("1")).unwrap();
        let fb = b.encode(&mut stream_env("1")).unwrap();
        assert!(dec.decode(payload(&fa)).is_ok());
        assert!(dec.decode(payload(&fb)).is_ok());
    }

    #[test]
    fn reflected_frames_and_shared_guards() {
        let key = Key::generate();
        let mut ours = Encoder::new(Some(key.clone()), "me", DEFAULT_MAX_FRAME);
        let guard = ReplayGuard::new();
        let mut dec = Decoder::with_guard(Some(key.clone()), guard.clone(), Some("me".into()));
        let frame = ours.encode(&mut stream_env("x")).unwrap();
        assert_eq!(
            dec.decode(payload(&frame)),
            Err(DecodeError::Reflected {
                session: "me".into()
            })
        );
        // A frame accepted by one decoder cannot be replayed into another sharing the guard.
        let mut peer = Encoder::new(Some(key.clone()), "peer", DEFAULT_MAX_FRAME);
        let frame = peer.encode(&mut stream_env("y")).unwrap();
        assert!(dec.decode(payload(&frame)).is_ok());
        let mut other = Decoder::with_guard(Some(key), guard, None);
        assert!(matches!(
            other.decode(payload(&frame)),
            Err(DecodeError::Replayed {
                seq: 1,
                last: 1,
                ..
            })
        ));
    }

    #[test]
    fn encoder_refuses_oversized_messages_without_consuming_seq() {
        let mut enc = Encoder::new(None, "s", 200);
        let mut big = stream_env(&"x".repeat(500));
        assert!(matches!(
            enc.encode(&mut big),
            Err(EncodeError::TooLarge {
                msg_type: "stream",
                ..
            })
        ));
        let mut small = Envelope::new(Message::HeartbeatPing(Heartbeat { nonce: 1 }));
        enc.encode(&mut small).unwrap();
        assert_eq!(small.header.seq, 1);
    }

    #[test]
    fn read_frame_reports_eof_truncation_and_size() {
        let key = Key::generate();
        let frame = raw_frame(Some(&key), b"{}");
        let mut two = frame.clone();
        two.extend_from_slice(&frame);
        let mut r = &two[..];
        assert!(read_frame(&mut r, 1024).unwrap().is_some());
        assert!(read_frame(&mut r, 1024).unwrap().is_some());
        assert!(read_frame(&mut r, 1024).unwrap().is_none());

        let mut r = &frame[..frame.len() - 1];
        match read_frame(&mut r, 1024) {
            Err(FrameError::Truncated { got, expected }) => {
                assert_eq!(expected, frame.len());
                assert_eq!(got, frame.len() - 1);
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
        let mut r = &frame[..2];
        assert!(matches!(
            read_frame(&mut r, 1024),
            Err(FrameError::Truncated {
                got: 2,
                expected: 4
            })
        ));
        let mut r = &[0xff, 0xff, 0xff, 0xff, 0][..];
        let err = read_frame(&mut r, 1024).unwrap_err();
        assert!(matches!(
            err,
            FrameError::TooLarge {
                len: 0xffff_ffff,
                max: 1024
            }
        ));
        assert!(err.to_string().contains("exceeds the maximum"));
    }
}
