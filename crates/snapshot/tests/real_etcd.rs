//! Real etcd 3.4.23 snapshots: a populated server (20k keys in multi-level trees, values
//! larger than a page, overwrites, deletes, a compaction, a lease with keys, users and
//! roles with auth enabled) is saved with the real `etcdctl snapshot save`. Our reader must
//! give exactly what `etcdctl get --prefix ""` serves, our status must equal the real
//! `etcdctl snapshot status`, and our rewrite of the snapshot must pass real status (same
//! hash/revision/keys) and real `etcdctl snapshot restore` + a real etcd serving the same
//! data.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use common::{corruption_sweep, real_restore_error, real_status};
use etcd_client::{Client, CompactionOptions, DeleteOptions, PutOptions, Txn, TxnOp};
use etcd_proto::{leasepb, mvccpb};
use integration_tests::{etcdctl, free_port, stdout, Server, REAL_ETCD, REAL_ETCDCTL};
use prost::Message;
use snapshot::etcd::{is_tombstone, Revision};
use snapshot::{Error, Reader};

const ROOT: &str = "--user=root:rootpw";
const LEASE_TTL: i64 = 3000;

/// What the population step did, to check against the snapshot.
struct Populated {
    lease_id: i64,
    compact_rev: i64,
}

async fn populate(url: &str) -> Populated {
    let mut c = Client::connect([url], None).await.expect("connect");
    for batch in 0..200 {
        let ops: Vec<TxnOp> = (0..100)
            .map(|i| {
                let n = batch * 100 + i;
                TxnOp::put(format!("k/{n:05}"), format!("value-{n}"), None)
            })
            .collect();
        c.txn(Txn::new().and_then(ops)).await.expect("txn");
    }
    c.put("big/1", vec![b'x'; 10_000], None).await.unwrap();
    c.put("big/2", vec![b'y'; 200_000], None).await.unwrap();
    for n in 0..100 {
        c.put(format!("k/{n:05}"), format!("again-{n}"), None)
            .await
            .unwrap();
    }
    let compact_rev = c
        .put("marker", "m", None)
        .await
        .unwrap()
        .header()
        .unwrap()
        .revision();
    c.compact(compact_rev, Some(CompactionOptions::new().with_physical()))
        .await
        .expect("compact");
    let lease_id = c.lease_grant(LEASE_TTL, None).await.unwrap().id();
    for k in ["leased/a", "leased/b"] {
        c.put(k, "l", Some(PutOptions::new().with_lease(lease_id)))
            .await
            .unwrap();
    }
    c.delete("k/00200", Some(DeleteOptions::new().with_range("k/00300")))
        .await
        .unwrap();
    c.put("k/00250", "back", None).await.unwrap();
    c.put("big/1", vec![b'z'; 5_000], None).await.unwrap();
    Populated {
        lease_id,
        compact_rev,
    }
}

fn ctl(endpoint: &str, args: &[&str]) -> String {
    let out = etcdctl(REAL_ETCDCTL, endpoint, args, None);
    assert!(
        out.status.success(),
        "etcdctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

fn enable_auth(ep: &str) {
    for args in [
        &["user", "add", "root:rootpw"][..],
        &["role", "add", "r1"],
        &["role", "grant-permission", "r1", "readwrite", "/foo"],
        &["user", "add", "alice:alicepw"],
        &["user", "grant-role", "alice", "r1"],
        &["auth", "enable"],
    ] {
        ctl(ep, args);
    }
}

/// `etcdctl get --prefix "" -w json` as JSON.
fn get_all(ep: &str) -> serde_json::Value {
    serde_json::from_str(&ctl(ep, &[ROOT, "get", "--prefix", "", "-w", "json"])).unwrap()
}

/// Latest live version of every key, from the `key` bucket.
fn live_keys(r: &Reader) -> BTreeMap<Vec<u8>, mvccpb::KeyValue> {
    let mut live = BTreeMap::new();
    for kv in r.bucket(b"key").unwrap().expect("key bucket") {
        let (k, v) = kv.unwrap();
        let rev = Revision::from_key(&k).unwrap();
        let kv = mvccpb::KeyValue::decode(&v[..]).expect("KeyValue");
        if is_tombstone(&k) {
            live.remove(&kv.key);
        } else {
            assert_eq!(kv.mod_revision, rev.main, "revision key and mod_revision");
            live.insert(kv.key.clone(), kv);
        }
    }
    live
}

/// Checks the snapshot's live keys against `get` JSON output.
fn assert_same_keys(live: &BTreeMap<Vec<u8>, mvccpb::KeyValue>, get: &serde_json::Value) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let kvs = get["kvs"].as_array().expect("kvs");
    assert_eq!(kvs.len(), live.len());
    for (j, kv) in kvs.iter().zip(live.values()) {
        let n = |f: &str| j[f].as_i64().unwrap_or(0);
        assert_eq!(b64.decode(j["key"].as_str().unwrap()).unwrap(), kv.key);
        let value = j["value"].as_str().map(|v| b64.decode(v).unwrap());
        assert_eq!(value.unwrap_or_default(), kv.value);
        assert_eq!(n("create_revision"), kv.create_revision);
        assert_eq!(n("mod_revision"), kv.mod_revision);
        assert_eq!(n("version"), kv.version);
        assert_eq!(n("lease"), kv.lease);
    }
}

fn bucket_keys(r: &Reader, name: &[u8]) -> Vec<Vec<u8>> {
    r.bucket(name)
        .unwrap()
        .unwrap_or_else(|| panic!("bucket {name:?}"))
        .map(|kv| kv.unwrap().0)
        .collect()
}

fn bucket_get(r: &Reader, name: &[u8], key: &[u8]) -> Vec<u8> {
    r.bucket(name)
        .unwrap()
        .unwrap()
        .map(|kv| kv.unwrap())
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("{key:?} in {name:?}"))
        .1
}

