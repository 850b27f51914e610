//! A session (`clientv3/concurrency/session.go`): the lease the waiters' keys are attached
//! to. A client's session keeps its lease alive in the background until it is orphaned,
//! closed or dropped; the server's sessions use the caller's lease and never keep it alive.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::store::Store;

/// clientv3's `defaultSessionTTL`, in seconds.
pub const DEFAULT_SESSION_TTL: i64 = 60;

/// A lease shared by the keys of one client's locks and elections.
pub struct Session<S: Store> {
    store: Arc<S>,
    lease: i64,
    /// Becomes true once the lease is no longer kept alive.
    done: watch::Receiver<bool>,
    keep_alive: Option<JoinHandle<()>>,
}

impl<S: Store> Session<S> {
    /// `NewSession(client, WithTTL(ttl))`: grants a lease (a TTL <= 0 means the default 60 s)
    /// and keeps it alive.
    pub async fn new(store: Arc<S>, ttl: i64) -> Result<Self, S::Error> {
        let ttl = if ttl > 0 { ttl } else { DEFAULT_SESSION_TTL };
        let lease = store.lease_grant(ttl).await.map_err(Error::Store)?;
        let (tx, done) = watch::channel(false);
        let keeper = store.clone();
        let keep_alive = tokio::spawn(async move {
            keeper.keep_alive(lease, ttl).await;
            let _ = tx.send(true);
        });
        Ok(Session {
            store,
            lease,
            done,
            keep_alive: Some(keep_alive),
        })
    }

    /// A session on an existing lease that is not kept alive: what etcd's lock and
    /// election services make of the caller's lease (`NewSession(WithLease(id))` +
    /// `Orphan()`). Lease 0 grants a fresh lease with the default TTL, as etcd does.
    pub async fn orphaned(store: Arc<S>, lease: i64) -> Result<Self, S::Error> {
        let lease = match lease {
            0 => store
                .lease_grant(DEFAULT_SESSION_TTL)
                .await
                .map_err(Error::Store)?,
            id => id,
        };
        let (_, done) = watch::channel(true);
        Ok(Session {
            store,
            lease,
            done,
            keep_alive: None,
        })
    }

    /// The session's lease ID.
    pub fn lease(&self) -> i64 {
        self.lease
    }

    /// The store the session runs on.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    /// Resolves once the lease is no longer kept alive (`Session.Done()`).
    pub async fn done(&self) {
        let mut done = self.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }

    /// Stops keeping the lease alive, leaving it to expire (`Session.Orphan()`).
    pub fn orphan(&mut self) {
        if let Some(task) = self.keep_alive.take() {
            task.abort();
        }
    }

    /// Stops keeping the lease alive and revokes it (`Session.Close()`).
    pub async fn close(mut self) -> Result<(), S::Error> {
        self.orphan();
        self.store
            .lease_revoke(self.lease)
            .await
            .map_err(Error::Store)
    }
}

impl<S: Store> Drop for Session<S> {
    fn drop(&mut self) {
        self.orphan();
    }
}
