//! The types the node exchanges with the server: committed entries, the state machine
//! ([`Applier`]), the network ([`Transport`]) and status snapshots.

use std::time::Instant;

/// Work that makes a state machine durable, run off the node thread (see
/// [`Applier::sync_state`]).
pub type SyncJob = Box<dyn FnOnce() -> Result<(), String> + Send>;

/// A committed normal entry with a non-empty payload, handed to the [`Applier`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    /// Raft log index.
    pub index: u64,
    /// Term the entry was proposed in.
    pub term: u64,
    /// The proposed bytes.
    pub data: Vec<u8>,
}

/// The replicated state machine, driven from the node thread.
pub trait Applier: Send + 'static {
    /// Last index durably reflected in the state machine (its consistent index).
    fn applied_index(&self) -> u64;
    /// Applies `entries` in order. Must skip entries with `index <= applied_index()`,
    /// which a restart may deliver again.
    fn apply(&mut self, entries: Vec<Committed>);
    /// A job that makes durable everything applied so far; the WAL below it is purged
    /// only once the job has succeeded. The node runs it on another thread and goes on
    /// calling [`Applier::apply`] meanwhile, so the job may also cover later entries.
    fn sync_state(&mut self) -> SyncJob;
    /// A committed membership change took effect (called in log order between `apply`
    /// calls; a restart may repeat it, like `apply`). The initial members of a new
    /// cluster arrive this way too, as entries 1..=n. Default: ignored.
    fn apply_membership(&mut self, change: MembershipChange) {
        let _ = change;
    }
    /// Replaces the whole state machine with a snapshot the leader sent (see
    /// [`SnapshotSource`](crate::SnapshotSource) for where `data` comes from). Called
    /// before any entry that follows the snapshot. The restored state must be durable
    /// when this returns, and [`Applier::applied_index`] must then report the index the
    /// data was taken at, which may be higher than `meta.index`: later entries up to it
    /// are delivered and must be skipped as usual. An error is fatal: the node stops
    /// without applying anything after the snapshot. Default: unsupported.
    fn restore_snapshot(&mut self, meta: SnapshotMeta, data: Vec<u8>) -> Result<(), String> {
        let _ = (meta, data);
        Err("snapshots not supported".to_owned())
    }
}

/// Raft metadata of a snapshot handed to [`Applier::restore_snapshot`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotMeta {
    /// Raft index the snapshot covers at least.
    pub index: u64,
    /// Term of the entry at `index`.
    pub term: u64,
    /// Voters as of `index`, sorted.
    pub voters: Vec<u64>,
    /// Learners as of `index`, sorted.
    pub learners: Vec<u64>,
}

/// One change of membership, proposed with [`crate::RaftNode::propose_member_change`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberChange {
    /// Add a voting member (or promote a learner).
    AddVoter(u64),
    /// Add a non-voting member.
    AddLearner(u64),
    /// Remove a member.
    Remove(u64),
}

/// A committed membership change, as handed to [`Applier::apply_membership`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipChange {
    /// Raft log index of the change.
    pub index: u64,
    /// Term of the entry.
    pub term: u64,
    /// What changed (several for a joint change; none when leaving a joint state).
    pub changes: Vec<MemberChange>,
    /// The context proposed with the change (e.g. the member's attributes).
    pub context: Vec<u8>,
    /// Voters after the change, sorted (for a change repeated after a restart: the
    /// current voters).
    pub voters: Vec<u64>,
    /// Learners after the change (same caveat).
    pub learners: Vec<u64>,
}

/// Delivers serialized raft messages to peers. Fire and forget: raft retries lost
/// messages. Called on the node thread, so it must not block (queue and return). A
/// single-member cluster never sends any. [`crate::PeerTransport`] is the gRPC one.
pub trait Transport: Send + 'static {
    /// Sends `msg` (a protobuf-encoded raft `Message`) to member `to`. A transport that
    /// gives up on a message may tell raft with [`crate::RaftNode::report_unreachable`].
    fn send(&self, to: u64, msg: Vec<u8>);
    /// Sends a raft snapshot message (`MsgSnapshot`, its snapshot data empty: the
    /// transport attaches the state machine's data). raft sends `to` no entries until
    /// the transport reports the outcome with [`crate::RaftNode::report_snapshot`] or `to`
    /// acknowledges the snapshot. Default: [`Transport::send`].
    fn send_snapshot(&self, to: u64, msg: Vec<u8>) {
        self.send(to, msg);
    }
}

/// A transport for a single-member cluster: drops everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTransport;

