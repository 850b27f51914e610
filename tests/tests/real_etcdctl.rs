//! The real etcdctl 3.4 against our server: the seed's example, and a scripted session whose
//! output must equal, byte for byte, the same session against real etcd 3.4 (after masking
//! the values that legitimately differ: member/cluster IDs, ports, raft term, db size).

use integration_tests::{etcdctl, session, stderr, stdout, Server, REAL_ETCDCTL};
use regex::Regex;

fn ctl(s: &Server, args: &[&str]) -> (String, String, i32) {
    let o = etcdctl(REAL_ETCDCTL, &s.endpoint(), args, None);
    (stdout(&o), stderr(&o), o.status.code().unwrap_or(-1))
}

#[test]
fn seed_example() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::ours(&dir.path().join("d"));
    assert_eq!(ctl(&s, &["put", "/name", "clemente"]).0, "OK\n");
    assert_eq!(
        ctl(&s, &["get", "/", "--prefix", "--keys-only"]).0,
        "/name\n\n"
    );
    assert_eq!(ctl(&s, &["get", "/name"]).0, "/name\nclemente\n");
    assert_eq!(ctl(&s, &["del", "/name"]).0, "1\n");
    assert_eq!(ctl(&s, &["get", "/", "--prefix"]).0, "");
}

/// One command of the session: args, and stdin for txn.
const SESSION: &[session::Step] = &[
    (&["put", "foo", "bar"], None),
    (&["put", "foo1", "bar1"], None),
    (&["put", "foo2", "bar2"], None),
    (&["put", "zoo", "val"], None),
    (&["put", "foo", "bar-new", "--prev-kv"], None),
    (&["get", "foo"], None),
    (&["get", "foo", "--prefix"], None),
    (&["get", "foo", "--prefix", "--limit", "2"], None),
    (
        &[
            "get",
            "foo",
            "--prefix",
            "--sort-by=MODIFY",
            "--order=DESCEND",
        ],
        None,
    ),
    (
        &[
            "get",
            "foo",
            "--prefix",
            "--sort-by=VALUE",
            "--order=ASCEND",
        ],
        None,
    ),
    (&["get", "foo", "--prefix", "--keys-only"], None),
    (&["get", "foo", "--prefix", "--print-value-only"], None),
    (
        &["get", "foo", "--prefix", "--count-only", "-w", "fields"],
        None,
    ),
    (&["get", "--from-key", "foo1"], None),
    (&["get", "foo", "--rev=2"], None),
    (&["get", "foo", "--consistency=s"], None),
    (&["get", "foo", "-w", "json"], None),
    (&["get", "foo", "--prefix", "-w", "fields"], None),
    (&["get", "foo", "--prefix", "-w", "table"], None),
    (&["get", "foo", "--hex"], None),
    (&["get", "nosuchkey"], None),
    (&["get", "nosuchkey", "-w", "json"], None),
    (&["put", "foo", "--ignore-value"], None),
    (&["get", "foo"], None),
    (&["put", "missing", "--ignore-value"], None),
    (&["put", "k", "v", "--lease=1234"], None),
    (&["del", "foo1", "--prev-kv"], None),
    (&["del", "nosuchkey"], None),
    (&["del", "foo", "--prefix"], None),
    (&["put", "a", "1"], None),
    (
        &["txn"],
        Some("value(\"a\") = \"1\"\n\nput a 2\nget a\n\nput b 3\n\n"),
    ),
    (
        &["txn", "-w", "json"],
        Some("mod(\"a\") > \"0\"\n\ndel a\n\nget b\n\n"),
    ),
    (
        &["txn"],
        Some("version(\"zzz\") = \"1\"\n\nput x y\n\nput a 5\nget a\n\n"),
    ),
    (&["get", "", "--from-key"], None),
    (&["compaction", "3"], None),
    (&["get", "foo", "--rev=2"], None),
    (&["compaction", "3"], None),
    (&["compaction", "--physical", "5"], None),
    (&["compaction", "1000"], None),
    (&["get", "foo", "--rev=1000"], None),
];

#[test]
fn session_matches_real_etcd() {
    let dir = tempfile::tempdir().unwrap();
    let real = Server::real(&dir.path().join("real"));
    let expected = session::run(&real, SESSION);
    drop(real);
    let ours = Server::ours(&dir.path().join("ours"));
    session::assert_same(&expected, &session::run(&ours, SESSION));
}

#[test]
fn endpoint_and_member_commands() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::ours(&dir.path().join("d"));
    // etcdctl 3.4 prints the health line on stderr.
    let (_, out, code) = ctl(&s, &["endpoint", "health"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(&format!(
            "{} is healthy: successfully committed proposal: took = ",
            s.endpoint()
        )),
        "{out}"
    );
    let (out, _, code) = ctl(&s, &["endpoint", "status", "-w", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let st = &v[0]["Status"];
    assert_eq!(st["version"], "3.4.23");
    assert_eq!(st["leader"], st["header"]["member_id"]);
    assert!(st["raftIndex"].as_u64().unwrap() >= 1);
    let (out, _, code) = ctl(&s, &["member", "list"]);
    assert_eq!(code, 0);
    let re = Regex::new(
        r"^[0-9a-f]+, started, default, http://127\.0\.0\.1:\d+, http://127\.0\.0\.1:\d+, false\n$",
    )
    .unwrap();
    assert!(re.is_match(&out), "{out}");
}

#[test]
fn oversized_request_is_rejected_with_etcds_error() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        &integration_tests::our_bin("etcd-server"),
        &dir.path().join("d"),
        &["--max-request-bytes", "1024"],
    );
    let big = "x".repeat(2048);
    let (_, err, code) = ctl(&s, &["put", "big", &big]);
    assert_ne!(code, 0);
    assert!(err.contains("etcdserver: request is too large"), "{err}");
    // Nothing was lost or changed by the rejected request.
    assert_eq!(ctl(&s, &["put", "small", "v"]).0, "OK\n");
    assert_eq!(ctl(&s, &["get", "big"]).0, "");
}

/// etcdctl 3.4 dials `--cluster` members and `endpoint status` targets with the whole URL as
/// the HTTP/2 authority; real etcd accepts that, so must we. `--user` against a server
/// without auth enabled works as with etcd.
#[test]
fn url_authority_cluster_dials_and_user_flag() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::ours(&dir.path().join("d"));
    for args in [
        vec!["endpoint", "status", "--cluster"],
        vec!["endpoint", "health", "--cluster"],
    ] {
        let o = etcdctl(REAL_ETCDCTL, &s.endpoint(), &args, None);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let text = stdout(&o) + &stderr(&o);
        assert!(text.contains(&s.url()), "{args:?}: {text}");
        assert!(!text.contains("PROTOCOL_ERROR"), "{text}");
    }
    let o = etcdctl(REAL_ETCDCTL, &s.url(), &["endpoint", "status"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = etcdctl(
        REAL_ETCDCTL,
        &s.endpoint(),
        &["--user", "root:pw", "put", "k", "v"],
        None,
    );
    assert_eq!(stdout(&o), "OK\n", "{}", stderr(&o));
}
