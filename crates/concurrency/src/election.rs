//! Leader election (`clientv3/concurrency/election.go`): candidates queue as keys
//! `<name>/<lease hex>` holding their proposal; the oldest is the leader.

use std::sync::Arc;

use etcd_proto::etcdserverpb::{RangeResponse, ResponseHeader};
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::key::{self, wait_deletes};
use crate::ops;
use crate::session::Session;
use crate::store::Store;

/// One participant's view of an election.
pub struct Election<S: Store> {
    pub(crate) store: Arc<S>,
    lease: i64,
    key_prefix: Vec<u8>,
    leader_key: Vec<u8>,
    leader_rev: i64,
    /// The lease of the session that leads (etcd's `leaderSession`); `None` when not leader.
    leader_lease: Option<i64>,
    hdr: Option<ResponseHeader>,
}

impl<S: Store> Election<S> {
    /// `NewElection(s, name)`: the election's keys live under `name/`.
    pub fn new(session: &Session<S>, name: &[u8]) -> Self {
        let mut key_prefix = name.to_vec();
        key_prefix.push(b'/');
        Election {
            store: session.store().clone(),
            lease: session.lease(),
            key_prefix,
            leader_key: Vec::new(),
            leader_rev: 0,
            leader_lease: None,
            hdr: None,
        }
    }

    /// `ResumeElection(s, name, key, rev)`: a leadership won elsewhere. As etcd, the prefix
    /// is `name` exactly as given (no `/` appended).
    pub fn resume(session: &Session<S>, name: &[u8], leader_key: &[u8], leader_rev: i64) -> Self {
        Election {
            store: session.store().clone(),
            lease: session.lease(),
            key_prefix: name.to_vec(),
            leader_key: leader_key.to_vec(),
            leader_rev,
            leader_lease: Some(session.lease()),
            hdr: None,
        }
    }

    /// Puts a value as eligible for the election and waits until it is elected (or `ctx`
    /// is cancelled: then it resigns).
    pub async fn campaign(
        &mut self,
        ctx: &CancellationToken,
        value: &[u8],
    ) -> Result<(), S::Error> {
        let store = self.store.clone();
        let k = ops::waiter_key(&self.key_prefix, self.lease);
        let req = ops::txn(
            vec![ops::create_rev_is(&k, 0)],
            vec![ops::op_put(&k, value, self.lease)],
            vec![ops::op_range(ops::get(&k))],
        );
        let resp = key::txn(&*store, ctx, req).await?;
        let header = resp.header.unwrap_or_default();
        self.leader_key = k;
        self.leader_rev = header.revision;
        self.leader_lease = Some(self.lease);
        if !resp.succeeded {
            let kv = ops::range_at(&resp, 0)
                .and_then(|r| r.kvs.first())
                .ok_or(Error::Malformed("txn without the candidate's key"))?;
            self.leader_rev = kv.create_revision;
            if kv.value != value {
                if let Err(e) = self.proclaim(ctx, value).await {
                    let _ = self.resign(ctx).await;
                    return Err(e);
                }
            }
        }
        if let Err(e) = wait_deletes(&*store, ctx, &self.key_prefix, self.leader_rev - 1).await {
            if ctx.is_cancelled() {
                // Clean up with a fresh context, as etcd does with the client's.
                let _ = self.resign(&CancellationToken::new()).await;
            } else {
                self.leader_lease = None;
            }
            return Err(e);
        }
        self.hdr = Some(header);
        Ok(())
    }

    /// Lets the leader announce a new value without another election.
    pub async fn proclaim(
        &mut self,
        ctx: &CancellationToken,
        value: &[u8],
    ) -> Result<(), S::Error> {
        let Some(lease) = self.leader_lease else {
            return Err(Error::NotLeader);
        };
        let req = ops::txn(
            vec![ops::create_rev_is(&self.leader_key, self.leader_rev)],
            vec![ops::op_put(&self.leader_key, value, lease)],
            Vec::new(),
        );
        let resp = key::txn(&*self.store, ctx, req).await?;
        if !resp.succeeded {
            self.leader_key.clear();
            return Err(Error::NotLeader);
        }
        self.hdr = resp.header;
        Ok(())
    }

    /// Lets the leader start a new election (deletes its key if it still leads).
    pub async fn resign(&mut self, ctx: &CancellationToken) -> Result<(), S::Error> {
        if self.leader_lease.is_none() {
            return Ok(());
        }
        let req = ops::txn(
            vec![ops::create_rev_is(&self.leader_key, self.leader_rev)],
            vec![ops::op_delete(&self.leader_key)],
            Vec::new(),
        );
        let result = key::txn(&*self.store, ctx, req).await;
        if let Ok(resp) = &result {
            self.hdr = resp.header;
        }
        self.leader_key.clear();
        self.leader_lease = None;
        result.map(|_| ())
    }

    /// The current leader's key and value (`election: no leader` if there is none).
    pub async fn leader(&self, ctx: &CancellationToken) -> Result<RangeResponse, S::Error> {
        leader(&*self.store, ctx, &self.key_prefix).await
    }

    /// This participant's key.
    pub fn key(&self) -> &[u8] {
        &self.leader_key
    }

    /// The create revision of this participant's key.
    pub fn rev(&self) -> i64 {
        self.leader_rev
    }

    /// The header of the last response that changed this participant's state.
    pub fn header(&self) -> Option<&ResponseHeader> {
        self.hdr.as_ref()
    }

    /// The key prefix of the election (`name/`, or the resumed name as given).
    pub fn prefix(&self) -> &[u8] {
        &self.key_prefix
    }
}

/// The oldest key under `pfx`: the leader.
pub(crate) async fn leader<S: Store>(
    store: &S,
    ctx: &CancellationToken,
    pfx: &[u8],
) -> Result<RangeResponse, S::Error> {
    let resp = key::range(store, ctx, ops::first_create(pfx)).await?;
    if resp.kvs.is_empty() {
        return Err(Error::NoLeader);
    }
    Ok(resp)
}
