//! Drives the lessor (`crates/lease`) for this member: opens it and re-attaches keys from
//! the store at start (attachments are not persisted, as in etcd), promotes it when this
//! member leads, and runs the leader's expiry loop, which revokes expired leases through
//! raft like any client revoke (so followers and the WAL see the same deletes).

use auth::AuthInfo;
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_proto::etcdserverpb::{LeaseRevokeRequest, RangeRequest};
use grpc_api::Backend;
use lease::{Lessor, LessorConfig};
use mvcc::{Engine, Store};
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::backend::EtcdBackend;

/// How often the leader looks for expired leases, and how many it revokes per round
/// (etcd: every 500 ms, at most 1000 per second).
const EXPIRY_TICK: Duration = Duration::from_millis(500);
const REVOKES_PER_TICK: usize = 500;

/// The lessor's settings for a member with these raft timings.
pub fn config(heartbeat: Duration, election_ticks: u64) -> LessorConfig {
    LessorConfig {
        min_ttl: LessorConfig::min_ttl_for(heartbeat, election_ticks),
        ..LessorConfig::default()
    }
}

pub fn open(
    engine: Arc<dyn Engine>,
    store: &Store,
    config: LessorConfig,
) -> anyhow::Result<Arc<Mutex<Lessor>>> {
    Ok(Arc::new(Mutex::new(load(engine, store, config)?)))
}

/// Reads the lease table and re-attaches the keys the store holds with a lease.
pub fn load(
    engine: Arc<dyn Engine>,
    store: &Store,
    config: LessorConfig,
) -> anyhow::Result<Lessor> {
    let mut lessor = Lessor::open_with(engine, config)?;
    let all = store.range(&RangeRequest {
        key: vec![0],
        range_end: vec![0],
        ..Default::default()
    })?;
    let mut attached = 0;
    for kv in all.kvs.iter().filter(|kv| kv.lease != 0) {
        if lessor.attach(kv.lease, &kv.key).is_ok() {
            attached += 1;
        }
    }
    tracing::info!(leases = lessor.len(), attached, "lessor recovered");
    Ok(lessor)
}

/// Runs until `stop` turns true: promotes the lessor when this member becomes leader (every
/// lease gets its full TTL plus `extend` from now, so none expires early after a restart or
/// leader change), demotes it when it stops leading, and revokes expired leases.
pub fn spawn_expiry(backend: Arc<EtcdBackend>, extend: Duration, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut leading = false;
        let mut tick = tokio::time::interval(EXPIRY_TICK);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let is_leader = backend.raft.status().is_leader;
            if is_leader != leading {
                let mut lessor = backend.lessor.lock();
                if is_leader {
                    lessor.promote(extend, Instant::now());
                } else {
                    lessor.demote();
                }
                leading = is_leader;
            }
            if !leading {
                continue;
            }
            let expired = backend
                .lessor
                .lock()
                .expired(Instant::now(), REVOKES_PER_TICK);
            for id in expired {
                let backend = backend.clone();
                tokio::spawn(async move {
                    // As root, as etcd's `WithRoot`: expiry must not depend on anyone's
                    // permissions.
                    let root = AuthInfo {
                        username: auth::ROOT_USER.into(),
                        revision: backend.auth.read().revision(),
                    };
                    if let Err(e) = backend.lease_revoke(&root, LeaseRevokeRequest { id }).await {
                        tracing::warn!(lease = id, error = %e, "revoking expired lease failed");
                    }
                });
            }
        }
    });
}
