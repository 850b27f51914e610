//! Data corruption checks across members (etcd's `corrupt.go`), by comparing HashKV.
//!
//! - `--experimental-initial-corrupt-check`: before serving clients, a member compares its
//!   hash at its current revision with every reachable peer's at the same revision; a
//!   mismatch at the same compacted revision stops it ("found data inconsistency with
//!   peers").
//! - `--experimental-corrupt-check-time D`: every D the leader compares its hash with the
//!   followers'. A follower ahead of the leader (revision or compacted revision), or with a
//!   different hash at the same compacted revision, raises the CORRUPT alarm (member 0, as
//!   etcd 3.4.23, since which side is corrupt is unknown). While it is active every write
//!   fails with `etcdserver: corrupt cluster`.

use std::sync::Arc;
use std::time::Duration;

use etcd_proto::etcdserverpb::{
    alarm_request::AlarmAction, AlarmRequest, AlarmType, HashKvRequest, HashKvResponse,
};
use etcd_proto::peerpb::cluster_client::ClusterClient;
use mvcc::{HashKv, MvccError};
use tokio::sync::watch;

use crate::backend::EtcdBackend;

/// A peer's answer to HashKV at a revision.
struct PeerHash {
    id: u64,
    result: Result<HashKvResponse, tonic::Status>,
}

/// Asks every other member for its HashKV at `rev`, over the peer port.
async fn peer_hashes(b: &EtcdBackend, rev: i64) -> Vec<PeerHash> {
    let mut out = Vec::new();
    for m in b.cluster.members() {
        if m.id == b.member_id {
            continue;
        }
        let Some(url) = m.peer_ur_ls.first() else {
            continue;
        };
        let result = match crate::peer::channel(url, b.peers.tls().as_ref()) {
            Ok(ch) => ClusterClient::new(ch)
                .hash_kv(HashKvRequest { revision: rev })
                .await
                .map(|r| r.into_inner()),
            Err(e) => Err(tonic::Status::unavailable(e)),
        };
        out.push(PeerHash { id: m.id, result });
    }
    out
}

fn local_hash(b: &EtcdBackend) -> Result<HashKv, MvccError> {
    b.store.hash_kv(0)
}

/// etcd's `CheckInitialHashKV`.
pub async fn initial_check(b: &EtcdBackend) -> anyhow::Result<()> {
    let id = format!("{:x}", b.member_id);
    tracing::info!(local_member_id = %id, "starting initial corruption check");
    let local = local_hash(b).map_err(|e| anyhow::anyhow!("{id} failed to fetch hash ({e})"))?;
    let mut mismatch = 0;
    for p in peer_hashes(b, local.current_revision).await {
        let peer = format!("{:x}", p.id);
        match p.result {
            Ok(r) if r.hash != local.hash => {
                if r.compact_revision == local.compact_revision {
                    tracing::error!(local_member_id = %id, local_member_hash = local.hash, remote_peer_id = %peer, remote_peer_hash = r.hash, revision = local.current_revision, compact_revision = local.compact_revision, "found different hash values from remote peer");
                    mismatch += 1;
                } else {
                    tracing::warn!(local_member_id = %id, remote_peer_id = %peer, remote_peer_compact_revision = r.compact_revision, local_member_compact_revision = local.compact_revision, "cannot check hash of peer: peer has a different compact revision");
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(local_member_id = %id, remote_peer_id = %peer, error = %e.message(), revision = local.current_revision, "cannot fetch hash from remote peer")
            }
        }
    }
    if mismatch > 0 {
        anyhow::bail!("{id} found data inconsistency with peers");
    }
    tracing::info!(local_member_id = %id, "initial corruption checking passed; no corruption");
    Ok(())
}

/// etcd's `checkHashKV`, run by the leader: true when it raised the CORRUPT alarm.
async fn check(b: &EtcdBackend) -> anyhow::Result<bool> {
    let first = local_hash(b)?;
    let peers = peer_hashes(b, first.current_revision).await;
    b.read_barrier_within(b.request_timeout)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let second = local_hash(b)?;
    let mut corrupt = false;
    if second.hash != first.hash
        && second.current_revision == first.current_revision
        && second.compact_revision == first.compact_revision
    {
        tracing::warn!(
            revision = first.current_revision,
            leader_hash = first.hash,
            hash = second.hash,
            "found hash mismatch"
        );
        corrupt = true;
    }
    for p in peers {
        let Ok(r) = p.result else { continue };
        let peer = format!("{:x}", p.id);
        let revision = r.header.as_ref().map_or(0, |h| h.revision);
        if revision > second.current_revision {
            tracing::warn!(follower_id = %peer, follower_revision = revision, leader_revision = second.current_revision, "revision from follower must be less than or equal to leader's");
            corrupt = true;
        }
        if r.compact_revision > second.compact_revision {
            tracing::warn!(follower_id = %peer, follower_compact_revision = r.compact_revision, leader_compact_revision = second.compact_revision, "compact revision from follower must be less than or equal to leader's");
            corrupt = true;
        }
        if r.compact_revision == first.compact_revision && r.hash != first.hash {
            tracing::warn!(follower_id = %peer, follower_hash = r.hash, leader_hash = first.hash, revision = first.current_revision, "same compact revision then hashes must match");
            corrupt = true;
        }
    }
    if corrupt {
        let raise = AlarmRequest {
            action: AlarmAction::Activate as i32,
            member_id: 0,
            alarm: AlarmType::Corrupt as i32,
        };
        b.alarm_request(raise)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(corrupt)
}

/// etcd's `monitorKVHash`: every `interval`, when this member leads, checks the
/// followers' hashes until `shutdown`.
pub fn spawn_monitor(b: Arc<EtcdBackend>, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    tracing::info!(local_member_id = %format!("{:x}", b.member_id), ?interval, "enabled corruption checking");
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
            if !b.raft.status().is_leader {
                continue;
            }
            match check(&b).await {
                Ok(_) => tracing::info!("finished peer corruption check"),
                Err(e) => tracing::warn!(error = %e, "failed to check hash KV"),
            }
        }
    });
}
