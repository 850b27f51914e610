//! The node thread: the only owner of the `RawNode`, the WAL and the applier.
//!
//! Each iteration waits for a request until the next tick is due, then drains every
//! queued request (up to `max_batch`) before handling the Ready they produced: this is
//! the group commit, many proposals -> one Ready -> one WAL append + fdatasync -> one
//! `Applier::apply` call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};
use protobuf::Message as _;
use raft::eraftpb::{
    ConfChange, ConfChangeV2, Entry, EntryType, HardState, Message, MessageType, Snapshot,
};
use raft::{RawNode, SnapshotStatus, Storage};
use wal::{Record, Wal};

use crate::boot::{status_of, Booted};
use crate::log_store::LogStore;
use crate::membership::{describe_v1, describe_v2};
use crate::read::{ReadIndexes, ReadWaiter};
use crate::shared::{Counters, Request, Shared};
use crate::state_sync::{PendingSync, SyncPoll};
use crate::storage::{
    conf_state_record, entry_record, hard_state_record, snapshot_meta, snapshot_record,
};
use crate::{
    Applier, Committed, MembershipChange, RaftConfig, RaftError, RaftStatus, SnapshotMeta,
    Transport,
};

/// Readies handled per iteration at most; more work waits for the next iteration.
const MAX_READIES_PER_ITERATION: usize = 4;

/// Everything the node thread owns.
pub(crate) struct Worker {
    raw: RawNode<LogStore>,
    wal: Wal,
    applier: Box<dyn Applier>,
    transport: Box<dyn Transport>,
    requests: Receiver<Request>,
    shared: Arc<Shared>,
    reads: ReadIndexes,
    tick_interval: Duration,
    max_batch: usize,
    snapshot_count: u64,
    catchup_entries: u64,
    /// The hard state as raft last reported it.
    hard_state: HardState,
    /// `hard_state` has a commit index not yet written to the WAL; it rides along with
    /// the next append (a lost commit index is recomputed by raft, so no sync needed).
    hard_state_dirty: bool,
    /// Conf changes at or below this index are already part of the membership.
    conf_index: u64,
    /// Applied index at the last snapshot (state machine sync + log compaction, or a
    /// snapshot restored from the leader).
    snapshot_applied: u64,
    /// The only voter is this member: campaign without waiting for a timeout.
    single_member: bool,
    /// The state machine sync a log compaction waits for.
    pending_sync: Option<PendingSync>,
}

impl Worker {
    pub(crate) fn new(
        cfg: &RaftConfig,
        booted: Booted,
        applier: Box<dyn Applier>,
        transport: Box<dyn Transport>,
        requests: Receiver<Request>,
        shared: Arc<Shared>,
    ) -> Worker {
        let hard_state = booted.raw.raft.hard_state();
        Worker {
            raw: booted.raw,
            wal: booted.wal,
            applier,
            transport,
            requests,
            shared,
            reads: ReadIndexes::new(Duration::from_secs(5) + 2 * cfg.election_timeout()),
            tick_interval: cfg.tick_interval,
            max_batch: cfg.max_batch,
            snapshot_count: cfg.snapshot_count,
            catchup_entries: cfg.snapshot_catchup_entries,
            hard_state,
            hard_state_dirty: false,
            conf_index: booted.conf_index,
            snapshot_applied: booted.applied,
            single_member: booted.single_member,
            pending_sync: None,
        }
    }

    /// Runs before the thread starts: delivers what was committed but not applied (raft
    /// refuses to campaign with unapplied conf changes), then a single member campaigns
    /// and is leader when this returns.
    pub(crate) fn startup(&mut self) -> Result<(), RaftError> {
        self.process_readies()?;
        if self.single_member {
            self.raw.campaign()?;
            self.process_readies()?;
        }
        self.shared.publish(status_of(&self.raw));
        Ok(())
    }

    /// Runs until stopped, all handles are gone, or a fatal error (logged).
    pub(crate) fn run(mut self) {
        let id = self.raw.raft.id;
        match self.run_loop() {
            Ok(()) => tracing::info!(id, "raft node stopped"),
            Err(err) => tracing::error!(id, error = %err, "raft node failed; stopping"),
        }
        // The state machine is closed after the node: let a running sync end first.
        if let Some(mut pending) = self.pending_sync.take() {
            pending.join();
        }
        self.shared.mark_stopped();
        // A stopped member leads nothing, whatever raft last thought.
        self.shared.publish(RaftStatus {
            leader_id: 0,
            is_leader: false,
            ..status_of(&self.raw)
        });
        // Pending reads fail with Stopped when `self.reads` drops their senders.
    }

