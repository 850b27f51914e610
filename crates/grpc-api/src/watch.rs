//! The `etcdserverpb.Watch` service: one bidirectional stream carries many watchers.
//!
//! Each watcher is a task (see [`watcher`]) that first subscribes to live changes (through
//! the service's [`hub`], which wakes it only for writes to its key or range), then
//! replays history from its start revision up to the current revision, then follows the
//! live feed, skipping what it already sent: events arrive in revision order, never
//! duplicated or skipped. A watcher that falls behind the live feed (a slow client) re-reads
//! history instead of holding up writers. A start revision below the compacted revision
//! cancels the watcher with `compact_revision` set, as etcd does.
//!
//! Per watcher, as etcd 3.4's `v3rpc/watch.go`:
//! - `progress_notify`: every `--experimental-watch-progress-notify-interval` (plus up to a
//!   tenth of jitter) a synced watcher that sent no events since the last tick gets an empty
//!   response with its `watch_id` and the revision it has caught up to;
//! - `fragment`: an events response whose encoding reaches the server's max request bytes
//!   (`--max-request-bytes` + gRPC overhead) is split into several responses, all but the
//!   last with `fragment` set (see [`fragment`]).
//!
//! Every task hands the stream a *batch* of responses that is written contiguously, so the
//! fragments of one response are never interleaved with another watcher's responses
//! (clients reassemble fragments assuming they are not).

mod fragment;
mod hub;
mod watcher;

#[cfg(test)]
pub(crate) mod test_backend;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use etcd_proto::etcdserverpb::{
    watch_request::RequestUnion, watch_server::Watch, ResponseHeader, WatchCreateRequest,
    WatchRequest, WatchResponse,
};
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::backend::{AuthError, Backend};
use crate::caller::Credentials;
use crate::{leader, EtcdError, GRPC_OVERHEAD_BYTES};
use hub::Hub;
use watcher::Watcher;

/// clientv3's `InvalidWatchID`: the ID of responses that belong to no single watcher.
pub const INVALID_WATCH_ID: i64 = -1;

pub struct WatchService {
    backend: Arc<dyn Backend>,
    hub: Arc<Hub>,
    max_response_bytes: usize,
}

impl WatchService {
    /// `max_request_bytes` is `--max-request-bytes`; as in etcd, event responses of watchers
    /// that asked for `fragment` are split at that size plus the gRPC overhead.
    pub fn new(backend: Arc<dyn Backend>, max_request_bytes: usize) -> Self {
        Self {
            hub: Arc::new(Hub::new(backend.clone())),
            backend,
            max_response_bytes: max_request_bytes.saturating_add(GRPC_OVERHEAD_BYTES),
        }
    }
}

/// Responses to write on the stream, in order and without interleaving.
type Out = mpsc::Sender<Vec<WatchResponse>>;
type WatchStream = BoxStream<'static, Result<WatchResponse, Status>>;

/// What every watcher of one stream shares.
#[derive(Clone)]
struct StreamCtx {
    backend: Arc<dyn Backend>,
    hub: Arc<Hub>,
    out: Out,
    max_response_bytes: usize,
}

impl StreamCtx {
    /// A response at `revision` for `watch_id`, with the header filled and `f` applied.
    fn response(
        &self,
        revision: i64,
        watch_id: i64,
        f: impl FnOnce(&mut WatchResponse),
    ) -> WatchResponse {
        let mut header = ResponseHeader {
            revision,
            ..Default::default()
        };
        self.backend.fill_header(&mut header);
        let mut r = WatchResponse {
            header: Some(header),
            watch_id,
            ..Default::default()
        };
        f(&mut r);
        r
    }

    /// Writes one response; false when the stream is gone.
    async fn send(&self, resp: WatchResponse) -> bool {
        self.out.send(vec![resp]).await.is_ok()
    }
}

#[tonic::async_trait]
impl Watch for WatchService {
    type WatchStream = WatchStream;

