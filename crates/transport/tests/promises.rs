//! The promise registry through its public API: idempotent create, first settlement wins, absolute
//! timeouts, rejecting everything pending on a worker (a waiting `input()` never wedges), awaitable
//! handles and blocking waits.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use pyrepl3_transport::promise::*;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn create_is_idempotent_by_id() {
    let reg = PromiseRegistry::<String>::new();
    let id = exec_promise_id("e1");
    let first = reg.create(&id, SystemTime::now() + LIMIT, Some("w1"));
    assert!(first.created);
    assert_eq!(first.record.state, PromiseState::Pending);
    let again = reg.create(&id, SystemTime::now() + 2 * LIMIT, Some("w2"));
    assert!(!again.created);
    assert_eq!(again.record, first.record);
    // After settlement, creating again still returns the settled record.
    reg.resolve(&id, "ok".into()).unwrap();
    let third = reg.create(&id, SystemTime::now() + LIMIT, None);
    assert!(!third.created);
    assert_eq!(third.record.state, PromiseState::Resolved);
    assert_eq!(third.record.value.as_deref(), Some("ok"));
    // Forgetting frees the id.
    assert!(reg.forget(&id));
    assert!(reg.create(&id, SystemTime::now() + LIMIT, None).created);
}

#[tokio::test]
async fn first_settlement_wins_and_waiters_see_it() {
    let reg = PromiseRegistry::<String>::new();
    let p = reg.promise("exec:e2", LIMIT, None);
    let waiter = tokio::spawn(p.into_future());
    let won = reg.reject(&exec_promise_id("e2"), "boom".into()).unwrap();
    assert_eq!(won.state, PromiseState::Rejected);
    let later = reg.resolve("exec:e2", "ok".into()).unwrap();
    assert_eq!(later, won);
    let later = reg.cancel("exec:e2", "stop".into()).unwrap();
    assert_eq!(later, won);
    let seen = timeout(LIMIT, waiter).await.unwrap().unwrap().unwrap();
    assert_eq!(seen, won);
    assert_eq!(
        reg.resolve("exec:nope", "x".into()),
        Err(PromiseError::NotFound("exec:nope".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_settlements_have_exactly_one_winner() {
    let reg = PromiseRegistry::<u32>::new();
    reg.create("race", SystemTime::now() + LIMIT, None);
    let mut tasks = Vec::new();
    for i in 0..32u32 {
        let reg = reg.clone();
        tasks.push(tokio::spawn(async move {
            if i.is_multiple_of(2) {
                reg.resolve("race", i).unwrap()
            } else {
                reg.reject("race", i).unwrap()
            }
        }));
    }
    let mut records = Vec::new();
    for t in tasks {
        records.push(t.await.unwrap());
    }
    let final_record = reg.get("race").unwrap();
    assert!(records.iter().all(|r| *r == final_record));
    let v = final_record.value.unwrap();
    let expected = if v.is_multiple_of(2) {
        PromiseState::Resolved
    } else {
        PromiseState::Rejected
    };
    assert_eq!(final_record.state, expected);
}

#[tokio::test]
async fn timeouts_are_absolute() {
    let reg = PromiseRegistry::<String>::new();
    let id = input_promise_id("e3", 1);
    // A short deadline; re-creating with a long one does not move it.
    let p = reg.promise(&id, Duration::from_millis(50), Some("w1"));
    let again = reg.create(&id, SystemTime::now() + Duration::from_secs(3600), None);
    assert!(!again.created);
    let record = timeout(LIMIT, p).await.unwrap().unwrap();
    assert_eq!(record.state, PromiseState::RejectedTimedout);
    assert_eq!(record.value, None);
    assert_eq!(record.settled_on, Some(record.deadline));
    // Settling after the deadline returns the timed-out record.
    let late = reg.resolve(&id, "typed too late".into()).unwrap();
    assert_eq!(late.state, PromiseState::RejectedTimedout);
    // A deadline already in the past is timed out on creation.
    let past = reg.create(
        "exec:past",
        SystemTime::now() - Duration::from_secs(1),
        None,
    );
    assert!(past.created);
    assert_eq!(past.record.state, PromiseState::RejectedTimedout);
    // And it is not pending any more.
    assert!(reg.pending_ids().is_empty());
}

#[tokio::test]
async fn reject_owned_wakes_every_waiter_of_that_worker_only() {
    let reg = PromiseRegistry::<String>::new();
    let exec = reg.promise(&exec_promise_id("e4"), LIMIT, Some("worker-1"));
    let input = reg.promise(&input_promise_id("e4", 1), LIMIT, Some("worker-1"));
    let other = reg.promise(&exec_promise_id("e9"), LIMIT, Some("worker-2"));
    // A task waiting on input(), as the worker's input request would.
    let input_waiter = tokio::spawn(input.into_future());
    let exec_waiter = tokio::spawn(exec.into_future());
    tokio::task::yield_now().await;

    let settled = reg.reject_owned(Some("worker-1"), RejectKind::Canceled, "interrupted".into());
    let mut ids: Vec<&str> = settled.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["e4:input:1", "exec:e4"]);

    let input_record = timeout(LIMIT, input_waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(input_record.state, PromiseState::RejectedCanceled);
    assert_eq!(input_record.value.as_deref(), Some("interrupted"));
    let exec_record = timeout(LIMIT, exec_waiter).await.unwrap().unwrap().unwrap();
    assert_eq!(exec_record.state, PromiseState::RejectedCanceled);
    assert_eq!(other.record().unwrap().state, PromiseState::Pending);
    assert_eq!(reg.pending_ids(), ["exec:e9"]);

    // Worker loss rejects what is left (owner None = everything pending).
    let settled = reg.reject_owned(None, RejectKind::Rejected, "worker died: signal 9".into());
    assert_eq!(settled.len(), 1);
    assert_eq!(other.record().unwrap().state, PromiseState::Rejected);
    // Already settled promises are not touched again.
    assert_eq!(
        reg.get(&exec_promise_id("e4")).unwrap().state,
        PromiseState::RejectedCanceled
    );
}

#[test]
fn blocking_wait_is_woken_by_another_thread_and_by_the_deadline() {
    let reg = Arc::new(PromiseRegistry::<u32>::new());
    reg.create("b1", SystemTime::now() + LIMIT, None);
    let r2 = reg.clone();
    let settler = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        r2.resolve("b1", 7).unwrap();
    });
    let record = reg.wait_blocking("b1").unwrap();
    assert_eq!(
        (record.state, record.value),
        (PromiseState::Resolved, Some(7))
    );
    settler.join().unwrap();

    reg.create("b2", SystemTime::now() + Duration::from_millis(30), None);
    assert_eq!(
        reg.wait_blocking("b2").unwrap().state,
        PromiseState::RejectedTimedout
    );
    assert_eq!(
        reg.wait_blocking("missing"),
        Err(PromiseError::NotFound("missing".into()))
    );
}

#[test]
fn states_serialize_with_resonate_names() {
    let names: Vec<String> = [
        PromiseState::Pending,
        PromiseState::Resolved,
        PromiseState::Rejected,
        PromiseState::RejectedCanceled,
        PromiseState::RejectedTimedout,
    ]
    .iter()
    .map(|s| serde_json::to_string(s).unwrap())
    .collect();
    assert_eq!(
        names,
        [
            "\"pending\"",
            "\"resolved\"",
            "\"rejected\"",
            "\"rejected_canceled\"",
            "\"rejected_timedout\""
        ]
    );
}

/// A store that records every call, to show the registry can sit on another [`PromiseStore`] (as a
/// durable one would).
#[derive(Default)]
struct CountingStore {
    inner: MemoryStore<u8>,
    calls: std::sync::atomic::AtomicUsize,
}

impl PromiseStore<u8> for CountingStore {
    fn create(&self, id: &str, d: SystemTime, o: Option<&str>, now: SystemTime) -> Created<u8> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.create(id, d, o, now)
    }
    fn get(&self, id: &str, now: SystemTime) -> Option<PromiseRecord<u8>> {
        self.inner.get(id, now)
    }
    fn settle(
        &self,
        id: &str,
        s: Settlement<u8>,
        now: SystemTime,
    ) -> Result<PromiseRecord<u8>, PromiseError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.settle(id, s, now)
    }
    fn reject_owned(
        &self,
        o: Option<&str>,
        k: RejectKind,
        v: u8,
        now: SystemTime,
    ) -> Vec<PromiseRecord<u8>> {
        self.inner.reject_owned(o, k, v, now)
    }
    fn forget(&self, id: &str) -> bool {
        self.inner.forget(id)
    }
    fn pending_ids(&self, now: SystemTime) -> Vec<String> {
        self.inner.pending_ids(now)
    }
}

#[tokio::test]
async fn registry_works_over_a_custom_store() {
    let reg = PromiseRegistry::with_store(CountingStore::default());
    let p = reg.promise("exec:c", LIMIT, None);
    reg.resolve("exec:c", 3).unwrap();
    let record = timeout(LIMIT, p).await.unwrap().unwrap();
    assert_eq!(record.value, Some(3));
    // One create and one settle went through the custom store.
    assert_eq!(
        reg.store().calls.load(std::sync::atomic::Ordering::SeqCst),
        2
    );
}
