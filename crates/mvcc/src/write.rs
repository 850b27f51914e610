//! Applying write requests (etcd's `storeTxnWrite` and the write half of `apply.go`).
//!
//! An [`ApplyBatch`] applies requests one after another: each one updates the in-memory
//! index right away (so later requests, and later operations of the same txn, see its
//! writes) and keeps its new values in the batch until [`ApplyBatch::commit`] writes them,
//! with the consistent index, in one engine batch and publishes the new revision. Readers
//! meanwhile read at the published revision, which the index ignores anything newer than.
//! A failed request is undone from the index; dropping a batch undoes all of it.

use etcd_proto::etcdserverpb::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, PutRequest,
    PutResponse, ResponseHeader, TxnRequest, TxnResponse,
};
use etcd_proto::mvccpb::{event::EventType, Event, KeyValue};
use parking_lot::{MutexGuard, RwLockReadGuard};
use prost::Message;

use crate::compact;
use crate::engine::{WriteBatch, CF_KEY, CF_META};
use crate::errors::MvccError;
use crate::index::Index;
use crate::range::range_end;
use crate::read::{fetch_stored, range_keys, RangeOptions, ReadView};
use crate::revision::Revision;
use crate::store::{compact_rev_bytes, Store, META_CONSISTENT_INDEX, META_SCHEDULED_COMPACT};
use crate::txn;

/// A committed write request (etcd `InternalRaftRequest` KV members).
#[derive(Debug, Clone, PartialEq)]
pub enum WriteRequest {
    /// Put one key.
    Put(PutRequest),
    /// Delete a key or a range.
    DeleteRange(DeleteRangeRequest),
    /// A transaction (it may also be read-only).
    Txn(TxnRequest),
    /// Compact the history.
    Compaction(CompactionRequest),
}

/// The response to a [`WriteRequest`]; headers carry only the revision.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteResponse {
    /// Response to [`WriteRequest::Put`].
    Put(PutResponse),
    /// Response to [`WriteRequest::DeleteRange`].
    DeleteRange(DeleteRangeResponse),
    /// Response to [`WriteRequest::Txn`].
    Txn(TxnResponse),
    /// Response to [`WriteRequest::Compaction`].
    Compaction(CompactionResponse),
}

pub(crate) fn header(revision: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        revision,
        ..Default::default()
    })
}

/// How to revert one index change.
#[derive(Debug)]
enum Undo {
    /// A put recorded as `events[event]`; `prev` is the key's previous last modification.
    Put {
        event: usize,
        prev: Option<Revision>,
    },
    /// A delete recorded as `events[event]`.
    Tombstone { event: usize, prev: Revision },
}

/// Requests applied but not yet committed. Holds the store's apply lock until it is
/// committed or dropped (dropping undoes everything).
pub struct ApplyBatch<'a> {
    store: &'a Store,
    _guard: MutexGuard<'a, ()>,
    /// Revision readers see (the last published one).
    published: i64,
    /// Store revision after the requests applied so far.
    rev: i64,
    /// Compacted revision after the requests applied so far.
    compact: i64,
    /// Compaction to run after the commit.
    scheduled_compact: Option<i64>,
    /// Every change so far, in revision order; `event_revs[i]` is the revision of `events[i]`.
    events: Vec<Event>,
    event_revs: Vec<Revision>,
    undo: Vec<Undo>,
    extra: WriteBatch,
}

