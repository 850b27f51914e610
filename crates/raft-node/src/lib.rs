//! Drives a raft-rs 0.7 [`raft::RawNode`] for one etcd member and persists it to the
//! [`wal`] crate. raft-rs types stay inside: the server proposes bytes, gets committed
//! entries back through an [`Applier`], and exchanges peer messages as bytes through a
//! [`Transport`].
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
//! 2. apply the snapshot, if any, to raft's storage;
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
//! membership. raft's `applied` starts at [`Applier::applied_index`], so entries the
//! state machine has made durable are not delivered again; the applier must still skip
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
//! them through [`Applier::apply_membership`].
//!
//! # Log compaction
//! Every [`RaftConfig::snapshot_count`] applied entries the node calls
//! [`Applier::sync_state`], compacts raft's log to the applied index (minus
//! [`RaftConfig::snapshot_catchup_entries`]), writes a snapshot metadata record and
//! purges WAL segments below it. **No state-machine snapshot data is transferred yet**:
//! a follower that falls behind the compaction point gets raft metadata only, and a
//! member whose state machine lost data below the compaction point (it was synced there,
//! so only a damaged disk does this) resumes after that point without it.
//! Sending and restoring state-machine snapshots is left to the cluster work.
//!
//! # Logging
//! raft-rs logs through slog; a small drain forwards its records to `tracing` (target
//! `raft`).

mod api;
mod boot;
mod config;
mod error;
mod logger;
mod membership;
mod node;
mod read;
mod shared;
mod storage;
mod worker;

pub use api::{
    Applier, Committed, MemberChange, MembershipChange, NoTransport, RaftStats, RaftStatus,
    Transport,
};
pub use config::RaftConfig;
pub use error::RaftError;
pub use node::RaftNode;
