//! Authentication and RBAC end to end with the real etcdctl 3.4: a scripted session (users,
//! roles, permissions, every refused path) whose output must equal the same session
//! against real etcd 3.4.23; auth state surviving kill -9; tokens working on every member
//! of a cluster, including one that caught up by a raft snapshot.

use std::path::Path;
use std::time::Duration;

use integration_tests::cluster::{Cluster, ClusterOptions};
use integration_tests::load::PutLoad;
use integration_tests::{
    etcdctl, our_bin, session, stderr, stdout, Server, REAL_ETCD, REAL_ETCDCTL,
};

/// bcrypt at its cheapest, for both servers: the tests are about behaviour, not hashing.
const FAST_BCRYPT: &[&str] = &["--bcrypt-cost", "4"];

const ROOT: &str = "--user=root:rootpw";
const ALICE: &str = "--user=alice:alicepw";

/// root (root role) and alice (role "app": read cfg/*, readwrite data/a..data/m, write w).
const SETUP: &[session::Step] = &[
    (&["user", "add", "root:rootpw"], None),
    (&["user", "add", "alice:alicepw"], None),
    (&["role", "add", "app"], None),
    (
        &[
            "role",
            "grant-permission",
            "app",
            "read",
            "cfg/",
            "--prefix",
        ],
        None,
    ),
    (
        &[
            "role",
            "grant-permission",
            "app",
            "readwrite",
            "data/a",
            "data/m",
        ],
        None,
    ),
    (&["role", "grant-permission", "app", "write", "w"], None),
    (&["user", "grant-role", "alice", "app"], None),
    (&["user", "grant-role", "root", "root"], None),
    (&["put", "cfg/x", "1"], None),
    (&["auth", "enable"], None),
];

const SESSION: &[session::Step] = &[
    (&["user", "get", "alice"], None),
    (&["role", "get", "app"], None),
    (&["role", "list"], None),
    (&["user", "list"], None),
    // Nobody, a wrong password, an unknown user.
    (&["put", "k", "v"], None),
    (&["get", "cfg/x"], None),
    (&["--user=alice:wrong", "get", "cfg/x"], None),
    (&["--user=nobody:x", "get", "cfg/x"], None),
    // Root may do anything.
    (&[ROOT, "put", "cfg/y", "2"], None),
    (&[ROOT, "get", "", "--prefix"], None),
    (&[ROOT, "user", "list"], None),
    // alice inside and outside her permissions.
    (&[ALICE, "get", "cfg/x"], None),
    (&[ALICE, "get", "cfg/", "--prefix"], None),
    (&[ALICE, "get", "", "--prefix"], None),
    (&[ALICE, "get", "cfg/x", "--consistency=s"], None),
    (&[ALICE, "put", "cfg/x", "2"], None),
    (&[ALICE, "put", "data/b", "1"], None),
    (&[ALICE, "put", "data/b", "2", "--prev-kv"], None),
    (&[ALICE, "put", "w", "1"], None),
    (&[ALICE, "put", "w", "2", "--prev-kv"], None),
    (&[ALICE, "get", "w"], None),
    (&[ALICE, "del", "data/a", "data/z"], None),
    (&[ALICE, "del", "data/a", "data/m"], None),
    (&[ALICE, "watch", "zzz"], None),
    (&[ALICE, "watch", "", "--prefix"], None),
    (&[ALICE, "watch", "data/a", "data/z"], None),
    // Txn: compares are reads; both branches are checked whatever the outcome.
    (
        &[ALICE, "txn"],
        Some("value(\"cfg/x\") = \"1\"\n\nput data/c 1\n\nput zzz 1\n\n"),
    ),
    (
        &[ALICE, "txn"],
        Some("value(\"secret\") = \"1\"\n\nput data/c 1\n\n\n"),
    ),
    (
        &[ALICE, "txn"],
        Some("value(\"cfg/x\") = \"1\"\n\nput data/c 1\nget cfg/x\n\nget data/c\n\n"),
    ),
    (&[ALICE, "txn"], Some("\nget cfg/x\n\nget other\n\n")),
    // Administration is root's.
    (&[ALICE, "user", "list"], None),
    (&[ALICE, "user", "get", "alice"], None),
    (&[ALICE, "user", "get", "root"], None),
    (&[ALICE, "role", "get", "app"], None),
    (&[ALICE, "role", "add", "mine"], None),
    (&[ALICE, "auth", "disable"], None),
    (
        &[
            ALICE,
            "member",
            "add",
            "m9",
            "--peer-urls=http://127.0.0.1:1",
        ],
        None,
    ),
    (&[ALICE, "endpoint", "hashkv"], None),
    (&[ALICE, "compaction", "1"], None),
    // Root cannot lose root while auth is on.
    (&[ROOT, "user", "delete", "root"], None),
    (&[ROOT, "user", "revoke-role", "root", "root"], None),
    (&[ROOT, "role", "delete", "root"], None),
    // Management errors.
    (&[ROOT, "user", "add", "alice:x"], None),
    (&[ROOT, "user", "grant-role", "alice", "nope"], None),
    (&[ROOT, "user", "revoke-role", "alice", "nope"], None),
    (&[ROOT, "role", "revoke-permission", "app", "nope"], None),
    (&[ROOT, "role", "get", "nope"], None),
    (&[ROOT, "user", "get", "nope"], None),
    // Permission and password changes take effect at once.
    (&[ROOT, "role", "revoke-permission", "app", "w"], None),
    (&[ALICE, "put", "w", "3"], None),
    (
        &[ROOT, "user", "passwd", "alice", "--interactive=false"],
        Some("newpw\n"),
    ),
    (&[ALICE, "get", "cfg/x"], None),
    (&["--user=alice:newpw", "get", "cfg/x"], None),
    (&[ROOT, "user", "revoke-role", "alice", "app"], None),
    (&["--user=alice:newpw", "get", "cfg/x"], None),
    (&[ROOT, "role", "delete", "app"], None),
    (&[ROOT, "user", "delete", "alice"], None),
    (&["--user=alice:newpw", "get", "cfg/x"], None),
    (&[ROOT, "auth", "disable"], None),
    (&["put", "k", "v"], None),
    (&["get", "", "--prefix", "--keys-only"], None),
    (&["auth", "enable"], None),
];

