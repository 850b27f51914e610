//! The raft log on disk: which WAL records the node writes, and how raft's
//! [`MemStorage`] is rebuilt from them on start.
//!
//! Record kinds (the WAL treats them as opaque):
//! - [`ENTRY`]: a protobuf raft `Entry`, record index = entry index. An entry rewritten at
//!   an index truncates the log from there, as raft does ("the last write wins").
//! - [`HARD_STATE`]: a protobuf `HardState` (term, vote, commit); the last one wins.
//! - [`CONF_STATE`]: a protobuf `ConfState`, written when a conf change is applied (and
//!   at bootstrap); record index = the conf change entry's index.
//! - [`SNAPSHOT`]: a protobuf `SnapshotMetadata` {index, term, conf_state}: written by
//!   log compaction and once a snapshot from the leader has been restored into the state
//!   machine. Entries at or below its index are dropped on replay; its conf state is the
//!   membership as of its index.

use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use raft::storage::MemStorage;
use wal::Record;

use crate::RaftError;

/// A raft log entry.
pub(crate) const ENTRY: u8 = 1;
/// The raft hard state.
pub(crate) const HARD_STATE: u8 = 2;
/// The membership after a conf change.
pub(crate) const CONF_STATE: u8 = 3;
/// A snapshot / compaction point.
pub(crate) const SNAPSHOT: u8 = 4;

/// Encodes a raft entry.
pub(crate) fn entry_record(entry: &Entry) -> Result<Record, RaftError> {
    Ok(Record {
        kind: ENTRY,
        index: entry.index,
        data: entry.write_to_bytes()?,
    })
}

/// Encodes a hard state; tagged with its commit index (for purge ordering).
pub(crate) fn hard_state_record(hs: &HardState) -> Result<Record, RaftError> {
    Ok(Record {
        kind: HARD_STATE,
        index: hs.commit,
        data: hs.write_to_bytes()?,
    })
}

/// Encodes the membership that took effect at `index`.
pub(crate) fn conf_state_record(index: u64, cs: &ConfState) -> Result<Record, RaftError> {
    Ok(Record {
        kind: CONF_STATE,
        index,
        data: cs.write_to_bytes()?,
    })
}

/// Encodes a snapshot / compaction point.
pub(crate) fn snapshot_record(meta: &SnapshotMetadata) -> Result<Record, RaftError> {
    Ok(Record {
        kind: SNAPSHOT,
        index: meta.index,
        data: meta.write_to_bytes()?,
    })
}

/// Snapshot metadata (raft's snapshot data stays empty: the transport carries the state
/// machine's data).
pub(crate) fn snapshot_meta(index: u64, term: u64, conf_state: ConfState) -> SnapshotMetadata {
    SnapshotMetadata {
        index,
        term,
        conf_state: Some(conf_state).into(),
        ..SnapshotMetadata::default()
    }
}

/// The raft state found in the WAL.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Replayed {
    /// The last snapshot / compaction point, if any.
    pub snapshot: Option<SnapshotMetadata>,
    /// Entries after the snapshot, contiguous.
    pub entries: Vec<Entry>,
    pub hard_state: HardState,
    pub conf_state: ConfState,
    /// Index of the entry whose conf change produced `conf_state` (0: bootstrap).
    pub conf_index: u64,
}

impl Replayed {
    /// Replays WAL records in order. `None` if there are none (first boot).
    pub(crate) fn from_records(records: Vec<Record>) -> Result<Option<Replayed>, RaftError> {
        if records.is_empty() {
            return Ok(None);
        }
        let mut out = Replayed::default();
        for record in records {
            match record.kind {
                ENTRY => {
                    let entry = Entry::parse_from_bytes(&record.data)?;
                    if entry.index != record.index {
                        return Err(RaftError::Corrupt(format!(
                            "entry record tagged {} holds entry {}",
                            record.index, entry.index
                        )));
                    }
                    out.push_entry(entry)?;
                }
                HARD_STATE => out.hard_state = HardState::parse_from_bytes(&record.data)?,
                CONF_STATE => {
                    out.conf_state = ConfState::parse_from_bytes(&record.data)?;
                    out.conf_index = record.index;
                }
                SNAPSHOT => {
                    let mut meta = SnapshotMetadata::parse_from_bytes(&record.data)?;
                    out.entries.retain(|e| e.index > meta.index);
                    out.conf_state = meta.take_conf_state();
                    out.conf_index = meta.index;
                    out.snapshot = Some(meta);
                }
                kind => {
                    return Err(RaftError::Corrupt(format!(
                        "unknown wal record kind {kind} at index {}",
                        record.index
                    )))
                }
            }
        }
        out.check_contiguous()?;
        Ok(Some(out))
    }

    /// Index of the snapshot (0 without one).
    pub(crate) fn snapshot_index(&self) -> u64 {
        self.snapshot.as_ref().map_or(0, |s| s.index)
    }

