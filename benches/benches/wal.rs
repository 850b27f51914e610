//! WAL write-path benchmarks: durable appends of one 256-byte record from a single writer,
//! from concurrent writers (group commit), and buffered appends without fdatasync.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wal::{Record, Wal, WalOptions};

const RECORD_SIZE: usize = 256;
const WRITERS: usize = 8;

fn record(index: u64) -> Record {
    Record {
        kind: 1,
        index,
        data: vec![0x5a; RECORD_SIZE],
    }
}

fn open(sync: bool) -> (tempfile::TempDir, Wal) {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = WalOptions {
        sync,
        ..WalOptions::default()
    };
    let (wal, _) = Wal::open(dir.path(), opts).expect("open wal");
    (dir, wal)
}

fn single_writer(c: &mut Criterion) {
    let mut group = c.benchmark_group("wal");
    group.throughput(Throughput::Elements(1));
    for (name, sync) in [("append_sync_256B", true), ("append_nosync_256B", false)] {
        let (_dir, wal) = open(sync);
        let mut index = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                index += 1;
                wal.append_sync(black_box(&[record(index)]))
                    .expect("append");
            })
        });
    }
    group.finish();
}

/// Runs `WRITERS` threads each doing `iters` append_syncs; returns the wall time.
fn run_writers(wal: &Arc<Wal>, iters: u64) -> Duration {
    let start = Arc::new(Barrier::new(WRITERS + 1));
    let threads: Vec<_> = (0..WRITERS as u64)
        .map(|t| {
            let wal = Arc::clone(wal);
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                for i in 0..iters {
                    wal.append_sync(&[record(t << 48 | i)]).expect("append");
                }
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    for thread in threads {
        thread.join().expect("writer thread");
    }
    began.elapsed()
}

fn concurrent_writers(c: &mut Criterion) {
    let (_dir, wal) = open(true);
    let wal = Arc::new(wal);
    let mut group = c.benchmark_group("wal");
    group.throughput(Throughput::Elements(WRITERS as u64));
    let mut appends = 0;
    group.bench_function(format!("append_sync_256B_{WRITERS}_writers"), |b| {
        b.iter_custom(|iters| {
            appends += iters * WRITERS as u64;
            run_writers(&wal, iters)
        })
    });
    group.finish();
    let syncs = wal.sync_count().max(1);
    println!(
        "wal/{WRITERS} writers: {appends} appends, {} fdatasyncs ({:.1} appends per fdatasync)",
        wal.sync_count(),
        appends as f64 / syncs as f64
    );
}

criterion_group!(benches, single_writer, concurrent_writers);
criterion_main!(benches);