fn start(bin: &Path, dir: &Path) -> Server {
    Server::start(bin, dir, FAST_BCRYPT)
}

/// Runs `steps` against real etcd and ours, both started with `args`, and compares;
/// returns our outcomes.
fn same_as_real_etcd(args: &[&str], steps: &[session::Step]) -> Vec<session::Outcome> {
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<&str> = FAST_BCRYPT.iter().chain(args).copied().collect();
    let real = Server::start(Path::new(REAL_ETCD), &dir.path().join("real"), &args);
    let expected = session::run(&real, steps);
    drop(real);
    let ours = Server::start(&our_bin("etcd-server"), &dir.path().join("ours"), &args);
    let got = session::run(&ours, steps);
    session::assert_same(&expected, &got);
    got
}

fn count_denied(outcomes: &[session::Outcome]) -> usize {
    outcomes
        .iter()
        .filter(|o| o.2.contains("Error: etcdserver: permission denied"))
        .count()
}

#[test]
fn auth_session_matches_real_etcd() {
    let steps: Vec<session::Step> = SETUP.iter().chain(SESSION).copied().collect();
    let got = same_as_real_etcd(&[], &steps);
    // The session must have exercised refusals, not just matched two broken servers.
    let denied = count_denied(&got);
    assert!(denied >= 10, "only {denied} permission-denied answers");
}

/// etcd's own RS256 test key pair (see crates/auth-jwt/tests/fixtures).
fn jwt_flag() -> String {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/auth-jwt/tests/fixtures"
    );
    format!("--auth-token=jwt,pub-key={dir}/rsa.pub,priv-key={dir}/rsa.key,sign-method=RS256")
}

#[test]
fn jwt_session_matches_real_etcd() {
    // The first part of the session: logins, reads, writes, txns and refusals.
    let steps: Vec<session::Step> = SETUP.iter().chain(&SESSION[..30]).copied().collect();
    let got = same_as_real_etcd(&[&jwt_flag()], &steps);
    let denied = count_denied(&got);
    assert!(denied >= 5, "only {denied} permission-denied answers");
}

/// Starts real etcd and ours in turn with `flags` (after the fast bcrypt cost), runs
/// [`SETUP`] on each and hands it to `check` with its name.
async fn on_both<F, Fut>(flags: &[&str], check: F)
where
    F: Fn(&'static str, Server) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    for (name, bin) in [
        ("real", Path::new(REAL_ETCD).to_path_buf()),
        ("ours", our_bin("etcd-server")),
    ] {
        let args: Vec<&str> = FAST_BCRYPT.iter().chain(flags).copied().collect();
        let s = Server::start(&bin, &dir.path().join(name), &args);
        for step in SETUP {
            let o = etcdctl(REAL_ETCDCTL, &s.endpoint(), step.0, step.1);
            assert!(o.status.success(), "{name} {:?}: {}", step.0, stderr(&o));
        }
        check(name, s).await;
    }
}

