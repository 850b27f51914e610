//! Backup and restore in etcd's snapshot format, both ways with real etcd 3.4.23: a
//! snapshot of real etcd restored by our etcdctl serves the same keys, revisions, leases
//! and users on our server; a snapshot of our server passes the real `etcdctl snapshot
//! status` and restores into real etcd; a snapshot taken under write load holds exactly
//! the writes up to its revision; damaged files are refused; and the seed's disaster
//! recovery runbook (a 3-member cluster rebuilt from one snapshot) works end to end.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use integration_tests::cluster::{Cluster, ClusterOptions};
use integration_tests::{
    etcdctl, free_port, our_bin, stderr, stdout, Server, REAL_ETCD, REAL_ETCDCTL,
};

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    stdout(&o)
}

fn ctl(s: &Server, args: &[&str]) -> String {
    ok(etcdctl(REAL_ETCDCTL, &s.endpoint(), args, None))
}

/// `get --prefix "" -w json` without its header: keys, values, revisions, versions,
/// leases and the count.
fn all_keys(s: &Server) -> String {
    let out = ctl(s, &["get", "--prefix", "", "-w", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    format!("{} {}", v["kvs"], v["count"])
}

/// Puts the data every migration test carries: plain keys, overwrites, a deleted key, a
/// compaction, a lease with keys, and a user with a role (auth left disabled).
fn seed(s: &Server) {
    for i in 0..50 {
        ctl(s, &["put", &format!("k{i:02}"), &format!("v{i}")]);
    }
    ctl(s, &["put", "k00", "again"]);
    ctl(s, &["put", "gone", "x"]);
    ctl(s, &["del", "gone"]);
    ctl(s, &["compact", "20"]);
    let lease = ctl(s, &["lease", "grant", "600"]);
    let id = lease
        .split_whitespace()
        .nth(1)
        .expect("lease id")
        .to_string();
    ctl(s, &["put", "leased/a", "1", "--lease", &id]);
    ctl(s, &["put", "leased/b", "2", "--lease", &id]);
    ctl(s, &["user", "add", "alice:pw"]);
    ctl(s, &["role", "add", "reader"]);
    ctl(
        s,
        &[
            "role",
            "grant-permission",
            "reader",
            "read",
            "k",
            "--prefix",
        ],
    );
    ctl(s, &["user", "grant-role", "alice", "reader"]);
}

/// What a restored member must serve like the original.
fn state(s: &Server) -> Vec<String> {
    vec![
        all_keys(s),
        ctl(s, &["lease", "list"]),
        ctl(s, &["user", "get", "alice"]),
        ctl(s, &["role", "get", "reader"]),
    ]
}

/// `snapshot restore` of `file` with `etcdctl` into `dir/<name>.etcd` for a single member
/// on fresh ports; returns the data dir and the flags to start it with.
fn restore(etcdctl_bin: &Path, file: &Path, dir: &Path, name: &str) -> (PathBuf, u16, Vec<String>) {
    let data = dir.join(format!("{name}.etcd"));
    let (client, peer) = (free_port(), free_port());
    let peer_url = format!("http://127.0.0.1:{peer}");
    let initial = format!("{name}={peer_url}");
    let o = std::process::Command::new("timeout")
        .args(["-s", "KILL", "60"])
        .arg(etcdctl_bin)
        .args(["snapshot", "restore"])
        .arg(file)
        .arg("--data-dir")
        .arg(&data)
        .args(["--name", name, "--initial-cluster", &initial])
        .args(["--initial-advertise-peer-urls", &peer_url])
        .args(["--initial-cluster-token", "restored"])
        .env("ETCDCTL_API", "3")
        .output()
        .expect("run snapshot restore");
    ok(o);
    let client_url = format!("http://127.0.0.1:{client}");
    let args = vec![
        "--name".into(),
        name.into(),
        "--data-dir".into(),
        data.display().to_string(),
        "--listen-client-urls".into(),
        client_url.clone(),
        "--advertise-client-urls".into(),
        client_url,
        "--listen-peer-urls".into(),
        peer_url.clone(),
        "--initial-advertise-peer-urls".into(),
        peer_url,
        "--initial-cluster".into(),
        initial,
        "--initial-cluster-token".into(),
        "restored".into(),
    ];
    (data, client, args)
}

fn start_restored(bin: &Path, dir: &Path, client: u16, args: &[String]) -> Server {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start_configured(bin, dir, client, &args, &[])
}

fn snapshot_save(s: &Server, file: &Path) {
    ctl(s, &["snapshot", "save", file.to_str().unwrap()]);
}

#[test]
fn a_real_etcd_snapshot_restores_into_our_server() {
    let dir = tempfile::tempdir().unwrap();
    let real = Server::start(Path::new(REAL_ETCD), &dir.path().join("real"), &[]);
    seed(&real);
    let file = dir.path().join("etcd.db");
    snapshot_save(&real, &file);
    let expected = state(&real);
    let real_hash = ctl(&real, &["endpoint", "hashkv", "-w", "json"]);
    drop(real);

    let (_, client, args) = restore(&our_bin("etcdctl"), &file, dir.path(), "ours");
    let ours = start_restored(&our_bin("etcd-server"), dir.path(), client, &args);
    assert_eq!(state(&ours), expected);
    // The same key history: the same HashKV as etcd computed.
    let hash = |out: &str| {
        let v: serde_json::Value = serde_json::from_str(out).unwrap();
        v[0]["HashKV"]["hash"].clone()
    };
    let our_hash = ctl(&ours, &["endpoint", "hashkv", "-w", "json"]);
    assert_eq!(hash(&our_hash), hash(&real_hash));
    // The restored member is a new cluster and takes writes.
    ctl(&ours, &["put", "after", "restore"]);
}

#[test]
fn our_snapshot_restores_into_real_etcd_and_into_ours() {
    let dir = tempfile::tempdir().unwrap();
    let ours = Server::ours(&dir.path().join("ours"));
    seed(&ours);
    let file = dir.path().join("ours.db");
    snapshot_save(&ours, &file);
    let expected = state(&ours);
    // The real etcdctl accepts the file (its hash trailer included).
    let status = ok(etcdctl(
        REAL_ETCDCTL,
        "unused:0",
        &["snapshot", "status", file.to_str().unwrap(), "-w", "json"],
        None,
    ));
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    let revision = ctl(&ours, &["endpoint", "status", "-w", "json"]);
    let rv: serde_json::Value = serde_json::from_str(&revision).unwrap();
    assert_eq!(
        v["revision"], rv[0]["Status"]["header"]["revision"],
        "{status}"
    );
    let original_hash = ctl(&ours, &["endpoint", "hashkv", "-w", "json"]);
    drop(ours);

    let (_, client, args) = restore(Path::new(REAL_ETCDCTL), &file, dir.path(), "real");
    let real = start_restored(Path::new(REAL_ETCD), dir.path(), client, &args);
    assert_eq!(state(&real), expected);
    drop(real);

    let (_, client, args) = restore(&our_bin("etcdctl"), &file, dir.path(), "again");
    let again = start_restored(&our_bin("etcd-server"), dir.path(), client, &args);
    assert_eq!(state(&again), expected);
    let hash = |out: &str| {
        let v: serde_json::Value = serde_json::from_str(out).unwrap();
        v[0]["HashKV"]["hash"].clone()
    };
    assert_eq!(
        hash(&ctl(&again, &["endpoint", "hashkv", "-w", "json"])),
        hash(&original_hash)
    );
}

/// A snapshot taken while a writer puts fresh keys holds every key written up to the
/// snapshot's revision and none after it.
#[test]
fn a_snapshot_under_write_load_is_one_point_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let ours = Server::ours(&dir.path().join("ours"));
    let stop = Arc::new(AtomicBool::new(false));
    let endpoint = ours.endpoint();
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let k = format!("w/{i:06}");
                let o = etcdctl(REAL_ETCDCTL, &endpoint, &["put", &k, "v"], None);
                assert!(o.status.success(), "{}", stderr(&o));
                i += 1;
            }
            i
        })
    };
    std::thread::sleep(std::time::Duration::from_secs(2));
    let file = dir.path().join("load.db");
    snapshot_save(&ours, &file);
    std::thread::sleep(std::time::Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();

    let (_, client, args) = restore(&our_bin("etcdctl"), &file, dir.path(), "restored");
    let restored = start_restored(&our_bin("etcd-server"), dir.path(), client, &args);
    let status = ctl(&restored, &["endpoint", "status", "-w", "json"]);
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    let rev = v[0]["Status"]["header"]["revision"].as_i64().unwrap();
    let at = |s: &Server, rev: Option<i64>| {
        let mut args = vec!["get", "--prefix", "w/", "-w", "json"];
        let r = rev.map(|r| format!("--rev={r}"));
        if let Some(r) = &r {
            args.push(r);
        }
        let v: serde_json::Value = serde_json::from_str(&ctl(s, &args)).unwrap();
        format!("{} {}", v["kvs"], v["count"])
    };
    let expected = at(&ours, Some(rev));
    assert_eq!(at(&restored, None), expected);
    let count: serde_json::Value = serde_json::from_str(&ctl(
        &restored,
        &["get", "--prefix", "w/", "--keys-only", "-w", "json"],
    ))
    .unwrap();
    let count = count["count"].as_i64().unwrap_or(0);
    assert!(
        count > 0 && count < written,
        "{count} of {written} keys in the snapshot"
    );
}

