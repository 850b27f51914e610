//! Helpers for multi-process integration tests: free ports, server processes that are
//! always killed (Drop), bounded waits, and running CLI binaries with a timeout.
//!
//! Every process started here gets a hard deadline; tests only use 127.0.0.1.
//! [`cluster`] runs multi-member clusters of our server (with [`proxy`] to partition a
//! member); [`load`] is a put load that records acknowledged writes. [`certs`] generates
//! test CAs and certificates; [`notify`] plays systemd's side of `Type=notify`.

pub mod certs;
pub mod cluster;
pub mod load;
pub mod notify;
pub mod proxy;
pub mod session;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The directory holding this workspace's built binaries (`target/<profile>`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test-binary>
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

/// Path of one of our binaries (`etcd-server`, `etcdctl`, `benchmark`); built by
/// `cargo build --workspace --bins` before the tests run (scripts/test.sh does it).
pub fn our_bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} not built: run `cargo build --workspace --bins` first",
        p.display()
    );
    p
}

pub const REAL_ETCD: &str = "/usr/bin/etcd";
pub const REAL_ETCDCTL: &str = "/usr/bin/etcdctl";

pub use test_ports::free_port;

/// A server process (ours or real etcd) on free loopback ports, killed with SIGKILL on drop.
pub struct Server {
    pub child: Option<Child>,
    pub bin: PathBuf,
    pub data_dir: PathBuf,
    pub client_port: u16,
    pub peer_port: u16,
    pub name: String,
    pub extra_args: Vec<String>,
    /// When set, these replace the generated flags entirely (e.g. env-only configuration).
    pub args_override: Option<Vec<String>>,
    pub envs: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
    pub log: PathBuf,
}

impl Server {
    /// Starts `bin` with etcd's flags on fresh ports and waits until it serves requests.
    pub fn start(bin: &Path, data_dir: &Path, extra_args: &[&str]) -> Server {
        let mut s = Server {
            child: None,
            bin: bin.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
            client_port: free_port(),
            peer_port: free_port(),
            name: "default".into(),
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            args_override: None,
            envs: Vec::new(),
            cwd: None,
            log: data_dir.with_extension("log"),
        };
        s.spawn();
        s
    }

    /// Starts `bin` configured only by `envs` and `args` (no generated flags), serving on
    /// `client_port`, from working directory `cwd`.
    pub fn start_configured(
        bin: &Path,
        cwd: &Path,
        client_port: u16,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Server {
        let mut s = Server {
            child: None,
            bin: bin.to_path_buf(),
            data_dir: cwd.to_path_buf(),
            client_port,
            peer_port: 0,
            name: String::new(),
            extra_args: Vec::new(),
            args_override: Some(args.iter().map(|s| s.to_string()).collect()),
            envs: envs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cwd: Some(cwd.to_path_buf()),
            log: cwd.join("server.log"),
        };
        s.spawn();
        s
    }

    pub fn ours(data_dir: &Path) -> Server {
        Server::start(&our_bin("etcd-server"), data_dir, &[])
    }

    pub fn real(data_dir: &Path) -> Server {
        Server::start(Path::new(REAL_ETCD), data_dir, &[])
    }

    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    pub fn args(&self) -> Vec<String> {
        if let Some(a) = &self.args_override {
            return a.clone();
        }
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let mut a: Vec<String> = vec![
            "--name".into(),
            self.name.clone(),
            "--data-dir".into(),
            self.data_dir.display().to_string(),
            "--listen-client-urls".into(),
            self.url(),
            "--advertise-client-urls".into(),
            self.url(),
            "--listen-peer-urls".into(),
            peer.clone(),
            "--initial-advertise-peer-urls".into(),
            peer.clone(),
            "--initial-cluster".into(),
            format!("{}={}", self.name, peer),
        ];
        a.extend(self.extra_args.iter().cloned());
        a
    }

    /// (Re)starts the process on the same data dir and ports, and waits until ready.
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let mut cmd = Command::new(&self.bin);
        if let Some(cwd) = &self.cwd {
            cmd.current_dir(cwd);
        }
        let child = cmd
            .args(self.args())
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(30));
    }

    /// Waits until the member answers Status (it is serving; Status needs no
    /// permission, so this works with auth enabled too).
    pub fn wait_ready(&mut self, limit: Duration) {
        let start = Instant::now();
        loop {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!(
                        "{} exited early ({status}); log:\n{}",
                        self.bin.display(),
                        self.log_text()
                    );
                }
            }
            let out = etcdctl(
                REAL_ETCDCTL,
                &self.endpoint(),
                &["endpoint", "status"],
                None,
            );
            if out.status.success() {
                return;
            }
            if start.elapsed() > limit {
                panic!(
                    "server not ready after {limit:?}; log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, as a crash.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait (bounded) for a graceful exit; returns whether it exited cleanly.
    pub fn terminate(&mut self) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        unsafe {
            libc::kill(c.id() as i32, libc::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(st)) = c.try_wait() {
                return st.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Runs an etcdctl binary against `endpoint` (ETCDCTL_API=3) with a 30 s deadline.
pub fn etcdctl(
    bin: impl AsRef<Path>,
    endpoint: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.arg("-s")
        .arg("KILL")
        .arg("30")
        .arg(bin.as_ref())
        .arg(format!("--endpoints={endpoint}"))
        .args(args)
        .env("ETCDCTL_API", "3")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn etcdctl");
    if let Some(input) = stdin {
        let mut si = child.stdin.take().expect("stdin");
        si.write_all(input.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("etcdctl output")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
