//! Group commit under concurrent writers.

mod common;

use std::sync::Arc;

use common::{open, rec};
use wal::{Record, WalOptions};

const THREADS: u64 = 8;
const PER_THREAD: u64 = 200;

/// Thread `t`'s `i`-th record: index encodes both, data names them.
fn thread_record(t: u64, i: u64) -> Record {
    rec(
        t * 1_000_000 + i,
        format!("thread {t} record {i}").as_bytes(),
    )
}

#[test]
fn concurrent_append_sync_shares_fdatasyncs() {
    let dir = tempfile::tempdir().unwrap();
    let opts = WalOptions {
        segment_size: 64 << 10,
        sync: true,
    };
    let (wal, _) = open(dir.path(), opts.clone());
    let wal = Arc::new(wal);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    wal.append_sync(&[thread_record(t, i)]).unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let appends = THREADS * PER_THREAD;
    let syncs = wal.sync_count();
    println!("{appends} append_sync calls, {syncs} fdatasyncs");
    assert!(syncs > 0);
    // Group commit: far fewer fdatasyncs than appends (typically 4-5x fewer here).
    assert!(
        syncs < appends / 2,
        "{syncs} fdatasyncs for {appends} appends"
    );
    drop(wal);

    let (_wal, replayed) = open(dir.path(), opts);
    assert_eq!(replayed.len() as u64, appends);
    for t in 0..THREADS {
        let mine: Vec<&Record> = replayed
            .iter()
            .filter(|r| r.index / 1_000_000 == t)
            .collect();
        let expected: Vec<Record> = (0..PER_THREAD).map(|i| thread_record(t, i)).collect();
        assert_eq!(mine.len(), expected.len());
        assert!(
            mine.iter().zip(&expected).all(|(a, b)| *a == b),
            "thread {t} out of order"
        );
    }
}

#[test]
fn wal_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<wal::Wal>();
}
