//! Three members in one process over an in-memory network: election, replication,
//! proposal forwarding, read index on a follower, leader failure and catch-up.

mod common;

use std::time::Duration;

use common::{test_config, wait_until, Network, RecordingApplier};
use raft_node::{MemberChange, RaftConfig, RaftNode, RaftStatus};

const WAIT: Duration = Duration::from_secs(20);
const PEERS: [u64; 3] = [1, 2, 3];

struct Cluster {
    net: Network,
    appliers: Vec<RecordingApplier>,
    dirs: Vec<tempfile::TempDir>,
    tune: fn(&mut RaftConfig),
}

impl Cluster {
    fn start() -> Cluster {
        Cluster::start_with(|_| {})
    }

    fn start_with(tune: fn(&mut RaftConfig)) -> Cluster {
        let cluster = Cluster {
            net: Network::default(),
            appliers: PEERS.iter().map(|_| RecordingApplier::default()).collect(),
            dirs: PEERS.iter().map(|_| tempfile::tempdir().unwrap()).collect(),
            tune,
        };
        for id in PEERS {
            cluster.start_member(id);
        }
        cluster
    }

    fn start_member(&self, id: u64) {
        let i = (id - 1) as usize;
        let mut cfg = test_config(id, PEERS.to_vec(), self.dirs[i].path());
        (self.tune)(&mut cfg);
        let node = RaftNode::start(cfg, self.appliers[i].boxed(), self.net.transport(id))
            .expect("start member");
        self.net.register(id, node);
    }

    fn stop_member(&self, id: u64) {
        self.net.set_down(id);
        self.net.node(id).stop();
    }

    fn statuses(&self, members: &[u64]) -> Vec<RaftStatus> {
        members
            .iter()
            .map(|&id| self.net.node(id).status())
            .collect()
    }

    /// Waits until `members` agree on one leader among them; returns it.
    fn wait_leader(&self, members: &[u64]) -> u64 {
        let mut leader = 0;
        wait_until(WAIT, "an agreed leader", || {
            let statuses = self.statuses(members);
            let first = statuses[0].leader_id;
            let agreed = first != 0
                && members.contains(&first)
                && statuses.iter().all(|s| s.leader_id == first)
                && statuses.iter().filter(|s| s.is_leader).count() == 1;
            leader = first;
            agreed
        });
        leader
    }

    fn wait_applied(&self, members: &[u64], n: usize) {
        for &id in members {
            let applier = &self.appliers[(id - 1) as usize];
            wait_until(WAIT, &format!("member {id} applying {n} entries"), || {
                applier.len() >= n
            });
        }
    }

    /// Retries a proposal until the cluster accepts it (leadership may be settling).
    fn propose(&self, via: u64, data: String) {
        wait_until(WAIT, "proposal accepted", || {
            self.net
                .node(via)
                .propose(data.clone().into_bytes())
                .is_ok()
        });
    }
}

#[test]
fn three_members_elect_replicate_and_survive_a_leader_failure() {
    let cluster = Cluster::start();
    let leader = cluster.wait_leader(&PEERS);
    let follower = *PEERS.iter().find(|&&id| id != leader).unwrap();

    // Proposals on the leader and, forwarded by raft, on a follower.
    for i in 0..100 {
        cluster.propose(leader, format!("leader-{i}"));
    }
    cluster.wait_applied(&PEERS, 100);
    for i in 0..50 {
        cluster.propose(follower, format!("follower-{i}"));
    }
    cluster.wait_applied(&PEERS, 150);
    let reference = cluster.appliers[0].applied_entries();
    assert_eq!(reference.len(), 150);
    for applier in &cluster.appliers[1..] {
        assert_eq!(applier.applied_entries(), reference, "members diverged");
    }
    let leader_data: Vec<_> = reference
        .iter()
        .map(|(_, d)| String::from_utf8(d.clone()).unwrap())
        .filter(|d| d.starts_with("leader-"))
        .collect();
    assert_eq!(
        leader_data,
        (0..100).map(|i| format!("leader-{i}")).collect::<Vec<_>>()
    );

    // A linearizable read on a follower covers everything committed so far.
    let committed = cluster.net.node(leader).status().commit_index;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let read = rt
        .block_on(cluster.net.node(follower).read_index())
        .expect("read index on a follower");
    assert!(read >= committed, "read index {read} < commit {committed}");

    // The leader fails: the other two elect a new one and keep going.
    cluster.stop_member(leader);
    let rest: Vec<u64> = PEERS.iter().copied().filter(|&id| id != leader).collect();
    let new_leader = cluster.wait_leader(&rest);
    assert_ne!(new_leader, leader);
    for i in 0..20 {
        cluster.propose(new_leader, format!("after-{i}"));
    }
    cluster.wait_applied(&rest, 170);

    // The old leader restarts from its WAL and catches up.
    cluster.start_member(leader);
    cluster.wait_applied(&PEERS, 170);
    let reference = cluster.appliers[(new_leader - 1) as usize].applied_entries();
    for applier in &cluster.appliers {
        assert_eq!(
            applier.applied_entries(),
            reference,
            "members diverged after restart"
        );
    }
    for id in PEERS {
        cluster.net.node(id).stop();
    }
}

