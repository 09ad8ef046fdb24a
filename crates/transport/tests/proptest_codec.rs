//! Property tests of the codec: arbitrary messages survive encode → frame → decode unchanged, and
//! arbitrary bytes (as payloads, as byte streams, as signed bodies, or as a valid frame with one byte
//! changed) never panic the decoder and are never accepted as something they are not.

use std::collections::BTreeMap;

use proptest::prelude::*;
use pyrepl3_transport::codec::{
    DEFAULT_MAX_FRAME, Decoder, Encoder, LEN_PREFIX, raw_frame, read_frame,
};
use pyrepl3_transport::message::*;
use pyrepl3_transport::{DecodeError, Key};

fn text() -> impl Strategy<Value = String> {
    // Any Unicode, including quotes, backslashes, control characters and astral characters.
    any::<String>()
}

fn reply_status() -> impl Strategy<Value = ReplyStatus> {
    prop_oneof![
        Just(ReplyStatus::Ok),
        Just(ReplyStatus::Error),
        Just(ReplyStatus::Aborted)
    ]
}

fn error_content() -> impl Strategy<Value = ErrorContent> {
    (text(), text(), prop::collection::vec(text(), 0..4)).prop_map(|(ename, evalue, traceback)| {
        ErrorContent {
            ename,
            evalue,
            traceback,
        }
    })
}

