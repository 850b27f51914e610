//! Compaction (etcd's `kvstore_compaction.go`): drop every revision at or below the
//! compaction revision except, for each key, the one holding its value there.
//!
//! Runs synchronously after the batch that requested it: the compacted revision is
//! published first (so readers of older revisions fail with `Compacted` rather than see a
//! half-compacted index), then the index is compacted, then the dropped revisions are
//! deleted from the engine together with the `finishedCompactRev` mark.

use crate::engine::{WriteBatch, CF_KEY, CF_META};
use crate::errors::MvccError;
use crate::revision::Revision;
use crate::store::{compact_rev_bytes, Store, META_FINISHED_COMPACT};

/// Compacts `store` at `rev`. The caller holds the apply lock and has persisted the
/// scheduled compaction revision.
pub(crate) fn compact(store: &Store, rev: i64) -> Result<(), MvccError> {
    {
        let mut st = store.state.write();
        st.compact = st.compact.max(rev);
    }
    let keep = store.index.write().compact(rev);

    let end = ((rev + 1) as u64).to_be_bytes();
    let mut wb = WriteBatch::new();
    let mut bad_key = None;
    store.engine.scan(CF_KEY, &[], &end, &mut |k, _| {
        match Revision::from_key(k) {
            Ok((r, _)) if keep.contains(&r) => {}
            Ok(_) => wb.delete(CF_KEY, k),
            Err(e) => {
                bad_key = Some(e);
                return false;
            }
        }
        true
    })?;
    if let Some(e) = bad_key {
        return Err(e);
    }
    let deleted = wb.len();
    wb.put(CF_META, META_FINISHED_COMPACT, compact_rev_bytes(rev));
    store.engine.write(wb, false)?;
    tracing::info!(revision = rev, deleted, "mvcc: finished compaction");
    Ok(())
}