/// A gRPC connection to `s` and alice's token.
async fn alice_login(s: &Server) -> (tonic::transport::Channel, String) {
    use etcd_proto::etcdserverpb::{auth_client::AuthClient, AuthenticateRequest};
    let channel = tonic::transport::Endpoint::from_shared(s.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let token = AuthClient::new(channel.clone())
        .authenticate(AuthenticateRequest {
            name: "alice".into(),
            password: "alicepw".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .token;
    (channel, token)
}

/// Range `cfg/x` with `token`.
async fn get_with(
    channel: &tonic::transport::Channel,
    token: &str,
) -> Result<usize, tonic::Status> {
    use etcd_proto::etcdserverpb::{kv_client::KvClient, RangeRequest};
    let mut req = tonic::Request::new(RangeRequest {
        key: b"cfg/x".to_vec(),
        ..Default::default()
    });
    req.metadata_mut().insert("token", token.parse().unwrap());
    Ok(KvClient::new(channel.clone())
        .range(req)
        .await?
        .into_inner()
        .kvs
        .len())
}

fn assert_status(r: Result<usize, tonic::Status>, code: tonic::Code, msg: &str, who: &str) {
    let err = r.expect_err(who);
    assert_eq!((err.code(), err.message()), (code, msg), "{who}");
}

/// A JWT names the auth revision it was issued at: after any auth change it is refused as
/// old (clients then authenticate again), on real etcd and on ours alike.
#[tokio::test]
async fn jwt_from_before_an_auth_change_is_refused_as_old() {
    let flag = jwt_flag();
    on_both(&[&flag], |name, s| async move {
        let (channel, token) = alice_login(&s).await;
        assert_eq!(get_with(&channel, &token).await.unwrap(), 1, "{name}");
        let o = etcdctl(
            REAL_ETCDCTL,
            &s.endpoint(),
            &[ROOT, "role", "add", "another"],
            None,
        );
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let old = "etcdserver: revision of auth store is old";
        assert_status(
            get_with(&channel, &token).await,
            tonic::Code::InvalidArgument,
            old,
            name,
        );
        let bad = "etcdserver: invalid auth token";
        let forged = format!("{token}x");
        assert_status(
            get_with(&channel, &forged).await,
            tonic::Code::Unauthenticated,
            bad,
            name,
        );
    })
    .await;
}

/// Simple tokens expire after --auth-token-ttl unused; garbage tokens are refused; the
/// member keeps serving the valid ones.
#[tokio::test]
async fn expired_and_garbage_simple_tokens_are_refused() {
    on_both(&["--auth-token-ttl=1"], |name, s| async move {
        let (channel, token) = alice_login(&s).await;
        let (_, fresh) = alice_login(&s).await;
        assert_eq!(get_with(&channel, &token).await.unwrap(), 1, "{name}");
        let bad = "etcdserver: invalid auth token";
        // (Not a token naming a future raft index: etcd waits for that index to be applied.)
        for garbage in ["", "nonsense", "abc.1", "abcdefghijklmnop.2"] {
            let what = format!("{name}: token {garbage:?}");
            assert_status(
                get_with(&channel, garbage).await,
                tonic::Code::Unauthenticated,
                bad,
                &what,
            );
        }
        // Keep `fresh` in use while `token` idles past its TTL (etcd checks once a second).
        for _ in 0..6 {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            assert_eq!(
                get_with(&channel, &fresh).await.unwrap(),
                1,
                "{name}: used token expired"
            );
        }
        assert_status(
            get_with(&channel, &token).await,
            tonic::Code::Unauthenticated,
            bad,
            name,
        );
    })
    .await;
}

fn ctl(s: &Server, args: &[&str]) -> (String, String, i32) {
    let o = etcdctl(REAL_ETCDCTL, &s.endpoint(), args, None);
    (stdout(&o), stderr(&o), o.status.code().unwrap_or(-1))
}

#[test]
fn auth_state_survives_kill9() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = start(&our_bin("etcd-server"), &dir.path().join("d"));
    let setup = session::run(&s, SETUP);
    assert!(setup.iter().all(|o| o.3 == 0), "{setup:?}");
    s.kill9();
    s.spawn();
    let (_, err, code) = ctl(&s, &["get", "cfg/x"]);
    assert_eq!(code, 1);
    assert!(err.contains("etcdserver: user name is empty"), "{err}");
    assert_eq!(ctl(&s, &[ALICE, "get", "cfg/x"]).0, "cfg/x\n1\n");
    let (_, err, _) = ctl(&s, &[ALICE, "put", "cfg/x", "2"]);
    assert!(err.contains("etcdserver: permission denied"), "{err}");
    assert_eq!(ctl(&s, &[ROOT, "user", "list"]).0, "alice\nroot\n");
}

/// Enough puts for the members to compact their raft logs past what a stopped member has
/// (each keeps 5,000 entries for catching up).
const SNAPSHOT_CATCHUP_PUTS: usize = 6_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_member_serves_auth_including_one_restored_from_a_snapshot() {
    let mut opts = ClusterOptions::new(3);
    opts.snapshot_count = Some(100);
    opts.extra_args = FAST_BCRYPT.iter().map(|s| s.to_string()).collect();
    let mut c = Cluster::start_with(opts).await;
    let on = |c: &Cluster, i: usize, args: &[&str]| {
        let o = etcdctl(REAL_ETCDCTL, &c.members[i].endpoint(), args, None);
        (stdout(&o), stderr(&o), o.status.code().unwrap_or(-1))
    };
    // A follower is down while users and roles are made and enough writes follow for a log
    // compaction: it gets them in a raft snapshot. Auth is enabled once it caught up.
    let leader = c.leader().await;
    let behind = (0..3).rev().find(|&i| i != leader).unwrap();
    c.kill9(behind);
    let (setup, enable) = SETUP.split_at(SETUP.len() - 1);
    let up: Vec<usize> = (0..3).filter(|&i| i != behind).collect();
    let ep0 = c.members[up[0]].endpoint();
    let run = |steps: &[session::Step]| {
        for step in steps {
            let o = etcdctl(REAL_ETCDCTL, &ep0, step.0, step.1);
            assert!(o.status.success(), "{:?}: {}", step.0, stderr(&o));
        }
    };
    run(setup);
    let load = PutLoad::start(
        &[c.members[up[0]].endpoint(), c.members[up[1]].endpoint()],
        32,
        "load/",
        Some(SNAPSHOT_CATCHUP_PUTS),
    );
    let (acked, failed) = load.finish(Duration::from_secs(90)).await;
    assert_eq!((acked.len(), failed), (SNAPSHOT_CATCHUP_PUTS, 0));
    let log_offset = c.members[behind].log_len();
    c.restart(behind).await;
    // (hashkv needs root once auth is on: converge first.)
    c.wait_converged().await;
    assert!(
        c.members[behind]
            .log_since(log_offset)
            .contains("restoring backend from a raft snapshot"),
        "the stopped member was expected to catch up by snapshot"
    );
    run(enable);
    for i in 0..3 {
        assert_eq!(
            on(&c, i, &[ALICE, "get", "cfg/x"]).0,
            "cfg/x\n1\n",
            "member {i}"
        );
        let (_, err, _) = on(&c, i, &[ALICE, "put", "cfg/x", "2"]);
        assert!(
            err.contains("etcdserver: permission denied"),
            "member {i}: {err}"
        );
        let (_, err, _) = on(&c, i, &["get", "cfg/x"]);
        assert!(
            err.contains("etcdserver: user name is empty"),
            "member {i}: {err}"
        );
    }
}

/// AuthStatus (etcd 3.5's RPC, used by newer clients): the switch and the auth revision,
/// which every change of users, roles or permissions bumps (enabling does not, as etcd).
#[tokio::test]
async fn auth_status_reports_the_switch_and_the_revision() {
    use etcd_proto::etcdserverpb::{auth_client::AuthClient, AuthStatusRequest};
    let dir = tempfile::tempdir().unwrap();
    let s = start(&our_bin("etcd-server"), &dir.path().join("d"));
    let channel = tonic::transport::Endpoint::from_shared(s.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let status = || {
        let mut auth = AuthClient::new(channel.clone());
        async move {
            let r = auth
                .auth_status(AuthStatusRequest {})
                .await
                .unwrap()
                .into_inner();
            (r.enabled, r.auth_revision)
        }
    };
    assert_eq!(status().await, (false, 1));
    let setup = session::run(&s, SETUP);
    assert!(setup.iter().all(|o| o.3 == 0), "{setup:?}");
    // 2 users, 1 role, 3 permissions, 2 grants: 8 changes after the initial revision 1.
    assert_eq!(status().await, (true, 9));
}