#[test]
fn damaged_snapshots_are_refused_and_leave_no_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let ours = Server::ours(&dir.path().join("ours"));
    seed(&ours);
    let file = dir.path().join("good.db");
    snapshot_save(&ours, &file);
    let bytes = std::fs::read(&file).unwrap();
    let truncated = dir.path().join("truncated.db");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let flipped = dir.path().join("flipped.db");
    let mut b = bytes.clone();
    b[bytes.len() / 3] ^= 0x40;
    std::fs::write(&flipped, &b).unwrap();
    for (file, expect) in [
        (
            &truncated,
            "snapshot missing hash but --skip-hash-check=false",
        ),
        (&flipped, "expected sha256"),
    ] {
        for bin in [our_bin("etcdctl"), PathBuf::from(REAL_ETCDCTL)] {
            let data = dir.path().join("never.etcd");
            let o = std::process::Command::new("timeout")
                .args(["-s", "KILL", "60"])
                .arg(&bin)
                .args(["snapshot", "restore"])
                .arg(file)
                .arg("--data-dir")
                .arg(&data)
                .env("ETCDCTL_API", "3")
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
            assert!(
                stderr(&o).contains(expect),
                "{}: {}",
                bin.display(),
                stderr(&o)
            );
            // Real etcdctl creates the data dir before it checks the file; ours does not.
            if bin == our_bin("etcdctl") {
                assert!(!data.exists(), "left {}", data.display());
            }
            let _ = std::fs::remove_dir_all(&data);
        }
    }
}

