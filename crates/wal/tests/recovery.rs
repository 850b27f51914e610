//! Torn tails are repaired on open; corruption is reported and left untouched.

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use common::{no_sync, open, rec, records, segment_files};
use wal::{Wal, WalError, WalOptions};

/// Writes `count` records (one per append) and returns the segment file holding them.
fn write_single_segment(dir: &Path, count: u64) -> std::path::PathBuf {
    let (wal, _) = open(dir, WalOptions::default());
    for record in records(1, count) {
        wal.append_sync(&[record]).unwrap();
    }
    let files = segment_files(dir);
    assert_eq!(files.len(), 1);
    files[0].clone()
}

/// Byte offset at which record number `n` (0-based) starts in a segment of `records(1, _)`.
fn record_offset(n: u64) -> u64 {
    let header = wal::SEGMENT_HEADER_LEN as u64;
    header
        + records(1, n)
            .iter()
            .map(|r| (wal::RECORD_HEADER_LEN + r.data.len()) as u64)
            .sum::<u64>()
}

/// Reopens after damage to the last record and checks the repair.
fn assert_repaired(dir: &Path, file: &Path, kept: u64) {
    let (wal, replayed) = open(dir, WalOptions::default());
    assert_eq!(replayed, records(1, kept));
    assert_eq!(
        std::fs::metadata(file).unwrap().len(),
        record_offset(kept),
        "file truncated at the start of the torn record"
    );
    wal.append_sync(&[rec(100, b"new")]).unwrap();
    drop(wal);
    let (_wal, replayed) = open(dir, WalOptions::default());
    let mut expected = records(1, kept);
    expected.push(rec(100, b"new"));
    assert_eq!(replayed, expected);
}

#[test]
fn truncated_mid_record_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_single_segment(dir.path(), 10);
    let cut = record_offset(9) + 5;
    OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(cut)
        .unwrap();
    assert_repaired(dir.path(), &file, 9);
}

#[test]
fn truncated_mid_data_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_single_segment(dir.path(), 10);
    let end = record_offset(10);
    OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(end - 2)
        .unwrap();
    assert_repaired(dir.path(), &file, 9);
}

#[test]
fn garbage_last_record_followed_by_zeros_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_single_segment(dir.path(), 10);
    let mut bytes = std::fs::read(&file).unwrap();
    let data_start = record_offset(9) as usize + wal::RECORD_HEADER_LEN;
    for b in &mut bytes[data_start..] {
        *b = 0x5a;
    }
    bytes.extend_from_slice(&[0; 4096]);
    std::fs::write(&file, bytes).unwrap();
    assert_repaired(dir.path(), &file, 9);
}

#[test]
fn crash_before_segment_header_is_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), no_sync(128));
    wal.append(&records(1, 20)).unwrap();
    drop(wal);
    let files = segment_files(dir.path());
    let last = files.last().unwrap();
    std::fs::write(last, b"EW").unwrap();
    let (wal, replayed) = open(dir.path(), no_sync(128));
    let kept = replayed.len() as u64;
    assert_eq!(replayed, records(1, kept));
    wal.append(&[rec(50, b"x")]).unwrap();
    drop(wal);
    let (_wal, replayed) = open(dir.path(), no_sync(128));
    assert_eq!(replayed.last(), Some(&rec(50, b"x")));
}

fn assert_corrupt(dir: &Path, file: &Path, offset: u64) {
    let before = std::fs::read(file).unwrap();
    let err = match Wal::open(dir, WalOptions::default()) {
        Err(err) => err,
        Ok(_) => panic!("open accepted a corrupt wal"),
    };
    let message = err.to_string();
    match &err {
        WalError::Corrupt {
            file: bad,
            offset: at,
            ..
        } => {
            assert_eq!(bad, file);
            assert_eq!(*at, offset);
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains(&format!("offset {offset}")), "{message}");
    assert_eq!(
        std::fs::read(file).unwrap(),
        before,
        "open modified the file"
    );
}

#[test]
fn flipped_byte_in_the_middle_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_single_segment(dir.path(), 10);
    let mut bytes = std::fs::read(&file).unwrap();
    let offset = record_offset(4);
    bytes[offset as usize + wal::RECORD_HEADER_LEN + 2] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
    assert_corrupt(dir.path(), &file, offset);
}

#[test]
fn torn_record_in_an_earlier_segment_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), no_sync(200));
    for record in records(1, 40) {
        wal.append(&[record]).unwrap();
    }
    drop(wal);
    let files = segment_files(dir.path());
    assert!(files.len() > 2);
    let victim = &files[1];
    let len = std::fs::metadata(victim).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(victim)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let decoded = wal::decode_segment(&std::fs::read(victim).unwrap());
    assert_corrupt(dir.path(), victim, decoded.valid_len);
}

#[test]
fn checksum_failure_followed_by_data_in_last_segment_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_single_segment(dir.path(), 10);
    let mut bytes = std::fs::read(&file).unwrap();
    let offset = record_offset(9);
    bytes[offset as usize + wal::RECORD_HEADER_LEN] ^= 0xff;
    bytes.extend_from_slice(&[0, 0, 7, 0]);
    std::fs::write(&file, bytes).unwrap();
    let mut append = OpenOptions::new().append(true).open(&file).unwrap();
    append.write_all(&[0; 16]).unwrap();
    assert_corrupt(dir.path(), &file, offset);
}

#[test]
fn missing_segment_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), no_sync(128));
    wal.append(&records(1, 30)).unwrap();
    drop(wal);
    let files = segment_files(dir.path());
    assert!(files.len() > 3);
    std::fs::remove_file(&files[1]).unwrap();
    assert_corrupt(dir.path(), &files[2], 0);
}
