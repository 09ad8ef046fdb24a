//! Error types of the transport: fatal connection errors (the connection ends), per-frame rejections
//! (the frame is dropped and counted, the connection goes on), and key hand-over errors.

use thiserror::Error;

use crate::message::Header;

/// Why a key could not be obtained.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The environment variable is not set.
    #[error("no transport key: environment variable {0} is not set")]
    Missing(&'static str),
    /// Wrong number of hex digits.
    #[error("transport key has {found} hex digits, expected {expected}")]
    BadLength {
        /// Digits found.
        found: usize,
        /// Digits expected (64).
        expected: usize,
    },
    /// A character that is not a hex digit.
    #[error("transport key is not hexadecimal")]
    NotHex,
    /// Reading the key failed.
    #[error("cannot read transport key: {0}")]
    Io(String),
}

/// An error that ends a connection: nothing after it on the byte stream can be trusted to be framed.
#[derive(Debug, Error)]
pub enum FrameError {
    /// A frame header announced more bytes than the configured maximum.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes; closing the connection")]
    TooLarge {
        /// Announced length.
        len: u64,
        /// Configured maximum.
        max: usize,
    },
    /// The stream ended in the middle of a frame.
    #[error("truncated frame: the connection closed after {got} of {expected} bytes")]
    Truncated {
        /// Bytes received.
        got: usize,
        /// Bytes announced (including the 4-byte length prefix).
        expected: usize,
    },
    /// An I/O error on the socket.
    #[error("transport I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Why one frame was rejected. The frame is dropped (and counted); the connection goes on.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DecodeError {
    /// The frame is too short to hold its signature prefix, or the prefix is invalid.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// A signature is required and the frame has none.
    #[error("unsigned frame rejected")]
    Unsigned,
    /// The signature does not match the frame under our key.
    #[error("forged frame rejected: bad signature")]
    Forged,
    /// The payload is not a JSON envelope with a valid header.
    #[error("unparsable frame: {0}")]
    Unparsable(String),
    /// The sequence number was already seen for this session: a replay.
    #[error("replayed frame rejected: session {session} seq {seq} <= last seen {last}")]
    Replayed {
        /// Session id of the frame.
        session: String,
        /// Its sequence number.
        seq: u64,
        /// The highest sequence number accepted before.
        last: u64,
    },
    /// The frame carries the session id we send with: one of our own frames sent back at us.
    #[error("reflected frame rejected: it carries our own session id {session}")]
    Reflected {
        /// The session id.
        session: String,
    },
    /// The header is fine but the `msg_type` is not one of ours. Answered with a correlated `error`.
    #[error("unknown msg_type {msg_type:?}")]
    UnknownType {
        /// The offending header (its `msg_id` becomes the error reply's `parent_id`).
        header: Box<Header>,
        /// The unknown type.
        msg_type: String,
    },
    /// The header and `msg_type` are fine but the content does not fit the type. Answered with a
    /// correlated `error`.
    #[error("invalid content for {msg_type}: {reason}")]
    BadContent {
        /// The offending header.
        header: Box<Header>,
        /// The message type.
        msg_type: String,
        /// What serde said.
        reason: String,
    },
}

impl DecodeError {
    /// The header of the offending message, when it was authentic and parsable enough to answer.
    pub fn correlatable_header(&self) -> Option<&Header> {
        match self {
            DecodeError::UnknownType { header, .. } | DecodeError::BadContent { header, .. } => {
                Some(header)
            }
            _ => None,
        }
    }
}

/// Why a connection is closed, as reported to its user.
#[derive(Debug, Error)]
pub enum TransportError {
    /// The peer closed the connection cleanly between frames.
    #[error("connection closed by peer")]
    Closed,
    /// A fatal framing or I/O error ended the connection.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// Encoding an outgoing message failed.
    #[error("cannot encode message: {0}")]
    Encode(String),
}
