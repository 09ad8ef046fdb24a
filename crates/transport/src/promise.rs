//! A registry of pending promises keyed by correlation id, with the semantics of Resonate's durable
//! promises so that a durable store can back it later.
//!
//! * The id is the idempotency key: creating a promise whose id exists returns the existing record
//!   (settled or not) instead of a new one.
//! * The first settlement wins; later attempts return the settled record unchanged.
//! * Timeouts are absolute: every promise has a deadline (a wall-clock instant, as in Resonate, so a
//!   durable store can persist it). A pending promise past its deadline is `rejected_timedout`, whoever
//!   looks first: a waiter woken by its timer, a reader, or a late settlement attempt, which then gets the
//!   timed-out record back.
//! * States: `pending`, `resolved`, `rejected`, `rejected_canceled`, `rejected_timedout`.
//! * Interrupt, shutdown or loss of a worker settles every promise it owns at once
//!   ([`PromiseRegistry::reject_owned`]), so a pending `input()` can never wedge a session.
//!
//! Correlation ids: `exec:{execution_id}` for an execution's reply ([`exec_promise_id`]) and
//! `{execution_id}:input:{n}` for its n-th input request ([`input_promise_id`]).
//!
//! Storage is behind the [`PromiseStore`] trait ([`MemoryStore`] here); waiting is the registry's job:
//! [`Promise`] is awaitable (`promise.await`), and [`PromiseRegistry::wait_blocking`] serves
//! synchronous callers.

use std::collections::HashMap;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// The correlation id of an execution's reply promise: `exec:{execution_id}`.
pub fn exec_promise_id(execution_id: &str) -> String {
    format!("exec:{execution_id}")
}

/// The correlation id of the `n`-th input request of an execution: `{execution_id}:input:{n}`.
pub fn input_promise_id(execution_id: &str, n: u64) -> String {
    format!("{execution_id}:input:{n}")
}

/// State of a promise, named as in Resonate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromiseState {
    /// Not settled yet.
    Pending,
    /// Settled with a value.
    Resolved,
    /// Settled with an error value.
    Rejected,
    /// Canceled (e.g. by an interrupt).
    RejectedCanceled,
    /// Its deadline passed before it was settled.
    RejectedTimedout,
}

impl PromiseState {
    /// Whether this is a final state.
    pub fn is_settled(self) -> bool {
        self != PromiseState::Pending
    }
}

/// A promise as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromiseRecord<V> {
    /// Correlation id, the idempotency key.
    pub id: String,
    /// Current state.
    pub state: PromiseState,
    /// Value of the settlement (none while pending and for a timeout).
    pub value: Option<V>,
    /// Who the promise waits on (e.g. a worker id), for [`PromiseRegistry::reject_owned`].
    pub owner: Option<String>,
    /// When it was created.
    pub created_on: SystemTime,
    /// Absolute deadline.
    pub deadline: SystemTime,
    /// When it was settled (for a timeout: the deadline).
    pub settled_on: Option<SystemTime>,
}

impl<V> PromiseRecord<V> {
    /// Moves a pending record past its deadline to `rejected_timedout`. Returns whether it changed.
    fn expire(&mut self, now: SystemTime) -> bool {
        if self.state == PromiseState::Pending && now >= self.deadline {
            self.state = PromiseState::RejectedTimedout;
            self.settled_on = Some(self.deadline);
            true
        } else {
            false
        }
    }
}

/// A settlement attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement<V> {
    /// → `resolved` with the value.
    Resolve(V),
    /// → `rejected` with the error value.
    Reject(V),
    /// → `rejected_canceled` with the value.
    Cancel(V),
}

impl<V> Settlement<V> {
    fn into_parts(self) -> (PromiseState, V) {
        match self {
            Settlement::Resolve(v) => (PromiseState::Resolved, v),
            Settlement::Reject(v) => (PromiseState::Rejected, v),
            Settlement::Cancel(v) => (PromiseState::RejectedCanceled, v),
        }
    }
}

/// How [`PromiseRegistry::reject_owned`] settles the promises: `rejected` (worker lost, shut down) or
/// `rejected_canceled` (interrupted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectKind {
    /// `rejected`.
    Rejected,
    /// `rejected_canceled`.
    Canceled,
}

/// Result of a create: the record, and whether this call created it.
#[derive(Debug, Clone, PartialEq)]
pub struct Created<V> {
    /// The (new or existing) record.
    pub record: PromiseRecord<V>,
    /// `false` when the id already existed and the existing record was returned.
    pub created: bool,
}

/// Errors of promise operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromiseError {
    /// No promise with this id (never created, or forgotten).
    #[error("no promise with id {0:?}")]
    NotFound(String),
}

