//! Following an election's leader (`Election.Observe` in etcd's `election.go`): the current
//! leader, then each new value it proclaims, and the next leader once its key is deleted.

use std::sync::Arc;

use etcd_proto::etcdserverpb::RangeResponse;
use etcd_proto::mvccpb::event::EventType;
use etcd_proto::mvccpb::KeyValue;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::election::Election;
use crate::ops;
use crate::store::Store;

impl<S: Store> Election<S> {
    /// `Observe(ctx)`: leader changes as get responses, until `ctx` is cancelled or the
    /// store fails (then the channel closes).
    pub fn observe(&self, ctx: CancellationToken) -> mpsc::Receiver<RangeResponse> {
        observe(self.store.clone(), ctx, self.prefix().to_vec())
    }
}

/// Follows the leader of the election whose keys live under `pfx` in a task of its own.
pub fn observe<S: Store>(
    store: Arc<S>,
    ctx: CancellationToken,
    pfx: Vec<u8>,
) -> mpsc::Receiver<RangeResponse> {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        tokio::select! {
            _ = ctx.cancelled() => {}
            _ = tx.closed() => {}
            _ = follow(&*store, &tx, &pfx) => {}
        }
    });
    rx
}

/// The observe loop; returns when the store fails or the receiver is gone.
async fn follow<S: Store>(store: &S, tx: &mpsc::Sender<RangeResponse>, pfx: &[u8]) -> Option<()> {
    loop {
        let mut resp = store.range(ops::first_create(pfx)).await.ok()?;
        let (header, kv) = match resp.kvs.first() {
            Some(kv) => (resp.header.unwrap_or_default(), kv.clone()),
            None => {
                let rev = resp.header.as_ref().map_or(0, |h| h.revision);
                first_put(store, pfx, rev).await?
            }
        };
        let first = RangeResponse {
            header: Some(header),
            kvs: vec![kv.clone()],
            ..Default::default()
        };
        tx.send(first).await.ok()?;
        // Proclaimed values until the leader's key is deleted.
        let mut watch = store
            .watch(kv.key.clone(), Vec::new(), header.revision + 1)
            .await
            .ok()?;
        'leader: loop {
            let batch = watch.next().await?.ok()?;
            for ev in batch.events {
                if ev.r#type == EventType::Delete as i32 {
                    break 'leader;
                }
                resp.header = Some(batch.header);
                resp.kvs = ev.kv.into_iter().collect();
                tx.send(resp.clone()).await.ok()?;
            }
        }
    }
}

/// Waits for the first put under `pfx` from revision `rev`: the first leader.
async fn first_put<S: Store>(
    store: &S,
    pfx: &[u8],
    rev: i64,
) -> Option<(etcd_proto::etcdserverpb::ResponseHeader, KeyValue)> {
    let mut watch = store
        .watch(pfx.to_vec(), ops::prefix_end(pfx), rev)
        .await
        .ok()?;
    loop {
        let batch = watch.next().await?.ok()?;
        // Only puts: a delete would make the loop spin.
        if let Some(kv) = batch
            .events
            .into_iter()
            .find(|ev| ev.r#type == EventType::Put as i32)
            .and_then(|ev| ev.kv)
        {
            // The batch may span revisions: the header carries the put's.
            let mut header = batch.header;
            header.revision = kv.mod_revision;
            return Some((header, kv));
        }
    }
}