impl<'a> ApplyBatch<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        let guard = store.apply_lock.lock();
        let (published, compact) = store.revisions();
        Self {
            store,
            _guard: guard,
            published,
            rev: published,
            compact,
            scheduled_compact: None,
            events: Vec::new(),
            event_revs: Vec::new(),
            undo: Vec::new(),
            extra: WriteBatch::new(),
        }
    }

    /// Store revision after the requests applied so far.
    pub fn revision(&self) -> i64 {
        self.rev
    }

    /// Every change applied so far in this batch, in revision order (callers that keep
    /// per-key bookkeeping, such as lease attachments, follow it request by request).
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Engine operations of other tables (leases, auth, ...) to commit atomically with the
    /// batch. They are not undone when a request fails.
    pub fn extra_writes(&mut self) -> &mut WriteBatch {
        &mut self.extra
    }

    /// Applies one request, with every lease considered to exist.
    pub fn apply(&mut self, req: WriteRequest) -> Result<WriteResponse, MvccError> {
        self.apply_with_leases(req, &|_| true)
    }

    /// Applies one request. `lease_exists` answers whether a lease ID names a live lease
    /// (puts with an unknown lease fail with [`MvccError::LeaseNotFound`]). On error nothing
    /// of the request remains.
    pub fn apply_with_leases(
        &mut self,
        req: WriteRequest,
        lease_exists: &dyn Fn(i64) -> bool,
    ) -> Result<WriteResponse, MvccError> {
        let (n_events, n_undo) = (self.events.len(), self.undo.len());
        let mut tw = WriteTxn {
            begin_rev: self.rev,
            changes: 0,
            batch: self,
        };
        let res = match req {
            WriteRequest::Put(p) => tw
                .put_request(p, Some(lease_exists))
                .map(WriteResponse::Put),
            WriteRequest::DeleteRange(d) => tw.delete_range(d).map(WriteResponse::DeleteRange),
            WriteRequest::Txn(t) => txn::txn(&mut tw, t, lease_exists).map(WriteResponse::Txn),
            WriteRequest::Compaction(c) => tw.batch.compaction(c).map(WriteResponse::Compaction),
        };
        let changed = tw.changes > 0;
        match res {
            Ok(resp) => {
                if changed {
                    self.rev += 1;
                }
                Ok(resp)
            }
            Err(e) => {
                self.rollback(n_events, n_undo);
                Err(e)
            }
        }
    }

    fn compaction(&mut self, c: CompactionRequest) -> Result<CompactionResponse, MvccError> {
        if c.revision <= self.compact {
            return Err(MvccError::Compacted);
        }
        if c.revision > self.rev {
            return Err(MvccError::FutureRevision);
        }
        self.compact = c.revision;
        self.scheduled_compact = Some(c.revision);
        Ok(CompactionResponse {
            header: header(self.rev),
        })
    }

    /// Undoes the index changes recorded after `undo[n_undo]` and forgets events from
    /// `n_events` on.
    fn rollback(&mut self, n_events: usize, n_undo: usize) {
        if self.undo.len() > n_undo {
            let mut index = self.store.index.write();
            for u in self.undo.drain(n_undo..).rev() {
                match u {
                    Undo::Put { event, prev } => {
                        index.undo_put(event_key(&self.events[event]), prev)
                    }
                    Undo::Tombstone { event, prev } => {
                        index.undo_tombstone(event_key(&self.events[event]), prev)
                    }
                }
            }
        }
        self.events.truncate(n_events);
        self.event_revs.truncate(n_events);
    }

    /// Writes every change plus `applied_index` in one engine batch, publishes the new
    /// revision, then runs a compaction the batch requested. Returns the events (in revision
    /// order) and the new store revision. On `Err` nothing was applied.
    pub fn commit(mut self, applied_index: u64) -> Result<(Vec<Event>, i64), MvccError> {
        let mut wb = WriteBatch::new();
        for (ev, rev) in self.events.iter().zip(&self.event_revs) {
            let kv = ev
                .kv
                .as_ref()
                .ok_or_else(|| MvccError::Corrupt("event without kv".into()))?;
            if ev.r#type == EventType::Delete as i32 {
                let tomb = KeyValue {
                    key: kv.key.clone(),
                    ..Default::default()
                };
                wb.put(CF_KEY, rev.to_key(true), tomb.encode_to_vec());
            } else {
                wb.put(CF_KEY, rev.to_key(false), kv.encode_to_vec());
            }
        }
        wb.put(CF_META, META_CONSISTENT_INDEX, applied_index.to_be_bytes());
        if let Some(c) = self.scheduled_compact {
            wb.put(CF_META, META_SCHEDULED_COMPACT, compact_rev_bytes(c));
        }
        for op in std::mem::take(&mut self.extra).into_ops() {
            wb.push(op);
        }
        // On error `self` drops here and undoes the index changes.
        self.store.engine.write(wb, false)?;

        self.undo.clear();
        self.store.state.write().current = self.rev;
        self.store
            .consistent_index
            .store(applied_index, std::sync::atomic::Ordering::Release);
        if let Some(c) = self.scheduled_compact {
            if let Err(e) = compact::compact(self.store, c) {
                // The batch is applied; the next open (or compaction) finishes the job.
                tracing::error!(revision = c, error = %e, "mvcc: compaction failed");
            }
        }
        Ok((std::mem::take(&mut self.events), self.rev))
    }
}

impl Drop for ApplyBatch<'_> {
    fn drop(&mut self) {
        self.rollback(0, 0);
    }
}

fn event_key(ev: &Event) -> &[u8] {
    ev.kv.as_ref().map_or(&[], |kv| &kv.key)
}

/// One request being applied (etcd `storeTxnWrite`): all its changes share main revision
/// `begin_rev + 1`, sub revisions count up from 0.
pub(crate) struct WriteTxn<'b, 'a> {
    pub batch: &'b mut ApplyBatch<'a>,
    /// Store revision before the request.
    pub begin_rev: i64,
    /// Changes made so far.
    pub changes: i64,
}