impl Transport for NoTransport {
    fn send(&self, _to: u64, _msg: Vec<u8>) {}
}

/// The node's raft state, as of the end of its last Ready.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RaftStatus {
    /// This member's id.
    pub id: u64,
    /// The leader this member knows of (0: none).
    pub leader_id: u64,
    /// Current term.
    pub term: u64,
    /// Highest index known committed.
    pub commit_index: u64,
    /// Highest index handed to the applier (or skipped as empty / conf change).
    pub applied_index: u64,
    /// Whether this member is the leader.
    pub is_leader: bool,
    /// The leader's view of every member's log (itself included), sorted by id; empty
    /// on other members.
    pub progress: Vec<PeerProgress>,
}

/// This member's view of the leader over time: what etcd's server keeps to explain a
/// timed-out proposal (`leadElectedTime`, `parseProposeCtxErr`), to fail linearizable reads
/// waiting across a leader change (`ErrLeaderChanged`) and to end client streams that
/// require a leader (`monitorLeader`). Updated at the end of every loop iteration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaderInfo {
    /// The leader this member knows of (0: none).
    pub leader_id: u64,
    /// When this member last learned of a new leader (one other than the leader it knew
    /// before, also after a time without any); `None` if it has known none since start.
    pub elected_at: Option<Instant>,
    /// Since when this member has known no leader; `None` while it knows one.
    pub lost_at: Option<Instant>,
    /// How many times this member learned of a new leader (each `elected_at` update:
    /// etcd's `leader_changes_seen_total`).
    pub changes: u64,
}

impl LeaderInfo {
    /// The state at start, knowing `leader_id` (0: none) at `now`.
    pub(crate) fn new(leader_id: u64, now: Instant) -> LeaderInfo {
        LeaderInfo {
            leader_id,
            elected_at: (leader_id != 0).then_some(now),
            lost_at: (leader_id == 0).then_some(now),
            changes: u64::from(leader_id != 0),
        }
    }

    /// Records that the member knows `leader_id` at `now`; true if that is a change.
    pub(crate) fn observe(&mut self, leader_id: u64, now: Instant) -> bool {
        if leader_id == self.leader_id {
            return false;
        }
        if leader_id == 0 {
            self.lost_at = Some(now);
        } else {
            self.elected_at = Some(now);
            self.lost_at = None;
            self.changes += 1;
        }
        self.leader_id = leader_id;
        true
    }
}

/// How far a member's log matches the leader's, as the leader sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerProgress {
    /// Member id.
    pub id: u64,
    /// Highest index known to match the leader's log.
    pub matched: u64,
    /// Whether the member is a learner (non-voting).
    pub is_learner: bool,
}

/// Counters of the node's work, for tests and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RaftStats {
    /// Readies handled.
    pub readies: u64,
    /// WAL appends (one per Ready that had something to persist, plus conf states and
    /// compactions).
    pub wal_appends: u64,
    /// WAL fdatasync requests among those appends.
    pub wal_syncs: u64,
    /// Proposals handed to raft.
    pub proposals: u64,
    /// Proposals raft refused (no leader, leadership transfer): their callers time out.
    pub proposals_dropped: u64,
    /// Entries handed to the applier.
    pub entries_applied: u64,
    /// Log compactions (each followed by a WAL purge).
    pub compactions: u64,
    /// WAL segments deleted by those purges.
    pub segments_purged: u64,
    /// Snapshots from the leader restored into the state machine.
    pub snapshots_restored: u64,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn leader_info_records_elections_and_losses() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut l = LeaderInfo::new(0, t0);
        assert_eq!((l.elected_at, l.lost_at), (None, Some(t0)));
        assert!(!l.observe(0, at(1)), "still no leader: no change");
        assert!(l.observe(7, at(2)));
        assert_eq!(
            (l.leader_id, l.elected_at, l.lost_at),
            (7, Some(at(2)), None)
        );
        assert!(!l.observe(7, at(3)));
        assert!(l.observe(0, at(4)));
        assert_eq!((l.elected_at, l.lost_at), (Some(at(2)), Some(at(4))));
        // The same leader again after a time without one is a new election.
        assert!(l.observe(7, at(5)));
        assert_eq!((l.elected_at, l.lost_at), (Some(at(5)), None));
        assert!(l.observe(9, at(6)));
        assert_eq!(l.elected_at, Some(at(6)));
        assert_eq!(l.changes, 3, "7, 7 again after none, then 9");
        assert_eq!(LeaderInfo::new(3, t0).elected_at, Some(t0));
        assert_eq!(LeaderInfo::new(3, t0).changes, 1);
    }
}
