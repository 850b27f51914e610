//! Multi-member clusters of our server, started with etcd's flags and driven by the
//! `etcd-client` crate and the real etcdctl 3.4: reads and writes through every member,
//! leader failover under write load with no acknowledged write lost, learner add / promote
//! / remove, catch-up of a member from a raft snapshot, and a linearizability check of a
//! concurrent history recorded while leaders are killed or paused (and a check that the
//! same path catches a stale read from a partitioned member).
//!
//! The server behaviours checked here that etcd documents: a learner serves only Status
//! and serializable ranges; a removed member shuts down, also when it learns of its
//! removal on restart.

#[path = "cluster/lin.rs"]
mod lin;
#[path = "cluster/support.rs"]
mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{Client, GetOptions, Txn};
use integration_tests::cluster::{
    status, wait_for, Cluster, ClusterOptions, ELECTION_MS, WAIT_LIMIT,
};
use integration_tests::load::{missing_acked, PutLoad};
use linearizability::{check, CheckResult, History, Op, Outcome, Response};

use lin::{lin_client, lin_op, LIN_CLIENTS, LIN_TIMEOUT};
use support::{
    assert_etcdctl_hashkv_equal, ctl, get, put, remove_member, retry_while, table_rows, REQ,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_serve_writes_and_reads_through_every_member() {
    let mut c = Cluster::start(3).await;
    for (i, m) in c.members.iter().enumerate() {
        let mut cl = m.client().await;
        for j in 0..10 {
            put(&mut cl, &format!("via/{i}/{j}"), &format!("v{i}.{j}")).await;
        }
    }
    for m in &c.members {
        let mut cl = m.client().await;
        for i in 0..3 {
            for j in 0..10 {
                let (key, want) = (format!("via/{i}/{j}"), format!("v{i}.{j}"));
                // Linearizable first: after it, this member has applied the write, so a
                // serializable read from it must see it too.
                assert_eq!(
                    get(&mut cl, &key, false).await.as_deref(),
                    Some(&*want),
                    "{} {key}",
                    m.name
                );
                assert_eq!(
                    get(&mut cl, &key, true).await.as_deref(),
                    Some(&*want),
                    "{} {key}",
                    m.name
                );
            }
        }
    }

    let eps = c.endpoints();
    let rows = table_rows(&ctl(&eps, &["member", "list", "-w", "table"]));
    let mut got: Vec<Vec<String>> = rows;
    got.sort();
    let mut want: Vec<Vec<String>> = c
        .members
        .iter()
        .map(|m| {
            vec![
                format!("{:x}", m.id),
                "started".into(),
                m.name.clone(),
                m.peer_url(),
                m.client_url(),
                "false".into(),
            ]
        })
        .collect();
    want.sort();
    assert_eq!(got, want, "member list -w table");

    let leader = c.leader().await;
    let out = ctl(
        &eps[..1],
        &["endpoint", "status", "--cluster", "-w", "table"],
    );
    let rows = table_rows(&out);
    assert_eq!(rows.len(), 3, "{out}");
    let mut seen = BTreeSet::new();
    for r in &rows {
        assert_eq!(r.len(), 10, "{out}");
        let m = c
            .members
            .iter()
            .find(|m| m.client_url() == r[0])
            .unwrap_or_else(|| panic!("unknown endpoint {}:\n{out}", r[0]));
        assert_eq!(r[1], format!("{:x}", m.id), "{out}");
        assert_eq!(
            r[4] == "true",
            m.id == c.members[leader].id,
            "IS LEADER of {}:\n{out}",
            m.name
        );
        assert_eq!(r[5], "false", "{out}");
        assert_eq!(r[6], rows[0][6], "one raft term:\n{out}");
        seen.insert(r[1].clone());
    }
    assert_eq!(seen.len(), 3, "{out}");
    assert_eq!(
        rows.iter().filter(|r| r[4] == "true").count(),
        1,
        "exactly one leader:\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_kill9_under_write_load_loses_no_acknowledged_write() {
    let mut c = Cluster::start(3).await;
    let old = c.leader().await;
    let survivors: Vec<String> = (0..3)
        .filter(|&i| i != old)
        .map(|i| c.members[i].endpoint())
        .collect();
    let load = PutLoad::start(&survivors, 8, "load/", None);
    assert!(
        load.wait_acked(300, WAIT_LIMIT).await,
        "the load did not get going"
    );

    let killed_at = Instant::now();
    c.kill9(old);
    let new = c.leader().await;
    let failover = killed_at.elapsed();
    assert_ne!(new, old);
    // The survivors wait one randomized election timeout (500..1000 ms) after the last
    // heartbeat, then pre-vote and vote: allow a few of them.
    let bound = Duration::from_millis(6 * ELECTION_MS);
    assert!(
        failover < bound,
        "no new leader {failover:?} after the kill (bound {bound:?})"
    );
    let at_failover = load.acked_count();
    assert!(
        load.wait_acked(at_failover + 300, WAIT_LIMIT).await,
        "writes did not resume after the failover"
    );
    let (acked, failed) = load.stop().await;
    eprintln!(
        "failover {failover:?}; {} puts acknowledged, {failed} failed",
        acked.len()
    );

    c.restart(old).await;
    c.wait_converged().await;
    for m in &c.members {
        let missing = missing_acked(&m.endpoint(), "load/", &acked).await;
        assert!(
            missing.is_empty(),
            "{} lost {} acknowledged puts: {:?}",
            m.name,
            missing.len(),
            &missing[..missing.len().min(10)]
        );
    }
    assert_etcdctl_hashkv_equal(&c.endpoints(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learner_is_added_promoted_and_a_removed_member_exits() {
    let mut c = Cluster::start(3).await;
    let mut c0 = c.members[0].client().await;
    for j in 0..100 {
        put(&mut c0, &format!("data/{j:03}"), "x").await;
    }

    let learner = c.add_member(0, true).await;
    let learner_id = c.members[learner].id;
    let list = tokio::time::timeout(REQ, c0.member_list())
        .await
        .unwrap()
        .unwrap();
    let entry = list
        .members()
        .iter()
        .find(|m| m.id() == learner_id)
        .expect("learner in member list");
    assert!(
        entry.is_learner(),
        "added with --learner but listed as a voter"
    );

    // The learner replicates the data and answers serializable reads (etcd rejects
    // linearizable reads on a learner).
    let mut cl = c.members[learner].client().await;
    let count_opts = || {
        Some(
            GetOptions::new()
                .with_prefix()
                .with_count_only()
                .with_serializable(),
        )
    };
    wait_for("the learner to have the data", WAIT_LIMIT, async || {
        let r = cl.get("data/", count_opts()).await.ok()?;
        (r.count() == 100).then_some(())
    })
    .await;
    let status = c.members[learner].status().await.expect("learner status");
    assert!(
        status.is_learner(),
        "Status of a learner must say is_learner"
    );

    // Promote, retrying while the leader does not consider it in sync yet.
    let promoted = retry_while(
        "promote",
        "can only promote a learner member which is in sync with leader",
        async || c0.member_promote(learner_id).await,
    )
    .await;
    // The answer lists the members after the promotion (from the leader, which applied it).
    let voters = |members: &[etcd_client::Member]| {
        members.len() == 4 && members.iter().all(|m| !m.is_learner())
    };
    assert!(voters(promoted.members()), "{:?}", promoted.members());
    // A follower's own list (not linearizable in etcd 3.4) follows shortly.
    wait_for(
        "m0's member list to show 4 voters",
        WAIT_LIMIT,
        async || {
            let list = c0.member_list().await.ok()?;
            voters(list.members()).then_some(())
        },
    )
    .await;
    let promoted = &c.members[learner];
    wait_for(
        "the promoted member's Status to say voter",
        WAIT_LIMIT,
        async || {
            let s = promoted.status().await?;
            (!s.is_learner()).then_some(())
        },
    )
    .await;

    // Remove a founding follower: it shuts itself down.
    let leader = c.leader().await;
    let removed = (0..3).find(|&i| i != leader).unwrap();
    let removed_id = c.members[removed].id;
    let mut lc = c.members[leader].client().await;
    remove_member(&mut lc, removed_id).await;
    let exit = c.members[removed].wait_exit(Duration::from_secs(10)).await;
    assert!(
        exit.is_some(),
        "the removed member is still running 10 s after its removal"
    );

    // The remaining three elect (or keep) a leader and take writes through every member.
    c.leader().await;
    let remaining: Vec<usize> = c.running();
    assert_eq!(remaining.len(), 3);
    for &i in &remaining {
        let mut cl = c.members[i].client().await;
        put(&mut cl, &format!("after-remove/{i}"), "y").await;
    }
    for &i in &remaining {
        let mut cl = c.members[i].client().await;
        for &j in &remaining {
            assert_eq!(
                get(&mut cl, &format!("after-remove/{j}"), false)
                    .await
                    .as_deref(),
                Some("y")
            );
        }
    }
    let list = tokio::time::timeout(REQ, lc.member_list())
        .await
        .unwrap()
        .unwrap();
    let mut got: Vec<(u64, String, bool)> = list
        .members()
        .iter()
        .map(|m| (m.id(), m.name().to_string(), m.is_learner()))
        .collect();
    got.sort();
    let mut want: Vec<(u64, String, bool)> = remaining
        .iter()
        .map(|&i| (c.members[i].id, c.members[i].name.clone(), false))
        .collect();
    want.sort();
    assert_eq!(got, want);
}

/// Puts that make a stopped member fall behind the leader's compacted log: the log keeps
/// 5,000 entries below the compaction point (raft-node's `snapshot_catchup_entries`), and
/// a compaction happens every `--snapshot-count` (100) applied entries.
const SNAPSHOT_CATCHUP_PUTS: usize = 6_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_behind_the_compacted_log_catches_up_from_a_snapshot() {
    let mut opts = ClusterOptions::new(3);
    opts.snapshot_count = Some(100);
    let mut c = Cluster::start_with(opts).await;
    let leader = c.leader().await;
    let behind = (0..3).find(|&i| i != leader).unwrap();
    c.kill9(behind);

    let started = Instant::now();
    let load = PutLoad::start(&c.endpoints(), 32, "snap/", Some(SNAPSHOT_CATCHUP_PUTS));
    let (acked, failed) = load.finish(Duration::from_secs(90)).await;
    eprintln!("{} puts in {:?}", acked.len(), started.elapsed());
    assert_eq!((acked.len(), failed), (SNAPSHOT_CATCHUP_PUTS, 0));

    let log_offset = c.members[behind].log_len();
    c.restart(behind).await;
    c.wait_converged().await;
    let log = c.members[behind].log_since(log_offset);
    assert!(
        log.contains("restoring backend from a raft snapshot"),
        "the member caught up without a snapshot; its log since the restart:\n{log}"
    );
    let missing = missing_acked(&c.members[behind].endpoint(), "snap/", &acked).await;
    assert!(
        missing.is_empty(),
        "{} puts missing after the snapshot: {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert_etcdctl_hashkv_equal(&c.endpoints(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_with_leader_kills_and_a_paused_leader_is_linearizable() {
    let mut c = Cluster::start(3).await;
    let history = Arc::new(History::new());
    let stop = Arc::new(AtomicBool::new(false));
    let endpoints = c.endpoints();
    let clients: Vec<_> = (0..LIN_CLIENTS)
        .map(|id| {
            tokio::spawn(lin_client(
                id,
                endpoints.clone(),
                history.clone(),
                stop.clone(),
            ))
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(2)).await;
    for _ in 0..2 {
        let leader = c.leader().await;
        c.kill9(leader);
        c.leader().await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        c.restart(leader).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    // A leader that stops (SIGSTOP) longer than an election timeout and comes back still
    // believes it leads, with requests queued from before: it must not answer them with
    // what it had.
    let leader = c.leader().await;
    c.members[leader].pause(true);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    c.members[leader].pause(false);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        tokio::time::timeout(LIN_TIMEOUT * 3, client)
            .await
            .expect("a client did not stop")
            .expect("client task");
    }

    let ops = history.finish();
    let answered = |f: fn(&Op, &Response) -> bool| {
        ops.iter()
            .filter(|o| matches!(&o.outcome, Outcome::Ok(r) if f(&o.op, r)))
            .count()
    };
    let puts = answered(|op, _| matches!(op, Op::Put { .. }));
    let gets = answered(|op, _| matches!(op, Op::Get { .. }));
    let cas_ok = answered(|_, r| *r == Response::Cas(true));
    let cas_failed = answered(|_, r| *r == Response::Cas(false));
    let unknown = ops.iter().filter(|o| o.outcome == Outcome::Unknown).count();
    eprintln!(
        "{} operations: {puts} puts, {gets} gets, {cas_ok} + {cas_failed} successful + failed cas, {unknown} unknown",
        ops.len()
    );
    // Enough of every kind for the check to mean something.
    assert!(
        puts >= 50 && gets >= 50 && cas_ok >= 10 && cas_failed >= 5,
        "history too thin"
    );
    let started = Instant::now();
    let result = check(&ops, Duration::from_secs(30));
    eprintln!("checked in {:?}", started.elapsed());
    assert_eq!(result, CheckResult::Linearizable, "{result}");
}

/// etcd serves only Status and serializable ranges on a learner; everything else fails
/// with "etcdserver: rpc not supported for learner" (v3rpc's isRPCSupportedForLearner).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learner_serves_only_status_and_serializable_reads() {
    let mut c = Cluster::start(1).await;
    let mut c0 = c.members[0].client().await;
    put(&mut c0, "k", "v").await;
    let learner = c.add_member(0, true).await;
    let mut cl = c.members[learner].client().await;
    let learner_ep = c.members[learner].endpoint();
    wait_for("the learner to replicate k", WAIT_LIMIT, async || {
        let r = cl
            .get("k", Some(GetOptions::new().with_serializable()))
            .await
            .ok()?;
        (r.count() == 1).then_some(())
    })
    .await;
    assert!(status(&learner_ep)
        .await
        .expect("learner status")
        .is_learner());

    let not_supported = "etcdserver: rpc not supported for learner";
    let linearizable = tokio::time::timeout(REQ, cl.get("k", None)).await.unwrap();
    let put = tokio::time::timeout(REQ, cl.put("k", "w", None))
        .await
        .unwrap();
    let txn = tokio::time::timeout(REQ, cl.txn(Txn::new())).await.unwrap();
    let served: Vec<String> = [
        ("linearizable range", linearizable.map(|_| ())),
        ("put", put.map(|_| ())),
        ("txn", txn.map(|_| ())),
    ]
    .into_iter()
    .filter(|(_, r)| !matches!(r, Err(e) if e.to_string().contains(not_supported)))
    .map(|(what, r)| format!("{what}: {r:?}"))
    .collect();
    assert!(
        served.is_empty(),
        "a learner must answer {not_supported:?}; it answered {served:?}"
    );
    assert_eq!(
        get(&mut c0, "k", false).await.as_deref(),
        Some("v"),
        "the put was refused"
    );
}

/// The harness and the checker catch a stale read: a member cut off from its peers keeps
/// serving serializable reads from what it has (as etcd does), which a linearizable
/// history cannot contain; a linearizable read on it must not answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_read_from_a_partitioned_member_is_not_linearizable() {
    let mut opts = ClusterOptions::new(3);
    opts.peer_proxies = true;
    let mut c = Cluster::start_with(opts).await;
    let leader = c.leader().await;
    let cut = (0..3).find(|&i| i != leader).unwrap();
    let mut lc = c.members[leader].client().await;
    let mut cc = c.members[cut].client().await;
    let history = History::new();
    let record = async |client, c: &mut Client, op: Op| {
        let id = history.invoke(client, op.clone());
        let outcome = match tokio::time::timeout(LIN_TIMEOUT, lin_op(c, &op)).await {
            Ok(Ok(r)) => Outcome::Ok(r),
            _ => Outcome::Unknown,
        };
        history.complete(id, outcome.clone()).expect("own history");
        outcome
    };

    assert_eq!(
        record(0, &mut lc, Op::put("x", "1")).await,
        Outcome::Ok(Response::Ok)
    );
    wait_for("the member to apply x=1", WAIT_LIMIT, async || {
        (get(&mut cc, "x", true).await.as_deref() == Some("1")).then_some(())
    })
    .await;
    c.isolate(cut, true);
    assert_eq!(
        record(0, &mut lc, Op::put("x", "2")).await,
        Outcome::Ok(Response::Ok)
    );
    // Linearizable: must not answer "1" (it cannot reach the leader, so it times out).
    let linearizable = record(1, &mut cc, Op::get("x")).await;
    assert_ne!(
        linearizable,
        Outcome::Ok(Response::value("1")),
        "stale linearizable read"
    );
    let without_stale = history.finish();
    assert_eq!(
        check(&without_stale, Duration::from_secs(10)),
        CheckResult::Linearizable
    );

    // Serializable, recorded as a plain get: stale, and the checker must say so.
    let id = history.invoke(2, Op::get("x"));
    let stale = get(&mut cc, "x", true).await;
    history
        .complete(
            id,
            Outcome::Ok(Response::Value(stale.clone().map(String::into_bytes))),
        )
        .expect("own history");
    assert_eq!(
        stale.as_deref(),
        Some("1"),
        "an isolated member answers from its own state"
    );
    match check(&history.finish(), Duration::from_secs(10)) {
        CheckResult::NotLinearizable { key, .. } => assert_eq!(key, b"x"),
        other => panic!("a stale read must not be linearizable: {other}"),
    }

    // Reconnected, the member catches up.
    c.isolate(cut, false);
    wait_for(
        "the member to catch up after the partition",
        WAIT_LIMIT,
        async || (get(&mut cc, "x", true).await.as_deref() == Some("2")).then_some(()),
    )
    .await;
}

/// The leader can remove itself: it exits, and the two others elect a leader and serve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_leader_exits_and_the_others_carry_on() {
    let mut c = Cluster::start(3).await;
    let leader = c.leader().await;
    let mut lc = c.members[leader].client().await;
    put(&mut lc, "before", "1").await;
    remove_member(&mut lc, c.members[leader].id).await;
    let exit = c.members[leader].wait_exit(Duration::from_secs(10)).await;
    assert!(
        exit.is_some(),
        "the removed leader is still running 10 s after its removal"
    );

    let new = c.leader().await;
    assert_ne!(new, leader);
    let mut nc = c.members[new].client().await;
    put(&mut nc, "after", "2").await;
    for i in c.running() {
        let mut cl = c.members[i].client().await;
        assert_eq!(get(&mut cl, "before", false).await.as_deref(), Some("1"));
        assert_eq!(get(&mut cl, "after", false).await.as_deref(), Some("2"));
    }
    let list = tokio::time::timeout(REQ, nc.member_list())
        .await
        .unwrap()
        .unwrap();
    let ids: BTreeSet<u64> = list.members().iter().map(|m| m.id()).collect();
    let want: BTreeSet<u64> = c.running().into_iter().map(|i| c.members[i].id).collect();
    assert_eq!(ids, want);
}

/// A member removed while it was down learns it on restart (its peers refuse it) and
/// exits instead of waiting forever for a leader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_removed_while_down_exits_on_restart() {
    let mut c = Cluster::start(3).await;
    let leader = c.leader().await;
    let gone = (0..3).find(|&i| i != leader).unwrap();
    c.kill9(gone);
    let mut lc = c.members[leader].client().await;
    // A member that is down is not part of the active quorum: removing it is allowed.
    remove_member(&mut lc, c.members[gone].id).await;
    put(&mut lc, "after", "1").await;

    c.members[gone].spawn();
    let exit = c.members[gone].wait_exit(Duration::from_secs(20)).await;
    assert!(
        exit.is_some(),
        "a removed member restarted and kept running for 20 s"
    );
    let list = tokio::time::timeout(REQ, lc.member_list())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(list.members().len(), 2);
}