#[test]
fn a_member_added_later_catches_up_from_the_log_and_can_be_removed() {
    let cluster = Cluster::start();
    let leader = cluster.wait_leader(&PEERS);
    for i in 0..30 {
        cluster.propose(leader, format!("before-{i}"));
    }
    cluster.wait_applied(&PEERS, 30);

    // Every member saw the initial membership as committed entries 1..=3.
    for applier in &cluster.appliers {
        let log = applier.log.lock();
        let initial: Vec<_> = log
            .memberships
            .iter()
            .map(|m| (m.index, m.changes.clone()))
            .collect();
        assert_eq!(
            initial,
            PEERS
                .iter()
                .map(|&id| (id, vec![MemberChange::AddVoter(id)]))
                .collect::<Vec<_>>()
        );
    }

    // Member 4 is added, then started with the old peer list (so it joins).
    cluster
        .net
        .node(leader)
        .propose_member_change(MemberChange::AddVoter(4), b"member-4".to_vec())
        .unwrap();
    let added = |applier: &RecordingApplier| {
        applier.log.lock().memberships.iter().any(|m| {
            m.changes == [MemberChange::AddVoter(4)]
                && m.context == b"member-4"
                && m.voters == [1, 2, 3, 4]
        })
    };
    for applier in &cluster.appliers {
        wait_until(WAIT, "member 4 added", || added(applier));
    }
    let dir4 = tempfile::tempdir().unwrap();
    let applier4 = RecordingApplier::default();
    let start4 = || {
        let cfg = test_config(4, PEERS.to_vec(), dir4.path());
        let node = RaftNode::start(cfg, applier4.boxed(), cluster.net.transport(4)).unwrap();
        cluster.net.register(4, node);
    };
    start4();
    wait_until(WAIT, "member 4 catching up", || applier4.len() >= 30);
    assert_eq!(
        applier4.applied_entries(),
        cluster.appliers[0].applied_entries()
    );
    // The change adding it comes after those entries in the log.
    wait_until(WAIT, "member 4 applying its own addition", || {
        added(&applier4)
    });

    // Member 4 restarts from its own WAL, still a voter, and follows new writes.
    cluster.stop_member(4);
    start4();
    for i in 0..10 {
        cluster.propose(leader, format!("after-{i}"));
    }
    wait_until(WAIT, "member 4 applying new writes", || {
        applier4.len() >= 40
    });
    cluster.wait_applied(&PEERS, 40);
    assert_eq!(
        applier4.applied_entries(),
        cluster.appliers[0].applied_entries()
    );

    // Removing member 4 again: the other three carry on.
    cluster
        .net
        .node(leader)
        .propose_member_change(MemberChange::Remove(4), Vec::new())
        .unwrap();
    for applier in &cluster.appliers {
        wait_until(WAIT, "member 4 removed", || {
            applier
                .log
                .lock()
                .memberships
                .last()
                .is_some_and(|m| m.voters == [1, 2, 3])
        });
    }
    cluster.stop_member(4);
    cluster.propose(leader, "final".to_owned());
    cluster.wait_applied(&PEERS, 41);
    for id in PEERS {
        cluster.net.node(id).stop();
    }
}

#[test]
fn a_member_that_cannot_restore_a_snapshot_stops_without_applying_more() {
    let cluster = Cluster::start_with(|cfg| {
        cfg.snapshot_count = 20;
        cfg.snapshot_catchup_entries = 5;
    });
    let leader = cluster.wait_leader(&PEERS);
    for i in 0..10 {
        cluster.propose(leader, format!("early-{i}"));
    }
    cluster.wait_applied(&PEERS, 10);
    let lagging = *PEERS.iter().find(|&&id| id != leader).unwrap();
    cluster.stop_member(lagging);
    let rest: Vec<u64> = PEERS.iter().copied().filter(|&id| id != lagging).collect();
    for i in 0..100 {
        cluster.propose(leader, format!("late-{i}"));
    }
    cluster.wait_applied(&rest, 110);

    // RecordingApplier keeps the default restore_snapshot, which fails: the member
    // stops, every time, and applies nothing past its old state.
    for _ in 0..2 {
        cluster.start_member(lagging);
        let node = cluster.net.node(lagging);
        wait_until(WAIT, "the lagging member stopping", || node.is_stopped());
        assert_eq!(cluster.appliers[(lagging - 1) as usize].len(), 10);
        assert_eq!(node.stats().snapshots_restored, 0);
        cluster.net.set_down(lagging);
    }
    for id in PEERS {
        cluster.net.node(id).stop();
    }
}
