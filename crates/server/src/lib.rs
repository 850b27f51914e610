//! One etcd member, embeddable: `Member::start(Config)`.
//!
//! Composes the crates below it along etcd's write path:
//! gRPC (`grpc-api`) -> [`backend`] proposes an `InternalRaftRequest` to `raft-node` ->
//! raft persists it in the WAL (one fdatasync per batch) and commits -> [`applier`] applies
//! the batch to `mvcc` in one engine write with the consistent index -> [`wait`] wakes the
//! proposer. Linearizable reads use raft's read index; serializable reads read the store.
//!
//! - [`config`]: etcd's flags as data, with etcd's defaults.
//! - [`ids`]: member and cluster IDs computed as etcd does.
//! - [`member`]: start/stop and the client listeners.

pub mod applier;
pub mod backend;
pub mod config;
pub mod identity;
pub mod ids;
pub mod leases;
pub mod member;
pub mod wait;

pub use config::Config;
pub use member::Member;
