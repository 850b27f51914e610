//! `--config-file` / `ETCD_CONFIG_FILE`: etcd's YAML configuration file on our server and
//! on real etcd: the file's ports, name and data dir are used, flags and env vars given
//! alongside are ignored, unknown keys are tolerated (as etcd does), and a bad file fails
//! the start with an error naming the problem.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use integration_tests::{
    etcdctl, free_port, our_bin, stderr, stdout, Server, REAL_ETCD, REAL_ETCDCTL,
};

/// Free ports and a data dir in `dir`, as a configuration file's keys.
fn base_config(dir: &Path, client_port: u16, name: &str) -> String {
    let client = format!("http://127.0.0.1:{client_port}");
    let peer = format!("http://127.0.0.1:{}", free_port());
    format!(
        "name: {name}\n\
         data-dir: {data}\n\
         listen-client-urls: {client}\n\
         advertise-client-urls: {client}\n\
         listen-peer-urls: {peer}\n\
         initial-advertise-peer-urls: {peer}\n\
         heartbeat-interval: 50\n\
         election-timeout: 500\n",
        data = dir.join("file-data").display(),
    )
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("etcd.conf.yml");
    std::fs::write(&path, text).unwrap();
    path
}

fn binaries() -> [PathBuf; 2] {
    [our_bin("etcd-server"), PathBuf::from(REAL_ETCD)]
}

fn is_ours(bin: &Path) -> bool {
    bin != Path::new(REAL_ETCD)
}

/// Flags and env vars that would move the member elsewhere if they were read.
fn decoys(dir: &Path) -> (Vec<String>, Vec<(String, String)>, u16) {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let peer = format!("http://127.0.0.1:{}", free_port());
    let args = [
        "--name",
        "from-flag",
        "--listen-client-urls",
        &url,
        "--advertise-client-urls",
        &url,
        "--listen-peer-urls",
        &peer,
        "--initial-advertise-peer-urls",
        &peer,
        "--initial-cluster",
        &format!("from-flag={peer}"),
    ]
    .map(String::from)
    .to_vec();
    let envs = vec![
        ("ETCD_NAME".to_string(), "from-env".to_string()),
        (
            "ETCD_DATA_DIR".to_string(),
            dir.join("env-data").display().to_string(),
        ),
        (
            "ETCD_SNAPSHOT_COUNT".to_string(),
            "not-a-number".to_string(),
        ),
    ];
    (args, envs, port)
}

/// Starts `bin` with `args` and `envs` in `dir`, waiting until it serves on `port`.
fn start(bin: &Path, dir: &Path, port: u16, args: &[String], envs: &[(String, String)]) -> Server {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Server::start_configured(bin, dir, port, &args, &envs)
}

/// The member serves on the file's port under the file's name, with the file's data dir.
fn assert_configured_by_file(s: &Server, dir: &Path, decoy_port: u16) {
    let out = stdout(&etcdctl(
        REAL_ETCDCTL,
        &s.endpoint(),
        &["member", "list"],
        None,
    ));
    assert!(out.contains(", started, from-file, "), "{out}");
    assert!(out.contains(&s.url()), "{out}");
    assert!(dir.join("file-data/member").is_dir());
    assert!(!dir.join("env-data").exists());
    assert!(
        TcpStream::connect(("127.0.0.1", decoy_port)).is_err(),
        "the client URL given by flag must be ignored"
    );
}

#[test]
fn the_file_configures_the_member_and_flags_and_env_vars_are_ignored() {
    for bin in binaries() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let text = base_config(dir.path(), port, "from-file") + "max-wals: 5\nno-such-key: 1\n";
        let path = write_config(dir.path(), &text);
        let (mut args, envs, decoy_port) = decoys(dir.path());
        args.splice(
            0..0,
            ["--config-file".to_string(), path.display().to_string()],
        );
        let s = start(&bin, dir.path(), port, &args, &envs);
        assert_configured_by_file(&s, dir.path(), decoy_port);
        if is_ours(&bin) {
            let log = s.log_text();
            for expected in [
                "loaded server configuration",
                "ignoring --name --listen-client-urls",
                "ETCD_DATA_DIR ETCD_SNAPSHOT_COUNT",
                "\"no-such-key\" is unknown to etcd and ignored",
                "config file key \"max-wals\" is accepted for compatibility but has no effect",
            ] {
                assert!(log.contains(expected), "{expected:?} not in:\n{log}");
            }
        }
    }
}

#[test]
fn etcd_config_file_env_var_names_the_file() {
    for bin in binaries() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let path = write_config(dir.path(), &base_config(dir.path(), port, "from-file"));
        let (args, mut envs, decoy_port) = decoys(dir.path());
        envs.push(("ETCD_CONFIG_FILE".to_string(), path.display().to_string()));
        let s = start(&bin, dir.path(), port, &args, &envs);
        assert_configured_by_file(&s, dir.path(), decoy_port);
    }
}

#[test]
fn a_bad_file_fails_the_start_with_a_clear_error() {
    let cases: &[(&str, &str)] = &[
        ("snapshot-count: lots\n", "snapshot-count"),
        ("bcrypt-cost: \"5\"\n", "bcrypt-cost"),
        ("initial-cluster-token: 123\n", "initial-cluster-token"),
        ("initial-cluster-state: maybe\n", "maybe"),
        ("strict-reconfig-check: perhaps\n", "strict-reconfig-check"),
        ("log-outputs: [\n", "YAML"),
    ];
    for bin in binaries() {
        for (bad, needle) in cases {
            let dir = tempfile::tempdir().unwrap();
            let text = base_config(dir.path(), free_port(), "bad") + bad;
            let path = write_config(dir.path(), &text);
            let out = run_to_exit(&bin, dir.path(), &path);
            assert!(!out.status.success(), "{} accepted {bad:?}", bin.display());
            if is_ours(&bin) {
                let err = stderr(&out);
                assert!(err.contains(needle), "{bad:?}: {needle:?} not in {err}");
                assert!(err.contains(&path.display().to_string()), "{err}");
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.yml");
        let out = run_to_exit(&bin, dir.path(), &missing);
        assert!(!out.status.success());
        if is_ours(&bin) {
            let err = stderr(&out);
            assert!(err.contains("cannot read config file"), "{err}");
            assert!(err.contains(&missing.display().to_string()), "{err}");
        }
    }
}

/// Runs `bin --config-file path` (with flags for free ports, in case the file were not
/// read) to its exit, at most 20 s.
fn run_to_exit(bin: &Path, dir: &Path, path: &Path) -> std::process::Output {
    let (args, _, _) = decoys(dir);
    Command::new("timeout")
        .args(["-s", "KILL", "20"])
        .arg(bin)
        .arg("--config-file")
        .arg(path)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}
