//! [`concurrency::Store`] over a remote cluster: what `etcdctl lock` and `etcdctl elect` run
//! etcd's lock and election recipes on, as clientv3's `concurrency` package runs them over
//! its KV, Watch and Lease clients (same retry policies; lease keep-alive as clientv3's
//! lessor: every third of the TTL, given up when no answer came for a whole TTL).
//!
//! The adapter is generic over a [`Caller`], which runs unary RPCs: [`Client`] itself, or a
//! tool's wrapper that logs failed attempts its own way (etcdctl's clientv3-style warnings).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use concurrency::{WatchBatch, WatchStream};
use etcd_proto::etcdserverpb::{
    watch_request::RequestUnion, LeaseGrantRequest, LeaseKeepAliveRequest, LeaseRevokeRequest,
    RangeRequest, RangeResponse, TxnRequest, TxnResponse, WatchCreateRequest, WatchRequest,
    WatchResponse,
};
use futures::stream::{self, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status};

use crate::error::is_etcd_error_message;
use crate::{Client, Error, Result, RetryPolicy};

/// clientv3's `retryConnWait`: pause before reopening a failed keep-alive stream.
const RETRY_CONN_WAIT: Duration = Duration::from_millis(500);

/// Runs the unary RPCs of a [`ClientStore`].
pub trait Caller: Send + Sync + 'static {
    /// The connection.
    fn client(&self) -> &Client;

    /// Runs one unary RPC with clientv3's retries (no deadline: the recipes wait as long as
    /// it takes, as etcdctl's do).
    fn unary<T, F, Fut>(
        &self,
        policy: RetryPolicy,
        call: F,
    ) -> impl Future<Output = Result<T>> + Send
    where
        T: Send,
        F: FnMut(Option<Duration>) -> Fut + Send,
        Fut: Future<Output = std::result::Result<T, Status>> + Send;

    /// What to do before opening a stream (clientv3's stream interceptor logs in again).
    fn before_stream(&self) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}

impl Caller for Client {
    fn client(&self) -> &Client {
        self
    }

    async fn unary<T, F, Fut>(&self, policy: RetryPolicy, call: F) -> Result<T>
    where
        T: Send,
        F: FnMut(Option<Duration>) -> Fut + Send,
        Fut: Future<Output = std::result::Result<T, Status>> + Send,
    {
        self.call(None, policy, &mut |_: u32, _: &Error| {}, call)
            .await
    }

    async fn before_stream(&self) -> Result<()> {
        self.authenticate(None, &mut |_: u32, _: &Error| {}).await
    }
}

/// The recipes' store over a connection.
pub struct ClientStore<C: Caller> {
    caller: Arc<C>,
}

impl<C: Caller> ClientStore<C> {
    pub fn new(caller: Arc<C>) -> Self {
        ClientStore { caller }
    }

    fn client(&self) -> &Client {
        self.caller.client()
    }
}

/// A request carrying the time left as its gRPC timeout.
fn with_timeout<T>(msg: T, left: Option<Duration>) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    if let Some(left) = left {
        req.set_timeout(left);
    }
    req
}

/// What clientv3 reports for a watch the server cancelled (`WatchResponse.Err()`).
fn cancel_error(r: &WatchResponse) -> Error {
    let status = if r.compact_revision != 0 {
        Status::out_of_range("etcdserver: mvcc: required revision has been compacted")
    } else if !r.cancel_reason.is_empty() {
        Status::failed_precondition(r.cancel_reason.clone())
    } else {
        Status::out_of_range("etcdserver: mvcc: required revision is a future revision")
    };
    Error::Status(status)
}

/// One watch as clientv3's watcher keeps it: when the stream breaks for a transport reason
/// (the server went away, or closed the connection), it is opened again from the first
/// revision not yet delivered.
struct Watching<C: Caller> {
    caller: Arc<C>,
    key: Vec<u8>,
    range_end: Vec<u8>,
    /// The first revision not yet delivered (0: from the current revision).
    next_rev: i64,
    /// The open stream and its request sender (kept so the stream stays open).
    open: Option<(tonic::Streaming<WatchResponse>, mpsc::Sender<WatchRequest>)>,
}

/// Whether a failed watch stream is worth opening again (clientv3's `isHaltErr` is false):
/// a transport failure, not one of etcd's own errors.
fn is_transport_failure(s: &Status) -> bool {
    matches!(s.code(), Code::Unavailable | Code::Internal | Code::Unknown)
        && !is_etcd_error_message(s.message())
}

impl<C: Caller> Watching<C> {
    /// Opens the watch stream from `next_rev`.
    async fn open(&mut self) -> Result<()> {
        self.caller.before_stream().await?;
        let (tx, rx) = mpsc::channel(1);
        let create = WatchRequest {
            request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
                key: self.key.clone(),
                range_end: self.range_end.clone(),
                start_revision: self.next_rev,
                ..Default::default()
            })),
        };
        // The channel has room for the create request: this cannot wait.
        let _ = tx.try_send(create);
        let responses = self
            .caller
            .client()
            .watch()
            .watch(ReceiverStream::new(rx))
            .await?
            .into_inner();
        self.open = Some((responses, tx));
        Ok(())
    }

    /// The next batch of events; `None` once the watch ended (after an error, if any).
    async fn next(&mut self) -> Option<Result<WatchBatch>> {
        loop {
            let Some((responses, _)) = self.open.as_mut() else {
                tokio::time::sleep(RETRY_CONN_WAIT).await;
                match self.open().await {
                    Ok(()) => continue,
                    Err(Error::Status(s)) if is_transport_failure(&s) => continue,
                    Err(e) => return Some(Err(e)),
                }
            };
            let r = match responses.message().await {
                Ok(Some(r)) => r,
                Ok(None) => {
                    self.open = None;
                    continue;
                }
                Err(s) if is_transport_failure(&s) => {
                    self.open = None;
                    continue;
                }
                Err(s) => return Some(Err(Error::Status(s))),
            };
            if r.canceled {
                return Some(Err(cancel_error(&r)));
            }
            let header = r.header.unwrap_or_default();
            if self.next_rev == 0 {
                self.next_rev = header.revision + 1;
            }
            if let Some(last) = r.events.last().and_then(|e| e.kv.as_ref()) {
                self.next_rev = last.mod_revision + 1;
                return Some(Ok(WatchBatch {
                    header,
                    events: r.events,
                }));
            }
        }
    }
}

