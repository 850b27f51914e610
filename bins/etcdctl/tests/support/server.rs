//! etcd server processes for tests: free loopback ports, a temporary data directory, a
//! bounded wait until the member serves requests, and SIGKILL on drop.
//!
//! The binary is `$ETCD_TEST_SERVER_BIN` (default `/usr/bin/etcd`), so the same tests can
//! run against our own server. Self-contained so it can move to the shared `tests` crate.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use client::proto::etcdserverpb::RangeRequest;
use client::{Client, ClientConfig, TlsConfig};

/// How long a server may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The server binary under test.
pub fn server_bin() -> PathBuf {
    std::env::var_os("ETCD_TEST_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/etcd"))
}

pub use test_ports::free_port;

/// How to start a server beyond the defaults.
#[derive(Clone, Default)]
pub struct Setup {
    /// Client URL to advertise instead of the one listened on.
    pub advertise: Option<String>,
    /// More server flags.
    pub args: Vec<String>,
    /// Serve clients on `https://` (the server's TLS flags go into `args`); the readiness
    /// probe connects with this client configuration.
    pub tls: Option<TlsConfig>,
}

impl Setup {
    /// The defaults plus `args`.
    pub fn args(args: &[&str]) -> Setup {
        Setup {
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Setup::default()
        }
    }
}

/// A running server.
pub struct EtcdServer {
    child: Option<Child>,
    /// `127.0.0.1:<client port>`.
    pub endpoint: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    log: PathBuf,
    /// `http` or `https`.
    scheme: &'static str,
    /// TLS for the readiness probe.
    probe_tls: Option<TlsConfig>,
    _tmp: Option<tempfile::TempDir>,
}

impl EtcdServer {
    /// A new single-member cluster in a fresh temporary directory.
    pub fn start() -> EtcdServer {
        EtcdServer::start_setup(&Setup::default())
    }

    /// [`EtcdServer::start`] with `setup`.
    pub fn start_setup(setup: &Setup) -> EtcdServer {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = EtcdServer::start_with(&tmp.path().join("data"), setup);
        s._tmp = Some(tmp);
        s
    }

    /// Starts a member on `data_dir` (new or existing) on fresh ports. `advertise` overrides
    /// the advertised client URL (which `member list` shows).
    pub fn start_in(data_dir: &Path, advertise: Option<&str>) -> EtcdServer {
        let setup = Setup {
            advertise: advertise.map(str::to_string),
            ..Setup::default()
        };
        EtcdServer::start_with(data_dir, &setup)
    }

    /// [`EtcdServer::start_in`] with `setup`.
    pub fn start_with(data_dir: &Path, setup: &Setup) -> EtcdServer {
        let (client_port, peer_port) = (free_port(), free_port());
        let scheme = if setup.tls.is_some() { "https" } else { "http" };
        let client_url = format!("{scheme}://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let mut args = vec![
            "--advertise-client-urls",
            setup.advertise.as_deref().unwrap_or(&client_url),
            "--listen-peer-urls",
            &peer_url,
            "--initial-advertise-peer-urls",
            &peer_url,
        ];
        let initial = format!("default={peer_url}");
        args.extend(["--initial-cluster", &initial]);
        args.extend(setup.args.iter().map(String::as_str));
        let mut s = EtcdServer::spawn_url(data_dir, client_port, scheme, &args);
        s.probe_tls = setup.tls.clone();
        s.wait_ready();
        s
    }

    /// Starts the server binary on `data_dir`, listening for clients on `client_port`, with
    /// `args` added; does not wait for it. Its output goes to `<data_dir>.log`.
    pub fn spawn(data_dir: &Path, client_port: u16, args: &[&str]) -> EtcdServer {
        EtcdServer::spawn_url(data_dir, client_port, "http", args)
    }

    /// [`EtcdServer::spawn`] with `scheme` (`http` or `https`) for the client URL.
    fn spawn_url(
        data_dir: &Path,
        client_port: u16,
        scheme: &'static str,
        args: &[&str],
    ) -> EtcdServer {
        let client_url = format!("{scheme}://127.0.0.1:{client_port}");
        let log = data_dir.with_extension("log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(server_bin())
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen-client-urls", &client_url])
            .args(args)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", server_bin().display()));
        EtcdServer {
            child: Some(child),
            endpoint: format!("127.0.0.1:{client_port}"),
            data_dir: data_dir.to_path_buf(),
            log,
            scheme,
            probe_tls: None,
            _tmp: None,
        }
    }

    /// `http://127.0.0.1:<client port>` (`https://` for a TLS server).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.endpoint)
    }

    /// Waits (at most 30 s) until the server answers a linearizable read, which needs a
    /// leader; panics with its log otherwise.
    pub fn wait_ready(&mut self) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let _in_runtime = rt.enter();
        let mut cfg = ClientConfig::new([self.endpoint.clone()]);
        cfg.tls = self.probe_tls.clone();
        let client = Client::connect_lazy(&cfg).expect("client");
        let start = Instant::now();
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("server exited early ({status}); log:\n{}", self.log_text());
            }
            let probe = rt.block_on(async {
                let mut kv = client.kv();
                let req = RangeRequest {
                    key: b"ready-probe".to_vec(),
                    ..Default::default()
                };
                tokio::time::timeout(Duration::from_millis(500), kv.range(req)).await
            });
            if matches!(probe, Ok(Ok(_))) {
                return;
            }
            assert!(
                start.elapsed() < READY_TIMEOUT,
                "server not ready; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the server: SIGTERM, then SIGKILL if it has not exited within 10 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: signalling our own child process.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl EtcdServer {
    /// True until the server is stopped or killed.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Two servers with identical state (same member and cluster IDs, data and advertised
/// URL), so the real etcdctl can run against one and ours against the other and mutating
/// commands still produce the same output.
pub struct Pair {
    /// For the real etcdctl.
    pub real: EtcdServer,
    /// For our etcdctl.
    pub ours: EtcdServer,
    _tmp: tempfile::TempDir,
}

impl Pair {
    /// Builds a template cluster, lets `seed` fill it (given its endpoint), then starts two
    /// copies of it.
    pub fn new(seed: impl FnOnce(&str)) -> Pair {
        Pair::with_setup(&Setup::default(), seed)
    }

    /// [`Pair::new`] with every server started with `setup` (its `advertise` is replaced by
    /// the template's URL).
    pub fn with_setup(setup: &Setup, seed: impl FnOnce(&str)) -> Pair {
        let tmp = tempfile::tempdir().expect("tempdir");
        let template = tmp.path().join("template");
        let mut t = EtcdServer::start_with(&template, setup);
        let copy = Setup {
            advertise: Some(t.url()),
            ..setup.clone()
        };
        seed(&t.endpoint);
        t.stop();
        copy_dir(&template, &tmp.path().join("real"));
        copy_dir(&template, &tmp.path().join("ours"));
        let real = EtcdServer::start_with(&tmp.path().join("real"), &copy);
        let ours = EtcdServer::start_with(&tmp.path().join("ours"), &copy);
        Pair {
            real,
            ours,
            _tmp: tmp,
        }
    }
}
