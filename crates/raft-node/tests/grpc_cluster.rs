//! Three members on 127.0.0.1 over the real gRPC transport: replication, leader failure
//! and restart, catching up by snapshot, a peer down, leadership transfer.

mod common;

use std::time::{Duration, Instant};

use common::grpc::{Cluster, WAIT};
use common::wait_until;
use protobuf::Message as _;
use raft::eraftpb::{Message, MessageType};
use raft_node::{PeerProgress, RaftConfig, Transport};

fn no_tuning(_: &mut RaftConfig) {}

fn others(all: &[u64], but: u64) -> Vec<u64> {
    all.iter().copied().filter(|&id| id != but).collect()
}

/// Waits until every member in `members` has an active stream to every other one.
fn wait_connected(cluster: &Cluster, members: &[u64]) {
    for &id in members {
        let transport = cluster.transport(id);
        for peer in others(members, id) {
            wait_until(WAIT, &format!("stream {id} -> {peer} up"), || {
                transport.active_since(peer).is_some()
            });
        }
    }
}

#[test]
fn three_members_replicate_and_survive_a_leader_failure() {
    let mut cluster = Cluster::start(3, no_tuning);
    let all = cluster.ids();
    let leader = cluster.wait_leader(&all);
    let follower = others(&all, leader)[0];
    wait_connected(&cluster, &all);

    for i in 0..30 {
        cluster.put(leader, &format!("a{i}"), "leader");
    }
    for i in 0..20 {
        cluster.put(follower, &format!("b{i}"), "follower");
    }
    let state = cluster.wait_converged(&all, 50);
    assert_eq!(state.map["a0"], "leader");
    assert_eq!(state.map["b19"], "follower");

    // The leader's view of every member; followers have none.
    let commit = cluster.node(leader).status().commit_index;
    wait_until(WAIT, "leader progress up to date", || {
        let progress = cluster.node(leader).status().progress;
        progress.iter().map(|p| p.id).collect::<Vec<_>>() == all
            && progress.iter().all(
                |&PeerProgress {
                     matched,
                     is_learner,
                     ..
                 }| matched >= commit && !is_learner,
            )
    });
    assert!(cluster.node(follower).status().progress.is_empty());

    // The leader stops: the others elect a new one and keep going.
    cluster.stop_member(leader);
    let rest = others(&all, leader);
    let new_leader = cluster.wait_leader(&rest);
    assert_ne!(new_leader, leader);
    for i in 0..20 {
        cluster.put(new_leader, &format!("c{i}"), "after");
    }
    cluster.wait_converged(&rest, 70);
    for &id in &rest {
        let transport = cluster.transport(id);
        wait_until(WAIT, "stream to the stopped member down", || {
            transport.active_since(leader).is_none()
        });
    }

    // The old leader restarts on its WAL (same port) and catches up from the log.
    cluster.start_member(leader);
    let state = cluster.wait_converged(&all, 70);
    assert_eq!(state.map["c19"], "after");
    assert!(cluster.member(leader).machine.restores().is_empty());
    wait_connected(&cluster, &all);
    cluster.stop_all();
}

fn small_snapshots(cfg: &mut RaftConfig) {
    cfg.snapshot_count = 20;
    cfg.snapshot_catchup_entries = 5;
}

