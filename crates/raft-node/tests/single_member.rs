//! A single-member cluster: leadership at start, group commit, exactly-once ordered
//! apply, read index, restart and log compaction.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{test_config, wait_until, RecordingApplier};
use raft_node::{NoTransport, RaftConfig, RaftError, RaftNode};

const WAIT: Duration = Duration::from_secs(20);

fn start(cfg: RaftConfig, applier: &RecordingApplier) -> RaftNode {
    RaftNode::start(cfg, applier.boxed(), Box::new(NoTransport)).expect("start")
}

/// Proposes `per_thread` entries `"{tag}/{t}/{i}"` from each of `threads` threads at once.
fn propose_concurrently(node: &RaftNode, tag: &str, threads: usize, per_thread: usize) {
    let node = Arc::new(node.clone());
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let node = Arc::clone(&node);
            let tag = tag.to_owned();
            thread::spawn(move || {
                for i in 0..per_thread {
                    node.propose(format!("{tag}/{t}/{i}").into_bytes())
                        .expect("propose");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("proposer thread");
    }
}

fn wait_applied_count(applier: &RecordingApplier, n: usize) {
    wait_until(WAIT, &format!("{n} applied entries"), || applier.len() >= n);
}

/// Every proposal applied exactly once, indexes increasing, each thread's in its order.
fn assert_exactly_once_in_order(
    applier: &RecordingApplier,
    tag: &str,
    threads: usize,
    per_thread: usize,
) {
    let entries = applier.applied_entries();
    assert!(
        entries.windows(2).all(|w| w[0].0 < w[1].0),
        "indexes not increasing"
    );
    let mut next: HashMap<usize, usize> = HashMap::new();
    let mut seen = 0;
    for (_, data) in &entries {
        let text = String::from_utf8(data.clone()).unwrap();
        let parts: Vec<&str> = text.split('/').collect();
        if parts[0] != tag {
            continue;
        }
        let (t, i): (usize, usize) = (parts[1].parse().unwrap(), parts[2].parse().unwrap());
        let expected = next.entry(t).or_insert(0);
        assert_eq!(
            i, *expected,
            "thread {t}: entry {i} out of order or duplicated"
        );
        *expected += 1;
        seen += 1;
    }
    assert_eq!(seen, threads * per_thread);
    assert!((0..threads).all(|t| next.get(&t) == Some(&per_thread)));
}

fn segment_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".wal"))
        .collect();
    names.sort();
    names
}

#[test]
fn concurrent_proposals_are_group_committed_and_applied_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let applier = RecordingApplier::default();
    let node = start(test_config(1, vec![1], dir.path()), &applier);
    wait_until(Duration::from_secs(2), "leadership", || {
        node.status().is_leader
    });
    assert_eq!(node.status().leader_id, 1);

    propose_concurrently(&node, "p", 4, 250);
    wait_applied_count(&applier, 1000);
    assert_exactly_once_in_order(&applier, "p", 4, 250);

    let stats = node.stats();
    println!("{stats:?}");
    assert_eq!(stats.proposals, 1000);
    assert_eq!(stats.entries_applied, 1000);
    assert!(
        stats.wal_syncs < 1000,
        "no group commit: {} syncs for 1000 proposals",
        stats.wal_syncs
    );
    let status = node.status();
    assert!(status.commit_index >= applier.log.lock().applied);
    wait_until(WAIT, "status catches up", || {
        node.status().applied_index >= applier.log.lock().applied
    });
    node.stop();
}

#[test]
fn clients_waiting_for_their_writes_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let applier = RecordingApplier::default();
    let node = start(test_config(1, vec![1], dir.path()), &applier);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let before = node.stats();
    // 16 clients, each proposing its next write only once its previous one is applied.
    rt.block_on(async {
        let tasks: Vec<_> = (0..16)
            .map(|client| {
                let node = node.clone();
                let applier = applier.clone();
                tokio::spawn(async move {
                    let mut applied = node.subscribe_applied();
                    for i in 0..25 {
                        let data = format!("w/{client}/{i}").into_bytes();
                        node.propose(data.clone()).unwrap();
                        let seen = || {
                            applier
                                .log
                                .lock()
                                .entries
                                .iter()
                                .rev()
                                .any(|e| e.data == data)
                        };
                        while !seen() {
                            tokio::time::timeout(WAIT, applied.changed())
                                .await
                                .expect("write applied in time")
                                .expect("node running");
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("client task");
        }
    });
    assert_exactly_once_in_order(&applier, "w", 16, 25);
    let stats = node.stats();
    let syncs = stats.wal_syncs - before.wal_syncs;
    println!("{syncs} WAL syncs for 400 waiting proposals; {stats:?}");
    assert!(
        syncs < 400,
        "no group commit: {syncs} syncs for 400 proposals"
    );
    node.stop();
}

#[test]
fn read_index_covers_everything_committed_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let applier = RecordingApplier::default();
    let node = start(test_config(1, vec![1], dir.path()), &applier);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut applied = node.subscribe_applied();

    for round in 0..3 {
        propose_concurrently(&node, &format!("r{round}"), 2, 20);
        wait_applied_count(&applier, 40 * (round + 1));
        let committed = node.status().commit_index;
        let last_applied = applier.log.lock().applied;
        let reads = rt.block_on(async {
            let reads = (0..20).map(|_| node.read_index());
            futures_join_all(reads).await
        });
        for read in reads {
            let index = read.expect("read index");
            assert!(
                index >= committed && index >= last_applied,
                "{index} < {committed}"
            );
        }
    }
    // The applied-index watch has seen the progress.
    rt.block_on(async {
        tokio::time::timeout(WAIT, applied.wait_for(|i| *i >= 120))
            .await
            .expect("applied watch")
            .expect("watch open");
    });
    node.stop();
    assert!(matches!(
        rt.block_on(node.read_index()),
        Err(RaftError::Stopped)
    ));
}

/// Awaits all futures (tiny stand-in for futures::future::join_all).
async fn futures_join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futs.map(Box::pin).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await);
    }
    out
}

