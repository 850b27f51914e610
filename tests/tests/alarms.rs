//! Alarms. NOSPACE: `--quota-backend-bytes` exceeded raises it through raft, writes that
//! grow the backend fail with `etcdserver: mvcc: database space exceeded` while reads and
//! deletes work, `/health` turns false, `endpoint status` lists it, and `alarm disarm`
//! after compaction and defrag clears it — held to real etcd 3.4.23 with the real
//! etcdctl. The alarm is cluster-wide and survives kill -9. CORRUPT: the leader's
//! periodic hash check (`--experimental-corrupt-check-time`) raises it when a member's
//! data differs, and `--experimental-initial-corrupt-check` refuses to start such a member.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use etcd_proto::mvccpb::KeyValue;
use integration_tests::cluster::{wait_for, Cluster, ClusterOptions, WAIT_LIMIT};
use integration_tests::session::mask;
use integration_tests::{etcdctl, our_bin, stderr, stdout, Server, REAL_ETCD, REAL_ETCDCTL};
use mvcc::{Engine, Revision, RocksEngine, WriteBatch};
use prost::Message;

/// The quota etcd's own e2e alarm test uses (13 pages).
const QUOTA: &str = "53248";
const NOSPACE: &str = "etcdserver: mvcc: database space exceeded";

/// `curl` of `path` on `endpoint`: (HTTP status, body).
fn http_get(endpoint: &str, path: &str) -> (String, String) {
    let out = Command::new("curl")
        .args(["-s", "-m", "10", "-w", "\n%{http_code}"])
        .arg(format!("http://{endpoint}{path}"))
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or((&text, ""));
    (code.to_string(), body.trim_end().to_string())
}

