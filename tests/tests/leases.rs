//! Leases on our server with the `etcd-client` crate: grant, attach, keep-alive, expiry
//! deleting keys, revoke deleting all keys in one revision, time-to-live, list, and leases
//! surviving a kill -9 restart with their keys still attached.

use std::time::{Duration, Instant};

use etcd_client::{Client, GetOptions, LeaseTimeToLiveOptions, PutOptions};
use integration_tests::Server;

async fn count(c: &mut Client, prefix: &str) -> i64 {
    c.get(
        prefix,
        Some(GetOptions::new().with_prefix().with_count_only()),
    )
    .await
    .unwrap()
    .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_attach_keepalive_expire_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::ours(&dir.path().join("d"));
    let mut c = Client::connect([s.url()], None).await.unwrap();

    // Revoke deletes every attached key in one revision.
    let l = c.lease_grant(60, None).await.unwrap();
    assert_eq!(l.ttl(), 60);
    for k in ["r/a", "r/b", "r/c"] {
        c.put(k, "v", Some(PutOptions::new().with_lease(l.id())))
            .await
            .unwrap();
    }
    let ttl = c
        .lease_time_to_live(l.id(), Some(LeaseTimeToLiveOptions::new().with_keys()))
        .await
        .unwrap();
    assert_eq!(ttl.granted_ttl(), 60);
    assert!(ttl.ttl() > 55 && ttl.ttl() <= 60, "{}", ttl.ttl());
    let mut keys: Vec<Vec<u8>> = ttl.keys().to_vec();
    keys.sort();
    assert_eq!(
        keys,
        vec![b"r/a".to_vec(), b"r/b".to_vec(), b"r/c".to_vec()]
    );
    let listed: Vec<i64> = c
        .leases()
        .await
        .unwrap()
        .leases()
        .iter()
        .map(|s| s.id())
        .collect();
    assert!(listed.contains(&l.id()));
    let before = c
        .get("r/", None)
        .await
        .unwrap()
        .header()
        .unwrap()
        .revision();
    let rev = c
        .lease_revoke(l.id())
        .await
        .unwrap()
        .header()
        .unwrap()
        .revision();
    assert_eq!(
        rev,
        before + 1,
        "all keys of a revoked lease go in one revision"
    );
    assert_eq!(count(&mut c, "r/").await, 0);
    assert_eq!(c.lease_time_to_live(l.id(), None).await.unwrap().ttl(), -1);

    // Keep-alive holds keys past the TTL; without it the lease expires and its keys go.
    let l = c.lease_grant(2, None).await.unwrap();
    c.put("e/k", "v", Some(PutOptions::new().with_lease(l.id())))
        .await
        .unwrap();
    let (mut keeper, mut answers) = c.lease_keep_alive(l.id()).await.unwrap();
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        keeper.keep_alive().await.unwrap();
        let a = answers.message().await.unwrap().unwrap();
        assert_eq!(a.ttl(), 2);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(count(&mut c, "e/").await, 1, "kept alive past its 2 s TTL");
    drop(keeper);
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&mut c, "e/").await != 0 {
        assert!(Instant::now() < deadline, "lease did not expire");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(c.lease_time_to_live(l.id(), None).await.unwrap().ttl(), -1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_survive_kill9_restart_with_keys_attached() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::ours(&dir.path().join("d"));
    let mut c = Client::connect([s.url()], None).await.unwrap();
    let l = c.lease_grant(30, None).await.unwrap();
    c.put("p/k", "v", Some(PutOptions::new().with_lease(l.id())))
        .await
        .unwrap();
    s.kill9();
    s.spawn();
    let mut c = Client::connect([s.url()], None).await.unwrap();
    let ttl = c
        .lease_time_to_live(l.id(), Some(LeaseTimeToLiveOptions::new().with_keys()))
        .await
        .unwrap();
    assert!(
        ttl.ttl() >= 28,
        "TTL restarts at leader start, never shorter: {}",
        ttl.ttl()
    );
    assert_eq!(ttl.keys(), &[b"p/k".to_vec()]);
    c.lease_revoke(l.id()).await.unwrap();
    assert_eq!(
        count(&mut c, "p/").await,
        0,
        "key re-attached after restart"
    );
}
