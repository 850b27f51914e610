//! Starting a member: open the WAL, rebuild raft's storage from it (or bootstrap a new
//! log on first boot) and create the `RawNode`.

use raft::eraftpb::ConfState;
use raft::{RawNode, StateRole};
use wal::{Wal, WalOptions};

use crate::log_store::LogStore;
use crate::membership::bootstrap_entries;
use crate::storage::{
    conf_state_record, entry_record, hard_state_record, snapshot_meta, snapshot_record, Replayed,
};
use crate::{PeerProgress, RaftConfig, RaftError, RaftStatus};

/// Largest append message raft sends (etcd: 1 MiB).
const MAX_SIZE_PER_MSG: u64 = 1 << 20;
/// Append messages in flight per follower (etcd: 256 by default in raft).
const MAX_INFLIGHT_MSGS: usize = 256;

/// A member ready to run.
pub(crate) struct Booted {
    pub raw: RawNode<LogStore>,
    pub wal: Wal,
    /// Conf changes at or below this index are already part of the restored membership.
    pub conf_index: u64,
    /// Applied index at start (the next compaction counts from here).
    pub applied: u64,
    /// The only voter is this member: campaign at once.
    pub single_member: bool,
}

/// Opens the WAL and builds the raft node for `cfg`. `applied` is the state machine's
/// consistent index.
pub(crate) fn boot(cfg: &RaftConfig, applied: u64) -> Result<Booted, RaftError> {
    let opts = WalOptions {
        segment_size: cfg.wal_segment_size,
        sync: cfg.wal_sync,
    };
    let (mut wal, records) = Wal::open(&cfg.wal_dir, opts)?;
    if let Some(observer) = &cfg.wal_sync_observer {
        wal = wal.observe_syncs(observer.clone());
    }
    let mut log = match Replayed::from_records(records)? {
        Some(log) => log,
        None => bootstrap(cfg, &wal, applied)?,
    };
    let applied = log.reconcile_applied(applied, cfg.id)?;
    let conf_index = log.conf_index;
    let single_member = log.single_member(cfg.id);
    tracing::info!(
        id = cfg.id,
        applied,
        snapshot = log.snapshot_index(),
        last_index = log.last_index(),
        term = log.hard_state.term,
        commit = log.hard_state.commit,
        voters = ?log.conf_state.voters,
        "raft log restored"
    );
    let storage = LogStore::new(log.into_storage()?, applied);

    let raft_cfg = raft::Config {
        id: cfg.id,
        election_tick: cfg.election_tick,
        heartbeat_tick: cfg.heartbeat_tick,
        applied,
        max_size_per_msg: MAX_SIZE_PER_MSG,
        max_inflight_msgs: MAX_INFLIGHT_MSGS,
        check_quorum: true,
        pre_vote: true,
        ..raft::Config::default()
    };
    raft_cfg.validate()?;
    let raw = RawNode::new(&raft_cfg, storage, &crate::logger::raft_logger(cfg.id))?;
    Ok(Booted {
        raw,
        wal,
        conf_index,
        applied,
        single_member,
    })
}

/// First boot. If this member is among `cfg.peers`, the log starts with one committed
/// conf change per initial member (as etcd's does), or, when the state machine already
/// has data (restored from a snapshot), with snapshot metadata at its applied index. A
/// member that is not among the peers joins an existing cluster: it starts empty and
/// learns log and membership from the leader.
fn bootstrap(cfg: &RaftConfig, wal: &Wal, applied: u64) -> Result<Replayed, RaftError> {
    let mut voters = cfg.peers.clone();
    voters.sort_unstable();
    voters.dedup();
    if !voters.contains(&cfg.id) {
        tracing::info!(
            id = cfg.id,
            "new member: waiting for the leader to replicate the log"
        );
        return Ok(Replayed::default());
    }
    let conf_state = ConfState {
        voters,
        ..ConfState::default()
    };
    let mut log = Replayed::default();
    let mut records = Vec::new();
    if applied > 0 {
        let meta = snapshot_meta(applied, 1, conf_state.clone());
        records.push(snapshot_record(&meta)?);
        log.snapshot = Some(meta);
        log.conf_index = applied;
    } else {
        log.entries = bootstrap_entries(&conf_state.voters)?;
        for entry in &log.entries {
            records.push(entry_record(entry)?);
        }
        log.conf_index = log.last_index();
        log.hard_state.term = 1;
        log.hard_state.commit = log.last_index();
        records.push(hard_state_record(&log.hard_state)?);
    }
    records.push(conf_state_record(log.conf_index, &conf_state)?);
    log.conf_state = conf_state;
    wal.append_sync(&records)?;
    tracing::info!(id = cfg.id, voters = ?log.conf_state.voters, applied, "bootstrapped a new raft log");
    Ok(log)
}

/// The status a `RawNode` is in right now.
pub(crate) fn status_of(raw: &RawNode<LogStore>) -> RaftStatus {
    let raft = &raw.raft;
    let is_leader = raft.state == StateRole::Leader;
    let mut progress = Vec::new();
    if is_leader {
        let learners = raft.prs().conf().learners();
        progress.extend(raft.prs().iter().map(|(&id, pr)| PeerProgress {
            id,
            matched: pr.matched,
            is_learner: learners.contains(&id),
        }));
        progress.sort_unstable_by_key(|p| p.id);
    }
    RaftStatus {
        id: raft.id,
        leader_id: raft.leader_id,
        term: raft.term,
        commit_index: raft.raft_log.committed,
        applied_index: raft.raft_log.applied,
        is_leader,
        progress,
    }
}