    /// Index of the last entry (or of the snapshot).
    pub(crate) fn last_index(&self) -> u64 {
        self.entries
            .last()
            .map_or(self.snapshot_index(), |e| e.index)
    }

    /// Appends `entry`, truncating any suffix it overwrites.
    fn push_entry(&mut self, entry: Entry) -> Result<(), RaftError> {
        if entry.index <= self.snapshot_index() {
            return Ok(());
        }
        let Some(first) = self.entries.first().map(|e| e.index) else {
            // The first entry after a purge may start anywhere below the next snapshot
            // record; check_contiguous validates the start at the end.
            self.entries.push(entry);
            return Ok(());
        };
        let last = self.last_index();
        if entry.index > last + 1 {
            return Err(RaftError::Corrupt(format!(
                "gap in the raft log: entry {} follows entry {last}",
                entry.index
            )));
        }
        if entry.index <= first {
            self.entries.clear();
        } else {
            self.entries.truncate((entry.index - first) as usize);
        }
        self.entries.push(entry);
        Ok(())
    }

    /// The entries must start right after the snapshot (or at 1 without one).
    fn check_contiguous(&self) -> Result<(), RaftError> {
        match self.entries.first() {
            Some(first) if first.index != self.snapshot_index() + 1 => {
                Err(RaftError::Corrupt(format!(
                    "the raft log starts at entry {} but its snapshot is at {}",
                    first.index,
                    self.snapshot_index()
                )))
            }
            _ => Ok(()),
        }
    }

    /// Whether member `id` is the only member.
    pub(crate) fn single_member(&self, id: u64) -> bool {
        let cs = &self.conf_state;
        cs.voters == [id] && cs.learners.is_empty() && cs.voters_outgoing.is_empty()
    }

    /// Makes the log consistent with the state machine of member `id`, which has
    /// applied up to `applied`, and returns the applied index raft should start from.
    ///
    /// Entries at or below the snapshot were applied before the compaction, so the
    /// result is at least the snapshot index.
    ///
    /// A single member trusts its state machine: applied entries were committed, so the
    /// commit index is raised to it, and a state machine ahead of the log is an error
    /// (new entries would reuse indexes it believes applied).
    ///
    /// A cluster member trusts the log's own commit index instead: its state machine
    /// may be ahead of the log when a snapshot from the leader was restored but the
    /// crash came before its WAL record, and the log's tail may then not be committed.
    /// raft starts from the lower of the two; the state machine skips the entries it
    /// already has, as after any restart.
    pub(crate) fn reconcile_applied(&mut self, applied: u64, id: u64) -> Result<u64, RaftError> {
        let snapshot_index = self.snapshot_index();
        let applied = applied.max(snapshot_index);
        let last = self.last_index();
        if let Some(snap) = &self.snapshot {
            self.hard_state.term = self.hard_state.term.max(snap.term);
        }
        if self.single_member(id) {
            if applied > last {
                return Err(RaftError::Corrupt(format!(
                    "the state machine has applied index {applied} but the raft log ends at {last}"
                )));
            }
            self.hard_state.commit = self.hard_state.commit.clamp(applied, last);
            return Ok(applied);
        }
        let commit = self.hard_state.commit.clamp(snapshot_index, last);
        self.hard_state.commit = commit;
        if applied > last {
            tracing::warn!(
                applied,
                last_index = last,
                commit,
                "the state machine is ahead of the raft log (a snapshot restore cut short?): \
                 the leader will resend what follows the log's commit index"
            );
        }
        Ok(applied.min(commit))
    }

    /// Builds raft's in-memory storage.
    pub(crate) fn into_storage(self) -> Result<MemStorage, RaftError> {
        let storage = MemStorage::new();
        {
            let mut core = storage.wl();
            if let Some(meta) = self.snapshot {
                let mut snap = Snapshot::default();
                snap.set_metadata(meta);
                core.apply_snapshot(snap)?;
            }
            // Contiguous and starting right after the snapshot (checked on replay).
            core.append(&self.entries)?;
            core.set_hardstate(self.hard_state);
            core.set_conf_state(self.conf_state);
        }
        Ok(storage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::Storage;

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            index,
            term,
            data: format!("{index}@{term}").into_bytes().into(),
            ..Entry::default()
        }
    }

    fn entries(range: std::ops::RangeInclusive<u64>, term: u64) -> Vec<Record> {
        range
            .map(|i| entry_record(&entry(i, term)).unwrap())
            .collect()
    }

    fn voters(ids: &[u64]) -> ConfState {
        ConfState {
            voters: ids.to_vec(),
            ..ConfState::default()
        }
    }

    fn hs(term: u64, vote: u64, commit: u64) -> HardState {
        HardState {
            term,
            vote,
            commit,
            ..HardState::default()
        }
    }

    #[test]
    fn empty_wal_is_first_boot() {
        assert_eq!(Replayed::from_records(vec![]).unwrap(), None);
    }

