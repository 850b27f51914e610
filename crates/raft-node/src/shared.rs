//! State shared between the [`crate::RaftNode`] handles and the node thread.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use raft::eraftpb::{ConfChange, Message};
use tokio::sync::watch;

use crate::read::ReadWaiter;
use crate::{LeaderInfo, RaftStats, RaftStatus};

/// What the handles send to the node thread.
pub(crate) enum Request {
    /// Data to append to the log.
    Propose(Vec<u8>),
    /// A membership change to append to the log.
    ProposeConfChange(Box<ConfChange>),
    /// A message from a peer.
    Step(Box<Message>),
    /// A linearizable read waiting for its read index.
    ReadIndex(ReadWaiter),
    /// The transport could not deliver a message to this member.
    ReportUnreachable(u64),
    /// The transport finished sending a snapshot to a member (true: delivered).
    ReportSnapshot(u64, bool),
    /// Hand leadership to this member.
    TransferLeader(u64),
    /// Finish the current Ready and exit.
    Stop,
}

/// Published by the node thread, read by the handles.
pub(crate) struct Shared {
    pub status: Mutex<RaftStatus>,
    pub applied: watch::Sender<u64>,
    /// Who leads, and since when (changes only when the leader does).
    pub leader: watch::Sender<LeaderInfo>,
    pub stopped: AtomicBool,
    /// Turns true once the node has stopped (for async waiters).
    pub stopped_watch: watch::Sender<bool>,
    pub counters: Counters,
}

impl Shared {
    pub(crate) fn new(status: RaftStatus) -> Shared {
        let (applied, _) = watch::channel(status.applied_index);
        let (leader, _) = watch::channel(LeaderInfo::new(status.leader_id, Instant::now()));
        Shared {
            status: Mutex::new(status),
            applied,
            leader,
            stopped: AtomicBool::new(false),
            stopped_watch: watch::channel(false).0,
            counters: Counters::default(),
        }
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    pub(crate) fn mark_stopped(&self) {
        self.stopped.store(true, Ordering::Release);
        self.stopped_watch.send_replace(true);
    }

    /// Publishes the state at the end of a loop iteration.
    pub(crate) fn publish(&self, status: RaftStatus) {
        let applied = status.applied_index;
        let leader_id = status.leader_id;
        *self.status.lock() = status;
        let now = Instant::now();
        self.leader
            .send_if_modified(|leader| leader.observe(leader_id, now));
        self.applied.send_if_modified(|current| {
            let changed = *current != applied;
            *current = applied;
            changed
        });
    }
}

/// Work counters; see [`RaftStats`] for their meaning.
#[derive(Default)]
pub(crate) struct Counters {
    pub readies: AtomicU64,
    pub wal_appends: AtomicU64,
    pub wal_syncs: AtomicU64,
    pub proposals: AtomicU64,
    pub proposals_dropped: AtomicU64,
    pub entries_applied: AtomicU64,
    pub compactions: AtomicU64,
    pub segments_purged: AtomicU64,
    pub snapshots_restored: AtomicU64,
}

impl Counters {
    /// Adds `n` to `counter` (only the node thread writes, so relaxed is enough).
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> RaftStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        RaftStats {
            readies: get(&self.readies),
            wal_appends: get(&self.wal_appends),
            wal_syncs: get(&self.wal_syncs),
            proposals: get(&self.proposals),
            proposals_dropped: get(&self.proposals_dropped),
            entries_applied: get(&self.entries_applied),
            compactions: get(&self.compactions),
            segments_purged: get(&self.segments_purged),
            snapshots_restored: get(&self.snapshots_restored),
        }
    }
}
