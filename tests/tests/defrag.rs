//! `etcdctl defrag` (the real etcdctl 3.4) against our server: after 20 MB were written,
//! deleted and compacted away, defragmentation makes the reported database size drop while
//! the remaining data stays intact; with auth enabled only root may defragment, with the
//! same errors as real etcd 3.4.23.

use integration_tests::cluster::connect;
use integration_tests::{etcdctl, session, stderr, stdout, Server, REAL_ETCD, REAL_ETCDCTL};

/// Written, then deleted: 200 values of 100 KiB.
const BIG_KEYS: usize = 200;
const BIG_VALUE: usize = 100 * 1024;

/// Runs the real etcdctl against `s` and returns its stdout; panics if it fails.
fn ctl_ok(s: &Server, args: &[&str]) -> String {
    let out = etcdctl(REAL_ETCDCTL, &s.endpoint(), args, None);
    assert!(
        out.status.success(),
        "etcdctl {args:?} failed: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// `dbSize` from `endpoint status -w json`.
fn db_size(s: &Server) -> u64 {
    let json = ctl_ok(s, &["endpoint", "status", "-w", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("status JSON");
    v[0]["Status"]["dbSize"]
        .as_u64()
        .unwrap_or_else(|| panic!("no dbSize in {json}"))
}

/// A value that does not compress, different for each key.
fn big_value(i: usize) -> Vec<u8> {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..BIG_VALUE)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn defrag_shrinks_the_database_and_keeps_the_data() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = Server::ours(&tmp.path().join("data"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let rev = rt.block_on(async {
        let mut c = connect(&[s.endpoint()]).await;
        for i in 0..BIG_KEYS {
            c.put(format!("big/{i:04}"), big_value(i), None)
                .await
                .expect("put");
        }
        for i in 0..10 {
            c.put(format!("keep/{i}"), format!("value {i}"), None)
                .await
                .expect("put");
        }
        let opts = etcd_client::DeleteOptions::new().with_prefix();
        let del = c.delete("big/", Some(opts)).await.expect("delete");
        assert_eq!(del.deleted(), BIG_KEYS as i64);
        del.header().expect("header").revision()
    });
    ctl_ok(&s, &["compaction", &rev.to_string(), "--physical"]);
    let before = db_size(&s);
    assert!(
        before >= (BIG_KEYS * BIG_VALUE) as u64,
        "dbSize {before} before defrag"
    );

    let out = etcdctl(REAL_ETCDCTL, &s.endpoint(), &["defrag"], None);
    assert_eq!(
        stdout(&out),
        format!("Finished defragmenting etcd member[{}]\n", s.endpoint())
    );
    assert_eq!(stderr(&out), "");
    assert!(out.status.success());

    let after = db_size(&s);
    assert!(
        after < before / 10,
        "dbSize {after} after defrag, {before} before"
    );
    let kept = ctl_ok(&s, &["get", "keep/", "--prefix", "--print-value-only"]);
    let want: String = (0..10).map(|i| format!("value {i}\n")).collect();
    assert_eq!(kept, want);
    assert_eq!(ctl_ok(&s, &["get", "big/", "--prefix", "--keys-only"]), "");
    // Still serving writes.
    ctl_ok(&s, &["put", "after", "defrag"]);
    assert_eq!(
        ctl_ok(&s, &["get", "after", "--print-value-only"]),
        "defrag\n"
    );
    // `--cluster`: every member of the member list (here the one).
    let out = etcdctl(REAL_ETCDCTL, &s.endpoint(), &["defrag", "--cluster"], None);
    assert_eq!(
        stdout(&out),
        format!("Finished defragmenting etcd member[{}]\n", s.url())
    );
    assert!(out.status.success());
}

const FAST_BCRYPT: &[&str] = &["--bcrypt-cost", "4"];

const AUTH_SETUP: &[session::Step] = &[
    (&["user", "add", "root:rootpw"], None),
    (&["user", "grant-role", "root", "root"], None),
    (&["user", "add", "alice:alicepw"], None),
    (&["auth", "enable"], None),
];

const AUTH_SESSION: &[session::Step] = &[
    (&["--user=alice:alicepw", "defrag"], None),
    (&["--user=alice:alicepw", "defrag", "--cluster"], None),
    (&["defrag"], None),
    (&["--user=alice:wrong", "defrag"], None),
    (&["--user=root:rootpw", "defrag"], None),
    (&["--user=root:rootpw", "defrag", "--cluster"], None),
];

#[test]
fn defrag_needs_root_with_auth_like_etcd() {
    let run = |bin: &std::path::Path| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let s = Server::start(bin, &tmp.path().join("data"), FAST_BCRYPT);
        session::run(&s, AUTH_SETUP);
        session::run(&s, AUTH_SESSION)
    };
    let want = run(std::path::Path::new(REAL_ETCD));
    let got = run(&integration_tests::our_bin("etcd-server"));
    session::assert_same(&want, &got);
    // The session tests what it means to: alice is refused, root is not.
    assert_eq!(want[0].3, 1, "{want:?}");
    assert!(
        want[0]
            .2
            .contains("Failed to defragment etcd member[127.0.0.1:PORT] (rpc error: code = Unknown desc = auth: permission denied)\n"),
        "{want:?}"
    );
    assert_eq!(want[4].3, 0, "{want:?}");
    assert!(
        want[4].1.starts_with("Finished defragmenting etcd member["),
        "{want:?}"
    );
}