    #[test]
    fn later_writes_truncate_conflicting_suffix() {
        let mut records = vec![conf_state_record(0, &voters(&[1, 2, 3])).unwrap()];
        records.extend(entries(1..=5, 1));
        records.extend(entries(4..=4, 2)); // overwrites 4 and drops 5
        records.push(hard_state_record(&hs(2, 1, 3)).unwrap());
        let r = Replayed::from_records(records).unwrap().unwrap();
        let got: Vec<(u64, u64)> = r.entries.iter().map(|e| (e.index, e.term)).collect();
        assert_eq!(got, vec![(1, 1), (2, 1), (3, 1), (4, 2)]);
        assert_eq!(r.hard_state, hs(2, 1, 3));
        assert_eq!(r.conf_state, voters(&[1, 2, 3]));

        let storage = r.into_storage().unwrap();
        assert_eq!(storage.last_index().unwrap(), 4);
        assert_eq!(storage.term(4).unwrap(), 2);
        let state = storage.initial_state().unwrap();
        assert_eq!(state.hard_state, hs(2, 1, 3));
        assert_eq!(state.conf_state, voters(&[1, 2, 3]));
    }

    #[test]
    fn snapshot_drops_entries_below_it_and_keeps_the_rest() {
        // A purge left entries from 3 on; the compaction point is 6.
        let mut records = entries(3..=8, 1);
        records.push(snapshot_record(&snapshot_meta(6, 1, voters(&[1]))).unwrap());
        records.extend(entries(9..=10, 1));
        records.push(hard_state_record(&hs(1, 1, 10)).unwrap());
        let mut r = Replayed::from_records(records).unwrap().unwrap();
        assert_eq!(r.snapshot_index(), 6);
        assert_eq!(r.entries.first().unwrap().index, 7);
        assert_eq!(r.last_index(), 10);
        assert_eq!(r.conf_state, voters(&[1]));
        assert_eq!(r.reconcile_applied(0, 1).unwrap(), 6);

        let storage = r.into_storage().unwrap();
        assert_eq!(storage.first_index().unwrap(), 7);
        assert_eq!(storage.term(6).unwrap(), 1);
        assert_eq!(storage.last_index().unwrap(), 10);
    }

    #[test]
    fn gaps_are_corruption() {
        let mut records = entries(1..=3, 1);
        records.extend(entries(5..=5, 1));
        assert!(matches!(
            Replayed::from_records(records),
            Err(RaftError::Corrupt(_))
        ));

        // Entries that do not reach down to the snapshot.
        let mut records = entries(9..=10, 1);
        records.push(snapshot_record(&snapshot_meta(6, 1, voters(&[1]))).unwrap());
        assert!(matches!(
            Replayed::from_records(records),
            Err(RaftError::Corrupt(_))
        ));
    }

    #[test]
    fn bad_records_are_errors_not_panics() {
        let junk = |kind| Record {
            kind,
            index: 1,
            data: vec![0xff, 0xff, 0xff],
        };
        for kind in [ENTRY, HARD_STATE, CONF_STATE, SNAPSHOT, 99] {
            assert!(
                Replayed::from_records(vec![junk(kind)]).is_err(),
                "kind {kind}"
            );
        }
        let mut mislabeled = entry_record(&entry(2, 1)).unwrap();
        mislabeled.index = 3;
        assert!(Replayed::from_records(vec![mislabeled]).is_err());
    }

    #[test]
    fn reconcile_applied_raises_commit_and_rejects_a_single_member_ahead() {
        let mut records = vec![conf_state_record(0, &voters(&[1])).unwrap()];
        records.extend(entries(1..=10, 1));
        records.push(hard_state_record(&hs(1, 1, 4)).unwrap());
        let mut r = Replayed::from_records(records.clone()).unwrap().unwrap();
        assert_eq!(r.reconcile_applied(7, 1).unwrap(), 7);
        assert_eq!(r.hard_state.commit, 7);

        let mut r = Replayed::from_records(records).unwrap().unwrap();
        assert!(matches!(
            r.reconcile_applied(11, 1),
            Err(RaftError::Corrupt(_))
        ));
    }

    #[test]
    fn a_cluster_member_restarts_from_the_lower_of_applied_and_commit() {
        let mut records = vec![conf_state_record(0, &voters(&[1, 2, 3])).unwrap()];
        records.extend(entries(1..=10, 1));
        records.push(hard_state_record(&hs(1, 1, 4)).unwrap());
        let mut r = Replayed::from_records(records.clone()).unwrap().unwrap();
        // The uncommitted tail (5..=10) must not be taken as committed.
        assert_eq!(r.reconcile_applied(50, 2).unwrap(), 4);
        assert_eq!(r.hard_state.commit, 4);
        let mut r = Replayed::from_records(records).unwrap().unwrap();
        assert_eq!(r.reconcile_applied(3, 2).unwrap(), 3);
        assert_eq!(r.hard_state.commit, 4);
    }
}