fn skipped() -> impl Strategy<Value = Vec<SkippedName>> {
    prop::collection::vec(
        (text(), text()).prop_map(|(name, reason)| SkippedName { name, reason }),
        0..3,
    )
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (text(), text(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(execution_id, code, silent, store_history, allow_stdin)| {
                Message::ExecuteRequest(ExecuteRequest {
                    execution_id,
                    code,
                    silent,
                    store_history,
                    allow_stdin,
                    timeout_ms: None,
                    first_line: None,
                })
            }
        ),
        (
            reply_status(),
            any::<u64>(),
            prop::option::of(error_content())
        )
            .prop_map(|(status, execution_count, error)| Message::ExecuteReply(
                ExecuteReply {
                    status,
                    execution_count,
                    error,
                    metadata: Default::default(),
                }
            )),
        (any::<bool>(), text()).prop_map(|(err, text)| Message::Stream(Stream {
            name: if err {
                StreamName::Stderr
            } else {
                StreamName::Stdout
            },
            text,
        })),
        (
            any::<u64>(),
            prop::collection::btree_map(text(), text(), 0..3),
            prop::collection::btree_map(text(), any::<i64>(), 0..2)
        )
            .prop_map(|(execution_count, data, meta)| {
                Message::ExecuteResult(ExecuteResult {
                    execution_count,
                    data: data
                        .into_iter()
                        .map(|(k, v)| (k, serde_json::Value::String(v)))
                        .collect(),
                    metadata: meta
                        .into_iter()
                        .map(|(k, v)| (k, serde_json::Value::from(v)))
                        .collect::<BTreeMap<_, _>>(),
                })
            }),
        error_content().prop_map(Message::Error),
        prop_oneof![
            Just(ExecutionState::Busy),
            Just(ExecutionState::Idle),
            Just(ExecutionState::Starting)
        ]
        .prop_map(|execution_state| Message::Status(Status { execution_state })),
        (text(), any::<bool>(), any::<u64>()).prop_map(|(prompt, password, n)| {
            Message::InputRequest(InputRequest {
                prompt,
                password,
                n,
            })
        }),
        (any::<u64>(), text(), any::<bool>())
            .prop_map(|(n, value, eof)| Message::InputReply(InputReply { n, value, eof })),
        Just(Message::InterruptRequest(InterruptRequest {})),
        reply_status().prop_map(|status| Message::InterruptReply(InterruptReply { status })),
        any::<bool>().prop_map(|restart| Message::ShutdownRequest(ShutdownRequest { restart })),
        (any::<bool>(), reply_status()).prop_map(|(restart, status)| Message::ShutdownReply(
            ShutdownReply { restart, status }
        )),
        text().prop_map(
            |protocol_version| Message::KernelInfoRequest(KernelInfoRequest { protocol_version })
        ),
        (
            text(),
            text(),
            prop::collection::vec(text(), 0..3),
            prop::option::of(any::<u32>())
        )
            .prop_map(|(v, name, capabilities, pid)| {
                Message::KernelInfoReply(KernelInfoReply {
                    protocol_version: v.clone(),
                    implementation: name.clone(),
                    implementation_version: v,
                    language_info: LanguageInfo {
                        name,
                        version: "3.11".into(),
                    },
                    capabilities,
                    pid,
                })
            }),
        any::<u64>().prop_map(|nonce| Message::HeartbeatPing(Heartbeat { nonce })),
        any::<u64>().prop_map(|nonce| Message::HeartbeatPong(Heartbeat { nonce })),
        Just(Message::CheckpointRequest(CheckpointRequest {})),
        (reply_status(), prop::option::of(text()), skipped()).prop_map(
            |(status, checkpoint, skipped)| Message::CheckpointReply(CheckpointReply {
                status,
                checkpoint,
                skipped,
            })
        ),
        text().prop_map(|checkpoint| Message::RestoreRequest(RestoreRequest { checkpoint })),
        (
            reply_status(),
            prop::collection::vec(text(), 0..3),
            skipped()
        )
            .prop_map(
                |(status, restored, skipped)| Message::RestoreReply(RestoreReply {
                    status,
                    restored,
                    skipped,
                })
            ),
    ]
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (
        message(),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(|(m, parent, exec)| {
            let mut env = Envelope::new(m);
            env.header.parent_id = parent;
            env.header.execution_id = exec;
            env
        })
}

fn key() -> Key {
    Key::from_bytes([0x5a; 32])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_decode_round_trip(envs in prop::collection::vec(envelope(), 1..6), signed in any::<bool>()) {
        let k = signed.then(key);
        let mut enc = Encoder::with_new_session(k.clone(), DEFAULT_MAX_FRAME);
        let mut dec = Decoder::new(k);
        // Frames back to back on one byte stream, read back with the framing reader.
        let mut stream = Vec::new();
        let mut sent = Vec::new();
        for mut env in envs {
            stream.extend_from_slice(&enc.encode(&mut env).unwrap());
            sent.push(env);
        }
        let mut reader = &stream[..];
        for env in &sent {
            let payload = read_frame(&mut reader, DEFAULT_MAX_FRAME).unwrap().unwrap();
            prop_assert_eq!(&dec.decode(&payload).unwrap(), env);
        }
        prop_assert!(read_frame(&mut reader, DEFAULT_MAX_FRAME).unwrap().is_none());
    }

    #[test]
    fn arbitrary_payloads_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Decoder::new(Some(key())).decode(&bytes);
        let _ = Decoder::new(None).decode(&bytes);
    }

    #[test]
    fn arbitrary_byte_streams_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let mut reader = &bytes[..];
        let mut dec = Decoder::new(Some(key()));
        for _ in 0..bytes.len() + 1 {
            match read_frame(&mut reader, 1024) {
                Ok(Some(payload)) => { let _ = dec.decode(&payload); }
                Ok(None) | Err(_) => break,
            }
        }
    }

    #[test]
    fn authentic_garbage_is_rejected_not_panicking(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let frame = raw_frame(Some(&key()), &body);
        let result = Decoder::new(Some(key())).decode(&frame[LEN_PREFIX..]);
        // Random bytes are (almost surely) not a valid envelope; whatever they are, no panic, and
        // anything accepted really is a message.
        if let Ok(env) = result {
            prop_assert!(Message::is_known_type(env.msg_type()));
        }
    }

    #[test]
    fn any_single_byte_change_is_detected(env in envelope(), pos in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let mut enc = Encoder::with_new_session(Some(key()), DEFAULT_MAX_FRAME);
        let mut env = env;
        let frame = enc.encode(&mut env).unwrap();
        let mut payload = frame[LEN_PREFIX..].to_vec();
        let i = pos.index(payload.len());
        payload[i] ^= flip;
        let err = Decoder::new(Some(key())).decode(&payload).unwrap_err();
        let expected = matches!(
            err,
            DecodeError::Forged | DecodeError::Unsigned | DecodeError::Malformed(_)
        );
        prop_assert!(expected, "unexpected {:?}", err);
    }
}
