//! Auto-compaction (`--auto-compaction-mode`, `--auto-compaction-retention`) observed from
//! outside, on our server and on the real etcd alike: with a periodic retention of 2 s
//! old revisions become "compacted" within seconds without anyone asking, the latest value
//! stays readable, and the log says so; revision mode is accepted; bad values are refused
//! with etcd's messages.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use integration_tests::{
    etcdctl, free_port, our_bin, stderr, stdout, Server, REAL_ETCD, REAL_ETCDCTL,
};

const COMPACTED: &str = "required revision has been compacted";

fn ctl(s: &Server, args: &[&str]) -> std::process::Output {
    etcdctl(REAL_ETCDCTL, &s.endpoint(), args, None)
}

/// The revision that created `key`.
fn create_revision(s: &Server, key: &str) -> i64 {
    let out = ctl(s, &["get", key, "-w", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    json["kvs"][0]["create_revision"]
        .as_i64()
        .unwrap_or_else(|| panic!("no create_revision in {json}"))
}

fn periodic_compaction_happens_by_itself(bin: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        bin,
        &dir.path().join("d"),
        &[
            "--auto-compaction-mode=periodic",
            "--auto-compaction-retention=2s",
        ],
    );
    for v in ["v1", "v2", "v3"] {
        let out = ctl(&s, &["put", "k", v]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let first = create_revision(&s, "k").to_string();
    let readable = ctl(&s, &["get", "k", "--rev", &first]);
    assert!(readable.status.success(), "{}", stderr(&readable));

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = ctl(&s, &["get", "k", "--rev", &first]);
        if !out.status.success() {
            assert!(stderr(&out).contains(COMPACTED), "{}", stderr(&out));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{}: revision {first} still readable after 30 s; log:\n{}",
            bin.display(),
            s.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(stdout(&ctl(&s, &["get", "k"])), "k\nv3\n");
    let log = s.log_text();
    assert!(
        log.contains("Starting auto-compaction at revision")
            && log.contains("Finished auto-compaction at revision"),
        "{log}"
    );
}

#[test]
fn ours_compacts_periodically_by_itself() {
    periodic_compaction_happens_by_itself(&our_bin("etcd-server"));
}

#[test]
fn real_etcd_compacts_periodically_by_itself() {
    periodic_compaction_happens_by_itself(Path::new(REAL_ETCD));
}

#[test]
fn revision_mode_is_accepted() {
    for bin in [our_bin("etcd-server"), REAL_ETCD.into()] {
        let dir = tempfile::tempdir().unwrap();
        let s = Server::start(
            &bin,
            &dir.path().join("d"),
            &[
                "--auto-compaction-mode=revision",
                "--auto-compaction-retention=10",
            ],
        );
        let out = ctl(&s, &["put", "k", "v"]);
        assert!(out.status.success(), "{}: {}", bin.display(), stderr(&out));
    }
}

/// Runs `bin` with `args` (on free ports, bounded) expecting it to exit with an error;
/// returns its output.
fn refused(bin: &Path, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let client = format!("http://127.0.0.1:{}", free_port());
    let peer = format!("http://127.0.0.1:{}", free_port());
    let out = Command::new("timeout")
        .args(["-s", "KILL", "20"])
        .arg(bin)
        .arg("--data-dir")
        .arg(dir.path().join("d"))
        .args(["--listen-client-urls", &client, "--advertise-client-urls"])
        .args([&client, "--listen-peer-urls", &peer])
        .args(["--initial-advertise-peer-urls", &peer, "--initial-cluster"])
        .arg(format!("default={peer}"))
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{} accepted {args:?}", bin.display());
    format!("{}{}", stdout(&out), stderr(&out))
}

#[test]
fn bad_values_are_refused_as_etcd_does() {
    for bin in [our_bin("etcd-server"), REAL_ETCD.into()] {
        let out = refused(&bin, &["--auto-compaction-mode=bogus"]);
        assert!(
            out.contains("unknown auto-compaction-mode \"bogus\""),
            "{}: {out}",
            bin.display()
        );
        let out = refused(&bin, &["--auto-compaction-retention=abc"]);
        assert!(
            out.contains("error parsing CompactionRetention: time: invalid duration \"abc\""),
            "{}: {out}",
            bin.display()
        );
    }
}
