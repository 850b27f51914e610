//! Opening a store: rebuild the key index from the `key` column family in revision order
//! (etcd's `store.restore`), read the consistent index and compaction marks from `meta`,
//! and finish a compaction that was requested but not completed.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::compact;
use crate::engine::{Engine, CF_KEY, CF_META};
use crate::errors::MvccError;
use crate::index::Index;
use crate::read::decode_kv;
use crate::revision::{Revision, REV_BYTES_LEN};
use crate::store::{
    RevState, Store, META_CONSISTENT_INDEX, META_FINISHED_COMPACT, META_SCHEDULED_COMPACT,
};

pub(crate) fn open(engine: Arc<dyn Engine>) -> Result<Store, MvccError> {
    let consistent_index = match engine.get(CF_META, META_CONSISTENT_INDEX)? {
        Some(b) => u64::from_be_bytes(
            b.as_slice()
                .try_into()
                .map_err(|_| MvccError::Corrupt(format!("bad consistent index {b:?}")))?,
        ),
        None => 0,
    };
    let finished = read_compact_rev(engine.as_ref(), META_FINISHED_COMPACT)?;
    let scheduled = read_compact_rev(engine.as_ref(), META_SCHEDULED_COMPACT)?;
    let compact = finished.unwrap_or(-1);

    let mut index = Index::default();
    let mut current = 1;
    let mut failure = None;
    let start = Revision::new(1, 0).to_bytes();
    engine.scan(CF_KEY, &start, &[], &mut |k, v| {
        let res = Revision::from_key(k).and_then(|(rev, tombstone)| {
            let kv = decode_kv(v)?;
            index.restore(&kv.key, rev, tombstone, kv.create_revision, kv.version)?;
            current = rev.main;
            Ok(())
        });
        match res {
            Ok(()) => true,
            Err(e) => {
                failure = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    current = current.max(compact);

    let store = Store {
        engine,
        index: RwLock::new(index),
        state: RwLock::new(RevState { current, compact }),
        consistent_index: AtomicU64::new(consistent_index),
        apply_lock: Mutex::new(()),
    };
    if let Some(s) = scheduled {
        if s > compact && s <= current {
            tracing::info!(revision = s, "mvcc: resuming scheduled compaction");
            let _guard = store.apply_lock.lock();
            compact::compact(&store, s)?;
        }
    }
    tracing::info!(
        current_revision = current,
        compact_revision = compact,
        consistent_index,
        "mvcc: restored store"
    );
    Ok(store)
}

fn read_compact_rev(engine: &dyn Engine, key: &[u8]) -> Result<Option<i64>, MvccError> {
    match engine.get(CF_META, key)? {
        None => Ok(None),
        Some(b) if b.len() == REV_BYTES_LEN => Ok(Some(Revision::from_key(&b)?.0.main)),
        Some(b) => Err(MvccError::Corrupt(format!(
            "bad {} value {b:?}",
            String::from_utf8_lossy(key)
        ))),
    }
}