/// Storage of promise records. Implementations apply the semantics (idempotent create, first
/// settlement wins, expiry at the deadline given the caller's `now`); a durable implementation persists
/// the records. All methods take `now` so expiry is deterministic and testable.
pub trait PromiseStore<V>: Send + Sync {
    /// Creates a pending promise, or returns the existing record with this id (expired if due).
    fn create(
        &self,
        id: &str,
        deadline: SystemTime,
        owner: Option<&str>,
        now: SystemTime,
    ) -> Created<V>;
    /// The record with this id (expired if due).
    fn get(&self, id: &str, now: SystemTime) -> Option<PromiseRecord<V>>;
    /// Settles a pending promise; a settled (or expired) one is returned unchanged.
    fn settle(
        &self,
        id: &str,
        settlement: Settlement<V>,
        now: SystemTime,
    ) -> Result<PromiseRecord<V>, PromiseError>;
    /// Settles every pending promise of `owner` (or every pending promise if `owner` is `None`) with
    /// `kind` and `value`; returns the records it settled.
    fn reject_owned(
        &self,
        owner: Option<&str>,
        kind: RejectKind,
        value: V,
        now: SystemTime,
    ) -> Vec<PromiseRecord<V>>;
    /// Removes a record (to bound memory once its result has been consumed). Returns whether it existed.
    fn forget(&self, id: &str) -> bool;
    /// Ids of all pending promises (after expiring the due ones).
    fn pending_ids(&self, now: SystemTime) -> Vec<String>;
}

/// In-memory [`PromiseStore`].
#[derive(Debug)]
pub struct MemoryStore<V> {
    records: Mutex<HashMap<String, PromiseRecord<V>>>,
}

impl<V> Default for MemoryStore<V> {
    fn default() -> Self {
        MemoryStore {
            records: Mutex::new(HashMap::new()),
        }
    }
}

impl<V> MemoryStore<V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PromiseRecord<V>>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<V: Clone + Send + Sync> PromiseStore<V> for MemoryStore<V> {
    fn create(
        &self,
        id: &str,
        deadline: SystemTime,
        owner: Option<&str>,
        now: SystemTime,
    ) -> Created<V> {
        let mut records = self.lock();
        if let Some(existing) = records.get_mut(id) {
            existing.expire(now);
            return Created {
                record: existing.clone(),
                created: false,
            };
        }
        let mut record = PromiseRecord {
            id: id.to_owned(),
            state: PromiseState::Pending,
            value: None,
            owner: owner.map(str::to_owned),
            created_on: now,
            deadline,
            settled_on: None,
        };
        record.expire(now);
        records.insert(id.to_owned(), record.clone());
        Created {
            record,
            created: true,
        }
    }

    fn get(&self, id: &str, now: SystemTime) -> Option<PromiseRecord<V>> {
        let mut records = self.lock();
        let record = records.get_mut(id)?;
        record.expire(now);
        Some(record.clone())
    }

    fn settle(
        &self,
        id: &str,
        settlement: Settlement<V>,
        now: SystemTime,
    ) -> Result<PromiseRecord<V>, PromiseError> {
        let mut records = self.lock();
        let record = records
            .get_mut(id)
            .ok_or_else(|| PromiseError::NotFound(id.to_owned()))?;
        record.expire(now);
        if record.state == PromiseState::Pending {
            let (state, value) = settlement.into_parts();
            record.state = state;
            record.value = Some(value);
            record.settled_on = Some(now);
        }
        Ok(record.clone())
    }

    fn reject_owned(
        &self,
        owner: Option<&str>,
        kind: RejectKind,
        value: V,
        now: SystemTime,
    ) -> Vec<PromiseRecord<V>> {
        let state = match kind {
            RejectKind::Rejected => PromiseState::Rejected,
            RejectKind::Canceled => PromiseState::RejectedCanceled,
        };
        let mut settled = Vec::new();
        for record in self.lock().values_mut() {
            record.expire(now);
            let mine = owner.is_none() || record.owner.as_deref() == owner;
            if mine && record.state == PromiseState::Pending {
                record.state = state;
                record.value = Some(value.clone());
                record.settled_on = Some(now);
                settled.push(record.clone());
            }
        }
        settled
    }

    fn forget(&self, id: &str) -> bool {
        self.lock().remove(id).is_some()
    }

    fn pending_ids(&self, now: SystemTime) -> Vec<String> {
        let mut ids: Vec<String> = self
            .lock()
            .values_mut()
            .filter_map(|r| {
                r.expire(now);
                (r.state == PromiseState::Pending).then(|| r.id.clone())
            })
            .collect();
        ids.sort();
        ids
    }
}

struct Inner<V, S> {
    store: S,
    /// Bumped on every settlement; async waiters watch it.
    generation: watch::Sender<u64>,
    /// The same generation for blocking waiters.
    blocking: (Mutex<u64>, Condvar),
    _value: std::marker::PhantomData<fn() -> V>,
}

