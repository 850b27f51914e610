//! The [`concurrency::Store`] of the lock and election services: the local member's
//! [`Backend`], called on behalf of the RPC's caller (so auth applies as to any KV request),
//! with response headers completed as the KV service completes them. Watches read the
//! backend's history, then follow its live feed of applied batches.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use concurrency::{WatchBatch, WatchStream};
use etcd_proto::etcdserverpb::{
    LeaseGrantRequest, LeaseRevokeRequest, RangeRequest, RangeResponse, ResponseHeader, TxnRequest,
    TxnResponse,
};
use etcd_proto::mvccpb::Event;
use futures::stream::{self, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError};

use tonic::{Request, Status};

use crate::backend::{fill, AuthInfo, Backend, EventBatch};
use crate::caller::caller;
use crate::errors::EtcdError;
use crate::validate;

/// The local member, as seen by one caller.
pub struct MemberStore {
    backend: Arc<dyn Backend>,
    who: AuthInfo,
}

impl MemberStore {
    pub fn new(backend: Arc<dyn Backend>, who: AuthInfo) -> Self {
        MemberStore { backend, who }
    }

    /// The member as the caller of `req` sees it (the lock and election services'
    /// first step of every RPC).
    pub async fn for_caller<T>(
        backend: &Arc<dyn Backend>,
        req: &Request<T>,
    ) -> Result<Arc<MemberStore>, Status> {
        let who = caller(&**backend, req).await.map_err(recipe_status)?;
        Ok(Arc::new(MemberStore::new(backend.clone(), who)))
    }
}

impl concurrency::Store for MemberStore {
    type Error = EtcdError;

    async fn range(&self, req: RangeRequest) -> Result<RangeResponse, EtcdError> {
        validate::check_range(&req)?;
        let mut resp = self.backend.range(&self.who, req).await?;
        fill(&*self.backend, &mut resp.header);
        Ok(resp)
    }

    async fn txn(&self, req: TxnRequest) -> Result<TxnResponse, EtcdError> {
        validate::check_txn(&req, self.backend.max_txn_ops())?;
        let mut resp = self.backend.txn(&self.who, req).await?;
        fill(&*self.backend, &mut resp.header);
        Ok(resp)
    }

    async fn watch(
        &self,
        key: Vec<u8>,
        range_end: Vec<u8>,
        start_rev: i64,
    ) -> Result<WatchStream<EtcdError>, EtcdError> {
        self.backend.check_range(&self.who, &key, &range_end)?;
        let feed = Feed {
            backend: self.backend.clone(),
            live: self.backend.subscribe_events(),
            range: KeyRange { key, range_end },
            next_rev: start_rev,
            pending: VecDeque::new(),
        };
        Ok(feed.start()?.into_stream())
    }

    async fn lease_grant(&self, ttl: i64) -> Result<i64, EtcdError> {
        let req = LeaseGrantRequest { ttl, id: 0 };
        Ok(self.backend.lease_grant(req).await?.id)
    }

    async fn keep_alive(&self, id: i64, ttl: i64) {
        let mut ttl = ttl;
        loop {
            tokio::time::sleep(Duration::from_secs((ttl / 3).max(1) as u64)).await;
            match self.backend.lease_renew(id).await {
                Ok(t) if t > 0 => ttl = t,
                _ => return,
            }
        }
    }

    async fn lease_revoke(&self, id: i64) -> Result<(), EtcdError> {
        let req = LeaseRevokeRequest { id };
        self.backend.lease_revoke(&self.who, req).await.map(|_| ())
    }
}

/// `[key, range_end)` as a watch request gives it.
struct KeyRange {
    key: Vec<u8>,
    range_end: Vec<u8>,
}

impl KeyRange {
    fn contains(&self, k: &[u8]) -> bool {
        match self.range_end.as_slice() {
            [] => k == self.key.as_slice(),
            [0] => k >= self.key.as_slice(),
            end => k >= self.key.as_slice() && k < end,
        }
    }
}

/// One watch: history from `next_rev`, then the live feed, each revision once.
struct Feed {
    backend: Arc<dyn Backend>,
    live: broadcast::Receiver<Arc<EventBatch>>,
    range: KeyRange,
    /// The first revision not yet handed out.
    next_rev: i64,
    pending: VecDeque<WatchBatch>,
}

impl Feed {
    /// Queues the history from the start revision up to now (the live feed was subscribed
    /// before, so nothing falls in between).
    fn start(mut self) -> Result<Self, EtcdError> {
        let (current, _) = self.backend.revisions();
        if self.next_rev <= 0 {
            self.next_rev = current + 1;
        }
        self.catch_up(current)?;
        Ok(self)
    }

    /// Queues the matching events of revisions `next_rev..=current` as one batch.
    fn catch_up(&mut self, current: i64) -> Result<(), EtcdError> {
        if self.next_rev > current {
            return Ok(());
        }
        let events = self.backend.history(self.next_rev, current)?;
        self.queue(current, events);
        Ok(())
    }

    fn queue(&mut self, revision: i64, events: Vec<Event>) {
        self.next_rev = revision + 1;
        let events: Vec<Event> = events
            .into_iter()
            .filter(|e| e.kv.as_ref().is_some_and(|kv| self.range.contains(&kv.key)))
            .collect();
        if !events.is_empty() {
            let mut header = ResponseHeader {
                revision,
                ..Default::default()
            };
            self.backend.fill_header(&mut header);
            self.pending.push_back(WatchBatch { header, events });
        }
    }

    /// The next batch; `None` when the member's feed closed (it is stopping).
    async fn next(&mut self) -> Option<Result<WatchBatch, EtcdError>> {
        loop {
            if let Some(batch) = self.pending.pop_front() {
                return Some(Ok(batch));
            }
            match self.live.recv().await {
                Ok(batch) if batch.revision < self.next_rev => {}
                Ok(batch) => {
                    let events = batch
                        .events
                        .iter()
                        .filter(|e| {
                            e.kv.as_ref()
                                .is_some_and(|kv| kv.mod_revision >= self.next_rev)
                        })
                        .cloned()
                        .collect();
                    self.queue(batch.revision, events);
                }
                Err(RecvError::Lagged(_)) => {
                    let (current, _) = self.backend.revisions();
                    if let Err(e) = self.catch_up(current) {
                        return Some(Err(e));
                    }
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    fn into_stream(self) -> WatchStream<EtcdError> {
        stream::unfold(self, |mut feed| async move {
            let item = feed.next().await?;
            Some((item, feed))
        })
        .boxed()
    }
}

/// How etcd's lock and election services answer a failure: their in-process client hands
/// back plain Go errors (no gRPC status), which gRPC sends as `Unknown` with the error's
/// text, so `etcdserver: requested lease not found` and `election: no leader` alike.
pub(crate) fn recipe_status(e: impl std::fmt::Display) -> tonic::Status {
    tonic::Status::unknown(e.to_string())
}

/// Runs a blocking recipe in a task of its own with a cancellation token that fires when
/// the RPC is dropped (the client went away or its deadline passed): the recipe then cleans
/// up (deletes its waiter key) as etcd's does when the request context is cancelled.
pub(crate) async fn run_cancellable<T, F, Fut>(f: F) -> Result<T, tonic::Status>
where
    T: Send + 'static,
    F: FnOnce(concurrency::CancellationToken) -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>> + Send + 'static,
{
    let ctx = concurrency::CancellationToken::new();
    let guard = ctx.clone().drop_guard();
    let outcome = tokio::spawn(f(ctx)).await;
    guard.disarm();
    outcome.map_err(|e| tonic::Status::internal(e.to_string()))?
}
