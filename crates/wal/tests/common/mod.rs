//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use wal::{Record, Wal, WalOptions};

pub fn rec(index: u64, data: &[u8]) -> Record {
    Record {
        kind: (index % 3) as u8,
        index,
        data: data.to_vec(),
    }
}

/// Records `first..first + count` with distinct payloads.
pub fn records(first: u64, count: u64) -> Vec<Record> {
    (first..first + count)
        .map(|i| rec(i, format!("entry-{i}").as_bytes()))
        .collect()
}

pub fn open(dir: &Path, opts: WalOptions) -> (Wal, Vec<Record>) {
    Wal::open(dir, opts).expect("open wal")
}

pub fn no_sync(segment_size: u64) -> WalOptions {
    WalOptions {
        segment_size,
        sync: false,
    }
}

/// The segment files in `dir`, sorted by name (= by sequence number).
pub fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    files.sort();
    files
}
