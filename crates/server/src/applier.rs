//! Applies committed raft entries to the MVCC store and wakes the proposers waiting on them.
//!
//! Entries arrive in order, in batches (one raft Ready). A whole batch becomes one
//! `Store::apply` call, i.e. one engine write carrying the consistent index, so replaying
//! the WAL after a crash skips what the store already has (`index <= consistent_index`).

use std::sync::Arc;

use etcd_proto::etcdserverpb::InternalRaftRequest;
use grpc_api::EtcdError;
use mvcc::{Engine, Store, WriteRequest, WriteResponse};
use prost::Message;
use raft_node::{Applier, Committed};

use crate::wait::Wait;

pub type ApplyResult = Result<WriteResponse, EtcdError>;

pub struct KvApplier {
    pub store: Arc<Store>,
    pub engine: Arc<dyn Engine>,
    pub wait: Arc<Wait>,
}

/// Maps a decoded raft request onto the store's write API.
fn to_write(r: InternalRaftRequest) -> Option<WriteRequest> {
    if let Some(p) = r.put {
        Some(WriteRequest::Put(p))
    } else if let Some(d) = r.delete_range {
        Some(WriteRequest::DeleteRange(d))
    } else if let Some(t) = r.txn {
        Some(WriteRequest::Txn(t))
    } else {
        r.compaction.map(WriteRequest::Compaction)
    }
}

impl Applier for KvApplier {
    fn applied_index(&self) -> u64 {
        self.store.consistent_index()
    }

    fn apply(&mut self, entries: Vec<Committed>) {
        let applied = self.store.consistent_index();
        let Some(last) = entries.last().map(|e| e.index) else {
            return;
        };
        if last <= applied {
            return;
        }
        let mut ids = Vec::with_capacity(entries.len());
        let mut reqs = Vec::with_capacity(entries.len());
        for e in entries.into_iter().filter(|e| e.index > applied) {
            let req = match InternalRaftRequest::decode(e.data.as_slice()) {
                Ok(r) => r,
                Err(err) => {
                    tracing::error!(index = e.index, %err, "skipping undecodable raft entry");
                    continue;
                }
            };
            let id = req.header.as_ref().map(|h| h.id).unwrap_or(req.id);
            match to_write(req) {
                Some(w) => {
                    ids.push(id);
                    reqs.push(w);
                }
                None => self.wait.trigger(
                    id,
                    Err(EtcdError::Other("etcdserver: unsupported request".into())),
                ),
            }
        }
        // A storage failure here leaves the member unable to make progress safely;
        // etcd panics in the same place. The WAL still has every entry for a restart.
        let out = match self.store.apply(last, reqs) {
            Ok(out) => out,
            Err(err) => panic!("fatal: applying raft entries up to index {last} failed: {err}"),
        };
        for (id, res) in ids.into_iter().zip(out.results) {
            self.wait.trigger(id, res.map_err(EtcdError::from));
        }
    }

    fn sync_state(&mut self) -> Result<(), String> {
        self.engine.flush().map_err(|e| e.to_string())
    }
}
