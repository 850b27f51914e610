//! Helpers shared by the raft-node integration tests: a recording applier, an in-process
//! transport, bounded waits; `kv` and `grpc` for clusters over the real gRPC transport.
#![allow(dead_code)] // each test binary uses a different subset

pub mod grpc;
pub mod kv;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use raft_node::{Applier, Committed, MembershipChange, RaftConfig, RaftNode, SyncJob, Transport};

/// What a [`RecordingApplier`] saw; survives node restarts (shared through an `Arc`).
#[derive(Debug, Default)]
pub struct AppliedLog {
    /// Entries applied, in order (entries at or below `applied` were skipped).
    pub entries: Vec<Committed>,
    /// Every index delivered by raft, skipped or not, since the last `clear_delivered`.
    pub delivered: Vec<u64>,
    /// The consistent index reported by `applied_index()`.
    pub applied: u64,
    /// Sync jobs that completed.
    pub syncs: u64,
    /// Sync jobs wait while this is true (a slow disk under the state machine).
    pub syncs_held: bool,
    /// Membership changes, as delivered (restarts may repeat them).
    pub memberships: Vec<MembershipChange>,
}

/// An applier that records everything and skips what it has already applied.
#[derive(Clone, Default)]
pub struct RecordingApplier {
    pub log: Arc<Mutex<AppliedLog>>,
}

impl RecordingApplier {
    pub fn boxed(&self) -> Box<dyn Applier> {
        Box::new(self.clone())
    }

    pub fn len(&self) -> usize {
        self.log.lock().entries.len()
    }

    pub fn data(&self) -> Vec<Vec<u8>> {
        self.log
            .lock()
            .entries
            .iter()
            .map(|e| e.data.clone())
            .collect()
    }

    /// (index, data) of every applied entry.
    pub fn applied_entries(&self) -> Vec<(u64, Vec<u8>)> {
        self.log
            .lock()
            .entries
            .iter()
            .map(|e| (e.index, e.data.clone()))
            .collect()
    }
}

impl Applier for RecordingApplier {
    fn applied_index(&self) -> u64 {
        self.log.lock().applied
    }

    fn apply(&mut self, entries: Vec<Committed>) {
        let mut log = self.log.lock();
        for entry in entries {
            log.delivered.push(entry.index);
            if entry.index <= log.applied {
                continue;
            }
            log.applied = entry.index;
            log.entries.push(entry);
        }
    }

    fn sync_state(&mut self) -> SyncJob {
        let log = self.log.clone();
        Box::new(move || {
            while log.lock().syncs_held {
                std::thread::sleep(Duration::from_millis(5));
            }
            log.lock().syncs += 1;
            Ok(())
        })
    }

    fn apply_membership(&mut self, change: MembershipChange) {
        self.log.lock().memberships.push(change);
    }
}

/// Routes messages between in-process nodes; members in `down` neither send nor receive.
#[derive(Clone, Default)]
pub struct Network {
    nodes: Arc<RwLock<HashMap<u64, RaftNode>>>,
    down: Arc<Mutex<HashSet<u64>>>,
}

impl Network {
    pub fn transport(&self, from: u64) -> Box<dyn Transport> {
        Box::new(NetTransport {
            from,
            net: self.clone(),
        })
    }

    pub fn register(&self, id: u64, node: RaftNode) {
        self.down.lock().remove(&id);
        self.nodes.write().insert(id, node);
    }

    pub fn set_down(&self, id: u64) {
        self.down.lock().insert(id);
    }

    pub fn node(&self, id: u64) -> RaftNode {
        self.nodes.read()[&id].clone()
    }
}

struct NetTransport {
    from: u64,
    net: Network,
}

impl Transport for NetTransport {
    fn send(&self, to: u64, msg: Vec<u8>) {
        {
            let down = self.net.down.lock();
            if down.contains(&self.from) || down.contains(&to) {
                return;
            }
        }
        if let Some(node) = self.net.nodes.read().get(&to) {
            // A stopped peer is like an unreachable one: raft retries.
            let _ = node.step(msg);
        }
    }

    /// Delivers the snapshot message as is (no state machine data) and reports it.
    fn send_snapshot(&self, to: u64, msg: Vec<u8>) {
        let delivered = {
            let down = self.net.down.lock();
            !down.contains(&self.from) && !down.contains(&to)
        } && self
            .net
            .nodes
            .read()
            .get(&to)
            .is_some_and(|node| node.step(msg).is_ok());
        if let Some(node) = self.net.nodes.read().get(&self.from) {
            node.report_snapshot(to, delivered);
        }
    }
}

/// A fast-ticking config for tests.
pub fn test_config(id: u64, peers: Vec<u64>, dir: &Path) -> RaftConfig {
    RaftConfig {
        tick_interval: Duration::from_millis(20),
        wal_sync: true,
        ..RaftConfig::new(id, peers, dir)
    }
}

/// Polls `cond` every 5 ms until it holds; panics with `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