#[test]
fn a_member_behind_the_compaction_point_catches_up_by_snapshot() {
    let mut cluster = Cluster::start(3, small_snapshots);
    let all = cluster.ids();
    let leader = cluster.wait_leader(&all);
    for i in 0..10 {
        cluster.put(leader, &format!("k{i:03}"), "early");
    }
    cluster.wait_converged(&all, 10);

    let lagging = others(&all, leader)[0];
    cluster.stop_member(lagging);
    let rest = others(&all, lagging);
    // Far more than snapshot_count + snapshot_catchup_entries entries, and enough data
    // for a snapshot of several chunks.
    let big = "x".repeat(24 << 10);
    for i in 10..110 {
        cluster.put(leader, &format!("k{i:03}"), &big);
    }
    let state = cluster.wait_converged(&rest, 110);
    assert!(state.map.values().map(String::len).sum::<usize>() > 2 << 20);
    // Applying 100 entries may take a single loop iteration, hence one compaction.
    wait_until(WAIT, "the leader compacting its log", || {
        cluster.node(leader).stats().compactions >= 1
    });

    cluster.start_member(lagging);
    let state = cluster.wait_converged(&all, 110);
    assert_eq!(state.map["k109"], big);
    let restores = cluster.member(lagging).machine.restores();
    assert!(!restores.is_empty(), "caught up without a snapshot");
    for (index, applied) in &restores {
        assert!(applied >= index, "data at {applied} below snapshot {index}");
    }
    assert_eq!(
        cluster.node(lagging).stats().snapshots_restored,
        restores.len() as u64
    );

    // It follows new writes, and restarts from a WAL that starts at the snapshot.
    for i in 110..120 {
        cluster.put(leader, &format!("k{i:03}"), "after");
    }
    cluster.wait_converged(&all, 120);
    cluster.stop_member(lagging);
    cluster.start_member(lagging);
    cluster.put(leader, "last", "one");
    cluster.wait_converged(&all, 121);
    assert_eq!(cluster.member(lagging).machine.restores(), restores);
    cluster.stop_all();
}

#[test]
fn with_a_peer_down_the_quorum_commits_and_send_never_blocks() {
    let mut cluster = Cluster::start(3, no_tuning);
    let all = cluster.ids();
    let leader = cluster.wait_leader(&all);
    let down = others(&all, leader)[0];
    cluster.stop_member(down);
    let up = others(&all, down);
    for i in 0..50 {
        cluster.put(leader, &format!("k{i}"), "v");
    }
    cluster.wait_converged(&up, 50);
    let transport = cluster.transport(leader);
    wait_until(WAIT, "stream to the stopped member down", || {
        transport.active_since(down).is_none()
    });

    // Flood the down peer (and an unknown one): the queue fills, then messages are
    // dropped; nothing waits.
    let heartbeat = Message {
        msg_type: MessageType::MsgHeartbeat,
        from: leader,
        to: down,
        term: cluster.node(leader).status().term,
        ..Message::default()
    }
    .write_to_bytes()
    .unwrap();
    let start = Instant::now();
    for _ in 0..20_000 {
        transport.send(down, heartbeat.clone());
        transport.send(99, heartbeat.clone());
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed < Duration::from_secs(2),
        "40,000 sends took {elapsed:?}"
    );

    for i in 50..60 {
        cluster.put(leader, &format!("k{i}"), "v");
    }
    cluster.wait_converged(&up, 60);
    cluster.stop_all();
}

#[test]
fn transfer_leader_moves_leadership() {
    let mut cluster = Cluster::start(3, no_tuning);
    let all = cluster.ids();
    let leader = cluster.wait_leader(&all);
    cluster.put(leader, "k", "v");
    cluster.wait_converged(&all, 1);

    let target = others(&all, leader)[0];
    cluster.node(leader).transfer_leader(target).unwrap();
    wait_until(WAIT, "leadership moved to the target", || {
        all.iter()
            .all(|&id| cluster.node(id).status().leader_id == target)
    });
    assert!(cluster.node(target).status().is_leader);

    // Asked on a follower, the request goes to the leader.
    let third = others(&others(&all, leader), target)[0];
    cluster.node(leader).transfer_leader(third).unwrap();
    wait_until(WAIT, "leadership moved again", || {
        all.iter()
            .all(|&id| cluster.node(id).status().leader_id == third)
    });
    cluster.put(leader, "after", "transfer");
    cluster.wait_converged(&all, 2);
    cluster.stop_all();
}
