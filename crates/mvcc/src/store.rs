//! The MVCC store: the in-memory index over the engine, its revisions, and the entry
//! points (reads for clients, [`Store::apply`] for the raft applier).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use etcd_proto::etcdserverpb::{RangeRequest, RangeResponse, TxnRequest, TxnResponse};
use etcd_proto::mvccpb::Event;
use parking_lot::{Mutex, RwLock};

use crate::engine::Engine;
use crate::errors::MvccError;
use crate::index::Index;
use crate::read::{ReadView, SnapshotView};
use crate::revision::{Revision, REV_BYTES_LEN};
use crate::write::{ApplyBatch, WriteRequest, WriteResponse};
use crate::{range, restore, txn};

/// Key in `meta` of the last applied raft index (8 bytes, big-endian), as in etcd.
pub const META_CONSISTENT_INDEX: &[u8] = b"consistent_index";
/// Key in `meta` of the revision of the last compaction requested (revision bytes), as in etcd.
pub const META_SCHEDULED_COMPACT: &[u8] = b"scheduledCompactRev";
/// Key in `meta` of the revision of the last compaction completed (revision bytes), as in etcd.
pub const META_FINISHED_COMPACT: &[u8] = b"finishedCompactRev";

/// Revisions readers see; changed only when a batch is published.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RevState {
    /// Store revision of the last published batch.
    pub current: i64,
    /// Compacted revision (-1 if never compacted).
    pub compact: i64,
}

/// What [`Store::apply`] produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyOutput {
    /// One result per request, in order. A failed request changed nothing.
    pub results: Vec<Result<WriteResponse, MvccError>>,
    /// Every change of the batch, in revision order (`prev_kv` is not filled; a delete's
    /// `kv` holds the key and its `mod_revision`, as etcd's watch events).
    pub events: Vec<Event>,
    /// Store revision after the batch.
    pub revision: i64,
}

/// etcd's multi-version key-value store over an [`Engine`].
///
/// Reads run concurrently with an apply and see the state of the last published batch;
/// applies are serialized.
pub struct Store {
    pub(crate) engine: Arc<dyn Engine>,
    pub(crate) index: RwLock<Index>,
    pub(crate) state: RwLock<RevState>,
    pub(crate) consistent_index: AtomicU64,
    /// Serializes apply batches.
    pub(crate) apply_lock: Mutex<()>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = *self.state.read();
        f.debug_struct("Store")
            .field("current_revision", &st.current)
            .field("compact_revision", &st.compact)
            .field("consistent_index", &self.consistent_index())
            .finish()
    }
}

impl Store {
    /// Opens the store, rebuilding the in-memory key index from the `key` column family (as
    /// etcd does on restart) and finishing a compaction that was interrupted.
    pub fn open(engine: Arc<dyn Engine>) -> Result<Store, MvccError> {
        restore::open(engine)
    }

    /// The engine under the store (other tables live in its other column families).
    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    /// The raft index of the last applied entry, persisted with the changes it made.
    pub fn consistent_index(&self) -> u64 {
        self.consistent_index.load(Ordering::Acquire)
    }

    /// The store revision: 1 for an empty store, bumped by every request that changes keys.
    pub fn current_revision(&self) -> i64 {
        self.state.read().current
    }

    /// The compacted revision (etcd's `compactMainRev`): -1 if the store was never compacted.
    /// Reads below it fail with [`MvccError::Compacted`].
    pub fn compact_revision(&self) -> i64 {
        self.state.read().compact
    }

    /// `(current, compact)` read together.
    pub(crate) fn revisions(&self) -> (i64, i64) {
        let st = *self.state.read();
        (st.current, st.compact)
    }

    /// Serves a Range request at the published state. The header carries only the revision
    /// (the store revision when the read started); the server fills in the rest.
    pub fn range(&self, req: &RangeRequest) -> Result<RangeResponse, MvccError> {
        self.read(|view| range::range(view, req))
    }

    /// Serves a read-only Txn (only Range operations, see [`is_txn_read_only`]) at the
    /// published state, without going through [`Store::apply`], as etcd does.
    pub fn txn_read(&self, req: &TxnRequest) -> Result<TxnResponse, MvccError> {
        if !txn::is_txn_read_only(req) {
            return Err(MvccError::InvalidRequest(
                "txn_read given a transaction that writes".into(),
            ));
        }
        self.read(|view| txn::txn(view, req.clone(), &|_| true))
    }

    /// Runs `f` on a snapshot of the published state. A read that fails with `Compacted`
    /// because a compaction finished while it ran (past the revision it read at) is retried
    /// on a fresh snapshot: a read that was valid when it started never reports it.
    fn read<T>(
        &self,
        f: impl Fn(&mut SnapshotView<'_>) -> Result<T, MvccError>,
    ) -> Result<T, MvccError> {
        const ATTEMPTS: usize = 8;
        let mut attempt = 0;
        loop {
            let mut view = SnapshotView::new(self);
            let started_compact = view.first_rev();
            match f(&mut view) {
                Err(MvccError::Compacted)
                    if attempt + 1 < ATTEMPTS && self.compact_revision() != started_compact =>
                {
                    attempt += 1;
                }
                res => return res,
            }
        }
    }

    /// Starts an apply batch (waits for the previous one to finish). See [`ApplyBatch`].
    pub fn begin(&self) -> ApplyBatch<'_> {
        ApplyBatch::new(self)
    }

    /// Applies committed write requests in order, with every lease considered to exist. See
    /// [`Store::apply_with_leases`].
    pub fn apply(
        &self,
        applied_index: u64,
        reqs: Vec<WriteRequest>,
    ) -> Result<ApplyOutput, MvccError> {
        self.apply_with_leases(applied_index, reqs, &|_| true)
    }

    /// Applies committed write requests in order: all their changes plus `applied_index`
    /// (the raft index of the last entry) go in one engine batch. A request that fails
    /// (e.g. [`MvccError::KeyNotFound`], or [`MvccError::LeaseNotFound`] when
    /// `lease_exists` says no) changes nothing and does not bump the revision.
    ///
    /// `Err` (engine failure or corrupt data) means nothing of the batch was applied.
    pub fn apply_with_leases(
        &self,
        applied_index: u64,
        reqs: Vec<WriteRequest>,
        lease_exists: &dyn Fn(i64) -> bool,
    ) -> Result<ApplyOutput, MvccError> {
        let mut batch = self.begin();
        let mut results = Vec::with_capacity(reqs.len());
        for req in reqs {
            let res = batch.apply_with_leases(req, lease_exists);
            if let Err(e @ (MvccError::Engine(_) | MvccError::Corrupt(_))) = res {
                return Err(e);
            }
            results.push(res);
        }
        let (events, revision) = batch.commit(applied_index)?;
        Ok(ApplyOutput {
            results,
            events,
            revision,
        })
    }
}

/// True if the transaction has only Range operations in both branches (etcd's
/// `isTxnReadonly`): the server may serve it with [`Store::txn_read`].
pub fn is_txn_read_only(req: &TxnRequest) -> bool {
    txn::is_txn_read_only(req)
}

/// Encodes a compaction revision for `meta` (etcd writes a full revision, sub 0).
pub(crate) fn compact_rev_bytes(rev: i64) -> [u8; REV_BYTES_LEN] {
    Revision::new(rev, 0).to_bytes()
}

#[cfg(test)]
mod tests {
    #[test]
    fn store_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::Store>();
    }
}
