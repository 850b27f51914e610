//! A full Put through one in-process member: gRPC decode -> raft propose -> WAL append +
//! fdatasync -> apply to MVCC on RocksDB -> response, over loopback. Measures one client
//! (latency-bound: one fsync per put) and 64 concurrent clients (group commit).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use etcd_proto::etcdserverpb::{kv_client::KvClient, PutRequest};
use server::{Config, Member};
use tonic::transport::Channel;

const CLIENTS: usize = 64;

struct Fixture {
    _dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    member: Option<Member>,
    channel: Channel,
}

fn start() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut cfg = Config::with_name("bench");
    cfg.data_dir = dir.path().join("bench.etcd");
    cfg.listen_client_urls = vec!["http://127.0.0.1:0".into()];
    let (member, channel) = rt.block_on(async {
        let member = Member::start(cfg).await.expect("start member");
        let url = format!("http://{}", member.client_addrs()[0]);
        let channel = Channel::from_shared(url)
            .unwrap()
            .connect()
            .await
            .expect("connect");
        (member, channel)
    });
    Fixture {
        _dir: dir,
        rt,
        member: Some(member),
        channel,
    }
}

fn put(i: u64) -> PutRequest {
    PutRequest {
        key: format!("key{:08}", i % 100_000).into_bytes(),
        value: vec![b'v'; 256],
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let mut f = start();
    let mut g = c.benchmark_group("server_put");
    g.throughput(Throughput::Elements(1));
    g.bench_function("1 client, 256 B value", |b| {
        let mut kv = KvClient::new(f.channel.clone());
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            f.rt.block_on(kv.put(put(i))).expect("put");
        })
    });
    g.throughput(Throughput::Elements(CLIENTS as u64));
    g.bench_function("64 concurrent clients, 256 B value", |b| {
        b.iter_custom(|iters| {
            let channel = f.channel.clone();
            f.rt.block_on(async move {
                let start = Instant::now();
                let tasks: Vec<_> = (0..CLIENTS as u64)
                    .map(|c| {
                        let mut kv = KvClient::new(channel.clone());
                        tokio::spawn(async move {
                            for i in 0..iters {
                                kv.put(put(c * 1_000_000 + i)).await.expect("put");
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("client task");
                }
                start.elapsed()
            })
        })
    });
    g.finish();
    let member = f.member.take().expect("member");
    f.rt.block_on(member.stop()).expect("stop");
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