/// What a command printed, masked of what differs between two servers (IDs, ports,
/// sizes, revisions).
fn masked(o: &std::process::Output) -> String {
    let text = format!("exit {:?}\n{}{}", o.status.code(), stdout(o), stderr(o));
    let text = mask(&text);
    let rules = [
        (r"memberID:\d+", "memberID:N"),
        (r#""memberID":\d+"#, r#""memberID":N"#),
        (
            r#""(revision|raftIndex|raftAppliedIndex|raftTerm)":\d+"#,
            r#""$1":N"#,
        ),
        (r"compacted revision \d+", "compacted revision N"),
    ];
    rules.iter().fold(text, |t, (re, rep)| {
        regex::Regex::new(re)
            .unwrap()
            .replace_all(&t, *rep)
            .into_owned()
    })
}

/// etcd's e2e `alarmTest`, extended, with the real etcdctl: every step's masked output.
fn nospace_session(s: &Server) -> Vec<(String, String)> {
    let ep = s.endpoint();
    let ctl = |args: &[&str]| etcdctl(REAL_ETCDCTL, &ep, args, None);
    let mut log = Vec::new();
    let mut step = |what: &str, out: String| log.push((what.to_string(), out));
    step(
        "put small",
        masked(&ctl(&["put", "1st_test", &"a".repeat(64)])),
    );
    let big = "b".repeat(4096);
    let mut failed = None;
    for _ in 0..200 {
        let o = ctl(&["put", "2nd_test", &big]);
        if !o.status.success() {
            failed = Some(o);
            break;
        }
    }
    let failed = failed.expect("the quota is never reached");
    assert!(stderr(&failed).contains(NOSPACE), "{}", stderr(&failed));
    step("put past the quota", masked(&failed));
    step("alarm list", masked(&ctl(&["alarm", "list"])));
    step(
        "alarm list json",
        masked(&ctl(&["alarm", "list", "-w", "json"])),
    );
    step("health", format!("{:?}", http_get(&ep, "/health")));
    step(
        "health excluding NOSPACE",
        format!("{:?}", http_get(&ep, "/health?exclude=NOSPACE")),
    );
    step("put refused", masked(&ctl(&["put", "3rd_test", "x"])));
    step(
        "lease grant refused",
        masked(&ctl(&["lease", "grant", "10"])),
    );
    step("get works", masked(&ctl(&["get", "1st_test"])));
    step("delete works", masked(&ctl(&["del", "1st_test"])));
    step(
        "txn without puts works",
        masked(&etcdctl(
            REAL_ETCDCTL,
            &ep,
            &["txn"],
            Some("\n\ndel 2nd_test\n\n"),
        )),
    );
    let status = ctl(&["endpoint", "status", "-w", "json"]);
    let errors = stdout(&status);
    let errors = &errors[errors.find("\"errors\"").unwrap_or(0)..];
    step(
        "status errors",
        masked(&std::process::Output {
            stdout: errors.as_bytes().to_vec(),
            ..status
        }),
    );
    let rev = serde_json::from_str::<serde_json::Value>(&stdout(&ctl(&[
        "endpoint", "status", "-w", "json",
    ])))
    .ok()
    .and_then(|v| v[0]["Status"]["header"]["revision"].as_i64())
    .expect("status revision");
    step(
        "compact",
        masked(&ctl(&["compact", &rev.to_string(), "--physical"])),
    );
    step("defrag", masked(&ctl(&["defrag"])));
    step("put still refused", masked(&ctl(&["put", "3rd_test", "x"])));
    step("alarm disarm", masked(&ctl(&["alarm", "disarm"])));
    step("alarm list after disarm", masked(&ctl(&["alarm", "list"])));
    step("put after disarm", masked(&ctl(&["put", "4th_test", "x"])));
    step(
        "health after disarm",
        format!("{:?}", http_get(&ep, "/health")),
    );
    log
}

#[test]
fn nospace_alarm_raised_and_cleared_as_real_etcd() {
    let dir = tempfile::tempdir().unwrap();
    let quota = ["--quota-backend-bytes", QUOTA];
    let real = Server::start(Path::new(REAL_ETCD), &dir.path().join("real"), &quota);
    let expected = nospace_session(&real);
    drop(real);
    let ours = Server::start(&our_bin("etcd-server"), &dir.path().join("ours"), &quota);
    let got = nospace_session(&ours);
    let diffs: Vec<String> = expected
        .iter()
        .zip(&got)
        .filter(|(e, g)| e != g)
        .map(|(e, g)| format!("{}:\n  etcd: {:?}\n  ours: {:?}", e.0, e.1, g.1))
        .collect();
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// The alarm one member raises holds on every member, survives kill -9 of all of them,
/// and is cleared from any member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nospace_alarm_is_cluster_wide_and_durable() {
    let mut opts = ClusterOptions::new(3);
    opts.extra_args = vec!["--quota-backend-bytes".into(), QUOTA.into()];
    let mut c = Cluster::start_with(opts).await;
    let eps = c.endpoints();
    let ctl = |i: usize, args: &[&str]| etcdctl(REAL_ETCDCTL, &eps[i], args, None);
    let big = "b".repeat(4096);
    let mut raised = false;
    for _ in 0..200 {
        let o = ctl(0, &["put", "k", &big]);
        if !o.status.success() {
            assert!(stderr(&o).contains(NOSPACE), "{}", stderr(&o));
            raised = true;
            break;
        }
    }
    assert!(raised, "the quota is never reached");
    let expected = format!("memberID:{} alarm:NOSPACE \n", c.members[0].id);
    // Raised through raft: every member applies it (a follower may lag a moment).
    for i in 0..3 {
        wait_for("the alarm on every member", WAIT_LIMIT, async || {
            (stdout(&ctl(i, &["alarm", "list"])) == expected).then_some(())
        })
        .await;
    }
    // Every member refuses puts (each over the quota itself raises its own alarm too).
    for (i, ep) in eps.iter().enumerate() {
        let put = ctl(i, &["put", "small", "x"]);
        assert!(
            stderr(&put).contains(NOSPACE),
            "member {i}: {}",
            stderr(&put)
        );
        assert_eq!(http_get(ep, "/health").1, r#"{"health":"false"}"#);
    }
    let expected = stdout(&ctl(0, &["alarm", "list"]));
    assert!(expected.contains(&format!("memberID:{} alarm:NOSPACE \n", c.members[0].id)));
    for i in 0..3 {
        c.kill9(i);
    }
    for i in 0..3 {
        c.members[i].spawn();
    }
    for i in 0..3 {
        c.wait_ready(i).await;
    }
    c.leader().await;
    assert_eq!(stdout(&ctl(2, &["alarm", "list"])), expected);
    assert!(stderr(&ctl(1, &["put", "small", "x"])).contains(NOSPACE));
    assert_eq!(
        stdout(&ctl(1, &["get", "k", "--print-value-only"])).trim(),
        big
    );
    let rev = c.members[1]
        .status()
        .await
        .expect("status")
        .header()
        .unwrap()
        .revision();
    assert!(ctl(1, &["compact", &rev.to_string(), "--physical"])
        .status
        .success());
    assert!(ctl(1, &["defrag", "--cluster"]).status.success());
    let mut disarmed: Vec<&str> = Vec::new();
    let out = stdout(&ctl(1, &["alarm", "disarm"]));
    disarmed.extend(out.lines());
    let mut listed: Vec<&str> = expected.lines().collect();
    disarmed.sort();
    listed.sort();
    assert_eq!(disarmed, listed);
    for i in 0..3 {
        wait_for(
            "the alarm cleared on every member",
            WAIT_LIMIT,
            async || stdout(&ctl(i, &["alarm", "list"])).is_empty().then_some(()),
        )
        .await;
    }
    assert_eq!(stdout(&ctl(2, &["put", "small", "x"])), "OK\n");
}

/// Changes the value written at revision 2 in a stopped member's backend, so that its
/// HashKV differs from its peers' at the same revision. The cluster snapshots often, so
/// that revision is flushed to the backend and its raft log replay does not rewrite it.
fn corrupt_backend(data_dir: &Path) {
    let engine = RocksEngine::open(&data_dir.join("member").join("kv")).expect("open backend");
    let key = Revision::new(2, 0).to_key(false);
    let value = engine
        .get("key", &key)
        .unwrap()
        .expect("revision 2 flushed to the backend");
    let mut kv = KeyValue::decode(value.as_slice()).expect("a KeyValue");
    kv.value = b"corrupted".to_vec();
    let mut batch = WriteBatch::new();
    batch.put("key", key, kv.encode_to_vec());
    engine.write(batch, true).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_member_is_found_by_initial_and_periodic_checks() {
    let mut opts = ClusterOptions::new(3);
    opts.snapshot_count = Some(5);
    opts.extra_args = vec![
        "--experimental-initial-corrupt-check".into(),
        "--experimental-corrupt-check-time".into(),
        "1s".into(),
    ];
    let mut c = Cluster::start_with(opts).await;
    let eps = c.endpoints();
    let ctl = |i: usize, args: &[&str]| etcdctl(REAL_ETCDCTL, &eps[i], args, None);
    for i in 0..20 {
        assert!(ctl(0, &["put", &format!("k{i}"), "v"]).status.success());
    }
    c.wait_converged().await;
    // Several periodic checks pass on healthy members.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(stdout(&ctl(0, &["alarm", "list"])), "");
    let leader = c.leader().await;
    let victim = (leader + 1) % 3;
    c.kill9(victim);
    corrupt_backend(&c.members[victim].data_dir);

    // With the initial check the corrupted member refuses to start.
    c.members[victim].spawn();
    let exit = c.members[victim].wait_exit(WAIT_LIMIT).await;
    assert!(exit.is_some_and(|s| !s.success()), "{exit:?}");
    let log = c.members[victim].log_text();
    assert!(log.contains("found data inconsistency with peers"), "{log}");

    // Without it, it starts, and the leader's periodic check raises CORRUPT.
    c.members[victim]
        .args_mut()
        .retain(|a| a != "--experimental-initial-corrupt-check");
    c.restart(victim).await;
    let other = (victim + 1) % 3;
    wait_for("the CORRUPT alarm", WAIT_LIMIT, async || {
        (stdout(&ctl(other, &["alarm", "list"])) == "alarm:CORRUPT \n").then_some(())
    })
    .await;
    let put = ctl(other, &["put", "k", "v"]);
    assert!(
        stderr(&put).contains("etcdserver: corrupt cluster"),
        "{}",
        stderr(&put)
    );
    assert_eq!(
        stdout(&ctl(other, &["get", "k0", "--print-value-only"])),
        "v\n"
    );
    assert_eq!(http_get(&eps[other], "/health").1, r#"{"health":"false"}"#);
}

/// Fills `s` past its quota with the real etcdctl until NOSPACE is raised.
fn fill_until_nospace(s: &Server) {
    let big = "b".repeat(4096);
    for _ in 0..200 {
        if !etcdctl(REAL_ETCDCTL, &s.endpoint(), &["put", "big", &big], None)
            .status
            .success()
        {
            return;
        }
    }
    panic!("the quota is never reached");
}

/// Our etcdctl's `alarm list` / `alarm disarm` against the real one, on real etcd and on
/// ours: every output format, bad arguments, and what disarm prints.
#[test]
fn our_etcdctl_alarm_commands_match_the_real_one() {
    let dir = tempfile::tempdir().unwrap();
    let quota = ["--quota-backend-bytes", QUOTA];
    let ours = our_bin("etcdctl");
    let real_bin = Path::new(REAL_ETCDCTL);
    for (name, bin) in [
        ("etcd", Path::new(REAL_ETCD)),
        ("ours", &our_bin("etcd-server")),
    ] {
        let s = Server::start(bin, &dir.path().join(name), &quota);
        fill_until_nospace(&s);
        let ep = s.endpoint();
        // (stdout, first stderr line, exit code): Go's panic trace is not reproduced.
        let run = |ctl: &Path, args: &[&str]| {
            let o = etcdctl(ctl, &ep, args, None);
            let err = stderr(&o).lines().next().unwrap_or("").to_string();
            (o.stdout, err, o.status.code())
        };
        let mut cases: Vec<Vec<&str>> = ["simple", "json", "fields", "table", "protobuf"]
            .iter()
            .map(|w| vec!["alarm", "list", "-w", w])
            .collect();
        cases.push(vec!["alarm", "list", "extra"]);
        cases.push(vec!["alarm", "disarm", "extra"]);
        for args in &cases {
            assert_eq!(run(&ours, args), run(real_bin, args), "{name}: {args:?}");
        }
        for w in ["simple", "json", "protobuf"] {
            let args = ["alarm", "disarm", "-w", w];
            let mine = run(&ours, &args);
            assert!(!mine.0.is_empty(), "{name}: nothing disarmed");
            fill_until_nospace(&s);
            assert_eq!(mine, run(real_bin, &args), "{name}: {args:?}");
            fill_until_nospace(&s);
        }
        run(&ours, &["alarm", "disarm"]);
        let empty = ["alarm", "disarm", "-w", "json"];
        assert_eq!(run(&ours, &empty).0, run(real_bin, &empty).0);
        assert_eq!(run(&ours, &empty).0, b"{}\n");
    }
}
