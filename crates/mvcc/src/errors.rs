//! Every error the `mvcc` crate returns, in one place (as etcd keeps its error variables
//! together). Display strings of the errors a client can see are etcd's exact strings.

use thiserror::Error;

/// An error from a storage engine ([`crate::Engine`]).
///
/// Holds the engine's message as text so that the error is `Clone` (results of one apply
/// batch may be handed to several waiters).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    /// RocksDB reported an error.
    #[error("rocksdb: {0}")]
    Rocks(String),
    /// A file-system error outside RocksDB.
    #[error("engine io: {0}")]
    Io(String),
}

impl From<rocksdb::Error> for EngineError {
    fn from(e: rocksdb::Error) -> Self {
        EngineError::Rocks(e.into_string())
    }
}

impl From<std::io::Error> for EngineError {
    fn from(e: std::io::Error) -> Self {
        EngineError::Io(e.to_string())
    }
}

/// An error from the MVCC store.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MvccError {
    /// The requested revision is older than the compacted revision (etcd `mvcc.ErrCompacted`).
    #[error("mvcc: required revision has been compacted")]
    Compacted,
    /// The requested revision is newer than the current revision (etcd `mvcc.ErrFutureRev`).
    #[error("mvcc: required revision is a future revision")]
    FutureRevision,
    /// A Put with `ignore_value` or `ignore_lease` on a key that does not exist
    /// (etcd `etcdserver.ErrKeyNotFound`).
    #[error("etcdserver: key not found")]
    KeyNotFound,
    /// A Put names a lease the lease checker does not know (etcd `lease.ErrLeaseNotFound`).
    #[error("lease not found")]
    LeaseNotFound,
    /// A request the store cannot run (e.g. a write inside a read-only transaction).
    #[error("mvcc: invalid request: {0}")]
    InvalidRequest(String),
    /// The storage engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Stored data is inconsistent with the index or cannot be decoded.
    #[error("mvcc: corrupt data: {0}")]
    Corrupt(String),
}
