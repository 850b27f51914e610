//! Every error the `lease` crate returns, in one place. The first three carry etcd's exact
//! client-visible strings (`etcdserver/api/v3rpc/rpctypes/error.go`, same order).

use mvcc::EngineError;
use thiserror::Error;

/// An error from the [`crate::Lessor`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LeaseError {
    /// No lease with that ID (etcd `ErrGRPCLeaseNotFound`, gRPC `NotFound`). Also returned
    /// for a grant of ID 0, as etcd's lessor does.
    #[error("etcdserver: requested lease not found")]
    LeaseNotFound,
    /// A grant named an ID that is already in use (etcd `ErrGRPCLeaseExist`,
    /// gRPC `FailedPrecondition`).
    #[error("etcdserver: lease already exists")]
    LeaseExist,
    /// A grant asked for more than [`crate::MAX_LEASE_TTL`] seconds (etcd
    /// `ErrGRPCLeaseTTLTooLarge`, gRPC `OutOfRange`).
    #[error("etcdserver: too large lease TTL")]
    LeaseTtlTooLarge,
    /// A renew reached a lessor that is not the primary (etcd `lease.ErrNotPrimary`): the
    /// server forwards the renew to the leader.
    #[error("not a primary lessor")]
    NotPrimary,
    /// A renew named a lease that is past its expiry and waiting for its revoke to be applied.
    /// etcd blocks such a renew until the revoke lands and then answers "not found"; the
    /// server may wait the same way or answer as for [`LeaseError::LeaseNotFound`] at once.
    #[error("lease expired, revoke pending")]
    LeaseExpired,
    /// The storage engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A record of the `lease` column family could not be decoded.
    #[error("lease: corrupt record under key {key}: {reason}")]
    Corrupt {
        /// The record's key, in hex.
        key: String,
        /// What was wrong with it.
        reason: String,
    },
}

impl LeaseError {
    /// True for the errors a client sees as "lease not found" ([`LeaseError::LeaseNotFound`]
    /// and [`LeaseError::LeaseExpired`]), e.g. a keep-alive answers them with TTL 0.
    pub fn is_not_found(&self) -> bool {
        matches!(self, LeaseError::LeaseNotFound | LeaseError::LeaseExpired)
    }
}
