//! The storage-engine abstraction under the MVCC store: named column families of ordered
//! byte keys, atomic write batches, and ordered scans. Two implementations: RocksDB
//! ([`RocksEngine`]) for the server and BTreeMaps ([`MemEngine`]) for tests.

mod memory;
mod rocks;

pub use memory::MemEngine;
pub use rocks::RocksEngine;

use crate::errors::EngineError;

/// Column family of the MVCC key space: revision bytes -> `mvccpb.KeyValue` (etcd's `key` bucket).
pub const CF_KEY: &str = "key";
/// Column family of store metadata: consistent index, compaction revisions (etcd's `meta` bucket).
pub const CF_META: &str = "meta";
/// Column families other crates use; [`RocksEngine`] creates them all when it opens a database
/// (named after etcd's bbolt buckets).
pub const COLUMN_FAMILIES: &[&str] = &[
    CF_KEY,
    CF_META,
    "lease",
    "auth",
    "authUsers",
    "authRoles",
    "members",
    "members_removed",
    "cluster",
    "alarm",
];

/// What [`Engine::dump`] calls for each entry: `(column family, key, value)`; it returns
/// `false` to stop.
pub type DumpVisitor<'a> = dyn FnMut(&'static str, &[u8], &[u8]) -> bool + 'a;

/// A storage engine: named column families of ordered byte keys.
///
/// Writes are atomic per [`WriteBatch`]; readers see either none or all of a batch.
pub trait Engine: Send + Sync + 'static {
    /// The value stored under `key` in column family `cf`, if any.
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError>;
    /// Ordered scan of `[start, end)` (`end` empty = to the end of the column family).
    /// `f` returns `false` to stop the scan early. `f` must not call back into the engine.
    fn scan(
        &self,
        cf: &str,
        start: &[u8],
        end: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError>;
    /// Applies `batch` atomically. `sync = true` also makes it durable before returning.
    fn write(&self, batch: WriteBatch, sync: bool) -> Result<(), EngineError>;
    /// Makes everything written so far durable.
    fn flush(&self) -> Result<(), EngineError>;
    /// Approximate on-disk size in bytes (for `Status.db_size`).
    fn size_bytes(&self) -> u64;
    /// Reclaims the space of deleted and overwritten entries (etcd's backend `Defrag`):
    /// afterwards [`Engine::size_bytes`] reflects only the live data. Readers and writers
    /// may keep using the engine meanwhile. The default does nothing, for engines that free
    /// removed entries at once (such as [`MemEngine`]).
    fn defragment(&self) -> Result<(), EngineError> {
        Ok(())
    }
    /// Every entry of every column family in [`COLUMN_FAMILIES`], from one consistent
    /// point in time (concurrent writes are either wholly in or wholly out), column
    /// family by column family in that order, keys ascending. `f` returns `false` to stop.
    fn dump(&self, f: &mut DumpVisitor<'_>) -> Result<(), EngineError>;
    /// Replaces the whole content of the [`COLUMN_FAMILIES`] with `entries`, atomically.
    fn replace_all(&self, entries: WriteBatch) -> Result<(), EngineError> {
        let mut batch = WriteBatch::new();
        for cf in COLUMN_FAMILIES {
            self.scan(cf, &[], &[], &mut |k, _| {
                batch.delete(cf, k.to_vec());
                true
            })?;
        }
        for op in entries.into_ops() {
            batch.push(op);
        }
        self.write(batch, true)
    }
}

/// The `&'static` name of column family `name`, if it is one of [`COLUMN_FAMILIES`].
pub fn column_family(name: &str) -> Option<&'static str> {
    COLUMN_FAMILIES.iter().copied().find(|cf| *cf == name)
}

/// One operation of a [`WriteBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    /// Store `value` under `key` in column family `cf`.
    Put {
        /// Column family.
        cf: &'static str,
        /// Key.
        key: Vec<u8>,
        /// Value.
        value: Vec<u8>,
    },
    /// Remove `key` from column family `cf` (no error if absent).
    Delete {
        /// Column family.
        cf: &'static str,
        /// Key.
        key: Vec<u8>,
    },
}

/// An ordered list of puts and deletes that an [`Engine`] applies atomically.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<WriteOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a put of `key -> value` in column family `cf`.
    pub fn put(&mut self, cf: &'static str, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(WriteOp::Put {
            cf,
            key: key.into(),
            value: value.into(),
        });
    }

    /// Adds a delete of `key` in column family `cf`.
    pub fn delete(&mut self, cf: &'static str, key: impl Into<Vec<u8>>) {
        self.ops.push(WriteOp::Delete {
            cf,
            key: key.into(),
        });
    }

    /// Appends an operation.
    pub fn push(&mut self, op: WriteOp) {
        self.ops.push(op);
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True if the batch has no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[WriteOp] {
        &self.ops
    }

    /// Consumes the batch, yielding its operations in order.
    pub fn into_ops(self) -> Vec<WriteOp> {
        self.ops
    }
}