#[test]
fn restart_delivers_only_entries_beyond_the_applied_index() {
    let dir = tempfile::tempdir().unwrap();
    let applier = RecordingApplier::default();
    let node = start(test_config(1, vec![1], dir.path()), &applier);
    propose_concurrently(&node, "a", 1, 100);
    wait_applied_count(&applier, 100);
    let term_before = node.status().term;
    node.stop();

    // Pretend the state machine had only made the first 60 entries durable.
    let (kept_index, last_index) = {
        let mut log = applier.log.lock();
        let kept = log.entries[59].index;
        let last = log.entries[99].index;
        log.entries.truncate(60);
        log.applied = kept;
        log.delivered.clear();
        (kept, last)
    };

    let node = start(test_config(1, vec![1], dir.path()), &applier);
    assert!(
        node.status().is_leader,
        "a single member is leader on restart"
    );
    assert!(node.status().term > term_before);
    wait_applied_count(&applier, 100);
    {
        let log = applier.log.lock();
        assert!(
            log.delivered.iter().all(|&i| i > kept_index),
            "re-delivered entries at or below the applied index {kept_index}: {:?}",
            &log.delivered[..log.delivered.len().min(10)]
        );
        assert_eq!(log.entries.last().unwrap().index, last_index);
    }
    assert_exactly_once_in_order(&applier, "a", 1, 100);

    node.propose(b"after".to_vec()).unwrap();
    wait_applied_count(&applier, 101);
    assert_eq!(applier.data().last().unwrap(), b"after");
    node.stop();

    // A third start with everything applied delivers nothing old.
    applier.log.lock().delivered.clear();
    let node = start(test_config(1, vec![1], dir.path()), &applier);
    node.propose(b"third".to_vec()).unwrap();
    wait_applied_count(&applier, 102);
    let delivered = applier.log.lock().delivered.clone();
    assert_eq!(delivered.len(), 1, "only the new entry: {delivered:?}");
    node.stop();
}

#[test]
fn compaction_purges_wal_segments_and_restart_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || RaftConfig {
        snapshot_count: 50,
        snapshot_catchup_entries: 0,
        wal_segment_size: 4096,
        ..test_config(1, vec![1], dir.path())
    };
    let applier = RecordingApplier::default();
    let node = start(cfg(), &applier);
    for round in 0..10 {
        propose_concurrently(&node, &format!("c{round}"), 2, 50);
        wait_applied_count(&applier, 100 * (round + 1));
    }
    let stats = node.stats();
    assert!(stats.compactions >= 5, "{stats:?}");
    assert!(stats.segments_purged > 0, "{stats:?}");
    assert!(applier.log.lock().syncs >= stats.compactions);
    let files = segment_files(dir.path());
    assert!(
        !files.iter().any(|f| f.starts_with("0000000000000000-")),
        "first segment not purged: {files:?}"
    );
    node.stop();

    applier.log.lock().delivered.clear();
    let node = start(cfg(), &applier);
    assert!(node.status().is_leader);
    propose_concurrently(&node, "after", 1, 10);
    wait_applied_count(&applier, 1010);
    assert_eq!(
        applier.log.lock().delivered.len(),
        10,
        "nothing old re-delivered"
    );
    for round in 0..10 {
        assert_exactly_once_in_order(&applier, &format!("c{round}"), 2, 50);
    }
    node.stop();

    // The state machine lost its last entries: they come back from the compacted log.
    let (kept, total) = {
        let mut log = applier.log.lock();
        let total = log.entries.len();
        log.entries.truncate(total - 5);
        log.applied = log.entries.last().unwrap().index;
        (log.applied, total)
    };
    let node = start(cfg(), &applier);
    wait_applied_count(&applier, total);
    assert!(applier.log.lock().entries[total - 5].index > kept);
    assert_exactly_once_in_order(&applier, "after", 1, 10);
    node.stop();
}