    fn run_loop(&mut self) -> Result<(), RaftError> {
        let mut next_tick = Instant::now() + self.tick_interval;
        loop {
            let mut reads = Vec::new();
            // Work left over from the last iteration's Ready cap must not wait for a tick.
            let deadline = if self.raw.has_ready() {
                Instant::now()
            } else {
                next_tick
            };
            let stop = match self.requests.recv_deadline(deadline) {
                Ok(request) => self.handle(request, &mut reads) || self.drain(&mut reads),
                Err(RecvTimeoutError::Timeout) => false,
                Err(RecvTimeoutError::Disconnected) => true,
            };
            let now = Instant::now();
            if now >= next_tick {
                self.raw.tick();
                next_tick += self.tick_interval;
                if next_tick <= now {
                    next_tick = now + self.tick_interval;
                }
                for ctx in self.reads.expire(now) {
                    self.raw.read_index(ctx);
                }
            }
            if !reads.is_empty() {
                let ctx = self.reads.register(reads, now);
                self.raw.read_index(ctx);
            }
            self.process_readies()?;
            self.shared.publish(status_of(&self.raw));
            if stop {
                return Ok(());
            }
        }
    }

    /// Handles the Readies the last requests produced, then compacts if due.
    fn process_readies(&mut self) -> Result<(), RaftError> {
        for _ in 0..MAX_READIES_PER_ITERATION {
            if !self.raw.has_ready() {
                break;
            }
            self.on_ready()?;
        }
        self.maybe_snapshot()
    }

    /// Handles queued requests without blocking; returns true on stop.
    fn drain(&mut self, reads: &mut Vec<ReadWaiter>) -> bool {
        for _ in 1..self.max_batch {
            match self.requests.try_recv() {
                Ok(request) => {
                    if self.handle(request, reads) {
                        return true;
                    }
                }
                Err(TryRecvError::Empty) => return false,
                Err(TryRecvError::Disconnected) => return true,
            }
        }
        false
    }

    /// Feeds one request to raft; returns true on stop.
    fn handle(&mut self, request: Request, reads: &mut Vec<ReadWaiter>) -> bool {
        let counters = &self.shared.counters;
        match request {
            Request::Propose(data) => match self.raw.propose(Vec::new(), data) {
                Ok(()) => Counters::add(&counters.proposals, 1),
                Err(err) => {
                    Counters::add(&counters.proposals_dropped, 1);
                    tracing::debug!(error = %err, "proposal dropped");
                }
            },
            Request::ProposeConfChange(cc) => match self.raw.propose_conf_change(Vec::new(), *cc) {
                Ok(()) => Counters::add(&counters.proposals, 1),
                Err(err) => {
                    Counters::add(&counters.proposals_dropped, 1);
                    tracing::info!(error = %err, "membership change dropped");
                }
            },
            Request::Step(msg) => {
                let (from, kind) = (msg.from, msg.get_msg_type());
                if let Err(err) = self.raw.step(*msg) {
                    tracing::debug!(from, ?kind, error = %err, "raft message ignored");
                }
            }
            Request::ReadIndex(waiter) => reads.push(waiter),
            Request::ReportUnreachable(id) => self.raw.report_unreachable(id),
            Request::ReportSnapshot(id, ok) => {
                let status = if ok {
                    SnapshotStatus::Finish
                } else {
                    SnapshotStatus::Failure
                };
                self.raw.report_snapshot(id, status);
            }
            Request::TransferLeader(to) => {
                tracing::info!(to = %format!("{to:x}"), "transferring leadership");
                self.raw.transfer_leader(to);
            }
            Request::Stop => return true,
        }
        false
    }

