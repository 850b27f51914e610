//! [`RaftConfig`]: how a member is started.

use std::path::PathBuf;
use std::time::Duration;

use crate::RaftError;

/// Configuration of one raft member.
#[derive(Clone, Debug)]
pub struct RaftConfig {
    /// This member's raft id (non-zero).
    pub id: u64,
    /// The initial voters, this member included. Only used on first boot (empty WAL);
    /// afterwards the membership comes from the WAL.
    pub peers: Vec<u64>,
    /// Directory of the write-ahead log.
    pub wal_dir: PathBuf,
    /// fdatasync the WAL before acknowledging (turn off only for tests and benchmarks).
    pub wal_sync: bool,
    /// WAL segment size in bytes (64 MiB by default; tests use tiny segments).
    pub wal_segment_size: u64,
    /// Told the duration of every WAL fdatasync (etcd's `wal_fsync_duration_seconds`).
    pub wal_sync_observer: Option<wal::SyncObserver>,
    /// Time between raft ticks (etcd's heartbeat interval, 100 ms).
    pub tick_interval: Duration,
    /// Ticks without hearing from a leader before a follower campaigns (10: 1 s).
    pub election_tick: usize,
    /// Ticks between leader heartbeats (1).
    pub heartbeat_tick: usize,
    /// Applied entries between log compactions (etcd's `--snapshot-count`, 100,000).
    pub snapshot_count: u64,
    /// Entries kept in the log below the compaction point so that slightly lagging
    /// followers can catch up from the log (etcd keeps 5,000).
    pub snapshot_catchup_entries: u64,
    /// Most queued requests (proposals, peer messages, reads) folded into one Ready.
    pub max_batch: usize,
}

impl RaftConfig {
    /// A configuration with the defaults below for member `id` of `peers`, logging to
    /// `wal_dir`.
    pub fn new(id: u64, peers: Vec<u64>, wal_dir: impl Into<PathBuf>) -> RaftConfig {
        RaftConfig {
            id,
            peers,
            wal_dir: wal_dir.into(),
            ..RaftConfig::default()
        }
    }

    /// One election timeout (`tick_interval * election_tick`).
    pub fn election_timeout(&self) -> Duration {
        self.tick_interval * self.election_tick as u32
    }

    pub(crate) fn validate(&self) -> Result<(), RaftError> {
        let invalid = |msg: &str| Err(RaftError::Config(msg.to_owned()));
        if self.id == 0 {
            return invalid("member id must not be 0");
        }
        if self.peers.contains(&0) {
            return invalid("peer ids must not be 0");
        }
        if self.tick_interval.is_zero() {
            return invalid("tick interval must be positive");
        }
        if self.heartbeat_tick == 0 || self.election_tick <= self.heartbeat_tick {
            return invalid("election tick must be greater than heartbeat tick (> 0)");
        }
        if self.snapshot_count == 0 {
            return invalid("snapshot count must be positive");
        }
        if self.max_batch == 0 {
            return invalid("max batch must be positive");
        }
        Ok(())
    }
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftConfig {
            id: 1,
            peers: vec![1],
            wal_dir: PathBuf::from("member/wal"),
            wal_sync: true,
            wal_segment_size: wal::WalOptions::default().segment_size,
            wal_sync_observer: None,
            tick_interval: Duration::from_millis(100),
            election_tick: 10,
            heartbeat_tick: 1,
            snapshot_count: 100_000,
            snapshot_catchup_entries: 5_000,
            max_batch: 4096,
        }
    }
}