/// The promise registry: a store plus waiting. Cheap to clone (shared).
pub struct PromiseRegistry<V, S = MemoryStore<V>> {
    inner: Arc<Inner<V, S>>,
}

impl<V, S> Clone for PromiseRegistry<V, S> {
    fn clone(&self) -> Self {
        PromiseRegistry {
            inner: self.inner.clone(),
        }
    }
}

impl<V, S> std::fmt::Debug for PromiseRegistry<V, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromiseRegistry").finish_non_exhaustive()
    }
}

impl<V: Clone + Send + Sync + 'static> Default for PromiseRegistry<V, MemoryStore<V>> {
    fn default() -> Self {
        PromiseRegistry::with_store(MemoryStore::default())
    }
}

impl<V: Clone + Send + Sync + 'static> PromiseRegistry<V, MemoryStore<V>> {
    /// A registry backed by memory.
    pub fn new() -> Self {
        PromiseRegistry::default()
    }
}

impl<V, S> PromiseRegistry<V, S>
where
    V: Clone + Send + Sync + 'static,
    S: PromiseStore<V> + 'static,
{
    /// A registry backed by `store`.
    pub fn with_store(store: S) -> Self {
        PromiseRegistry {
            inner: Arc::new(Inner {
                store,
                generation: watch::Sender::new(0),
                blocking: (Mutex::new(0), Condvar::new()),
                _value: std::marker::PhantomData,
            }),
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    fn notify(&self) {
        self.inner.generation.send_modify(|g| *g += 1);
        let (lock, cond) = &self.inner.blocking;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        cond.notify_all();
    }

    /// Creates a promise with an absolute `deadline`, or returns the existing one with this id.
    pub fn create(&self, id: &str, deadline: SystemTime, owner: Option<&str>) -> Created<V> {
        let created = self
            .inner
            .store
            .create(id, deadline, owner, SystemTime::now());
        if created.record.state.is_settled() {
            self.notify();
        }
        created
    }

    /// Creates (or gets) a promise due `timeout` from now, and returns an awaitable handle to it.
    /// Re-creating an existing id does not move its deadline.
    pub fn promise(&self, id: &str, timeout: Duration, owner: Option<&str>) -> Promise<V, S> {
        let now = SystemTime::now();
        // An absurdly long timeout means "no deadline in practice", not an overflow panic.
        let deadline = now
            .checked_add(timeout)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600));
        self.create(id, deadline, owner);
        self.handle(id)
    }

    /// An awaitable handle to the promise `id` (which need not exist yet).
    pub fn handle(&self, id: &str) -> Promise<V, S> {
        Promise {
            registry: self.clone(),
            id: id.to_owned(),
        }
    }

    /// The current record.
    pub fn get(&self, id: &str) -> Option<PromiseRecord<V>> {
        self.inner.store.get(id, SystemTime::now())
    }

    /// Settles `id`; the first settlement wins and later ones get the settled record.
    pub fn settle(
        &self,
        id: &str,
        settlement: Settlement<V>,
    ) -> Result<PromiseRecord<V>, PromiseError> {
        let record = self.inner.store.settle(id, settlement, SystemTime::now())?;
        self.notify();
        Ok(record)
    }

    /// Resolves `id` with `value`.
    pub fn resolve(&self, id: &str, value: V) -> Result<PromiseRecord<V>, PromiseError> {
        self.settle(id, Settlement::Resolve(value))
    }

    /// Rejects `id` with `value`.
    pub fn reject(&self, id: &str, value: V) -> Result<PromiseRecord<V>, PromiseError> {
        self.settle(id, Settlement::Reject(value))
    }

    /// Cancels `id` with `value`.
    pub fn cancel(&self, id: &str, value: V) -> Result<PromiseRecord<V>, PromiseError> {
        self.settle(id, Settlement::Cancel(value))
    }

    /// Settles every pending promise owned by `owner` (all pending promises if `None`): for an
    /// interrupt ([`RejectKind::Canceled`]), a shutdown or a lost worker ([`RejectKind::Rejected`]).
    /// Returns the records it settled; their waiters wake up.
    pub fn reject_owned(
        &self,
        owner: Option<&str>,
        kind: RejectKind,
        value: V,
    ) -> Vec<PromiseRecord<V>> {
        let settled = self
            .inner
            .store
            .reject_owned(owner, kind, value, SystemTime::now());
        self.notify();
        settled
    }

    /// Removes a record once its result has been consumed.
    pub fn forget(&self, id: &str) -> bool {
        self.inner.store.forget(id)
    }

    /// Ids of the pending promises.
    pub fn pending_ids(&self) -> Vec<String> {
        self.inner.store.pending_ids(SystemTime::now())
    }

    /// Waits until `id` is settled or its deadline passes; returns the final record.
    pub async fn wait(&self, id: &str) -> Result<PromiseRecord<V>, PromiseError> {
        let mut generation = self.inner.generation.subscribe();
        loop {
            generation.borrow_and_update();
            let record = self
                .get(id)
                .ok_or_else(|| PromiseError::NotFound(id.to_owned()))?;
            if record.state.is_settled() {
                return Ok(record);
            }
            let remaining = record
                .deadline
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            tokio::select! {
                changed = generation.changed() => {
                    if changed.is_err() {
                        // Cannot happen while `self` holds the sender; fall back to the timer.
                        tokio::time::sleep(remaining).await;
                    }
                }
                _ = tokio::time::sleep(remaining) => {}
            }
        }
    }

    /// Blocking version of [`wait`](Self::wait) for synchronous callers.
    pub fn wait_blocking(&self, id: &str) -> Result<PromiseRecord<V>, PromiseError> {
        let (lock, cond) = &self.inner.blocking;
        loop {
            let seen = *lock.lock().unwrap_or_else(|p| p.into_inner());
            let record = self
                .get(id)
                .ok_or_else(|| PromiseError::NotFound(id.to_owned()))?;
            if record.state.is_settled() {
                return Ok(record);
            }
            let remaining = record
                .deadline
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            if *guard == seen {
                let _ = cond.wait_timeout(guard, remaining);
            }
        }
    }
}