/// A slow state machine sync (a RocksDB flush on a busy disk) must not stop the Ready
/// loop: entries keep being applied while it runs, and the WAL is not purged below
/// anything the sync has not made durable yet.
#[test]
fn applying_goes_on_while_the_state_machine_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = RaftConfig {
        snapshot_count: 50,
        snapshot_catchup_entries: 0,
        wal_segment_size: 4096,
        ..test_config(1, vec![1], dir.path())
    };
    let applier = RecordingApplier::default();
    applier.log.lock().syncs_held = true;
    let node = start(cfg, &applier);
    let first_segment = segment_files(dir.path())[0].clone();
    for round in 0..4 {
        propose_concurrently(&node, &format!("held{round}"), 2, 50);
        wait_applied_count(&applier, 100 * (round + 1));
    }
    let stats = node.stats();
    assert_eq!(stats.compactions, 0, "compacted before the sync: {stats:?}");
    assert_eq!(stats.segments_purged, 0, "{stats:?}");
    assert!(segment_files(dir.path()).contains(&first_segment));
    assert_eq!(applier.log.lock().syncs, 0);

    applier.log.lock().syncs_held = false;
    // The held sync covered the first 50 entries; the next one starts at once and covers
    // all 400.
    wait_until(WAIT, "compactions after the syncs", || {
        node.stats().compactions >= 2
    });
    assert!(applier.log.lock().syncs >= 2);
    assert!(!segment_files(dir.path()).contains(&first_segment));

    // A stop waits for a sync in progress (the state machine is closed after the node).
    applier.log.lock().syncs_held = true;
    propose_concurrently(&node, "last", 2, 50);
    wait_applied_count(&applier, 500);
    // A sync that started before the hold has long finished by now.
    thread::sleep(Duration::from_millis(100));
    let syncs = applier.log.lock().syncs;
    let log = applier.log.clone();
    let releaser = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        log.lock().syncs_held = false;
    });
    node.stop();
    assert_eq!(applier.log.lock().syncs, syncs + 1, "stop did not wait");
    releaser.join().unwrap();
    for round in 0..4 {
        assert_exactly_once_in_order(&applier, &format!("held{round}"), 2, 50);
    }
}

#[test]
fn requests_after_stop_and_bad_input_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let applier = RecordingApplier::default();
    let node = start(test_config(1, vec![1], dir.path()), &applier);
    assert!(matches!(
        node.propose(Vec::new()),
        Err(RaftError::EmptyProposal)
    ));
    assert!(matches!(
        node.step(vec![0xff; 7]),
        Err(RaftError::InvalidMessage(_))
    ));
    node.stop();
    node.stop();
    assert!(matches!(
        node.propose(b"x".to_vec()),
        Err(RaftError::Stopped)
    ));
    let status = node.status();
    assert!(!status.is_leader && status.leader_id == 0, "{status:?}");

    // stop closed the WAL, so the same directory opens again.
    let again = start(test_config(1, vec![1], dir.path()), &applier);
    assert!(again.status().is_leader);
    again.stop();

    let bad = RaftConfig {
        election_tick: 1,
        ..test_config(1, vec![1], dir.path())
    };
    assert!(matches!(
        RaftNode::start(bad, applier.boxed(), Box::new(NoTransport)),
        Err(RaftError::Config(_))
    ));
}

#[test]
fn a_state_machine_ahead_of_the_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let applier = RecordingApplier::default();
    let node = start(test_config(1, vec![1], dir.path()), &applier);
    node.propose(b"one".to_vec()).unwrap();
    wait_applied_count(&applier, 1);
    node.stop();
    applier.log.lock().applied = 1_000;
    assert!(matches!(
        RaftNode::start(
            test_config(1, vec![1], dir.path()),
            applier.boxed(),
            Box::new(NoTransport)
        ),
        Err(RaftError::Corrupt(_))
    ));
}

#[test]
fn a_new_log_under_a_restored_state_machine_continues_after_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let applier = RecordingApplier::default();
    applier.log.lock().applied = 500;
    let node = start(test_config(1, vec![1], dir.path()), &applier);
    assert!(node.status().is_leader);
    node.propose(b"next".to_vec()).unwrap();
    wait_applied_count(&applier, 1);
    assert!(applier.log.lock().entries[0].index > 500);
    node.stop();

    let node = start(test_config(1, vec![1], dir.path()), &applier);
    node.propose(b"again".to_vec()).unwrap();
    wait_applied_count(&applier, 2);
    assert_eq!(applier.data(), vec![b"next".to_vec(), b"again".to_vec()]);
    node.stop();
}
