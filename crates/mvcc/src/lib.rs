//! etcd 3.4's multi-version key-value model over a storage-engine trait.
//!
//! Every change gets a revision `(main, sub)`: `main` is the store revision, bumped once per
//! request that changes something; `sub` counts the changes within it (a txn's puts and
//! deletes share `main`). The engine's `key` column family maps each revision to the
//! `mvccpb.KeyValue` written at it, in etcd's bbolt layout (8-byte big-endian main, `'_'`,
//! 8-byte big-endian sub, `'t'` suffix on tombstones); an in-memory index maps each key to
//! its revisions, grouped in generations (a delete ends one). `meta` holds the
//! consistent index (last applied raft index) and compaction marks, written in the same
//! engine batch as the changes.
//!
//! - [`Store::range`], [`Store::txn_read`]: reads at the published revision, concurrent with
//!   applies.
//! - [`Store::apply`] / [`Store::begin`]: the raft applier's write path, one engine batch
//!   per call.
//! - [`Store::events`], [`Store::hash_kv`]: history by revision (watch catch-up, HashKV).
//! - [`Store::snapshot_data`] / [`Store::restore_data`]: the whole backend as one blob, for
//!   raft snapshots sent to a member that fell behind.
//! - [`Engine`]: RocksDB ([`RocksEngine`]) or memory ([`MemEngine`]).
//!
//! Semantics (sorting, filters, compares, nested txns, compaction, error strings) follow
//! etcd's `mvcc/` and `etcdserver/apply.go`.

mod compact;
mod crc32c;
mod engine;
mod errors;
mod history;
mod index;
mod key_index;
mod range;
mod read;
mod restore;
mod revision;
mod snapshot;
mod store;
mod txn;
mod write;

pub use engine::{
    column_family, DumpVisitor, Engine, MemEngine, RocksEngine, WriteBatch, WriteOp, CF_KEY,
    CF_META, COLUMN_FAMILIES,
};
pub use errors::{EngineError, MvccError};
pub use history::HashKv;
pub use revision::{Revision, MARKED_REV_BYTES_LEN, REV_BYTES_LEN};
pub use store::{
    is_txn_read_only, ApplyOutput, Store, META_CONSISTENT_INDEX, META_FINISHED_COMPACT,
    META_SCHEDULED_COMPACT,
};
pub use write::{ApplyBatch, WriteRequest, WriteResponse};