impl WriteTxn<'_, '_> {
    /// Records a put; returns its main revision.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>, lease: i64) -> Result<i64, MvccError> {
        let rev = self.begin_rev + 1;
        let idx_rev = Revision::new(rev, self.changes);
        let (found, prev) = {
            let mut index = self.batch.store.index.write();
            let found = index.get(&key, rev);
            (found, index.put(&key, idx_rev)?)
        };
        let (create_revision, version) = match found {
            Some(f) => (f.created.main, f.version + 1),
            None => (rev, 1),
        };
        let kv = KeyValue {
            key,
            create_revision,
            mod_revision: rev,
            version,
            value,
            lease,
        };
        self.record(EventType::Put, kv, idx_rev);
        self.batch.undo.push(Undo::Put {
            event: self.batch.events.len() - 1,
            prev,
        });
        Ok(rev)
    }

    /// Records deletes of every live key in the range; returns how many.
    pub fn delete_keys(&mut self, key: &[u8], end: Option<&[u8]>) -> Result<i64, MvccError> {
        let keys = self.batch.store.index.read().keys(key, end, self.rev());
        let rev = self.begin_rev + 1;
        for k in &keys {
            let idx_rev = Revision::new(rev, self.changes);
            let prev = self.batch.store.index.write().tombstone(k, idx_rev)?;
            let prev = prev.ok_or_else(|| {
                MvccError::Corrupt(format!(
                    "cannot tombstone live key {:?}",
                    String::from_utf8_lossy(k)
                ))
            })?;
            let kv = KeyValue {
                key: k.clone(),
                mod_revision: rev,
                ..Default::default()
            };
            self.record(EventType::Delete, kv, idx_rev);
            self.batch.undo.push(Undo::Tombstone {
                event: self.batch.events.len() - 1,
                prev,
            });
        }
        Ok(keys.len() as i64)
    }

    fn record(&mut self, ty: EventType, kv: KeyValue, rev: Revision) {
        self.batch.events.push(Event {
            r#type: ty as i32,
            kv: Some(kv),
            prev_kv: None,
        });
        self.batch.event_revs.push(rev);
        self.changes += 1;
    }

    /// The current value of `key` as this request sees it.
    fn get(&self, key: &[u8]) -> Result<Option<KeyValue>, MvccError> {
        let rr = range_keys(self, key, None, RangeOptions::default())?;
        Ok(rr.kvs.into_iter().next())
    }

    /// A Put request (etcd `applierV3backend.Put`). `lease_exists` is `None` inside a txn,
    /// whose leases were checked before it ran.
    pub fn put_request(
        &mut self,
        p: PutRequest,
        lease_exists: Option<&dyn Fn(i64) -> bool>,
    ) -> Result<PutResponse, MvccError> {
        if let Some(exists) = lease_exists {
            if p.lease != 0 && !exists(p.lease) {
                return Err(MvccError::LeaseNotFound);
            }
        }
        let PutRequest {
            key,
            mut value,
            mut lease,
            prev_kv,
            ignore_value,
            ignore_lease,
        } = p;
        let prev = if ignore_value || ignore_lease || prev_kv {
            self.get(&key)?
        } else {
            None
        };
        if ignore_value || ignore_lease {
            let Some(prev) = &prev else {
                return Err(MvccError::KeyNotFound);
            };
            if ignore_value {
                value = prev.value.clone();
            }
            if ignore_lease {
                lease = prev.lease;
            }
        }
        let rev = self.put(key, value, lease)?;
        Ok(PutResponse {
            header: header(rev),
            prev_kv: if prev_kv { prev } else { None },
        })
    }

    /// A DeleteRange request (etcd `applierV3backend.DeleteRange`).
    pub fn delete_range(
        &mut self,
        d: DeleteRangeRequest,
    ) -> Result<DeleteRangeResponse, MvccError> {
        let end = range_end(&d.range_end);
        let prev_kvs = if d.prev_kv {
            range_keys(self, &d.key, end, RangeOptions::default())?.kvs
        } else {
            Vec::new()
        };
        let deleted = self.delete_keys(&d.key, end)?;
        let rev = if deleted != 0 || self.changes > 0 {
            self.begin_rev + 1
        } else {
            self.begin_rev
        };
        Ok(DeleteRangeResponse {
            header: header(rev),
            deleted,
            prev_kvs,
        })
    }
}

impl ReadView for WriteTxn<'_, '_> {
    /// The request's own writes are visible once it made any.
    fn rev(&self) -> i64 {
        if self.changes > 0 {
            self.begin_rev + 1
        } else {
            self.begin_rev
        }
    }

    fn first_rev(&self) -> i64 {
        self.batch.compact
    }

    fn index(&self) -> RwLockReadGuard<'_, Index> {
        self.batch.store.index.read()
    }

    fn fetch(&self, rev: Revision) -> Result<Option<KeyValue>, MvccError> {
        if rev.main <= self.batch.published {
            return fetch_stored(self.batch.store, rev);
        }
        Ok(self
            .batch
            .event_revs
            .binary_search(&rev)
            .ok()
            .and_then(|i| self.batch.events[i].kv.clone()))
    }
}
