//! etcd's configuration surface on our binary: `ETCD_*` env vars, `--wal-dir`, the default
//! data dir `<name>.etcd`, Go-style single-dash flags, and unknown flags refused.

use integration_tests::{etcdctl, free_port, our_bin, stdout, Server, REAL_ETCDCTL};

#[test]
fn configured_by_env_vars_with_separate_wal_dir() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let peer = format!("http://127.0.0.1:{}", free_port());
    let client = format!("http://127.0.0.1:{port}");
    let wal = dir.path().join("wal-elsewhere");
    let data = dir.path().join("data");
    let s = Server::start_configured(
        &our_bin("etcd-server"),
        dir.path(),
        port,
        &[],
        &[
            ("ETCD_NAME", "from-env"),
            ("ETCD_DATA_DIR", data.to_str().unwrap()),
            ("ETCD_WAL_DIR", wal.to_str().unwrap()),
            ("ETCD_LISTEN_CLIENT_URLS", &client),
            ("ETCD_ADVERTISE_CLIENT_URLS", &client),
            ("ETCD_LISTEN_PEER_URLS", &peer),
            ("ETCD_INITIAL_ADVERTISE_PEER_URLS", &peer),
        ],
    );
    let out = stdout(&etcdctl(
        REAL_ETCDCTL,
        &s.endpoint(),
        &["member", "list"],
        None,
    ));
    assert!(out.contains(", started, from-env, "), "{out}");
    assert!(
        etcdctl(REAL_ETCDCTL, &s.endpoint(), &["put", "k", "v"], None)
            .status
            .success()
    );
    let segments = std::fs::read_dir(&wal).unwrap().count();
    assert!(segments > 0, "the WAL must live in --wal-dir");
    assert!(
        !data.join("member/wal").exists(),
        "no WAL in the data dir when --wal-dir is set"
    );
    assert!(data.join("member/kv").exists());
}

#[test]
fn default_data_dir_is_name_dot_etcd_and_single_dash_flags_work() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let client = format!("http://127.0.0.1:{port}");
    let peer = format!("http://127.0.0.1:{}", free_port());
    let s = Server::start_configured(
        &our_bin("etcd-server"),
        dir.path(),
        port,
        &[
            "-name",
            "infra1",
            "-listen-client-urls",
            &client,
            "-advertise-client-urls",
            &client,
            "--listen-peer-urls",
            &peer,
            "--initial-advertise-peer-urls",
            &peer,
        ],
        &[],
    );
    assert!(
        etcdctl(REAL_ETCDCTL, &s.endpoint(), &["put", "k", "v"], None)
            .status
            .success()
    );
    assert!(dir.path().join("infra1.etcd/member/wal").is_dir());
}

#[test]
fn unknown_flag_and_bad_values_are_refused() {
    for args in [
        vec!["--no-such-flag", "1"],
        vec!["--snapshot-count", "lots"],
        vec!["--initial-cluster-state", "maybe"],
        vec!["--listen-client-urls", "ftp://127.0.0.1:1"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("timeout")
            .args(["-s", "KILL", "20"])
            .arg(our_bin("etcd-server"))
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} must be refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.is_empty(), "{args:?} must explain itself");
    }
}
