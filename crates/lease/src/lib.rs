//! etcd 3.4's lessor (`lease/lessor.go`) as a deterministic state machine: leases with TTLs,
//! the keys attached to them, their persistence in the engine's `lease` column family, and
//! the leader's expiry clock. It owns no thread and reads no clock: the server drives it and
//! passes `now` to every method that depends on time.
//!
//! # How the server drives it
//! - **Open**: [`Lessor::open`] on the store's engine recovers the persisted leases (ID, TTL,
//!   checkpointed remaining TTL). Keys are not persisted by the lessor: the server then walks
//!   the MVCC store and calls [`Lessor::attach`] for every live key whose `KeyValue.lease`
//!   is non-zero. Recovered leases have no expiry until [`Lessor::promote`].
//! - **Grant / revoke go through raft.** The leader picks a non-zero ID before proposing a
//!   `LeaseGrant` (etcd: a positive request ID). Every member applies it with
//!   [`Lessor::grant`]; [`Lessor::revoke`] returns the attached keys, sorted, which the
//!   applier deletes in the same revision. Both add their lease-record writes to the
//!   `mvcc::WriteBatch` of the raft batch (`ApplyBatch::extra_writes`), so lease changes
//!   commit atomically with the key changes and the consistent index. Puts with a lease call
//!   [`Lessor::attach`], deletes and lease changes [`Lessor::detach`];
//!   `LeaseCheckpoint` entries call [`Lessor::checkpoint`].
//! - **Keep-alive is leader-only, not through raft**: [`Lessor::renew`]; a follower gets
//!   [`LeaseError::NotPrimary`] and forwards to the leader. `LeaseTimeToLive` is answered by
//!   the leader too ([`Lessor::time_to_live`]).
//! - **Expiry**: on becoming leader (after applying the previous term's entries) the server
//!   calls [`Lessor::promote`] with the election timeout as `extend`, so no lease expires
//!   early after a restart or leader change; on losing leadership, [`Lessor::demote`]. On
//!   the leader, a periodic task (etcd: every 500 ms, 500 leases) calls
//!   [`Lessor::expired`] and proposes a `LeaseRevoke` for each lease returned; a lease whose
//!   revoke is lost is returned again after the retry interval.
//!
//! The lessor is not internally synchronized: the server keeps it behind one lock shared by
//! the applier and the leader's lease tasks.

mod apply;
mod errors;
mod lease;
mod lessor;
mod persist;
mod primary;
mod queue;

pub use errors::LeaseError;
pub use lessor::{
    LeaseInfo, Lessor, LessorConfig, TimeToLive, DEFAULT_EXPIRED_RETRY_INTERVAL, MAX_LEASE_TTL,
};
pub use persist::CF_LEASE;
pub use primary::LEASE_REVOKE_RATE;