/// Restores `snap` with the real etcdctl, starts real etcd on it, returns its get JSON.
fn restore_and_get(snap: &Path, dir: &Path) -> serde_json::Value {
    let data = dir.join("restored");
    let peer_port = free_port();
    let peer = format!("http://127.0.0.1:{peer_port}");
    let out = Command::new("timeout")
        .args(["-s", "KILL", "60", REAL_ETCDCTL, "snapshot", "restore"])
        .arg(snap)
        .arg(format!("--data-dir={}", data.display()))
        .args([
            "--name=default".to_string(),
            format!("--initial-cluster=default={peer}"),
            format!("--initial-advertise-peer-urls={peer}"),
        ])
        .env("ETCDCTL_API", "3")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut server = Server {
        child: None,
        bin: PathBuf::from(REAL_ETCD),
        data_dir: data.clone(),
        client_port: free_port(),
        peer_port,
        name: "default".into(),
        extra_args: Vec::new(),
        args_override: None,
        envs: Vec::new(),
        cwd: None,
        log: dir.join("restored.log"),
    };
    server.spawn();
    get_all(&server.endpoint())
}

#[test]
fn real_snapshot_read_status_rewrite_restore() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("real.db");
    let (populated, original) = {
        let server = Server::real(&dir.path().join("data"));
        let ep = server.endpoint();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let populated = rt.block_on(populate(&server.url()));
        enable_auth(&ep);
        ctl(&ep, &[ROOT, "snapshot", "save", snap.to_str().unwrap()]);
        (populated, get_all(&ep))
    };

    // Read: every live key as etcd serves it; leases, auth, meta as etcd stored them.
    let r = Reader::open(&snap, true).expect("open real snapshot");
    r.check().expect("real snapshot passes the integrity check");
    let live = live_keys(&r);
    assert!(live.len() > 19_000);
    assert_same_keys(&live, &original);
    assert_eq!(live[&b"big/2"[..]].value.len(), 200_000);

    let leases = r
        .bucket(b"lease")
        .unwrap()
        .unwrap()
        .collect::<Result<Vec<_>, _>>();
    let leases = leases.unwrap();
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].0, (populated.lease_id as u64).to_be_bytes());
    let lease = leasepb::Lease::decode(&leases[0].1[..]).unwrap();
    assert_eq!((lease.id, lease.ttl), (populated.lease_id, LEASE_TTL));

    assert_eq!(
        bucket_keys(&r, b"authUsers"),
        [b"alice".to_vec(), b"root".to_vec()]
    );
    assert_eq!(
        bucket_keys(&r, b"authRoles"),
        [b"r1".to_vec(), b"root".to_vec()]
    );
    assert_eq!(bucket_get(&r, b"auth", b"authEnabled"), [1]);
    let finished = bucket_get(&r, b"meta", b"finishedCompactRev");
    let compacted = Revision {
        main: populated.compact_rev,
        sub: 0,
    };
    assert_eq!(finished, compacted.to_bytes());
    assert_eq!(bucket_get(&r, b"meta", b"consistent_index").len(), 8);
    assert_eq!(bucket_keys(&r, b"members").len(), 1);

    // Status equals the real etcdctl's.
    let real = real_status(&snap);
    assert_eq!(snapshot::status(&snap).unwrap(), real);
    assert_eq!(
        real.revision,
        original["header"]["revision"].as_i64().unwrap()
    );

    // Rewrite with our writer: real status agrees on content, real restore serves it.
    let ours = dir.path().join("ours.db");
    let all = r.read_all().unwrap();
    snapshot::write(&ours, all.clone()).unwrap();
    assert_eq!(Reader::open(&ours, true).unwrap().read_all().unwrap(), all);
    let ours_real = real_status(&ours);
    assert_eq!(
        (ours_real.hash, ours_real.revision, ours_real.total_key),
        (real.hash, real.revision, real.total_key)
    );
    assert_eq!(snapshot::status(&ours).unwrap(), ours_real);
    let restored = restore_and_get(&ours, dir.path());
    assert_eq!(restored["kvs"], original["kvs"]);
    assert_eq!(restored["count"], original["count"]);

    // A flipped byte fails verification; damaged copies are refused, never a panic.
    let bytes = std::fs::read(&snap).unwrap();
    let mut flipped = bytes.clone();
    flipped[5 * 4096 + 100] ^= 1;
    let bad = dir.path().join("flipped.db");
    std::fs::write(&bad, &flipped).unwrap();
    let e = Reader::open(&bad, true).err().unwrap();
    assert!(matches!(e, Error::HashMismatch { .. }));
    assert_eq!(e.to_string(), real_restore_error(&bad));
    let db_len = bytes.len() - 32;
    assert!(corruption_sweep(&bytes, db_len, 49_999) > 0);
}
