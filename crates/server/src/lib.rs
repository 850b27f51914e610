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
//! - [`member`]: start/stop, the peer and client listeners.
//! - [`cluster`]: the membership as the applied log defines it; `membership` the
//!   reconfiguration RPCs with etcd's safety checks; [`peer`] the member-to-member
//!   requests besides raft traffic (join lookup, forwarding to the leader).
//! - [`tls`]: rustls server configs for `https://` client and peer URLs.
//! - [`http`]: etcd's `/health`, `/version` and `/metrics` beside gRPC on the client
//!   listeners, and the `--listen-metrics-urls` listeners; [`metrics`] the Prometheus
//!   metrics they expose.
//! - [`alarms`]: NOSPACE/CORRUPT alarms as applied state; [`quota`] the
//!   `--quota-backend-bytes` check that raises NOSPACE; `corrupt` the hash checks
//!   across members that raise CORRUPT.
//! - [`db_snapshot`]: the backend as etcd's snapshot file (Maintenance.Snapshot);
//!   [`restore`] a new member's data dir from one (`etcdctl snapshot restore`);
//!   [`backup`] scheduled, verified, rotated backups (`--backup-dir`, ours).
//! - [`compactor`]: auto-compaction (`--auto-compaction-mode`/`-retention`) by the leader.

mod alarm_api;
pub mod alarms;
pub mod applier;
mod auth_api;
mod auth_apply;
pub mod backend;
pub mod backup;
mod client_verify;
pub mod cluster;
pub mod compactor;
pub mod config;
mod corrupt;
pub mod db_snapshot;
pub mod http;
pub mod identity;
pub mod ids;
pub mod leases;
pub mod member;
mod membership;
pub mod metrics;
pub mod peer;
pub mod quota;
pub mod restore;
pub mod tls;
pub mod wait;

pub use backup::BackupPolicy;
pub use config::{AutoCompaction, Config};
pub use member::Member;
