//! Waiting for keys to go away (`clientv3/concurrency/key.go`): the queue discipline shared
//! by mutexes and elections.

use std::future::Future;

use etcd_proto::etcdserverpb::ResponseHeader;
use etcd_proto::mvccpb::event::EventType;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::ops;
use crate::store::Store;

/// Runs `fut` unless `ctx` is cancelled first (then `context canceled`).
pub(crate) async fn cancellable<T, E: std::error::Error + 'static>(
    ctx: &CancellationToken,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    tokio::select! {
        biased;
        _ = ctx.cancelled() => Err(Error::Canceled),
        r = fut => r,
    }
}

/// The store's range, cancellable.
pub(crate) async fn range<S: Store>(
    store: &S,
    ctx: &CancellationToken,
    req: etcd_proto::etcdserverpb::RangeRequest,
) -> Result<etcd_proto::etcdserverpb::RangeResponse, S::Error> {
    cancellable(ctx, async { store.range(req).await.map_err(Error::Store) }).await
}

/// The store's txn, cancellable.
pub(crate) async fn txn<S: Store>(
    store: &S,
    ctx: &CancellationToken,
    req: etcd_proto::etcdserverpb::TxnRequest,
) -> Result<etcd_proto::etcdserverpb::TxnResponse, S::Error> {
    cancellable(ctx, async { store.txn(req).await.map_err(Error::Store) }).await
}

/// `waitDelete`: watches `key` from revision `rev` until it is deleted.
pub async fn wait_delete<S: Store>(
    store: &S,
    ctx: &CancellationToken,
    key: &[u8],
    rev: i64,
) -> Result<(), S::Error> {
    cancellable(ctx, async {
        let mut watch = store
            .watch(key.to_vec(), Vec::new(), rev)
            .await
            .map_err(Error::Store)?;
        while let Some(batch) = watch.next().await {
            let batch = batch.map_err(Error::Store)?;
            if batch
                .events
                .iter()
                .any(|e| e.r#type == EventType::Delete as i32)
            {
                return Ok(());
            }
        }
        Err(Error::LostWatcher)
    })
    .await
}

/// `waitDeletes`: waits until every key under `pfx` created at or before `max_create_rev`
/// is deleted; answers the header of the last (empty) range.
pub async fn wait_deletes<S: Store>(
    store: &S,
    ctx: &CancellationToken,
    pfx: &[u8],
    max_create_rev: i64,
) -> Result<ResponseHeader, S::Error> {
    loop {
        let resp = range(store, ctx, ops::last_create_before(pfx, max_create_rev)).await?;
        let header = resp.header.unwrap_or_default();
        let Some(last) = resp.kvs.first() else {
            return Ok(header);
        };
        wait_delete(store, ctx, &last.key, header.revision).await?;
    }
}
