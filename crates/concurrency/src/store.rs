//! What the recipes need from etcd: a handful of KV, watch and lease operations. The server
//! implements it over its own request path, the client over gRPC.

use std::future::Future;

use etcd_proto::etcdserverpb::{
    RangeRequest, RangeResponse, ResponseHeader, TxnRequest, TxnResponse,
};
use etcd_proto::mvccpb::Event;
use futures::stream::BoxStream;

/// The events of one watch response, with its header.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WatchBatch {
    pub header: ResponseHeader,
    pub events: Vec<Event>,
}

/// A watch: batches in revision order; it ends (or yields an error) when the watch is lost.
pub type WatchStream<E> = BoxStream<'static, std::result::Result<WatchBatch, E>>;

/// The operations the recipes run. Responses carry full headers (cluster, member, revision,
/// raft term), as an etcd client sees them.
pub trait Store: Send + Sync + 'static {
    /// The store's own failures (the server's or the client's error type).
    type Error: std::error::Error + Send + Sync + 'static;

    /// KV.Range.
    fn range(
        &self,
        req: RangeRequest,
    ) -> impl Future<Output = Result<RangeResponse, Self::Error>> + Send;

    /// KV.Txn (puts and deletes are sent as txns too).
    fn txn(&self, req: TxnRequest)
        -> impl Future<Output = Result<TxnResponse, Self::Error>> + Send;

    /// Watches `[key, range_end)` (`range_end` empty: the key alone) from `start_rev`.
    fn watch(
        &self,
        key: Vec<u8>,
        range_end: Vec<u8>,
        start_rev: i64,
    ) -> impl Future<Output = Result<WatchStream<Self::Error>, Self::Error>> + Send;

    /// Lease.Grant with a TTL in seconds; answers the lease ID.
    fn lease_grant(&self, ttl: i64) -> impl Future<Output = Result<i64, Self::Error>> + Send;

    /// Keeps lease `id` (granted with `ttl` seconds) alive; returns once it can no longer be
    /// kept alive (it expired or was revoked, or the server could not be reached for a TTL).
    fn keep_alive(&self, id: i64, ttl: i64) -> impl Future<Output = ()> + Send;

    /// Lease.Revoke.
    fn lease_revoke(&self, id: i64) -> impl Future<Output = Result<(), Self::Error>> + Send;
}
