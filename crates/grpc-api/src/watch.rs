//! The `etcdserverpb.Watch` service: one bidirectional stream carries many watchers.
//!
//! Each watcher is a task that first subscribes to live changes, then replays history from
//! its start revision up to the current revision, then follows the live feed, skipping what
//! it already sent: events arrive in revision order, never duplicated or skipped. A watcher
//! that falls behind the live feed (a slow client) re-reads history instead of holding up
//! writers. A start revision below the compacted revision cancels the watcher with
//! `compact_revision` set, as etcd does.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use etcd_proto::etcdserverpb::{
    watch_create_request::FilterType, watch_request::RequestUnion, watch_server::Watch,
    ResponseHeader, WatchCreateRequest, WatchRequest, WatchResponse,
};
use etcd_proto::mvccpb::{event::EventType, Event};
use futures::{Stream, StreamExt};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::backend::Backend;
use crate::errors::EtcdError;

pub struct WatchService {
    backend: Arc<dyn Backend>,
}

impl WatchService {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self { backend }
    }
}

type Out = mpsc::Sender<Result<WatchResponse, Status>>;
type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Watch for WatchService {
    type WatchStream = WatchStream;

    async fn watch(
        &self,
        req: Request<Streaming<WatchRequest>>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(serve_stream(self.backend.clone(), req.into_inner(), tx));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// Reads the client's requests; creates, cancels and reports progress of watchers.
async fn serve_stream(backend: Arc<dyn Backend>, mut input: Streaming<WatchRequest>, out: Out) {
    let mut watchers: HashMap<i64, JoinHandle<()>> = HashMap::new();
    let mut next_id = 0i64;
    while let Some(Ok(req)) = input.next().await {
        match req.request_union {
            Some(RequestUnion::CreateRequest(c)) => {
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
                    let resp = response(&*backend, backend.revisions().0, id, |r| {
                        r.created = true;
                        r.canceled = true;
                        r.cancel_reason = "watcher with the same ID already exists".into();
                    });
                    let _ = out.send(Ok(resp)).await;
                    continue;
                }
                let w = Watcher::new(id, c);
                watchers.insert(id, tokio::spawn(w.run(backend.clone(), out.clone())));
            }
            Some(RequestUnion::CancelRequest(c)) => {
                if let Some(task) = watchers.remove(&c.watch_id) {
                    task.abort();
                    let resp = response(&*backend, backend.revisions().0, c.watch_id, |r| {
                        r.canceled = true;
                    });
                    let _ = out.send(Ok(resp)).await;
                }
            }
            Some(RequestUnion::ProgressRequest(_)) => {
                let resp = response(&*backend, backend.revisions().0, -1, |_| {});
                let _ = out.send(Ok(resp)).await;
            }
            None => {}
        }
        watchers.retain(|_, t| !t.is_finished());
    }
    for (_, t) in watchers {
        t.abort();
    }
}

fn response(
    backend: &dyn Backend,
    revision: i64,
    watch_id: i64,
    f: impl FnOnce(&mut WatchResponse),
) -> WatchResponse {
    let mut header = ResponseHeader {
        revision,
        ..Default::default()
    };
    backend.fill_header(&mut header);
    let mut r = WatchResponse {
        header: Some(header),
        watch_id,
        ..Default::default()
    };
    f(&mut r);
    r
}

struct Watcher {
    id: i64,
    key: Vec<u8>,
    range_end: Vec<u8>,
    start: i64,
    no_put: bool,
    no_delete: bool,
    prev_kv: bool,
    /// Highest revision already delivered (or skipped as before the start).
    sent: i64,
}

impl Watcher {
    fn new(id: i64, c: WatchCreateRequest) -> Self {
        let has = |f: FilterType| c.filters.contains(&(f as i32));
        Watcher {
            id,
            no_put: has(FilterType::Noput),
            no_delete: has(FilterType::Nodelete),
            key: c.key,
            range_end: c.range_end,
            start: c.start_revision,
            prev_kv: c.prev_kv,
            sent: 0,
        }
    }

    fn matches(&self, ev: &Event) -> bool {
        let Some(kv) = &ev.kv else { return false };
        let is_put = ev.r#type == EventType::Put as i32;
        if (is_put && self.no_put) || (!is_put && self.no_delete) {
            return false;
        }
        let k = kv.key.as_slice();
        match self.range_end.as_slice() {
            [] => k == self.key.as_slice(),
            [0] => k >= self.key.as_slice(),
            end => k >= self.key.as_slice() && k < end,
        }
    }

    /// Sends the events above `self.sent` that match, as one response at `revision`.
    async fn deliver(
        &mut self,
        backend: &dyn Backend,
        out: &Out,
        events: &[Event],
        revision: i64,
    ) -> bool {
        let mut batch: Vec<Event> = Vec::new();
        for ev in events {
            let rev = ev.kv.as_ref().map_or(0, |kv| kv.mod_revision);
            if rev <= self.sent || !self.matches(ev) {
                continue;
            }
            let mut ev = ev.clone();
            if self.prev_kv {
                let key = ev.kv.as_ref().map(|kv| kv.key.clone()).unwrap_or_default();
                ev.prev_kv = backend.kv_at(&key, rev - 1);
            }
            batch.push(ev);
        }
        self.sent = self.sent.max(revision);
        if batch.is_empty() {
            return true;
        }
        let resp = response(backend, revision, self.id, |r| r.events = batch);
        out.send(Ok(resp)).await.is_ok()
    }

    /// Replays history from `self.sent + 1` to the current revision.
    async fn catch_up(&mut self, backend: &dyn Backend, out: &Out) -> Result<bool, EtcdError> {
        let (current, _) = backend.revisions();
        if current <= self.sent {
            return Ok(true);
        }
        let events = backend.history(self.sent + 1, current)?;
        Ok(self.deliver(backend, out, &events, current).await)
    }

    async fn run(mut self, backend: Arc<dyn Backend>, out: Out) {
        let mut live = backend.subscribe_events();
        let (current, compacted) = backend.revisions();
        let created = response(&*backend, current, self.id, |r| r.created = true);
        if out.send(Ok(created)).await.is_err() {
            return;
        }
        if self.start != 0 && self.start <= compacted {
            let resp = response(&*backend, current, self.id, |r| {
                r.canceled = true;
                r.compact_revision = compacted;
            });
            let _ = out.send(Ok(resp)).await;
            return;
        }
        self.sent = if self.start == 0 {
            current
        } else {
            self.start - 1
        };
        loop {
            match self.catch_up(&*backend, &out).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(_) => {
                    // History below us was compacted while we caught up.
                    let (current, compacted) = backend.revisions();
                    let resp = response(&*backend, current, self.id, |r| {
                        r.canceled = true;
                        r.compact_revision = compacted;
                    });
                    let _ = out.send(Ok(resp)).await;
                    return;
                }
            }
            loop {
                match live.recv().await {
                    Ok(b) => {
                        if !self.deliver(&*backend, &out, &b.events, b.revision).await {
                            return;
                        }
                    }
                    // Fell behind the live feed: re-read history, then continue live.
                    Err(broadcast::error::RecvError::Lagged(_)) => break,
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        }
    }
}
