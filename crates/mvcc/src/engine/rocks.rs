//! RocksDB engine: one database, one column family per table.
//!
//! RocksDB's own WAL is disabled: durability comes from the raft WAL plus the consistent
//! index stored in the same batch as the data. `atomic_flush` is on, so whenever RocksDB
//! persists memtables (when full, on [`Engine::flush`], on close) it persists all column
//! families up to the same sequence number: after a crash the database is a prefix of the
//! batches written, never a mix, and the consistent index matches the data.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use rocksdb::{
    properties, BottommostLevelCompaction, BoundColumnFamily, CompactOptions, DBWithThreadMode,
    FlushOptions, MultiThreaded, Options, ReadOptions, WriteOptions,
};

use super::{DumpVisitor, Engine, WriteBatch, WriteOp, COLUMN_FAMILIES};
use crate::errors::EngineError;

type Db = DBWithThreadMode<MultiThreaded>;

/// An [`Engine`] over a RocksDB database in a directory.
pub struct RocksEngine {
    db: Db,
    path: PathBuf,
    /// Names of the column families that exist (guards on-demand creation).
    cf_names: Mutex<Vec<String>>,
}

impl std::fmt::Debug for RocksEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksEngine")
            .field("path", &self.path)
            .finish()
    }
}

impl RocksEngine {
    /// Opens (creating if needed) the database in directory `path`, with every column family
    /// it already has plus [`COLUMN_FAMILIES`].
    pub fn open(path: &Path) -> Result<Self, EngineError> {
        let opts = Self::db_options();
        let mut names: Vec<String> = Db::list_cf(&opts, path).unwrap_or_default();
        for cf in COLUMN_FAMILIES {
            if !names.iter().any(|n| n == cf) {
                names.push(cf.to_string());
            }
        }
        let db = Db::open_cf(&opts, path, &names)?;
        Ok(Self {
            db,
            path: path.to_path_buf(),
            cf_names: Mutex::new(names),
        })
    }

    /// The directory of the database.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db_options() -> Options {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_atomic_flush(true);
        opts
    }

    fn cf(&self, name: &str) -> Option<Arc<BoundColumnFamily<'_>>> {
        self.db.cf_handle(name)
    }

    /// The handle of column family `name`, creating the column family if it does not exist.
    fn cf_or_create(&self, name: &str) -> Result<Arc<BoundColumnFamily<'_>>, EngineError> {
        if let Some(cf) = self.cf(name) {
            return Ok(cf);
        }
        let mut names = self.cf_names.lock();
        if self.cf(name).is_none() {
            self.db.create_cf(name, &Self::db_options())?;
            names.push(name.to_string());
        }
        self.cf(name)
            .ok_or_else(|| EngineError::Rocks(format!("column family {name} missing after create")))
    }

    fn all_cfs(&self) -> Vec<Arc<BoundColumnFamily<'_>>> {
        let names = self.cf_names.lock();
        names.iter().filter_map(|n| self.cf(n)).collect()
    }
}

