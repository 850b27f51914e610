//! [`LogStore`]: raft's storage. raft-rs's [`MemStorage`] holds the log; this wrapper
//! only changes where snapshots are taken.
//!
//! `MemStorage` builds a snapshot at the *commit* index with its current membership.
//! Committed entries may not be applied yet, so that membership can miss a committed
//! conf change below the snapshot index, which the receiver would then never apply. A
//! snapshot at the *applied* index is consistent: the membership in `MemStorage` is
//! updated as conf changes are applied, and the state machine's data (taken when the
//! snapshot is sent) covers at least that index.

use raft::eraftpb::{Entry, Snapshot};
use raft::storage::MemStorage;
use raft::{GetEntriesContext, RaftState, Storage, StorageError};

use crate::storage::snapshot_meta;

/// raft's log storage: a [`MemStorage`] plus the applied index snapshots are taken at.
pub(crate) struct LogStore {
    mem: MemStorage,
    applied: u64,
}

impl LogStore {
    pub(crate) fn new(mem: MemStorage, applied: u64) -> LogStore {
        LogStore { mem, applied }
    }

    /// The log itself (`wl()` / `rl()` for changes and reads).
    pub(crate) fn mem(&self) -> &MemStorage {
        &self.mem
    }

    /// Records raft's applied index; called by the node thread after each apply.
    pub(crate) fn set_applied(&mut self, applied: u64) {
        self.applied = applied;
    }
}

impl Storage for LogStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        self.mem.initial_state()
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        self.mem.entries(low, high, max_size, context)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        self.mem.term(idx)
    }

    fn first_index(&self) -> raft::Result<u64> {
        self.mem.first_index()
    }

    fn last_index(&self) -> raft::Result<u64> {
        self.mem.last_index()
    }

    /// A snapshot (metadata only) at the applied index with the membership as of it.
    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        let index = self.applied;
        if index < request_index {
            return Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        let term = self.mem.term(index)?;
        let conf_state = self.mem.initial_state()?.conf_state;
        let mut snapshot = Snapshot::default();
        snapshot.set_metadata(snapshot_meta(index, term, conf_state));
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::eraftpb::ConfState;

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            index,
            term,
            ..Entry::default()
        }
    }

    #[test]
    fn snapshots_are_taken_at_the_applied_index() {
        let mem = MemStorage::new();
        {
            let mut core = mem.wl();
            core.append(&[entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)])
                .unwrap();
            core.mut_hard_state().commit = 4;
            core.set_conf_state(ConfState {
                voters: vec![1, 2],
                ..ConfState::default()
            });
        }
        let mut store = LogStore::new(mem, 3);
        let snap = store.snapshot(0, 2).unwrap();
        let meta = snap.get_metadata();
        assert_eq!((meta.index, meta.term), (3, 2));
        assert_eq!(meta.get_conf_state().voters, vec![1, 2]);
        assert!(snap.data.is_empty());

        // A follower asking for more than is applied has to wait.
        assert!(store.snapshot(4, 2).is_err());
        store.set_applied(4);
        assert_eq!(store.snapshot(4, 2).unwrap().get_metadata().index, 4);
    }
}