    /// Handles one Ready in raft-rs 0.7's order.
    fn on_ready(&mut self) -> Result<(), RaftError> {
        Counters::add(&self.shared.counters.readies, 1);
        let mut rd = self.raw.ready();
        // A leader sends before persisting (raft thesis 10.2.1).
        self.send(rd.take_messages());

        let mut records = Vec::with_capacity(rd.entries().len() + 2);
        if !rd.snapshot().is_empty() {
            records.push(self.restore_snapshot(rd.snapshot())?);
        }
        for entry in rd.entries() {
            records.push(entry_record(entry)?);
        }
        self.raw.store().mem().wl().append(rd.entries())?;
        if let Some(hs) = rd.hs() {
            self.raw.store().mem().wl().set_hardstate(hs.clone());
            self.hard_state = hs.clone();
            self.hard_state_dirty = true;
        }
        if self.hard_state_dirty {
            records.push(hard_state_record(&self.hard_state)?);
            self.hard_state_dirty = false;
        }
        self.persist(&records, rd.must_sync())?;

        self.send(rd.take_persisted_messages());
        self.apply(rd.take_committed_entries())?;
        for state in rd.take_read_states() {
            self.reads.resolve(&state.request_ctx, state.index);
        }

        let mut light = self.raw.advance(rd);
        if let Some(commit) = light.commit_index() {
            self.raw.store().mem().wl().mut_hard_state().commit = commit;
            self.hard_state.commit = commit;
            self.hard_state_dirty = true;
        }
        self.send(light.take_messages());
        self.apply(light.take_committed_entries())?;
        self.raw.advance_apply();
        let applied = self.raw.raft.raft_log.applied;
        self.raw.mut_store().set_applied(applied);
        Ok(())
    }

    /// Restores a snapshot from the leader: first the state machine (durably), then
    /// raft's storage; returns the WAL record to write with the rest of the Ready.
    /// Writing the record after the restore means a crash in between restarts from the
    /// old log under a state machine that is ahead of it, which the leader's log (or a
    /// new snapshot) repairs; the other order would leave a log that claims data the
    /// state machine never got. A failed restore is fatal (an error).
    fn restore_snapshot(&mut self, snapshot: &Snapshot) -> Result<Record, RaftError> {
        let meta = snapshot.get_metadata();
        let cs = meta.get_conf_state();
        let sorted = |ids: &[u64]| {
            let mut ids = ids.to_vec();
            ids.sort_unstable();
            ids
        };
        tracing::info!(
            index = meta.index,
            term = meta.term,
            bytes = snapshot.data.len(),
            voters = ?cs.voters,
            "restoring a snapshot from the leader"
        );
        let restored = SnapshotMeta {
            index: meta.index,
            term: meta.term,
            voters: sorted(&cs.voters),
            learners: sorted(&cs.learners),
        };
        self.applier
            .restore_snapshot(restored, snapshot.data.to_vec())
            .map_err(|err| {
                RaftError::Snapshot(format!("snapshot at index {}: {err}", meta.index))
            })?;
        Counters::add(&self.shared.counters.snapshots_restored, 1);
        // raft's storage gets the metadata only: the data lives in the state machine.
        let mut light = Snapshot::default();
        light.set_metadata(meta.clone());
        self.raw.store().mem().wl().apply_snapshot(light)?;
        self.conf_index = meta.index;
        self.snapshot_applied = meta.index;
        snapshot_record(meta)
    }

    /// Writes `records` to the WAL in one append, fdatasynced if `sync`.
    fn persist(&self, records: &[Record], sync: bool) -> Result<(), RaftError> {
        if records.is_empty() {
            return Ok(());
        }
        let counters = &self.shared.counters;
        if sync {
            self.wal.append_sync(records)?;
            Counters::add(&counters.wal_syncs, 1);
        } else {
            self.wal.append(records)?;
        }
        Counters::add(&counters.wal_appends, 1);
        Ok(())
    }

    fn send(&mut self, msgs: Vec<Message>) {
        for msg in msgs {
            match msg.write_to_bytes() {
                Ok(bytes) if msg.get_msg_type() == MessageType::MsgSnapshot => {
                    self.transport.send_snapshot(msg.to, bytes)
                }
                Ok(bytes) => self.transport.send(msg.to, bytes),
                Err(err) => {
                    tracing::error!(to = msg.to, error = %err, "cannot encode raft message")
                }
            }
        }
    }

    /// Hands committed normal entries to the applier and applies conf changes to raft.
    fn apply(&mut self, entries: Vec<Entry>) -> Result<(), RaftError> {
        let mut batch = Vec::with_capacity(entries.len());
        for mut entry in entries {
            match entry.get_entry_type() {
                // Empty entries are appended by new leaders; nothing to apply.
                EntryType::EntryNormal if entry.data.is_empty() => {}
                EntryType::EntryNormal => batch.push(Committed {
                    index: entry.index,
                    term: entry.term,
                    data: Vec::from(std::mem::take(&mut entry.data)),
                }),
                EntryType::EntryConfChange | EntryType::EntryConfChangeV2 => {
                    // The state machine sees the entries before the change first.
                    self.flush(&mut batch);
                    self.apply_conf_change(&entry)?;
                }
            }
        }
        self.flush(&mut batch);
        Ok(())
    }

