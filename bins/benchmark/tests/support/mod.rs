//! Test harness: a real etcd server on free 127.0.0.1 ports in a temp dir (killed on drop),
//! and a bounded run of the `benchmark` binary.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use etcd_proto::etcdserverpb::{kv_client::KvClient, RangeRequest};
use tempfile::TempDir;

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
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let request = async {
                let mut kv = KvClient::connect(self.client_url.clone())
                    .await
                    .map_err(|e| e.to_string())?;
                let resp = kv
                    .range(RangeRequest {
                        key: vec![0],
                        range_end: vec![0],
                        count_only: true,
                        ..Default::default()
                    })
                    .await
                    .map_err(|s| s.to_string())?;
                Ok(resp.into_inner().count)
            };
            tokio::time::timeout(Duration::from_secs(3), request)
                .await
                .map_err(|_| "count timed out".to_string())?
        })
    }
}

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
    let dir = tempfile::tempdir().expect("temp dir");
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_benchmark"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("start benchmark");
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait benchmark") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("benchmark {args:?} did not finish in {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: std::fs::read_to_string(out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(err_path).unwrap_or_default(),
    }
}
