//! Test harness: a real etcd server on free 127.0.0.1 ports in a temp dir (killed on drop),
//! optionally with auth enabled through etcdctl, and bounded runs of the `benchmark`
//! binary and of etcdctl.

// Each test file uses its own part of this module.
#![allow(dead_code)]

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use etcd_proto::etcdserverpb::{
    auth_client::AuthClient, kv_client::KvClient, AuthenticateRequest, RangeRequest,
};
use tempfile::TempDir;
use tonic::metadata::AsciiMetadataValue;

/// How long etcd may take to become ready, and a benchmark run may take.
const START_TIMEOUT: Duration = Duration::from_secs(30);
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

pub use test_ports::free_port;

/// A running single-member etcd, killed when dropped.
pub struct Etcd {
    child: Child,
    /// `http://127.0.0.1:PORT` of its client listener.
    pub client_url: String,
    dir: TempDir,
}

impl Etcd {
    /// Starts `$ETCD_TEST_SERVER_BIN` (default `/usr/bin/etcd`) and waits until it serves.
    pub fn start() -> Etcd {
        Etcd::start_with(&[])
    }

    /// [`Etcd::start`] with extra server flags.
    pub fn start_with(extra_args: &[&str]) -> Etcd {
        let bin = std::env::var("ETCD_TEST_SERVER_BIN").unwrap_or_else(|_| "/usr/bin/etcd".into());
        assert!(
            PathBuf::from(&bin).exists(),
            "etcd server binary {bin} not found (set ETCD_TEST_SERVER_BIN)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let client_url = format!("http://127.0.0.1:{}", free_port());
        let peer_url = format!("http://127.0.0.1:{}", free_port());
        let log = File::create(dir.path().join("server.log")).expect("log file");
        let child = Command::new(&bin)
            .args(["--name", "bench-test"])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("bench-test={peer_url}")])
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let etcd = Etcd {
            child,
            client_url,
            dir,
        };
        etcd.wait_ready();
        etcd
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if self.count_keys().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "etcd did not become ready in {START_TIMEOUT:?}; log:\n{}",
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
    }

    /// Number of keys in the whole key space (a linearizable count-only range).
    pub fn count_keys(&self) -> Result<i64, String> {
        self.count_keys_as(None)
    }

    /// [`Etcd::count_keys`], logged in as `(user, password)` if given.
    pub fn count_keys_as(&self, login: Option<(&str, &str)>) -> Result<i64, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let request = async {
                let channel = tonic::transport::Endpoint::from_shared(self.client_url.clone())
                    .map_err(|e| e.to_string())?
                    .connect()
                    .await
                    .map_err(|e| e.to_string())?;
                let mut request = tonic::Request::new(RangeRequest {
                    key: vec![0],
                    range_end: vec![0],
                    count_only: true,
                    ..Default::default()
                });
                if let Some((name, password)) = login {
                    let token = AuthClient::new(channel.clone())
                        .authenticate(AuthenticateRequest {
                            name: name.to_string(),
                            password: password.to_string(),
                        })
                        .await
                        .map_err(|s| s.to_string())?
                        .into_inner()
                        .token;
                    let token = AsciiMetadataValue::try_from(token).map_err(|e| e.to_string())?;
                    request.metadata_mut().insert("token", token);
                }
                let resp = KvClient::new(channel)
                    .range(request)
                    .await
                    .map_err(|s| s.to_string())?;
                Ok(resp.into_inner().count)
            };
            tokio::time::timeout(Duration::from_secs(3), request)
                .await
                .map_err(|_| "count timed out".to_string())?
        })
    }

    /// Runs `$ETCDCTL_TEST_BIN` (default `/usr/bin/etcdctl`) against this server.
    pub fn etcdctl(&self, args: &[&str]) -> Output {
        let bin = std::env::var("ETCDCTL_TEST_BIN").unwrap_or_else(|_| "/usr/bin/etcdctl".into());
        let mut cmd = Command::new(bin);
        cmd.args(["--endpoints", &self.client_url]).args(args);
        run_bounded(cmd, None)
    }

    /// Runs etcdctl and fails the test unless it succeeds.
    pub fn must_etcdctl(&self, args: &[&str]) {
        let out = self.etcdctl(args);
        assert!(
            out.status.success(),
            "etcdctl {args:?} failed: {}\n{}",
            out.stdout,
            out.stderr
        );
    }

    /// Creates user `root` (password [`ROOT_PASSWORD`], role root), user [`PREFIX_USER`]
    /// (password [`PREFIX_PASSWORD`]) with readwrite on [`PREFIX`] only, and enables auth.
    pub fn enable_auth(&self) {
        self.must_etcdctl(&["user", "add", &format!("root:{ROOT_PASSWORD}")]);
        self.must_etcdctl(&["user", "grant-role", "root", "root"]);
        self.must_etcdctl(&["user", "add", &format!("{PREFIX_USER}:{PREFIX_PASSWORD}")]);
        self.must_etcdctl(&["role", "add", "prefix-rw"]);
        self.must_etcdctl(&[
            "role",
            "grant-permission",
            "prefix-rw",
            "--prefix=true",
            "readwrite",
            PREFIX,
        ]);
        self.must_etcdctl(&["user", "grant-role", PREFIX_USER, "prefix-rw"]);
        self.must_etcdctl(&["auth", "enable"]);
    }
}

/// Password of `root` after [`Etcd::enable_auth`].
pub const ROOT_PASSWORD: &str = "pw";
/// The user of [`Etcd::enable_auth`] that may only use keys under [`PREFIX`].
pub const PREFIX_USER: &str = "alice";
/// Password of [`PREFIX_USER`].
pub const PREFIX_PASSWORD: &str = "alice-pw";
/// The only keys [`PREFIX_USER`] may read and write.
pub const PREFIX: &str = "/bench/";

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a finished `benchmark` run printed.
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The `RESULT` line's fields, if there is one.
    pub fn result_fields(&self) -> Option<Vec<(String, String)>> {
        let line = self
            .stdout
            .lines()
            .rev()
            .find(|l| l.starts_with("RESULT "))?;
        Some(
            line["RESULT ".len()..]
                .split(' ')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// One field of the `RESULT` line.
    pub fn result(&self, key: &str) -> Option<String> {
        self.result_fields()?
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// Runs the `benchmark` binary with `args`, killing it after [`RUN_TIMEOUT`].
pub fn run_benchmark(args: &[&str]) -> Output {
    run_benchmark_with_stdin(args, None)
}

/// [`run_benchmark`] with `stdin` as its standard input (none: `/dev/null`).
pub fn run_benchmark_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_benchmark"));
    cmd.args(args);
    run_bounded(cmd, stdin)
}

/// Runs `cmd` with `stdin` (none: `/dev/null`) and its output in files, killing it after
/// [`RUN_TIMEOUT`].
fn run_bounded(mut cmd: Command, stdin: Option<&[u8]>) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let stdin = match stdin {
        Some(bytes) => {
            let in_path = dir.path().join("stdin");
            std::fs::write(&in_path, bytes).expect("stdin file");
            Stdio::from(File::open(&in_path).expect("stdin file"))
        }
        None => Stdio::null(),
    };
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut child = cmd
        .stdin(stdin)
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait benchmark") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} did not finish in {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: std::fs::read_to_string(out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(err_path).unwrap_or_default(),
    }
}