    fn flush(&mut self, batch: &mut Vec<Committed>) {
        if !batch.is_empty() {
            Counters::add(&self.shared.counters.entries_applied, batch.len() as u64);
            self.applier.apply(std::mem::take(batch));
        }
    }

    /// Applies a committed conf change to raft, makes the new membership durable before
    /// any later entry reaches the state machine, and tells the applier.
    fn apply_conf_change(&mut self, entry: &Entry) -> Result<(), RaftError> {
        // A change at or below conf_index is already part of the membership restored
        // from the WAL: raft must not apply it twice (`None`).
        let known = entry.index <= self.conf_index;
        let (changes, context, result) = if entry.get_entry_type() == EntryType::EntryConfChange {
            let cc = ConfChange::parse_from_bytes(&entry.data)?;
            let result = (!known).then(|| self.raw.apply_conf_change(&cc));
            let (changes, context) = describe_v1(&cc);
            (changes, context, result.transpose())
        } else {
            let cc = ConfChangeV2::parse_from_bytes(&entry.data)?;
            let result = (!known).then(|| self.raw.apply_conf_change(&cc));
            let (changes, context) = describe_v2(&cc);
            (changes, context, result.transpose())
        };
        let conf_state = match result {
            Ok(Some(cs)) => cs,
            Ok(None) => self.raw.store().initial_state()?.conf_state,
            Err(err) => {
                tracing::warn!(index = entry.index, error = %err, "conf change rejected");
                return Ok(());
            }
        };
        if !known {
            self.persist(&[conf_state_record(entry.index, &conf_state)?], true)?;
            tracing::info!(index = entry.index, ?changes, voters = ?conf_state.voters,
                learners = ?conf_state.learners, "membership changed");
            self.conf_index = entry.index;
            self.raw
                .store()
                .mem()
                .wl()
                .set_conf_state(conf_state.clone());
        }
        let sorted = |mut ids: Vec<u64>| {
            ids.sort_unstable();
            ids
        };
        self.applier.apply_membership(MembershipChange {
            index: entry.index,
            term: entry.term,
            changes,
            context,
            voters: sorted(conf_state.voters),
            learners: sorted(conf_state.learners),
        });
        Ok(())
    }

    /// Every `snapshot_count` applied entries: start making the state machine durable
    /// (off this thread); once that is done, compact the raft log (keeping
    /// `catchup_entries` for lagging followers) and purge the WAL below the compaction
    /// point.
    ///
    /// Only raft metadata is recorded: a follower that falls behind the compaction point
    /// gets a snapshot whose data the transport takes from the state machine.
    fn maybe_snapshot(&mut self) -> Result<(), RaftError> {
        if let Some(pending) = self.pending_sync.as_mut() {
            match pending.poll() {
                SyncPoll::Running => {}
                SyncPoll::Durable(applied) => {
                    self.pending_sync = None;
                    self.compact_log(applied)?;
                }
                SyncPoll::Failed(err) => {
                    self.pending_sync = None;
                    tracing::warn!(error = %err, "state machine sync failed; log compaction skipped");
                }
            }
            return Ok(());
        }
        let applied = self.raw.raft.raft_log.applied;
        if applied < self.snapshot_applied + self.snapshot_count {
            return Ok(());
        }
        self.snapshot_applied = applied;
        self.pending_sync = Some(PendingSync::start(applied, self.applier.sync_state())?);
        Ok(())
    }

    /// Compacts the log up to `applied` (which the state machine has made durable) minus
    /// the catch-up entries, and purges the WAL below.
    fn compact_log(&mut self, applied: u64) -> Result<(), RaftError> {
        let compact_to = applied.saturating_sub(self.catchup_entries);
        let store = self.raw.store().mem().clone();
        if compact_to < store.first_index()? {
            return Ok(());
        }
        let term = store.term(compact_to)?;
        let conf_state = store.initial_state()?.conf_state;
        let records = [
            snapshot_record(&snapshot_meta(compact_to, term, conf_state.clone()))?,
            // The exact index the membership is from (the snapshot record implies
            // `compact_to`), so restarts do not apply a later conf change twice.
            conf_state_record(self.conf_index, &conf_state)?,
            hard_state_record(&self.hard_state)?,
        ];
        self.persist(&records, true)?;
        self.hard_state_dirty = false;
        store.wl().compact(compact_to)?;
        let purged = self.wal.purge(compact_to + 1)?;
        let counters = &self.shared.counters;
        Counters::add(&counters.compactions, 1);
        Counters::add(&counters.segments_purged, purged as u64);
        tracing::debug!(compact_to, purged, "raft log compacted");
        Ok(())
    }
}
