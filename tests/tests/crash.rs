//! Crash safety: kill -9 under a concurrent put load, restart, and every acknowledged put is
//! there with its revision; revisions continue without gaps. Also: a WAL corrupted in the
//! middle refuses to start with an error naming the file and offset.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use etcd_client::{Client, GetOptions};
use integration_tests::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_put_load_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::ours(&dir.path().join("d"));
    let url = s.url();
    let acked: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut workers = Vec::new();
    for w in 0..16 {
        let acked = acked.clone();
        let url = url.clone();
        workers.push(tokio::spawn(async move {
            let Ok(mut c) = Client::connect([url], None).await else {
                return;
            };
            for i in 0.. {
                if Instant::now() > deadline {
                    break;
                }
                let key = format!("load/{w:02}/{i:06}");
                match tokio::time::timeout(
                    Duration::from_secs(2),
                    c.put(key.clone(), key.clone(), None),
                )
                .await
                {
                    Ok(Ok(r)) => acked
                        .lock()
                        .unwrap()
                        .push((key, r.header().unwrap().revision())),
                    _ => break, // the server is gone
                }
            }
        }));
    }
    // Let the load run, then crash the server in the middle of it.
    while acked.lock().unwrap().len() < 500 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.kill9();
    for w in workers {
        let _ = tokio::time::timeout(Duration::from_secs(10), w).await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 500,
        "load too small to mean anything: {}",
        acked.len()
    );

    s.spawn();
    let mut c = Client::connect([s.url()], None).await.unwrap();
    let all = c
        .get("load/", Some(GetOptions::new().with_prefix()))
        .await
        .unwrap();
    let found: std::collections::HashMap<String, i64> = all
        .kvs()
        .iter()
        .map(|kv| (kv.key_str().unwrap().to_string(), kv.mod_revision()))
        .collect();
    for (key, rev) in &acked {
        assert_eq!(
            found.get(key),
            Some(rev),
            "acknowledged put {key} at revision {rev} lost or changed"
        );
    }
    // Every put made exactly one revision: the surviving revisions are 2..=head, no gaps.
    let head = all.header().unwrap().revision();
    let mut revs: Vec<i64> = found.values().copied().collect();
    revs.sort_unstable();
    assert_eq!(revs, (2..=head).collect::<Vec<_>>());
    let r = c.put("after-crash", "v", None).await.unwrap();
    assert_eq!(r.header().unwrap().revision(), head + 1);
}

#[test]
fn corrupted_wal_refuses_to_start_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let mut s = Server::ours(&data);
    for i in 0..20 {
        let o = integration_tests::etcdctl(
            integration_tests::REAL_ETCDCTL,
            &s.endpoint(),
            &["put", &format!("k{i}"), "some value to corrupt"],
            None,
        );
        assert!(o.status.success());
    }
    s.kill9();
    let wal_dir = data.join("member/wal");
    let seg = last_wal_segment(&wal_dir);
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(&seg, &bytes).unwrap();

    let out = std::process::Command::new("timeout")
        .args(["-s", "KILL", "30"])
        .arg(integration_tests::our_bin("etcd-server"))
        .args(s.args())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "must refuse to start on a corrupted WAL"
    );
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    let name = seg.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        text.contains(&name) && text.contains("offset"),
        "error must name file and offset:\n{text}"
    );
}

/// A crash in the middle of a WAL write leaves a partial record at the end of the last
/// segment: the member truncates it (logging file and offset), keeps everything before it,
/// and serves writes again.
#[test]
fn torn_wal_tail_is_truncated_and_member_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let mut s = Server::ours(&data);
    let put = |s: &Server, k: &str| {
        let o = integration_tests::etcdctl(
            integration_tests::REAL_ETCDCTL,
            &s.endpoint(),
            &["put", k, "v"],
            None,
        );
        assert!(o.status.success(), "{}", integration_tests::stderr(&o));
    };
    for i in 0..10 {
        put(&s, &format!("k{i}"));
    }
    s.kill9();
    let seg = last_wal_segment(&data.join("member/wal"));
    // A record header promising 200 bytes, followed by only 10 of them.
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    use std::io::Write;
    f.write_all(&200u32.to_le_bytes()).unwrap();
    f.write_all(&[0xab; 14]).unwrap();
    drop(f);

    s.spawn();
    assert!(
        s.log_text().contains("truncating torn tail"),
        "{}",
        s.log_text()
    );
    let o = integration_tests::etcdctl(
        integration_tests::REAL_ETCDCTL,
        &s.endpoint(),
        &["get", "k", "--prefix", "--keys-only"],
        None,
    );
    let keys: Vec<String> = integration_tests::stdout(&o)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(keys.len(), 10, "{keys:?}");
    put(&s, "after");
}

/// The newest WAL segment file in `wal_dir` (segment names sort by sequence number).
fn last_wal_segment(wal_dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(wal_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .max()
        .expect("a wal segment")
}
