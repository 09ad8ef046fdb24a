//! Criterion benchmarks of the transport: frame encode/decode (signed), stream-message throughput from
//! a blocking worker-side connection to an async session-side connection over a real socketpair, and
//! the execute_request → execute_reply round trip through a worker thread over a socketpair (transport
//! cost only, no Python).
//!
//! Run: `cargo bench -p pyrepl3-transport --bench transport`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pyrepl3_transport::codec::{DEFAULT_MAX_FRAME, Decoder, Encoder, LEN_PREFIX};
use pyrepl3_transport::message::*;
use pyrepl3_transport::net::{into_tokio, socketpair};
use pyrepl3_transport::{BlockingConnection, Config, Connection, Key};

fn stream_msg(text: &str) -> Envelope {
    Envelope::new(Message::Stream(Stream {
        name: StreamName::Stdout,
        text: text.into(),
    }))
    .with_execution("bench-exec")
}

fn execute_request() -> Envelope {
    Envelope::new(Message::ExecuteRequest(ExecuteRequest {
        execution_id: "bench-exec".into(),
        code: "x = 1".into(),
        silent: false,
        store_history: true,
        allow_stdin: true,
        timeout_ms: None,
        first_line: None,
    }))
    .with_execution("bench-exec")
}

fn codec(c: &mut Criterion) {
    let key = Key::generate();
    let mut g = c.benchmark_group("codec");
    let mut enc = Encoder::with_new_session(Some(key.clone()), DEFAULT_MAX_FRAME);
    let line = "a line of output from print()\n";
    g.bench_function("encode_stream_signed", |b| {
        b.iter(|| {
            let mut env = stream_msg(line);
            black_box(enc.encode(&mut env).unwrap())
        })
    });
    // Decoding needs fresh sequence numbers: pre-encode a batch and decode it in order.
    const BATCH: usize = 10_000;
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("decode_stream_signed_x10000", |b| {
        b.iter_batched(
            || {
                let mut enc = Encoder::with_new_session(Some(key.clone()), DEFAULT_MAX_FRAME);
                let frames: Vec<Vec<u8>> = (0..BATCH)
                    .map(|_| enc.encode(&mut stream_msg(line)).unwrap())
                    .collect();
                (frames, Decoder::new(Some(key.clone())))
            },
            |(frames, mut dec)| {
                for f in &frames {
                    black_box(dec.decode(&f[LEN_PREFIX..]).unwrap());
                }
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn socketpair_throughput(c: &mut Criterion) {
    let key = Key::generate();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (session_end, worker_end) = socketpair().unwrap();
    let worker = BlockingConnection::new(worker_end, Config::new(key.clone())).unwrap();
    let (wtx, _wrx) = worker.split();
    let session = {
        let _g = rt.enter();
        Connection::new(into_tokio(session_end).unwrap(), Config::new(key))
    };
    let (_stx, mut srx) = session.split();
    const N: u64 = 1000;
    // The session-side reader reports every N messages on a crossbeam channel (async → sync: the
    // benchmark thread blocks on it, the runtime never blocks).
    let (done_tx, done_rx) = crossbeam_channel::unbounded();
    rt.spawn(async move {
        let mut n = 0u64;
        while srx.recv().await.is_ok() {
            n += 1;
            if n.is_multiple_of(N) && done_tx.send(()).is_err() {
                break;
            }
        }
    });
    let mut g = c.benchmark_group("socketpair");
    g.throughput(Throughput::Elements(N));
    g.bench_function("stream_messages_worker_to_session_x1000", |b| {
        b.iter(|| {
            for _ in 0..N {
                wtx.send(stream_msg("a line of output from print()\n"))
                    .unwrap();
            }
            done_rx.recv().unwrap();
        })
    });
    g.finish();
}

fn round_trip(c: &mut Criterion) {
    let key = Key::generate();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (session_end, worker_end) = socketpair().unwrap();
    let worker = BlockingConnection::new(worker_end, Config::new(key.clone())).unwrap();
    std::thread::spawn(move || {
        let (tx, rx) = worker.split();
        while let Ok(req) = rx.recv() {
            let reply = Envelope::reply_to(
                &req.header,
                Message::ExecuteReply(ExecuteReply {
                    status: ReplyStatus::Ok,
                    execution_count: 1,
                    error: None,
                    metadata: Default::default(),
                }),
            );
            if tx.send(reply).is_err() {
                break;
            }
        }
    });
    let session = {
        let _g = rt.enter();
        Connection::new(into_tokio(session_end).unwrap(), Config::new(key))
    };
    let (tx, mut rx) = session.split();
    let mut g = c.benchmark_group("socketpair");
    g.bench_function("execute_request_reply_round_trip", |b| {
        b.iter(|| {
            rt.block_on(async {
                tx.send(execute_request()).await.unwrap();
                black_box(rx.recv().await.unwrap())
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = codec, socketpair_throughput, round_trip
}
criterion_main!(benches);