impl Engine for RocksEngine {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        let Some(handle) = self.cf(cf) else {
            return Ok(None);
        };
        Ok(self.db.get_pinned_cf(&handle, key)?.map(|v| v.to_vec()))
    }

    fn scan(
        &self,
        cf: &str,
        start: &[u8],
        end: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        let Some(handle) = self.cf(cf) else {
            return Ok(());
        };
        if !end.is_empty() && end <= start {
            return Ok(());
        }
        let mut ro = ReadOptions::default();
        if !end.is_empty() {
            ro.set_iterate_upper_bound(end);
        }
        let mut it = self.db.raw_iterator_cf_opt(&handle, ro);
        it.seek(start);
        while let Some((k, v)) = it.item() {
            if !f(k, v) {
                return Ok(());
            }
            it.next();
        }
        it.status()?;
        Ok(())
    }

    fn dump(&self, f: &mut DumpVisitor<'_>) -> Result<(), EngineError> {
        let snapshot = self.db.snapshot();
        for cf in COLUMN_FAMILIES {
            let Some(handle) = self.cf(cf) else {
                continue;
            };
            let mut ro = ReadOptions::default();
            ro.set_snapshot(&snapshot);
            let mut it = self.db.raw_iterator_cf_opt(&handle, ro);
            it.seek_to_first();
            while let Some((k, v)) = it.item() {
                if !f(cf, k, v) {
                    return Ok(());
                }
                it.next();
            }
            it.status()?;
        }
        Ok(())
    }

    fn write(&self, batch: WriteBatch, sync: bool) -> Result<(), EngineError> {
        let mut handles: HashMap<&'static str, Arc<BoundColumnFamily<'_>>> = HashMap::new();
        let mut wb = rocksdb::WriteBatch::default();
        for op in batch.into_ops() {
            let cf = match &op {
                WriteOp::Put { cf, .. } | WriteOp::Delete { cf, .. } => *cf,
            };
            if !handles.contains_key(cf) {
                handles.insert(cf, self.cf_or_create(cf)?);
            }
            let handle = &handles[cf];
            match op {
                WriteOp::Put { key, value, .. } => wb.put_cf(handle, key, value),
                WriteOp::Delete { key, .. } => wb.delete_cf(handle, key),
            }
        }
        let mut wo = WriteOptions::default();
        wo.disable_wal(true);
        self.db.write_opt(wb, &wo)?;
        if sync {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), EngineError> {
        let cfs = self.all_cfs();
        let refs: Vec<&Arc<BoundColumnFamily<'_>>> = cfs.iter().collect();
        let mut fo = FlushOptions::default();
        fo.set_wait(true);
        self.db.flush_cfs_opt(&refs, &fo)?;
        Ok(())
    }

    /// Flushes the memtables, then compacts every column family over its whole key range,
    /// bottommost level included, so deleted and overwritten entries are dropped and the
    /// files that held them are removed. Writes go on meanwhile (into new memtables).
    fn defragment(&self) -> Result<(), EngineError> {
        self.flush()?;
        let mut opts = CompactOptions::default();
        opts.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
        opts.set_exclusive_manual_compaction(false);
        for cf in self.all_cfs() {
            self.db
                .compact_range_cf_opt(&cf, None::<&[u8]>, None::<&[u8]>, &opts);
        }
        Ok(())
    }

    /// The SST files of every column family plus the unflushed memtables (RocksDB's own WAL
    /// is off). Files a compaction made obsolete stop counting once they are deleted.
    fn size_bytes(&self) -> u64 {
        let mut total = 0u64;
        for cf in self.all_cfs() {
            for prop in [
                properties::TOTAL_SST_FILES_SIZE,
                properties::CUR_SIZE_ALL_MEM_TABLES,
            ] {
                if let Ok(Some(n)) = self.db.property_int_value_cf(&cf, prop) {
                    total += n;
                }
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use etcd_proto::etcdserverpb::{
        CompactionRequest, DeleteRangeRequest, PutRequest, RangeRequest,
    };

    use super::RocksEngine;
    use crate::engine::Engine;
    use crate::{Store, WriteRequest};

    const KEYS: usize = 2_000;
    const VALUE_LEN: usize = 4_096;

    /// A value that does not compress: RocksDB's size must reflect the bytes written.
    fn value(i: usize) -> Vec<u8> {
        let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..VALUE_LEN)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn apply(store: &Store, reqs: Vec<WriteRequest>) {
        let out = store
            .apply(store.consistent_index() + 1, reqs)
            .expect("apply");
        for res in out.results {
            res.expect("request");
        }
    }

    #[test]
    fn defragment_reclaims_compacted_space() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Arc::new(RocksEngine::open(dir.path()).expect("open"));
        let store = Store::open(engine.clone()).expect("store");
        for chunk in (0..KEYS).collect::<Vec<_>>().chunks(100) {
            let puts = chunk
                .iter()
                .map(|&i| {
                    WriteRequest::Put(PutRequest {
                        key: format!("big/{i:05}").into_bytes(),
                        value: value(i),
                        ..Default::default()
                    })
                })
                .collect();
            apply(&store, puts);
        }
        apply(
            &store,
            vec![WriteRequest::Put(PutRequest {
                key: b"kept".to_vec(),
                value: b"still here".to_vec(),
                ..Default::default()
            })],
        );
        engine.flush().expect("flush");
        let written = engine.size_bytes();
        assert!(written >= (KEYS * VALUE_LEN) as u64, "size {written}");

        apply(
            &store,
            vec![WriteRequest::DeleteRange(DeleteRangeRequest {
                key: b"big/".to_vec(),
                range_end: b"big0".to_vec(),
                prev_kv: false,
            })],
        );
        let rev = store.current_revision();
        apply(
            &store,
            vec![WriteRequest::Compaction(CompactionRequest {
                revision: rev,
                physical: true,
            })],
        );
        engine.flush().expect("flush");
        let compacted = engine.size_bytes();
        // MVCC compaction only adds tombstones: the space is still held.
        assert!(compacted >= written, "{compacted} < {written}");

        engine.defragment().expect("defragment");
        let defragmented = engine.size_bytes();
        assert!(
            defragmented < written / 20,
            "size after defragment {defragmented}, before {compacted}"
        );
        let on_disk: u64 = std::fs::read_dir(dir.path())
            .expect("read dir")
            .filter_map(|e| e.ok()?.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum();
        assert!(on_disk < written / 4, "{on_disk} bytes still on disk");

        // The live data is intact, and the store keeps working.
        let range = store
            .range(&RangeRequest {
                key: b"\0".to_vec(),
                range_end: b"\0".to_vec(),
                ..Default::default()
            })
            .expect("range");
        assert_eq!(range.kvs.len(), 1);
        assert_eq!(range.kvs[0].value, b"still here");
        apply(
            &store,
            vec![WriteRequest::Put(PutRequest {
                key: b"after".to_vec(),
                value: b"1".to_vec(),
                ..Default::default()
            })],
        );
    }
}