/// An awaitable handle to one promise: `handle.await` gives the final record.
pub struct Promise<V, S = MemoryStore<V>> {
    registry: PromiseRegistry<V, S>,
    id: String,
}

impl<V, S> std::fmt::Debug for Promise<V, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Promise").field("id", &self.id).finish()
    }
}

impl<V, S> Promise<V, S>
where
    V: Clone + Send + Sync + 'static,
    S: PromiseStore<V> + 'static,
{
    /// The correlation id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The current record.
    pub fn record(&self) -> Option<PromiseRecord<V>> {
        self.registry.get(&self.id)
    }
}

impl<V, S> IntoFuture for Promise<V, S>
where
    V: Clone + Send + Sync + 'static,
    S: PromiseStore<V> + 'static,
{
    type Output = Result<PromiseRecord<V>, PromiseError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.registry.wait(&self.id).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    #[test]
    fn store_expires_lazily_at_the_absolute_deadline() {
        let store = MemoryStore::<u32>::default();
        let c = store.create("p", t(10), None, t(0));
        assert!(c.created);
        assert_eq!(store.get("p", t(9)).unwrap().state, PromiseState::Pending);
        let r = store.get("p", t(10)).unwrap();
        assert_eq!(r.state, PromiseState::RejectedTimedout);
        assert_eq!(r.settled_on, Some(t(10)));
        // A late settlement gets the timed-out record.
        let r = store.settle("p", Settlement::Resolve(1), t(11)).unwrap();
        assert_eq!(r.state, PromiseState::RejectedTimedout);
        assert_eq!(r.value, None);
    }

    #[test]
    fn store_create_is_idempotent_and_keeps_the_first_deadline() {
        let store = MemoryStore::<u32>::default();
        store.create("p", t(10), Some("w1"), t(0));
        let again = store.create("p", t(100), Some("w2"), t(5));
        assert!(!again.created);
        assert_eq!(again.record.deadline, t(10));
        assert_eq!(again.record.owner.as_deref(), Some("w1"));
        assert_eq!(
            store.get("p", t(50)).unwrap().state,
            PromiseState::RejectedTimedout
        );
    }

    #[test]
    fn store_first_settlement_wins() {
        let store = MemoryStore::<&'static str>::default();
        store.create("p", t(10), None, t(0));
        let first = store.settle("p", Settlement::Reject("boom"), t(1)).unwrap();
        assert_eq!(first.state, PromiseState::Rejected);
        let second = store.settle("p", Settlement::Resolve("ok"), t(2)).unwrap();
        assert_eq!(second, first);
        assert_eq!(
            store.settle("nope", Settlement::Resolve("x"), t(2)),
            Err(PromiseError::NotFound("nope".into()))
        );
    }

    #[tokio::test]
    async fn huge_timeouts_do_not_overflow() {
        let reg = PromiseRegistry::<u8>::new();
        let p = reg.promise("forever", Duration::MAX, None);
        assert_eq!(p.record().unwrap().state, PromiseState::Pending);
        reg.resolve("forever", 1).unwrap();
        assert_eq!(p.await.unwrap().value, Some(1));
    }

    #[test]
    fn correlation_ids() {
        assert_eq!(exec_promise_id("e7"), "exec:e7");
        assert_eq!(input_promise_id("e7", 2), "e7:input:2");
    }
}
