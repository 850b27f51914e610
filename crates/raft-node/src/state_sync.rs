//! The state machine's sync before a log compaction, run off the node thread.
//!
//! Making the state machine durable (a RocksDB flush of every column family) takes
//! hundreds of milliseconds on a loaded disk. Run on the node thread it would stop the
//! Ready loop, and every client waiting on a write with it, once per
//! `snapshot_count` entries. Instead the applier hands over a [`SyncJob`] covering what
//! it has applied so far; a thread runs it while the node goes on applying, and the log
//! is compacted (and the WAL purged) only once the job has succeeded.

use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver, TryRecvError};

use crate::api::SyncJob;
use crate::RaftError;

/// A sync job running on its own thread.
pub(crate) struct PendingSync {
    /// Applied index when the job was created: durable once it succeeds.
    applied: u64,
    done: Receiver<Result<(), String>>,
    thread: Option<JoinHandle<()>>,
}

/// What a poll of a [`PendingSync`] found.
pub(crate) enum SyncPoll {
    /// Still running.
    Running,
    /// Everything up to this applied index is durable.
    Durable(u64),
    /// The job failed (or panicked): nothing may be compacted on its account.
    Failed(String),
}

impl PendingSync {
    /// Starts `job`, which covers everything applied up to `applied`.
    pub(crate) fn start(applied: u64, job: SyncJob) -> Result<PendingSync, RaftError> {
        let (tx, done) = bounded(1);
        let thread = std::thread::Builder::new()
            .name("raft-state-sync".into())
            .spawn(move || {
                let _ = tx.send(job());
            })
            .map_err(RaftError::Spawn)?;
        Ok(PendingSync {
            applied,
            done,
            thread: Some(thread),
        })
    }

    /// Whether the job has finished, without waiting.
    pub(crate) fn poll(&mut self) -> SyncPoll {
        let outcome = match self.done.try_recv() {
            Err(TryRecvError::Empty) => return SyncPoll::Running,
            Ok(Ok(())) => SyncPoll::Durable(self.applied),
            Ok(Err(err)) => SyncPoll::Failed(err),
            Err(TryRecvError::Disconnected) => SyncPoll::Failed("sync job panicked".into()),
        };
        self.join();
        outcome
    }

    /// Waits for the job to end (on stop: the state machine is closed after the node).
    pub(crate) fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for PendingSync {
    fn drop(&mut self) {
        self.join();
    }
}
