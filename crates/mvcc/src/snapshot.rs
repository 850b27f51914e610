//! The whole backend as one blob, for raft snapshots: a member that fell behind the
//! leader's log compaction gets the leader's backend instead of the log.
//!
//! Format: records `[cf name len u8][cf name][key len u32 BE][key][value len u32 BE]
//! [value]`, in [`Engine::dump`] order, then a trailer `"ETCDRS-SNAP"` + crc32 (BE) of
//! everything before it. The blob is taken at one consistent point in time, so its
//! consistent index (in `meta`) says which raft entries it already contains.

use std::sync::atomic::Ordering;

use crate::engine::{column_family, Engine, WriteBatch};
use crate::errors::MvccError;
use crate::restore;
use crate::store::Store;

const TRAILER_MAGIC: &[u8] = b"ETCDRS-SNAP";

impl Store {
    /// A consistent copy of every column family of the engine (the MVCC store and the
    /// tables other crates keep beside it).
    pub fn snapshot_data(&self) -> Result<Vec<u8>, MvccError> {
        encode(self.engine.as_ref())
    }

    /// Replaces the whole backend with `data` (from [`Store::snapshot_data`], possibly on
    /// another member) and reloads the store from it: index, revisions, compaction and
    /// consistent index all become the snapshot's. Applies are excluded meanwhile.
    pub fn restore_data(&self, data: &[u8]) -> Result<(), MvccError> {
        let batch = decode(data)?;
        let _guard = self.apply_lock.lock();
        self.engine.replace_all(batch)?;
        let fresh = restore::open(self.engine.clone())?;
        *self.index.write() = fresh.index.into_inner();
        *self.state.write() = fresh.state.into_inner();
        self.consistent_index
            .store(fresh.consistent_index.into_inner(), Ordering::SeqCst);
        Ok(())
    }
}

fn encode(engine: &dyn Engine) -> Result<Vec<u8>, MvccError> {
    let mut out = Vec::new();
    engine.dump(&mut |cf, k, v| {
        out.push(cf.len() as u8);
        out.extend_from_slice(cf.as_bytes());
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k);
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v);
        true
    })?;
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(TRAILER_MAGIC);
    out.extend_from_slice(&crc.to_be_bytes());
    Ok(out)
}

fn decode(data: &[u8]) -> Result<WriteBatch, MvccError> {
    let bad = |why: &str| MvccError::Corrupt(format!("backend snapshot: {why}"));
    let body_len = data
        .len()
        .checked_sub(TRAILER_MAGIC.len() + 4)
        .ok_or_else(|| bad("too short"))?;
    let (body, trailer) = data.split_at(body_len);
    if &trailer[..TRAILER_MAGIC.len()] != TRAILER_MAGIC {
        return Err(bad("missing trailer"));
    }
    let want = u32::from_be_bytes(trailer[TRAILER_MAGIC.len()..].try_into().expect("4 bytes"));
    if crc32fast::hash(body) != want {
        return Err(bad("checksum mismatch"));
    }
    let mut batch = WriteBatch::new();
    let mut rest = body;
    while !rest.is_empty() {
        let cf_len = rest[0] as usize;
        let cf = take(&mut rest, 1, cf_len).ok_or_else(|| bad("truncated record"))?;
        let cf = std::str::from_utf8(cf)
            .ok()
            .and_then(column_family)
            .ok_or_else(|| bad("unknown column family"))?;
        let key = take_prefixed(&mut rest).ok_or_else(|| bad("truncated key"))?;
        let value = take_prefixed(&mut rest).ok_or_else(|| bad("truncated value"))?;
        batch.put(cf, key.to_vec(), value.to_vec());
    }
    Ok(batch)
}

/// Skips `skip` bytes, then takes `len`.
fn take<'a>(rest: &mut &'a [u8], skip: usize, len: usize) -> Option<&'a [u8]> {
    let end = skip.checked_add(len)?;
    let out = rest.get(skip..end)?;
    *rest = &rest[end..];
    Some(out)
}

fn take_prefixed<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    take(rest, 4, len)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use etcd_proto::etcdserverpb::PutRequest;

    use crate::{MemEngine, Store, WriteRequest};

    fn put(k: &str, v: &str) -> WriteRequest {
        WriteRequest::Put(PutRequest {
            key: k.into(),
            value: v.into(),
            ..Default::default()
        })
    }

    #[test]
    fn restore_replaces_everything_and_keeps_revisions() {
        let a = Store::open(Arc::new(MemEngine::new())).unwrap();
        a.apply(7, vec![put("x", "1"), put("y", "2")]).unwrap();
        a.apply(9, vec![put("x", "3")]).unwrap();
        let data = a.snapshot_data().unwrap();

        let b = Store::open(Arc::new(MemEngine::new())).unwrap();
        b.apply(100, vec![put("stale", "z")]).unwrap();
        b.restore_data(&data).unwrap();
        assert_eq!(b.consistent_index(), 9);
        assert_eq!(b.current_revision(), a.current_revision());
        assert_eq!(b.hash_kv(0).unwrap(), a.hash_kv(0).unwrap());
        // The stale key is gone; b goes on from a's state.
        b.apply(10, vec![put("w", "4")]).unwrap();
        assert_eq!(b.current_revision(), a.current_revision() + 1);
    }

    #[test]
    fn damaged_blobs_are_refused_and_change_nothing() {
        let a = Store::open(Arc::new(MemEngine::new())).unwrap();
        a.apply(3, vec![put("k", "v")]).unwrap();
        let data = a.snapshot_data().unwrap();
        let b = Store::open(Arc::new(MemEngine::new())).unwrap();
        b.apply(1, vec![put("mine", "1")]).unwrap();
        let before = b.hash_kv(0).unwrap();
        let mut flipped = data.clone();
        flipped[5] ^= 0x40;
        for bad in [&data[..data.len() - 1], &flipped[..], &[][..]] {
            assert!(b.restore_data(bad).is_err());
        }
        assert_eq!(b.hash_kv(0).unwrap(), before);
        assert_eq!(b.consistent_index(), 1);
    }
}
