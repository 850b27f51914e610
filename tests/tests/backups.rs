//! Scheduled backups (`--backup-dir --backup-interval --backup-keep`, ours): verified
//! snapshots with timestamped names, the newest N kept, last success in the metrics and in
//! `endpoint status`, restorable; and kill -9 at any moment never leaves a file that looks
//! complete but is not.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use integration_tests::{etcdctl, our_bin, stderr, stdout, Server, REAL_ETCDCTL};

fn finished(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| {
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        n.starts_with("etcd-backup-") && n.ends_with(".db")
    });
    v.sort();
    v
}

fn parts(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.to_string_lossy().ends_with(".db.part"));
    v
}

/// Our `etcdctl snapshot verify` (hash and bbolt integrity check).
fn verify(file: &Path) -> std::process::Output {
    Command::new("timeout")
        .args(["-s", "KILL", "60"])
        .arg(our_bin("etcdctl"))
        .args(["snapshot", "verify"])
        .arg(file)
        .output()
        .expect("run etcdctl")
}

fn metric(endpoint: &str, name: &str) -> Option<f64> {
    let out = Command::new("curl")
        .args(["-s", "-m", "10"])
        .arg(format!("http://{endpoint}/metrics"))
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} "))?.trim().parse().ok())
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn scheduled_backups_rotate_verify_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let b = backups.to_str().unwrap();
    let flags = [
        "--backup-dir",
        b,
        "--backup-interval",
        "500ms",
        "--backup-keep",
        "3",
    ];
    let s = Server::start(&our_bin("etcd-server"), &dir.path().join("m"), &flags);
    let ep = s.endpoint();
    // Writes go on while backups are taken; count the distinct backups seen.
    let mut seen = std::collections::BTreeSet::new();
    let mut i = 0;
    wait_until("six backups", Duration::from_secs(60), || {
        let o = etcdctl(REAL_ETCDCTL, &ep, &["put", &format!("k{i:04}"), "v"], None);
        assert!(o.status.success(), "{}", stderr(&o));
        i += 1;
        let now = finished(&backups);
        assert!(now.len() <= 3, "more than --backup-keep files: {now:?}");
        seen.extend(now);
        seen.len() >= 6
    });
    let kept = finished(&backups);
    assert_eq!(kept.len(), 3);
    // The kept ones are the newest ones.
    let newest: Vec<PathBuf> = seen.iter().rev().take(3).rev().cloned().collect();
    assert!(
        kept.iter().all(|k| newest.contains(k) || !seen.contains(k)),
        "{kept:?} vs {newest:?}"
    );
    for f in &kept {
        let o = verify(f);
        assert!(o.status.success(), "{}: {}", f.display(), stderr(&o));
        let st = etcdctl(
            REAL_ETCDCTL,
            &ep,
            &["snapshot", "status", f.to_str().unwrap()],
            None,
        );
        assert!(st.status.success(), "{}", stderr(&st));
    }
    // Last success: in the metrics and in our etcdctl's `endpoint status -w json`.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let last = metric(&ep, "etcd_backup_last_success_timestamp_seconds").expect("metric");
    assert!(
        now - last < 30.0 && last <= now + 1.0,
        "last backup at {last}, now {now}"
    );
    let status = etcdctl(
        our_bin("etcdctl"),
        &ep,
        &["endpoint", "status", "-w", "json"],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    let shown = v[0]["Status"]["backupLastSuccess"]
        .as_f64()
        .expect("backupLastSuccess");
    assert!((shown - last).abs() <= 2.0, "{shown} vs {last}");
    assert_eq!(metric(&ep, "etcd_backup_failures_total"), Some(0.0));

    // The newest backup restores into a member serving the keys written before it.
    let newest = kept.last().unwrap();
    let data = dir.path().join("restored.etcd");
    let o = Command::new("timeout")
        .args(["-s", "KILL", "60"])
        .arg(our_bin("etcdctl"))
        .args(["snapshot", "restore"])
        .arg(newest)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    drop(s);
    let restored = Server::start(&our_bin("etcd-server"), &data, &[]);
    let got = etcdctl(REAL_ETCDCTL, &restored.endpoint(), &["get", "k0000"], None);
    assert_eq!(stdout(&got), "k0000\nv\n");
}

#[test]
fn kill9_mid_backup_never_leaves_a_complete_looking_file() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let b = backups.to_str().unwrap();
    let flags = [
        "--backup-dir",
        b,
        "--backup-interval",
        "300ms",
        "--backup-keep",
        "50",
    ];
    let mut s = Server::start(&our_bin("etcd-server"), &dir.path().join("m"), &flags);
    // Enough data that a backup takes a while.
    let value = "x".repeat(100_000);
    for i in 0..150 {
        let o = etcdctl(
            REAL_ETCDCTL,
            &s.endpoint(),
            &["put", &format!("big{i}"), &value],
            None,
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let mut killed_parts = Vec::new();
    for round in 0..6u64 {
        std::thread::sleep(Duration::from_millis(300 + round * 170));
        s.kill9();
        killed_parts.extend(parts(&backups));
        for f in finished(&backups) {
            let o = verify(&f);
            assert!(
                o.status.success(),
                "round {round}: {} does not verify: {}",
                f.display(),
                stderr(&o)
            );
        }
        s.spawn();
    }
    assert!(
        !finished(&backups).is_empty(),
        "no backup was ever finished"
    );
    eprintln!("{} kills caught a backup in progress", killed_parts.len());
    // Unfinished files from before a kill are cleaned up by the restarted member.
    wait_until(
        "leftover .part files removed",
        Duration::from_secs(20),
        || killed_parts.iter().all(|p| !p.exists()),
    );
}