    async fn watch(
        &self,
        req: Request<Streaming<WatchRequest>>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        if self.backend.is_learner() {
            return Err(crate::EtcdError::NotSupportedForLearner.into());
        }
        let require_leader = leader::requires_leader(req.metadata());
        let (out, rx) = mpsc::channel(256);
        let ctx = StreamCtx {
            backend: self.backend.clone(),
            hub: self.hub.clone(),
            out,
            max_response_bytes: self.max_response_bytes,
        };
        let creds = Credentials::of(&req);
        tokio::spawn(serve_stream(ctx, creds, req.into_inner()));
        let mut responses: WatchStream = ReceiverStream::new(rx)
            .flat_map(|batch| stream::iter(batch.into_iter().map(Ok)))
            .boxed();
        if require_leader {
            responses = leader::end_without_leader(self.backend.clone(), responses);
        }
        Ok(Response::new(responses))
    }
}

/// Whether the stream's caller may read what `c` watches (checked at each create, as
/// etcd's `isWatchPermitted`); the cancel reason otherwise. Unlike etcd 3.4, which checks
/// only the start key of an open-ended (`range_end` "\0") watch, the whole range is checked.
async fn watch_permitted(
    ctx: &StreamCtx,
    creds: &Credentials,
    c: &WatchCreateRequest,
) -> Result<(), String> {
    let backend = &*ctx.backend;
    // An empty key watches from the smallest key, "\0".
    let key: &[u8] = if c.key.is_empty() { &[0] } else { &c.key };
    let checked = match creds.resolve(backend).await {
        Ok(who) => backend.check_range(&who, key, &c.range_end),
        Err(e) => Err(e),
    };
    // etcd puts the whole gRPC status text of its error in the reason.
    checked.map_err(|e| {
        let e = match e {
            AuthError::InvalidAuthToken | AuthError::AuthOldRevision | AuthError::UserEmpty => {
                EtcdError::from(e)
            }
            _ => EtcdError::PermissionDenied,
        };
        format!("rpc error: code = {:?} desc = {e}", e.code())
    })
}

/// Reads the client's requests; creates, cancels and reports progress of watchers. Ends
/// with the client's requests or once the response stream is gone (e.g. ended by the
/// server because the member lost its leader).
async fn serve_stream(ctx: StreamCtx, creds: Credentials, mut input: Streaming<WatchRequest>) {
    let mut watchers: HashMap<i64, JoinHandle<()>> = HashMap::new();
    let mut next_id = 0i64;
    loop {
        let req = tokio::select! {
            req = input.next() => req,
            () = ctx.out.closed() => break,
        };
        let Some(Ok(req)) = req else { break };
        let current = || ctx.backend.revisions().0;
        match req.request_union {
            Some(RequestUnion::CreateRequest(c)) => {
                if let Err(reason) = watch_permitted(&ctx, &creds, &c).await {
                    let resp = ctx.response(current(), INVALID_WATCH_ID, |r| {
                        r.created = true;
                        r.canceled = true;
                        r.cancel_reason = reason;
                    });
                    ctx.send(resp).await;
                    continue;
                }
                let id = if c.watch_id != 0 {
                    c.watch_id
                } else {
                    while watchers.contains_key(&next_id) {
                        next_id += 1;
                    }
                    next_id
                };
                if watchers.contains_key(&id) {
                    // etcd: a duplicate client-chosen ID fails the create.
                    let resp = ctx.response(current(), id, |r| {
                        r.created = true;
                        r.canceled = true;
                        r.cancel_reason = "watcher with the same ID already exists".into();
                    });
                    ctx.send(resp).await;
                    continue;
                }
                let w = Watcher::new(id, c);
                watchers.insert(id, tokio::spawn(w.run(ctx.clone())));
            }
            Some(RequestUnion::CancelRequest(c)) => {
                if let Some(task) = watchers.remove(&c.watch_id) {
                    task.abort();
                    let resp = ctx.response(current(), c.watch_id, |r| r.canceled = true);
                    ctx.send(resp).await;
                }
            }
            Some(RequestUnion::ProgressRequest(_)) => {
                // etcd 3.4: answered at once with the store revision, for the whole stream.
                let resp = ctx.response(current(), INVALID_WATCH_ID, |_| {});
                ctx.send(resp).await;
            }
            None => {}
        }
        watchers.retain(|_, t| !t.is_finished());
    }
    for (_, t) in watchers {
        t.abort();
    }
}
