//! A pool of sessions, each with its own worker process, for running many cells at once.

use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use super::{ExecuteOptions, InputRequest, Outcome, Session, SessionConfig, SessionError};

/// Many sessions at once; [`Pool::checkout`] lends an idle one.
pub struct Pool {
    sessions: Vec<Arc<Mutex<Session>>>,
    idle: Arc<Semaphore>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("size", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

/// A session lent by a [`Pool`]; returned when dropped.
pub struct PooledSession {
    session: OwnedMutexGuard<Session>,
    index: usize,
    _permit: OwnedSemaphorePermit,
}

impl PooledSession {
    /// Which of the pool's sessions this is.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl std::ops::Deref for PooledSession {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.session
    }
}

impl std::ops::DerefMut for PooledSession {
    fn deref_mut(&mut self) -> &mut Session {
        &mut self.session
    }
}

impl Pool {
    /// Starts `size` sessions (their workers start concurrently).
    pub async fn start(config: SessionConfig, size: usize) -> Result<Pool, SessionError> {
        let starts: Vec<_> = (0..size)
            .map(|_| tokio::spawn(Session::start(config.clone())))
            .collect();
        let mut sessions = Vec::with_capacity(size);
        let mut first_error = None;
        for start in starts {
            match start.await {
                Ok(Ok(session)) => sessions.push(Arc::new(Mutex::new(session))),
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    first_error.get_or_insert(SessionError::Spawn {
                        program: "a pool session".into(),
                        source: std::io::Error::other(e.to_string()),
                    });
                }
            }
        }
        if let Some(e) = first_error {
            for s in sessions {
                if let Ok(s) = Arc::try_unwrap(s) {
                    s.into_inner().shutdown().await;
                }
            }
            return Err(e);
        }
        Ok(Pool {
            idle: Arc::new(Semaphore::new(sessions.len())),
            sessions,
        })
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether the pool has no sessions.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Waits for an idle session and lends it.
    pub async fn checkout(&self) -> PooledSession {
        let permit = self
            .idle
            .clone()
            .acquire_owned()
            .await
            .expect("the pool's semaphore is never closed");
        loop {
            for (index, s) in self.sessions.iter().enumerate() {
                if let Ok(session) = s.clone().try_lock_owned() {
                    return PooledSession {
                        session,
                        index,
                        _permit: permit,
                    };
                }
            }
            // A permit means a session is about to be returned; let its holder finish.
            tokio::task::yield_now().await;
        }
    }

    /// Runs a cell on an idle session and collects it.
    pub async fn run(
        &self,
        code: &str,
        options: &ExecuteOptions,
        answer: impl FnMut(&InputRequest) -> Option<String>,
    ) -> Result<(usize, Outcome), SessionError> {
        let mut session = self.checkout().await;
        let outcome = session.run(code, options, answer).await?;
        Ok((session.index(), outcome))
    }

    /// Session `index`, to run cells on a particular one (it shares the pool's idle accounting
    /// only through [`Pool::checkout`]).
    pub fn session(&self, index: usize) -> Option<Arc<Mutex<Session>>> {
        self.sessions.get(index).cloned()
    }

    /// Shuts every session down.
    pub async fn shutdown(self) {
        for s in self.sessions {
            match Arc::try_unwrap(s) {
                Ok(s) => s.into_inner().shutdown().await,
                Err(s) => {
                    let mut guard = s.lock().await;
                    guard.stop_worker_for_pool().await;
                }
            }
        }
    }
}
