//! An in-memory [`Store`] with etcd's revision semantics, just enough for the recipes:
//! ranges (prefix, sort by create revision, limit, max create revision), txns comparing
//! create revisions, puts on leases, deletes, watches from a revision, lease revoke.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use etcd_proto::etcdserverpb::compare::TargetUnion;
use etcd_proto::etcdserverpb::range_request::SortOrder;
use etcd_proto::etcdserverpb::request_op::Request;
use etcd_proto::etcdserverpb::response_op::Response;
use etcd_proto::etcdserverpb::{
    RangeRequest, RangeResponse, ResponseHeader, ResponseOp, TxnRequest, TxnResponse,
};
use etcd_proto::mvccpb::{event::EventType, Event, KeyValue};
use futures::StreamExt;
use tokio::sync::broadcast;

use crate::store::{Store, WatchBatch, WatchStream};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MemError(pub &'static str);

#[derive(Default)]
struct State {
    rev: i64,
    kvs: BTreeMap<Vec<u8>, KeyValue>,
    leases: HashSet<i64>,
    next_lease: i64,
    history: Vec<Event>,
}

pub struct MemStore {
    state: Mutex<State>,
    feed: broadcast::Sender<WatchBatch>,
}

fn in_range(key: &[u8], start: &[u8], end: &[u8]) -> bool {
    match end {
        [] => key == start,
        [0] => key >= start,
        end => key >= start && key < end,
    }
}

impl MemStore {
    pub fn new() -> Self {
        MemStore {
            state: Mutex::new(State {
                rev: 1,
                next_lease: 0x10,
                ..Default::default()
            }),
            feed: broadcast::channel(1024).0,
        }
    }

    fn header(rev: i64) -> Option<ResponseHeader> {
        Some(ResponseHeader {
            revision: rev,
            ..Default::default()
        })
    }

    fn range_in(s: &State, req: &RangeRequest) -> RangeResponse {
        let mut kvs: Vec<KeyValue> = s
            .kvs
            .values()
            .filter(|kv| in_range(&kv.key, &req.key, &req.range_end))
            .filter(|kv| {
                req.max_create_revision == 0 || kv.create_revision <= req.max_create_revision
            })
            .cloned()
            .collect();
        let count = kvs.len() as i64;
        if req.sort_order == SortOrder::Ascend as i32 {
            kvs.sort_by_key(|kv| kv.create_revision);
        } else if req.sort_order == SortOrder::Descend as i32 {
            kvs.sort_by_key(|kv| -kv.create_revision);
        }
        if req.limit > 0 {
            kvs.truncate(req.limit as usize);
        }
        RangeResponse {
            header: Self::header(s.rev),
            kvs,
            count,
            more: false,
        }
    }

    /// Applies the write `events` at a new revision (none: no new revision).
    fn commit(&self, s: &mut State, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        s.history.extend(events.iter().cloned());
        let _ = self.feed.send(WatchBatch {
            header: Self::header(s.rev).unwrap_or_default(),
            events,
        });
    }

    fn delete_in(s: &mut State, key: &[u8], rev: i64) -> Option<Event> {
        s.kvs.remove(key)?;
        Some(Event {
            r#type: EventType::Delete as i32,
            kv: Some(KeyValue {
                key: key.to_vec(),
                mod_revision: rev,
                ..Default::default()
            }),
            prev_kv: None,
        })
    }
}

impl Store for MemStore {
    type Error = MemError;

    async fn range(&self, req: RangeRequest) -> Result<RangeResponse, MemError> {
        Ok(Self::range_in(&self.state.lock().unwrap(), &req))
    }

    async fn txn(&self, req: TxnRequest) -> Result<TxnResponse, MemError> {
        let mut s = self.state.lock().unwrap();
        let succeeded = req.compare.iter().all(|c| {
            let create = s.kvs.get(&c.key).map_or(0, |kv| kv.create_revision);
            matches!(c.target_union, Some(TargetUnion::CreateRevision(r)) if r == create)
        });
        let ops = if succeeded { req.success } else { req.failure };
        let rev = s.rev + 1;
        let mut events = Vec::new();
        let mut responses = Vec::new();
        for op in ops {
            let resp = match op.request {
                Some(Request::RequestRange(r)) => Response::ResponseRange(Self::range_in(&s, &r)),
                Some(Request::RequestPut(p)) => {
                    if p.lease != 0 && !s.leases.contains(&p.lease) {
                        return Err(MemError("etcdserver: requested lease not found"));
                    }
                    let old = s.kvs.get(&p.key).cloned();
                    let kv = KeyValue {
                        key: p.key.clone(),
                        create_revision: old.as_ref().map_or(rev, |o| o.create_revision),
                        mod_revision: rev,
                        version: old.as_ref().map_or(1, |o| o.version + 1),
                        value: p.value,
                        lease: p.lease,
                    };
                    s.kvs.insert(p.key, kv.clone());
                    events.push(Event {
                        r#type: EventType::Put as i32,
                        kv: Some(kv),
                        prev_kv: None,
                    });
                    Response::ResponsePut(Default::default())
                }
                Some(Request::RequestDeleteRange(d)) => {
                    events.extend(Self::delete_in(&mut s, &d.key, rev));
                    Response::ResponseDeleteRange(Default::default())
                }
                _ => return Err(MemError("unsupported op")),
            };
            responses.push(ResponseOp {
                response: Some(resp),
            });
        }
        if !events.is_empty() {
            s.rev = rev;
        }
        self.commit(&mut s, events);
        Ok(TxnResponse {
            header: Self::header(s.rev),
            succeeded,
            responses,
        })
    }

    async fn watch(
        &self,
        key: Vec<u8>,
        range_end: Vec<u8>,
        start_rev: i64,
    ) -> Result<WatchStream<MemError>, MemError> {
        let s = self.state.lock().unwrap();
        let live = tokio_stream_from(self.feed.subscribe());
        let matches = move |e: &Event| {
            e.kv.as_ref().is_some_and(|kv| {
                in_range(&kv.key, &key, &range_end) && kv.mod_revision >= start_rev
            })
        };
        let past: Vec<Event> = s.history.iter().filter(|e| matches(e)).cloned().collect();
        let first = (!past.is_empty()).then(|| WatchBatch {
            header: Self::header(s.rev).unwrap_or_default(),
            events: past,
        });
        let current = s.rev;
        let live = live.filter_map(move |b| {
            let events: Vec<Event> = b.events.iter().filter(|e| matches(e)).cloned().collect();
            let keep = b.header.revision > current && !events.is_empty();
            async move {
                keep.then_some(Ok(WatchBatch {
                    header: b.header,
                    events,
                }))
            }
        });
        Ok(futures::stream::iter(first.map(Ok)).chain(live).boxed())
    }

    async fn lease_grant(&self, _ttl: i64) -> Result<i64, MemError> {
        let mut s = self.state.lock().unwrap();
        s.next_lease += 1;
        let id = s.next_lease;
        s.leases.insert(id);
        Ok(id)
    }

    async fn keep_alive(&self, _id: i64, _ttl: i64) {
        std::future::pending::<()>().await
    }

    async fn lease_revoke(&self, id: i64) -> Result<(), MemError> {
        let mut s = self.state.lock().unwrap();
        s.leases.remove(&id);
        let keys: Vec<Vec<u8>> = s
            .kvs
            .values()
            .filter(|kv| kv.lease == id)
            .map(|kv| kv.key.clone())
            .collect();
        let rev = s.rev + 1;
        let events: Vec<Event> = keys
            .iter()
            .filter_map(|k| Self::delete_in(&mut s, k, rev))
            .collect();
        if !events.is_empty() {
            s.rev = rev;
        }
        self.commit(&mut s, events);
        Ok(())
    }
}

/// The live feed as a stream (lagging is not expected in these small tests).
fn tokio_stream_from(
    rx: broadcast::Receiver<WatchBatch>,
) -> futures::stream::BoxStream<'static, WatchBatch> {
    futures::stream::unfold(rx, |mut rx| async move {
        let batch = rx.recv().await.ok()?;
        Some((batch, rx))
    })
    .boxed()
}
