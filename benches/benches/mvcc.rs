//! MVCC write-path benchmarks on RocksDB: `Store::apply` of one 256-byte Put per call
//! (one engine batch each), and of 100 Puts per call (how group commit applies), plus a
//! single-key Range for reference.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use etcd_proto::etcdserverpb::{PutRequest, RangeRequest};
use mvcc::{RocksEngine, Store, WriteRequest};

const VALUE_SIZE: usize = 256;
const BATCH: usize = 100;
/// Distinct keys written (keys repeat, so keys get histories as in a real workload).
const KEY_SPACE: u64 = 100_000;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = RocksEngine::open(dir.path()).expect("open rocksdb");
    let store = Store::open(Arc::new(engine)).expect("open store");
    (dir, store)
}

fn put(n: u64) -> WriteRequest {
    WriteRequest::Put(PutRequest {
        key: format!("key-{:08}", n % KEY_SPACE).into_bytes(),
        value: vec![0x5a; VALUE_SIZE],
        ..Default::default()
    })
}

fn apply(c: &mut Criterion) {
    let mut group = c.benchmark_group("mvcc");

    let (_dir, store) = open();
    let mut n = 0u64;
    group.throughput(Throughput::Elements(1));
    group.bench_function("apply_put_256B", |b| {
        b.iter(|| {
            n += 1;
            let out = store.apply(n, vec![put(n)]).expect("apply");
            black_box(out);
        })
    });

    let (_dir2, store) = open();
    let mut n = 0u64;
    let mut index = 0u64;
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("apply_100_puts_256B", |b| {
        b.iter(|| {
            index += 1;
            let reqs = (0..BATCH)
                .map(|_| {
                    n += 1;
                    put(n)
                })
                .collect();
            let out = store.apply(index, reqs).expect("apply");
            black_box(out);
        })
    });

    let req = RangeRequest {
        key: b"key-00000042".to_vec(),
        ..Default::default()
    };
    group.throughput(Throughput::Elements(1));
    group.bench_function("range_one_key", |b| {
        b.iter(|| black_box(store.range(black_box(&req)).expect("range")))
    });
    group.finish();
}

criterion_group!(benches, apply);
criterion_main!(benches);