impl<C: Caller> concurrency::Store for ClientStore<C> {
    type Error = Error;

    async fn range(&self, req: RangeRequest) -> Result<RangeResponse> {
        let kv = self.client().kv();
        self.caller
            .unary(RetryPolicy::Repeatable, |left| {
                let mut kv = kv.clone();
                let req = with_timeout(req.clone(), left);
                async move { kv.range(req).await.map(|r| r.into_inner()) }
            })
            .await
    }

    async fn txn(&self, req: TxnRequest) -> Result<TxnResponse> {
        let kv = self.client().kv();
        self.caller
            .unary(RetryPolicy::NonRepeatable, |left| {
                let mut kv = kv.clone();
                let req = with_timeout(req.clone(), left);
                async move { kv.txn(req).await.map(|r| r.into_inner()) }
            })
            .await
    }

    async fn watch(
        &self,
        key: Vec<u8>,
        range_end: Vec<u8>,
        start_rev: i64,
    ) -> Result<WatchStream<Error>> {
        let mut watching = Watching {
            caller: self.caller.clone(),
            key,
            range_end,
            next_rev: start_rev,
            open: None,
        };
        watching.open().await?;
        Ok(stream::unfold(Some(watching), |state| async move {
            let mut w = state?;
            let item = w.next().await?;
            let next = item.is_ok().then_some(w);
            Some((item, next))
        })
        .boxed())
    }

    async fn lease_grant(&self, ttl: i64) -> Result<i64> {
        let lease = self.client().lease();
        self.caller
            .unary(RetryPolicy::Repeatable, |left| {
                let mut lease = lease.clone();
                let req = with_timeout(LeaseGrantRequest { ttl, id: 0 }, left);
                async move { lease.lease_grant(req).await.map(|r| r.into_inner().id) }
            })
            .await
    }

    async fn keep_alive(&self, id: i64, ttl: i64) {
        let mut deadline = Instant::now() + Duration::from_secs(ttl.max(1) as u64);
        while Instant::now() < deadline {
            match self.keep_alive_stream(id, &mut deadline).await {
                KeepAliveEnd::LeaseGone => return,
                KeepAliveEnd::StreamFailed => {
                    let wake = (Instant::now() + RETRY_CONN_WAIT).min(deadline);
                    tokio::time::sleep_until(wake).await;
                }
            }
        }
    }

    async fn lease_revoke(&self, id: i64) -> Result<()> {
        let lease = self.client().lease();
        self.caller
            .unary(RetryPolicy::Repeatable, |left| {
                let mut lease = lease.clone();
                let req = with_timeout(LeaseRevokeRequest { id }, left);
                async move { lease.lease_revoke(req).await.map(|_| ()) }
            })
            .await
    }
}

/// Why one keep-alive stream ended.
enum KeepAliveEnd {
    /// The lease expired or was revoked, or no answer came before the deadline.
    LeaseGone,
    /// The stream failed: open another.
    StreamFailed,
}

impl<C: Caller> ClientStore<C> {
    /// Renews lease `id` on one stream every third of its TTL, moving `deadline` (when the
    /// lease is given up) a TTL past each answer.
    async fn keep_alive_stream(&self, id: i64, deadline: &mut Instant) -> KeepAliveEnd {
        if self.caller.before_stream().await.is_err() {
            return KeepAliveEnd::StreamFailed;
        }
        let (tx, rx) = mpsc::channel(1);
        let opened = tokio::time::timeout_at(
            *deadline,
            self.client()
                .lease()
                .lease_keep_alive(ReceiverStream::new(rx)),
        )
        .await;
        let mut responses = match opened {
            Err(_) => return KeepAliveEnd::LeaseGone,
            Ok(Err(_)) => return KeepAliveEnd::StreamFailed,
            Ok(Ok(r)) => r.into_inner(),
        };
        loop {
            if tx.send(LeaseKeepAliveRequest { id }).await.is_err() {
                return KeepAliveEnd::StreamFailed;
            }
            let ttl = match tokio::time::timeout_at(*deadline, responses.message()).await {
                Err(_) => return KeepAliveEnd::LeaseGone,
                Ok(Ok(Some(r))) => r.ttl,
                Ok(_) => return KeepAliveEnd::StreamFailed,
            };
            if ttl <= 0 {
                return KeepAliveEnd::LeaseGone;
            }
            let ttl = Duration::from_secs(ttl as u64);
            *deadline = Instant::now() + ttl;
            tokio::time::sleep((ttl / 3).max(RETRY_CONN_WAIT)).await;
        }
    }
}
