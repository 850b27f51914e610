//! The embeddable API: three members started in one process from `Config` structs form a
//! cluster, serve clients on the URLs they report, and stop.

use std::time::Duration;

use etcd_proto::etcdserverpb::cluster_client::ClusterClient;
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::{MemberListRequest, PutRequest, RangeRequest};
use server::{Config, Member};

use test_ports::free_port;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_members_in_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let peers: Vec<String> = (0..3)
        .map(|_| format!("http://127.0.0.1:{}", free_port()))
        .collect();
    let initial = (0..3)
        .map(|i| format!("m{i}={}", peers[i]))
        .collect::<Vec<_>>()
        .join(",");
    let configs: Vec<Config> = (0..3)
        .map(|i| {
            let mut c = Config::with_name(&format!("m{i}"));
            c.data_dir = dir.path().join(format!("m{i}"));
            c.listen_client_urls = vec!["http://127.0.0.1:0".into()];
            c.advertise_client_urls = vec![];
            c.listen_peer_urls = vec![peers[i].clone()];
            c.initial_advertise_peer_urls = vec![peers[i].clone()];
            c.initial_cluster = initial.clone();
            c.initial_cluster_token = "embedded".into();
            c.heartbeat_interval = Duration::from_millis(50);
            c.election_timeout = Duration::from_millis(500);
            c
        })
        .collect();
    // Each start waits for a leader, which needs the others: start them together.
    let started = tokio::time::timeout(
        Duration::from_secs(30),
        futures::future::join_all(configs.into_iter().map(Member::start)),
    )
    .await
    .expect("members start within 30 s");
    let members: Vec<Member> = started.into_iter().map(|m| m.expect("start")).collect();

    let url = |i: usize| members[i].client_urls()[0].clone();
    let mut kv0 = KvClient::connect(url(0)).await.unwrap();
    kv0.put(PutRequest {
        key: b"k".to_vec(),
        value: b"v".to_vec(),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut kv2 = KvClient::connect(url(2)).await.unwrap();
    let got = kv2
        .range(RangeRequest {
            key: b"k".to_vec(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.kvs[0].value, b"v");

    let list = ClusterClient::connect(url(1))
        .await
        .unwrap()
        .member_list(MemberListRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut names: Vec<String> = list.members.iter().map(|m| m.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["m0", "m1", "m2"]);

    for m in members {
        tokio::time::timeout(Duration::from_secs(20), m.stop())
            .await
            .expect("stop within 20 s")
            .unwrap();
    }
}
