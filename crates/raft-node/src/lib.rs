//! Drives a raft-rs 0.7 [`raft::RawNode`] for one etcd member and persists it to the
//! [`wal`] crate. raft-rs types stay inside: the server proposes bytes, gets committed
//! entries back through an [`Applier`], and exchanges peer messages as bytes through a
//! [`Transport`] ([`PeerTransport`]: gRPC between members, served by [`raft_service`]).
//!
//! # The loop
//! One thread ([`RaftNode::start`]) owns the `RawNode`, the WAL, the applier and the
//! transport. Handles ([`RaftNode`], cheap to clone) queue requests (proposals, peer
//! messages, read-index requests) on a channel. The thread waits on that channel until
//! the next tick is due; when a request arrives it drains **every** queued request (up
//! to [`RaftConfig::max_batch`]) before it handles the Ready: this is the group commit,
//! many concurrent proposals become one Ready, one WAL append, one fdatasync and one
//! [`Applier::apply`] call.
//!
//! # Ready handling (raft-rs 0.7 order)
//! 1. send messages (a leader sends before its own fsync, as etcd does);
//! 2. restore the snapshot from the leader, if any (see Snapshots);
//! 3. append the snapshot metadata, entries and hard state to the WAL in one append and
//!    one fdatasync (no sync when only the commit index changed);
//! 4. send the persisted messages (a follower's votes and acks);
//! 5. hand committed entries to the applier: normal entries with data, in order; empty
//!    entries are skipped; conf changes are applied to raft (see Membership);
//! 6. resolve read-index waiters from the read states;
//! 7. `advance`, then the light ready (commit index, messages, committed entries) and
//!    `advance_apply`.
//!
//! # Storage and restart
//! raft reads its log from a [`raft::storage::MemStorage`], rebuilt from the WAL on
//! start (see `storage.rs` for the record kinds): snapshot metadata, entries (a later
//! write at an index truncates the suffix, as raft does), last hard state and
//! membership. raft's `applied` starts at [`Applier::applied_index`] (a cluster member
//! starts at most at the log's durable commit index), so entries the state machine has
//! made durable are mostly not delivered again; the applier must still skip
//! `index <= applied_index()`. On first boot (empty WAL) the voters are
//! [`RaftConfig::peers`], written as etcd does: the log starts with one committed "add
//! voter" conf change per initial member (entries 1..=n, identical on every member), so
//! a member added later learns the initial membership by replaying the log. A member
//! whose id is not among the peers joins an existing cluster and starts empty. A state
//! machine that already holds data on first boot (restored from a snapshot) starts the
//! log with snapshot metadata at its applied index instead. A single
//! member campaigns at once (on every start), so it is leader when [`RaftNode::start`]
//! returns.
//!
//! # Membership
//! [`RaftNode::propose_member_change`] proposes a raft conf change (v1, like etcd 3.4).
//! Committed conf changes (v1 and v2) are applied to raft, their `ConfState` is written
//! to the WAL (fdatasynced) before any later entry is applied, and the applier hears of
//! them through [`Applier::apply_membership`]. [`RaftNode::transfer_leader`] moves
//! leadership; [`RaftStatus::progress`] is the leader's view of every member's log.
//!
//! # Log compaction
//! Every [`RaftConfig::snapshot_count`] applied entries the node takes a [`SyncJob`]
//! from [`Applier::sync_state`] and runs it on another thread while it goes on
//! applying. Once the job has made the state machine durable up to that applied index,
//! the node compacts raft's log to it (minus [`RaftConfig::snapshot_catchup_entries`]),
//! writes a snapshot metadata record and purges WAL segments below it.
//!
//! # Snapshots
//! A follower that needs entries below the leader's compaction point gets a snapshot.
//! raft's storage holds metadata only; the leader's snapshot is taken at its *applied*
//! index, with the membership as of that index (`log_store.rs`). The transport
//! ([`Transport::send_snapshot`]; [`PeerTransport`] over gRPC) attaches the state
//! machine's data from a [`SnapshotSource`], taken when it is sent, so it may cover
//! more than the snapshot's index, and reports the outcome with
//! [`RaftNode::report_snapshot`]. On the follower the node hands the data to
//! [`Applier::restore_snapshot`] before any entry that follows it, then applies the
//! metadata to raft's storage and writes it to the WAL (a snapshot record carrying the
//! membership). Entries after the snapshot index arrive as usual: the applier skips
//! those its restored data already covers, while conf changes among them are still
//! applied to raft. A failed restore stops the member. The WAL record is written after
//! the restore: a crash in between leaves a state machine ahead of the log, which a
//! cluster member tolerates (raft restarts from the log's commit index and the leader
//! resends what follows).
//!
//! # Peers
//! [`PeerTransport`] carries raft messages to peers over gRPC (`peerpb.Raft`): one task
//! and one long-lived message stream per peer, bounded queues (a full queue drops the
//! message and reports the peer unreachable, so [`Transport::send`] never blocks),
//! reconnection with a short backoff, and snapshots on calls of their own.
//! [`raft_service`] is the receiving side, to be served on the peer port: it checks the
//! cluster id and refuses removed members before stepping messages into the node.
//!
//! # Logging
//! raft-rs logs through slog; a small drain forwards its records to `tracing` (target
//! `raft`).

mod api;
mod boot;
mod config;
mod error;
mod log_store;
mod logger;
mod membership;
mod node;
mod read;
mod shared;
mod state_sync;
mod storage;
mod transport;
mod worker;

pub use api::{
    Applier, Committed, LeaderInfo, MemberChange, MembershipChange, NoTransport, PeerProgress,
    RaftStats, RaftStatus, SnapshotMeta, SyncJob, Transport,
};
pub use config::RaftConfig;
pub use error::RaftError;
pub use node::RaftNode;
pub use transport::{
    peer_endpoint, raft_service, PeerEndpoint, PeerTls, PeerTransport, RaftService, SnapshotSource,
};