/// The value of `--flag` in a member's arguments.
fn flag(args: &[String], name: &str) -> String {
    let at = args.iter().position(|a| a == name).expect(name);
    args[at + 1].clone()
}

/// The seed's disaster recovery: a 3-member cluster loses two members' data; the same
/// snapshot is restored on every member (own --name and peer URL, a new cluster token),
/// the members start with --initial-cluster-state new, and all serve every key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_rebuilt_from_one_snapshot() {
    let mut c = Cluster::start_with(ClusterOptions::new(3)).await;
    let eps = c.endpoints();
    for i in 0..200 {
        let o = etcdctl(
            REAL_ETCDCTL,
            &eps[i % 3],
            &["put", &format!("dr/{i:03}"), "v"],
            None,
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let (rev, _) = c.wait_converged().await;
    let old_cluster = c.members[0]
        .status()
        .await
        .unwrap()
        .header()
        .unwrap()
        .cluster_id();
    let snap = c.dir().join("backup.db");
    ok(etcdctl(
        REAL_ETCDCTL,
        &eps[0],
        &["snapshot", "save", snap.to_str().unwrap()],
        None,
    ));
    let expected = ok(etcdctl(
        REAL_ETCDCTL,
        &eps[0],
        &["get", "--prefix", "dr/", "--keys-only"],
        None,
    ));

    // Disaster: every member stops, two lose their data dirs.
    for i in 0..3 {
        c.kill9(i);
    }
    std::fs::remove_dir_all(&c.members[1].data_dir).unwrap();
    std::fs::remove_dir_all(&c.members[2].data_dir).unwrap();
    // Recovery: the same snapshot on every member, each with its own name and peer URL.
    std::fs::remove_dir_all(&c.members[0].data_dir).unwrap();
    for i in 0..3 {
        let m = &mut c.members[i];
        let args = m.args().to_vec();
        let o = std::process::Command::new("timeout")
            .args(["-s", "KILL", "60"])
            .arg(our_bin("etcdctl"))
            .args(["snapshot", "restore", snap.to_str().unwrap()])
            .args(["--data-dir", &flag(&args, "--data-dir")])
            .args(["--name", &flag(&args, "--name")])
            .args(["--initial-cluster", &flag(&args, "--initial-cluster")])
            .args(["--initial-cluster-token", "recovered"])
            .args([
                "--initial-advertise-peer-urls",
                &flag(&args, "--initial-advertise-peer-urls"),
            ])
            .output()
            .unwrap();
        ok(o);
        let a = m.args_mut();
        let at = a
            .iter()
            .position(|x| x == "--initial-cluster-token")
            .unwrap();
        a[at + 1] = "recovered".into();
    }
    for i in 0..3 {
        c.members[i].spawn();
    }
    for i in 0..3 {
        c.wait_ready(i).await;
    }
    c.leader().await;
    let (new_rev, _) = c.wait_converged().await;
    assert_eq!(new_rev, rev, "the revision survives the restore");
    let new_cluster = c.members[0]
        .status()
        .await
        .unwrap()
        .header()
        .unwrap()
        .cluster_id();
    assert_ne!(
        new_cluster, old_cluster,
        "a restored cluster is a new cluster"
    );
    for ep in &eps {
        let got = ok(etcdctl(
            REAL_ETCDCTL,
            ep,
            &["get", "--prefix", "dr/", "--keys-only", "--consistency=s"],
            None,
        ));
        assert_eq!(got, expected, "{ep}");
    }
    let o = etcdctl(REAL_ETCDCTL, &eps[2], &["put", "dr/new", "x"], None);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A data dir restored by the real etcdctl is etcd's layout (bbolt + etcd WAL): our
/// server refuses it at once, naming the way out, and writes nothing into it.
#[test]
fn our_server_refuses_a_data_dir_restored_by_real_etcdctl() {
    let dir = tempfile::tempdir().unwrap();
    let ours = Server::ours(&dir.path().join("ours"));
    ctl(&ours, &["put", "k", "v"]);
    let file = dir.path().join("s.db");
    snapshot_save(&ours, &file);
    drop(ours);
    let (data, _, args) = restore(Path::new(REAL_ETCDCTL), &file, dir.path(), "etcdlayout");
    let o = std::process::Command::new("timeout")
        .args(["-s", "KILL", "30"])
        .arg(our_bin("etcd-server"))
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("holds an etcd backend"),
        "{}",
        stderr(&o)
    );
    assert!(!data.join("member").join("kv").exists());
}
