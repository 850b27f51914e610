//! The real etcd 3.4 (`$ETCD_TEST_SERVER_BIN`, default `/usr/bin/etcd`) for interop tests: a
//! single member on free 127.0.0.1 ports with a temp data dir, killed when dropped; the
//! real `etcdctl` against it; every wait bounded.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use etcd_proto::etcdserverpb::auth_client::AuthClient;
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::{AuthenticateRequest, RangeRequest};
use tempfile::TempDir;
use tonic::transport::{Channel, Endpoint};

/// How long etcd may take to serve, and one etcdctl run or gRPC call may take.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

const ETCDCTL: &str = "/usr/bin/etcdctl";

/// A running single-member etcd, killed when dropped.
pub struct Etcd {
    child: Child,
    /// `http://127.0.0.1:PORT` of its client listener.
    url: String,
    channel: Channel,
    dir: TempDir,
}

impl Etcd {
    /// Starts etcd with `--auth-token auth_token` and waits until it serves.
    pub async fn start(auth_token: &str) -> Etcd {
        let bin = std::env::var("ETCD_TEST_SERVER_BIN").unwrap_or_else(|_| "/usr/bin/etcd".into());
        assert!(Path::new(&bin).exists(), "etcd binary {bin} not found");
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("http://127.0.0.1:{}", test_ports::free_port());
        let peer_url = format!("http://127.0.0.1:{}", test_ports::free_port());
        let log = File::create(dir.path().join("etcd.log")).expect("log file");
        let child = Command::new(&bin)
            .args(["--name", "jwt-test"])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args([
                "--listen-client-urls",
                &url,
                "--advertise-client-urls",
                &url,
            ])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("jwt-test={peer_url}")])
            .args(["--auth-token", auth_token])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let channel = Endpoint::from_shared(url.clone())
            .expect("client URL")
            .connect_timeout(CALL_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .connect_lazy();
        let etcd = Etcd {
            child,
            url,
            channel,
            dir,
        };
        etcd.wait_ready().await;
        etcd
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if self.range(None).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "etcd did not serve within {START_TIMEOUT:?}\n{}",
            self.log()
        );
    }

    /// What etcd logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default()
    }

    /// Runs the real etcdctl against this etcd; panics unless it succeeds in time.
    pub async fn etcdctl(&self, args: &[&str]) -> String {
        let run = tokio::process::Command::new(ETCDCTL)
            .env("ETCDCTL_API", "3")
            .args([
                "--endpoints",
                &self.url,
                "--dial-timeout=5s",
                "--command-timeout=10s",
            ])
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(COMMAND_TIMEOUT, run)
            .await
            .unwrap_or_else(|_| panic!("etcdctl {args:?} took over {COMMAND_TIMEOUT:?}"))
            .unwrap_or_else(|e| panic!("cannot run {ETCDCTL}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "etcdctl {args:?}: {}\n{stdout}{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        stdout
    }

    /// The token etcd's `Authenticate` gives `name`.
    pub async fn authenticate(&self, name: &str, password: &str) -> Result<String, tonic::Status> {
        let request = AuthenticateRequest {
            name: name.to_string(),
            password: password.to_string(),
        };
        let response = AuthClient::new(self.channel.clone())
            .authenticate(request)
            .await?;
        Ok(response.into_inner().token)
    }

    /// A range read of key `k`, with `token` in the request metadata when given.
    pub async fn range(&self, token: Option<&str>) -> Result<(), tonic::Status> {
        let mut request = tonic::Request::new(RangeRequest {
            key: b"k".to_vec(),
            ..Default::default()
        });
        if let Some(token) = token {
            let value = token.parse().expect("tokens are ASCII");
            request.metadata_mut().insert("token", value);
        }
        KvClient::new(self.channel.clone()).range(request).await?;
        Ok(())
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
