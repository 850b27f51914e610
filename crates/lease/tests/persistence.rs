//! Leases survive a restart: the records in the engine's `lease` column family are what
//! `Lessor::open` recovers, with MemEngine and with RocksDB on disk.

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{grant_on, secs};
use lease::{LeaseError, Lessor, LessorConfig, CF_LEASE};
use mvcc::{Engine, MemEngine, RocksEngine, WriteBatch};

/// Grants 1 (10 s), 2 (100 s, checkpointed at 40 s left), 3 (revoked) and 4 (60 s), with
/// keys attached, committing every change to `engine`.
fn populate(engine: &Arc<dyn Engine>, t0: Instant) {
    let mut le = Lessor::open(engine.clone()).unwrap();
    le.promote(secs(0), t0);
    for (id, ttl) in [(1, 10), (2, 100), (3, 20), (4, 60)] {
        grant_on(engine.as_ref(), &mut le, id, ttl, t0);
        le.attach(id, format!("key{id}").as_bytes()).unwrap();
    }
    let mut batch = WriteBatch::new();
    assert!(le.checkpoint(&mut batch, 2, 40));
    assert_eq!(le.revoke(&mut batch, 3).unwrap(), vec![b"key3".to_vec()]);
    engine.write(batch, true).unwrap();
}

/// Reopens on `engine` and checks what was recovered.
fn check_recovered(engine: Arc<dyn Engine>, t1: Instant) {
    let mut le = Lessor::open(engine).unwrap();
    assert!(!le.is_primary());
    let mut ids = le.leases();
    ids.sort();
    assert_eq!(ids, vec![1, 2, 4]);
    assert_eq!(le.lease(4).unwrap().ttl, 60);
    assert_eq!(le.checkpointed_ttl(2), Some(40));
    // Keys are not persisted by the lessor: the server re-attaches them from the KV store.
    assert!(le.time_to_live(1, t1).unwrap().keys.is_empty());
    le.attach(1, b"key1").unwrap();
    assert_eq!(le.lease_of(b"key1"), Some(1));

    // No clock until promoted; then full TTLs, or the checkpoint where one was taken.
    assert!(le.expired(t1 + secs(1_000), 10).is_empty());
    le.promote(secs(2), t1);
    let ttl = |le: &Lessor, id| {
        let t = le.time_to_live(id, t1).unwrap();
        (t.granted_ttl, t.ttl)
    };
    assert_eq!(ttl(&le, 1), (10, 12));
    assert_eq!(ttl(&le, 2), (100, 42));
    assert_eq!(ttl(&le, 4), (60, 62));
    assert_eq!(le.expired(t1 + secs(12), 10), vec![1]);
}

#[test]
fn round_trip_through_mem_engine() {
    let t0 = Instant::now();
    let engine: Arc<dyn Engine> = Arc::new(MemEngine::new());
    populate(&engine, t0);
    check_recovered(engine, t0 + secs(3_600));
}

#[test]
fn round_trip_through_rocks_engine() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    {
        let engine: Arc<dyn Engine> = Arc::new(RocksEngine::open(dir.path()).unwrap());
        populate(&engine, t0);
        engine.flush().unwrap();
    }
    let engine: Arc<dyn Engine> = Arc::new(RocksEngine::open(dir.path()).unwrap());
    check_recovered(engine, t0 + secs(3_600));
}

#[test]
fn recovered_ttls_are_raised_to_the_minimum() {
    let t0 = Instant::now();
    let engine: Arc<dyn Engine> = Arc::new(MemEngine::new());
    let mut le = Lessor::open_with(
        engine.clone(),
        LessorConfig {
            min_ttl: 1,
            ..LessorConfig::default()
        },
    )
    .unwrap();
    grant_on(engine.as_ref(), &mut le, 1, 1, t0);
    let le = Lessor::open_with(
        engine,
        LessorConfig {
            min_ttl: 5,
            ..LessorConfig::default()
        },
    )
    .unwrap();
    assert_eq!(le.lease(1).unwrap().ttl, 5);
}

#[test]
fn corrupt_record_fails_open() {
    let engine: Arc<dyn Engine> = Arc::new(MemEngine::new());
    let mut batch = WriteBatch::new();
    batch.put(CF_LEASE, 1i64.to_be_bytes(), vec![0xff]);
    engine.write(batch, true).unwrap();
    let err = Lessor::open(engine).unwrap_err();
    assert!(matches!(err, LeaseError::Corrupt { .. }), "{err}");
}
