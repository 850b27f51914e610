//! Reading the key space at a revision (etcd's `storeTxnRead.rangeKeys`), over any view:
//! a snapshot of the published store for clients, or the in-progress view of an apply batch.

use etcd_proto::mvccpb::KeyValue;
use parking_lot::RwLockReadGuard;
use prost::Message;

use crate::engine::CF_KEY;
use crate::errors::MvccError;
use crate::index::Index;
use crate::revision::Revision;
use crate::store::Store;

/// What reads see: a revision, the compaction floor, the index and the stored values.
pub(crate) trait ReadView {
    /// The revision reads with `revision = 0` see (etcd `Rev()`).
    fn rev(&self) -> i64;
    /// The compacted revision (etcd `FirstRev()`); reads below it fail.
    fn first_rev(&self) -> i64;
    /// The key index.
    fn index(&self) -> RwLockReadGuard<'_, Index>;
    /// The stored value of revision `rev`.
    fn fetch(&self, rev: Revision) -> Result<Option<KeyValue>, MvccError>;
    /// True if a compaction finished after the view was taken that removed revision `at_rev`.
    fn compacted_past(&self, _at_rev: i64) -> bool {
        false
    }
}

/// Options of [`range_keys`] (etcd `RangeOptions`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RangeOptions {
    /// Fetch at most this many values (`<= 0`: all).
    pub limit: i64,
    /// Revision to read at (`<= 0`: the view's revision).
    pub rev: i64,
    /// Only count the keys.
    pub count: bool,
}

/// Result of [`range_keys`] (etcd `RangeResult`).
#[derive(Debug, Default)]
pub(crate) struct RangeResult {
    /// Values, in key order, at most `limit` of them.
    pub kvs: Vec<KeyValue>,
    /// Number of keys in the range (ignores `limit`).
    pub count: usize,
    /// The view's revision.
    pub rev: i64,
}

/// Decodes a stored value.
pub(crate) fn decode_kv(bytes: &[u8]) -> Result<KeyValue, MvccError> {
    KeyValue::decode(bytes).map_err(|e| MvccError::Corrupt(format!("decode KeyValue: {e}")))
}

/// Reads the keys in the range (see [`crate::index`] for the `end` convention).
pub(crate) fn range_keys(
    view: &(impl ReadView + ?Sized),
    key: &[u8],
    end: Option<&[u8]>,
    ro: RangeOptions,
) -> Result<RangeResult, MvccError> {
    let cur = view.rev();
    if ro.rev > cur {
        return Err(MvccError::FutureRevision);
    }
    let at = if ro.rev <= 0 { cur } else { ro.rev };
    if at < view.first_rev() {
        return Err(MvccError::Compacted);
    }
    let check_compacted = || {
        if view.compacted_past(at) {
            Err(MvccError::Compacted)
        } else {
            Ok(())
        }
    };
    if ro.count {
        let count = view.index().count(key, end, at);
        check_compacted()?;
        return Ok(RangeResult {
            kvs: Vec::new(),
            count,
            rev: cur,
        });
    }
    let revs = view.index().revisions(key, end, at);
    check_compacted()?;
    let limit = match usize::try_from(ro.limit) {
        Ok(n) if n > 0 && n < revs.len() => n,
        _ => revs.len(),
    };
    let mut kvs = Vec::with_capacity(limit);
    for &rev in &revs[..limit] {
        match view.fetch(rev)? {
            Some(kv) => kvs.push(kv),
            None => {
                check_compacted()?;
                return Err(MvccError::Corrupt(format!(
                    "revision {}.{} is in the index but not stored",
                    rev.main, rev.sub
                )));
            }
        }
    }
    Ok(RangeResult {
        kvs,
        count: revs.len(),
        rev: cur,
    })
}

/// A read view of the published state of a [`Store`]: what clients see between applies.
pub(crate) struct SnapshotView<'a> {
    store: &'a Store,
    rev: i64,
    compact: i64,
}

impl<'a> SnapshotView<'a> {
    pub fn new(store: &'a Store) -> Self {
        let (rev, compact) = store.revisions();
        Self {
            store,
            rev,
            compact,
        }
    }
}

impl ReadView for SnapshotView<'_> {
    fn rev(&self) -> i64 {
        self.rev
    }

    fn first_rev(&self) -> i64 {
        self.compact
    }

    fn index(&self) -> RwLockReadGuard<'_, Index> {
        self.store.index.read()
    }

    fn fetch(&self, rev: Revision) -> Result<Option<KeyValue>, MvccError> {
        fetch_stored(self.store, rev)
    }

    fn compacted_past(&self, at_rev: i64) -> bool {
        self.store.compact_revision() > at_rev
    }
}

/// Reads the stored value of `rev` from the engine.
pub(crate) fn fetch_stored(store: &Store, rev: Revision) -> Result<Option<KeyValue>, MvccError> {
    match store.engine.get(CF_KEY, &rev.to_bytes())? {
        Some(bytes) => decode_kv(&bytes).map(Some),
        None => Ok(None),
    }
}
