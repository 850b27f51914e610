//! Small helpers of the cluster tests: requests with a timeout, retries of membership
//! calls that etcd refuses while the cluster is young, and etcdctl table parsing.

use std::time::{Duration, Instant};

use etcd_client::{Client, GetOptions};
use integration_tests::cluster::WAIT_LIMIT;
use integration_tests::{etcdctl, stderr, stdout, REAL_ETCDCTL};

/// Timeout of one request made by a test.
pub const REQ: Duration = Duration::from_secs(3);

pub async fn put(c: &mut Client, key: &str, value: &str) {
    tokio::time::timeout(REQ, c.put(key, value, None))
        .await
        .unwrap_or_else(|_| panic!("put {key} timed out"))
        .unwrap_or_else(|e| panic!("put {key}: {e}"));
}

/// The value of `key`, read linearizably or serializably.
pub async fn get(c: &mut Client, key: &str, serializable: bool) -> Option<String> {
    let opts = serializable.then(|| GetOptions::new().with_serializable());
    let r = tokio::time::timeout(REQ, c.get(key, opts))
        .await
        .unwrap_or_else(|_| panic!("get {key} timed out"))
        .unwrap_or_else(|e| panic!("get {key}: {e}"));
    r.kvs()
        .first()
        .map(|kv| kv.value_str().unwrap().to_string())
}

/// Calls `call` until it succeeds, retrying (for at most [`WAIT_LIMIT`]) while it fails
/// with an error containing `transient`; panics on any other error.
pub async fn retry_while<T>(
    what: &str,
    transient: &str,
    mut call: impl AsyncFnMut() -> Result<T, etcd_client::Error>,
) -> T {
    let start = Instant::now();
    loop {
        match tokio::time::timeout(REQ, call()).await {
            Ok(Ok(v)) => return v,
            Ok(Err(e)) if e.to_string().contains(transient) => {}
            Ok(Err(e)) => panic!("{what}: {e}"),
            Err(_) => panic!("{what} timed out"),
        }
        assert!(
            start.elapsed() < WAIT_LIMIT,
            "{what} still failing with {transient:?} after {WAIT_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The rows of an etcdctl `-w table` output, as trimmed cells (header row excluded).
pub fn table_rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .filter(|l| l.starts_with('|'))
        .skip(1)
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// Runs the real etcdctl against `endpoints` and returns its stdout, asserting success.
pub fn ctl(endpoints: &[String], args: &[&str]) -> String {
    let o = etcdctl(REAL_ETCDCTL, &endpoints.join(","), args, None);
    assert!(
        o.status.success(),
        "etcdctl {args:?} failed: {}{}",
        stderr(&o),
        stdout(&o)
    );
    stdout(&o)
}

/// Asserts the real `etcdctl endpoint hashkv --cluster` shows one hash for every member.
pub fn assert_etcdctl_hashkv_equal(endpoints: &[String], members: usize) {
    let out = ctl(endpoints, &["endpoint", "hashkv", "--cluster"]);
    let hashes: Vec<&str> = out.lines().filter_map(|l| l.split(", ").nth(1)).collect();
    assert_eq!(hashes.len(), members, "{out}");
    assert!(
        hashes.iter().all(|h| *h == hashes[0]),
        "hashes differ:\n{out}"
    );
}

/// Removes member `id` through `via`, retrying while etcd's quorum-safety check refuses
/// (a young cluster: peers connected for less than 5 s).
pub async fn remove_member(via: &mut Client, id: u64) {
    retry_while(
        "member remove",
        "etcdserver: unhealthy cluster",
        async || via.member_remove(id).await,
    )
    .await;
}
