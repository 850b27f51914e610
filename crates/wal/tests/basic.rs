//! Round trip, rotation and purge.

mod common;

use common::{no_sync, open, rec, records, segment_files};
use wal::{WalError, WalOptions};

#[test]
fn round_trip_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, replayed) = open(dir.path(), WalOptions::default());
    assert!(replayed.is_empty());
    let first = records(1, 3);
    wal.append_sync(&first).unwrap();
    let ticket = wal.append(&[rec(4, b""), rec(5, &[0xab; 1000])]).unwrap();
    wal.sync(ticket).unwrap();
    assert_eq!(wal.dir(), dir.path());
    drop(wal);

    let (wal, replayed) = open(dir.path(), WalOptions::default());
    let mut expected = first;
    expected.extend([rec(4, b""), rec(5, &[0xab; 1000])]);
    assert_eq!(replayed, expected);

    wal.append_sync(&[rec(6, b"after restart")]).unwrap();
    drop(wal);
    let (_wal, replayed) = open(dir.path(), WalOptions::default());
    expected.push(rec(6, b"after restart"));
    assert_eq!(replayed, expected);
}

#[test]
fn tickets_increase_and_empty_append_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), WalOptions::default());
    let t1 = wal.append(&records(1, 1)).unwrap();
    let t2 = wal.append(&records(2, 1)).unwrap();
    assert!(t2 > t1);
    assert_eq!(wal.append(&[]).unwrap(), t2);
    // A ticket beyond the last one handed out must not hang.
    wal.sync(t2 + 100).unwrap();
    assert!(wal.sync_count() >= 1);
}

#[test]
fn oversized_record_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), no_sync(1 << 20));
    let huge = rec(1, &vec![0; wal::MAX_RECORD_DATA_LEN + 1]);
    assert!(matches!(
        wal.append(&[huge]),
        Err(WalError::RecordTooLarge { .. })
    ));
    // The WAL stays usable.
    wal.append_sync(&records(1, 1)).unwrap();
}

#[test]
fn rotation_and_replay_across_many_segments() {
    let dir = tempfile::tempdir().unwrap();
    let opts = WalOptions {
        segment_size: 512,
        sync: true,
    };
    let (wal, _) = open(dir.path(), opts.clone());
    let all = records(1, 300);
    for batch in all.chunks(7) {
        wal.append_sync(batch).unwrap();
    }
    drop(wal);

    let files = segment_files(dir.path());
    assert!(files.len() > 10, "only {} segments", files.len());
    for (seq, file) in files.iter().enumerate() {
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(&format!("{seq:016x}-")), "{name}");
        let size = std::fs::metadata(file).unwrap().len();
        assert!(size <= 512, "{name} has {size} bytes");
    }
    // Each later segment is named after the index of its first record.
    for pair in files.windows(2) {
        let earlier = wal::decode_segment(&std::fs::read(&pair[0]).unwrap());
        let name = pair[1].file_name().unwrap().to_str().unwrap();
        let first_index = u64::from_str_radix(&name[17..33], 16).unwrap();
        assert_eq!(first_index, earlier.records.last().unwrap().index + 1);
    }
    let (_wal, replayed) = open(dir.path(), opts);
    assert_eq!(replayed, all);
}

#[test]
fn record_larger_than_segment_gets_its_own_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), no_sync(100));
    let big = rec(2, &[9; 500]);
    wal.append(&[rec(1, b"a"), big.clone(), rec(3, b"c")])
        .unwrap();
    drop(wal);
    assert_eq!(segment_files(dir.path()).len(), 3);
    let (_wal, replayed) = open(dir.path(), no_sync(100));
    assert_eq!(replayed, vec![rec(1, b"a"), big, rec(3, b"c")]);
}

#[test]
fn purge_deletes_only_old_closed_segments() {
    let dir = tempfile::tempdir().unwrap();
    let opts = no_sync(256);
    let (wal, _) = open(dir.path(), opts.clone());
    for record in records(1, 100) {
        wal.append(&[record]).unwrap();
    }
    let files = segment_files(dir.path());
    assert!(files.len() > 5, "only {} segments", files.len());
    let max_index: Vec<u64> = files
        .iter()
        .map(|f| {
            let decoded = wal::decode_segment(&std::fs::read(f).unwrap());
            decoded.records.iter().map(|r| r.index).max().unwrap()
        })
        .collect();

    assert_eq!(wal.purge(1).unwrap(), 0);
    let expected = max_index.iter().take_while(|&&max| max < 50).count();
    assert!(expected > 0);
    assert_eq!(wal.purge(50).unwrap(), expected);
    assert_eq!(segment_files(dir.path()), files[expected..]);
    assert_eq!(wal.purge(50).unwrap(), 0);

    // The active segment always stays, and appends continue after a purge.
    assert_eq!(wal.purge(u64::MAX).unwrap(), files.len() - expected - 1);
    assert_eq!(segment_files(dir.path()), files[files.len() - 1..]);
    wal.append(&records(101, 1)).unwrap();
    drop(wal);

    let first_kept = max_index[files.len() - 2] + 1;
    let (_wal, replayed) = open(dir.path(), opts);
    assert_eq!(replayed, records(first_kept, 101 - first_kept + 1));
}

#[test]
fn the_sync_observer_sees_every_fdatasync() {
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let observer = wal::SyncObserver::new(move |took| log.lock().unwrap().push(took));
    let opts = WalOptions {
        segment_size: 512,
        sync: true,
    };
    let (wal, _) = open(dir.path(), opts);
    let wal = wal.observe_syncs(observer);
    for batch in records(1, 60).chunks(5) {
        wal.append_sync(batch).unwrap();
    }
    // Group commits and the syncs at rotation alike.
    assert!(segment_files(dir.path()).len() > 2);
    assert_eq!(seen.lock().unwrap().len() as u64, wal.sync_count());

    // Without fsync there is nothing to observe.
    let other = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(0));
    let count = seen.clone();
    let (wal, _) = open(other.path(), no_sync(512));
    let wal = wal.observe_syncs(wal::SyncObserver::new(move |_| *count.lock().unwrap() += 1));
    wal.append_sync(&records(1, 60)).unwrap();
    assert_eq!(*seen.lock().unwrap(), 0);
}
