//! Multi-member clusters of our `etcd-server`, started with etcd's own flags.
//!
//! Every member gets free 127.0.0.1 ports, a data directory in the cluster's temporary
//! directory, a log file next to it, and short raft timers (`--heartbeat-interval 50
//! --election-timeout 500`); the cluster token is unique per cluster. A member can be
//! killed with SIGKILL and restarted with exactly the same flags. Every process dies when
//! the [`Cluster`] is dropped (and, through `PR_SET_PDEATHSIG`, when the test process
//! dies); every wait is bounded. A cluster dropped during a panic prints the tail of each
//! member's log, and keeps the data dirs and logs if `CLUSTER_TEST_KEEP=1`.
//!
//! With [`ClusterOptions::peer_proxies`], every member's peer traffic goes through a
//! [`PeerProxy`], so that a test can cut a member off ([`Cluster::isolate`]).
//!
//! The clusters of one test binary run one at a time (a cluster holds a global lock), so
//! that `cargo test` does not start dozens of members on a 2-core machine; nextest runs
//! each test in its own process anyway.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use etcd_client::{Client, ConnectOptions, StatusResponse};

use crate::proxy::PeerProxy;
use crate::{etcdctl, free_port, our_bin, stderr, stdout, REAL_ETCDCTL};

/// `--heartbeat-interval` of every member, in milliseconds.
pub const HEARTBEAT_MS: u64 = 50;
/// `--election-timeout` of every member, in milliseconds.
pub const ELECTION_MS: u64 = 500;
/// The longest any harness wait (readiness, leader, convergence) may take.
pub const WAIT_LIMIT: Duration = Duration::from_secs(30);
/// Timeout of one client request made by the harness.
const RPC_TIMEOUT: Duration = Duration::from_secs(2);
/// Lines of each member's log printed when a test fails.
const LOG_TAIL_LINES: usize = 40;

/// Serializes the clusters of one test binary.
static SERIAL: Mutex<()> = Mutex::new(());

/// How to start a cluster.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// Number of founding members.
    pub size: usize,
    /// `--snapshot-count`, if not the server's default.
    pub snapshot_count: Option<u64>,
    /// More flags for every member.
    pub extra_args: Vec<String>,
    /// Put a [`PeerProxy`] in front of every member's peer listener.
    pub peer_proxies: bool,
}

impl ClusterOptions {
    /// `size` members with the server's defaults.
    pub fn new(size: usize) -> Self {
        ClusterOptions {
            size,
            snapshot_count: None,
            extra_args: Vec::new(),
            peer_proxies: false,
        }
    }
}

/// One member process of a [`Cluster`].
pub struct ClusterMember {
    /// `--name`.
    pub name: String,
    /// Its member ID (from its Status once it served; 0 before).
    pub id: u64,
    pub client_port: u16,
    /// The port its peer listener binds (`--listen-peer-urls`).
    pub peer_port: u16,
    /// The port of its advertised peer URL: its proxy's, or `peer_port`.
    pub advertised_peer_port: u16,
    pub data_dir: PathBuf,
    /// Where its stdout and stderr go (appended across restarts).
    pub log: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    proxy: Option<PeerProxy>,
}

impl ClusterMember {
    /// `127.0.0.1:port` of its client listener.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    /// `http://127.0.0.1:port` of its client listener.
    pub fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// Its advertised peer URL (`http://127.0.0.1:port`).
    pub fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.advertised_peer_port)
    }

    /// The flags it is started with.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// Its flags, to change before the next [`ClusterMember::spawn`].
    pub fn args_mut(&mut self) -> &mut Vec<String> {
        &mut self.args
    }

    /// Whether its process is alive (started and not exited).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Starts the process (it must not be running); does not wait for it to serve.
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("member log file");
        let mut cmd = Command::new(our_bin("etcd-server"));
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("member log file"))
            .stderr(log);
        // SAFETY: prctl is async-signal-safe; the closure allocates nothing.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start member {}: {e}", self.name));
        self.child = Some(child);
    }

    /// SIGKILL, as a crash; waits for the process to be gone.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOP (`stop == true`) or SIGCONT the process.
    pub fn pause(&mut self, stop: bool) {
        let child = self.child.as_ref().expect("member is running");
        let signal = if stop { libc::SIGSTOP } else { libc::SIGCONT };
        // SAFETY: kill(2) on a child we own.
        unsafe {
            libc::kill(child.id() as i32, signal);
        }
    }

    /// Waits (at most `limit`) for the process to exit by itself; `None` if it did not.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            let child = self.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if start.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything it logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its log from byte `offset` on (e.g. what it logged since a restart).
    pub fn log_since(&self, offset: usize) -> String {
        self.log_text()
            .get(offset..)
            .unwrap_or_default()
            .to_string()
    }

    /// The current length of its log, for [`ClusterMember::log_since`].
    pub fn log_len(&self) -> usize {
        std::fs::metadata(&self.log).map_or(0, |m| m.len() as usize)
    }

    /// A client of this member only.
    pub async fn client(&self) -> Client {
        connect(&[self.endpoint()]).await
    }

    /// Its Status, `None` if it does not answer within the harness' request timeout.
    pub async fn status(&self) -> Option<StatusResponse> {
        status(&self.endpoint()).await
    }
}

/// A client of `endpoints` whose requests time out after 2 s (connecting is lazy: this
/// succeeds even if no endpoint is up).
pub async fn connect(endpoints: &[String]) -> Client {
    let opts = ConnectOptions::new()
        .with_connect_timeout(RPC_TIMEOUT)
        .with_timeout(RPC_TIMEOUT);
    Client::connect(endpoints, Some(opts))
        .await
        .expect("client for a well-formed endpoint")
}

/// Maintenance.Status of `endpoint`, `None` if it does not answer in time.
pub async fn status(endpoint: &str) -> Option<StatusResponse> {
    let mut c = connect(&[endpoint.to_string()]).await;
    let call = tokio::time::timeout(RPC_TIMEOUT, c.status()).await;
    call.ok()?.ok()
}

/// Maintenance.HashKV of `endpoint` at its current revision: `(revision, compact
/// revision, hash)`, `None` if it does not answer in time.
pub async fn hash_kv(endpoint: &str) -> Option<(i64, i64, u32)> {
    let mut c = connect(&[endpoint.to_string()]).await;
    let call = tokio::time::timeout(RPC_TIMEOUT, c.hash_kv(0)).await;
    let r = call.ok()?.ok()?;
    Some((r.header()?.revision(), r.compact_version(), r.hash()))
}

/// Polls `probe` every 50 ms until it returns `Some`; panics naming `what` after `limit`.
pub async fn wait_for<T>(
    what: &str,
    limit: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A new member's peer listener port and the proxy in front of it, if any.
struct PeerListener {
    port: u16,
    proxy: Option<PeerProxy>,
}

impl PeerListener {
    fn advertised_port(&self) -> u16 {
        self.proxy.as_ref().map_or(self.port, PeerProxy::port)
    }
}

/// A running cluster of our server. Dropping it kills every member and removes the data.
pub struct Cluster {
    /// Founding members `m0..`, then members added with [`Cluster::add_member`].
    pub members: Vec<ClusterMember>,
    /// `--initial-cluster-token`.
    pub token: String,
    opts: ClusterOptions,
    /// Data dirs and logs; `None` only once kept at drop.
    dir: Option<tempfile::TempDir>,
    _serial: MutexGuard<'static, ()>,
}

impl Cluster {
    /// Starts `size` members with default options; see [`Cluster::start_with`].
    pub async fn start(size: usize) -> Cluster {
        Cluster::start_with(ClusterOptions::new(size)).await
    }

    /// Starts the founding members with `--initial-cluster-state new`, waits until every
    /// one serves and they agree on a leader.
    pub async fn start_with(opts: ClusterOptions) -> Cluster {
        let serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let mut cluster = Cluster {
            members: Vec::new(),
            token: format!("cluster-test-{}-{nanos}", std::process::id()),
            opts,
            dir: Some(tempfile::tempdir().expect("tempdir")),
            _serial: serial,
        };
        let mut founders = Vec::new();
        for i in 0..cluster.opts.size {
            founders.push((format!("m{i}"), cluster.peer_listener().await));
        }
        let initial = founders
            .iter()
            .map(|(name, peer)| format!("{name}=http://127.0.0.1:{}", peer.advertised_port()))
            .collect::<Vec<_>>()
            .join(",");
        for (name, peer) in founders {
            let i = cluster.push_member(name, peer, &initial, "new");
            cluster.members[i].spawn();
        }
        for i in 0..cluster.members.len() {
            cluster.wait_ready(i).await;
        }
        let ids: std::collections::HashSet<u64> = cluster.members.iter().map(|m| m.id).collect();
        assert_eq!(
            ids.len(),
            cluster.members.len(),
            "two members answered with the same member ID (a port shared by two members?)"
        );
        cluster.leader().await;
        cluster
    }

    /// A free port for a new member's peer listener, behind a proxy if the cluster has them.
    async fn peer_listener(&self) -> PeerListener {
        let port = free_port();
        let proxy = if self.opts.peer_proxies {
            Some(PeerProxy::start(port).await.expect("peer proxy"))
        } else {
            None
        };
        PeerListener { port, proxy }
    }

    /// Adds a member record (not started) with a fresh client port and the given flags.
    fn push_member(
        &mut self,
        name: String,
        peer: PeerListener,
        initial: &str,
        state: &str,
    ) -> usize {
        let client_port = free_port();
        let data_dir = self.dir().join(format!("{name}.etcd"));
        let log = self.dir().join(format!("{name}.log"));
        let client_url = format!("http://127.0.0.1:{client_port}");
        let listen_peer_url = format!("http://127.0.0.1:{}", peer.port);
        let peer_url = format!("http://127.0.0.1:{}", peer.advertised_port());
        let mut args: Vec<String> = [
            "--name",
            &name,
            "--data-dir",
            &data_dir.display().to_string(),
            "--listen-client-urls",
            &client_url,
            "--advertise-client-urls",
            &client_url,
            "--listen-peer-urls",
            &listen_peer_url,
            "--initial-advertise-peer-urls",
            &peer_url,
            "--initial-cluster",
            initial,
            "--initial-cluster-token",
            &self.token,
            "--initial-cluster-state",
            state,
            "--heartbeat-interval",
            &HEARTBEAT_MS.to_string(),
            "--election-timeout",
            &ELECTION_MS.to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(n) = self.opts.snapshot_count {
            args.extend(["--snapshot-count".to_string(), n.to_string()]);
        }
        args.extend(self.opts.extra_args.iter().cloned());
        self.members.push(ClusterMember {
            name,
            id: 0,
            client_port,
            peer_port: peer.port,
            advertised_peer_port: peer.advertised_port(),
            data_dir,
            log,
            args,
            child: None,
            proxy: peer.proxy,
        });
        self.members.len() - 1
    }

    /// The temporary directory holding data dirs and logs.
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().expect("cluster dir").path()
    }

    /// Client endpoints (`127.0.0.1:port`) of the running members.
    pub fn endpoints(&mut self) -> Vec<String> {
        self.running()
            .into_iter()
            .map(|i| self.members[i].endpoint())
            .collect()
    }

    /// Indexes of the running members.
    pub fn running(&mut self) -> Vec<usize> {
        (0..self.members.len())
            .filter(|&i| self.members[i].is_running())
            .collect()
    }

    /// Waits until member `i` answers Status (our server opens its client port only
    /// after it published itself through raft), and records its ID.
    pub async fn wait_ready(&mut self, i: usize) {
        let start = Instant::now();
        loop {
            let m = &mut self.members[i];
            if let Some(c) = m.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    panic!(
                        "member {} exited early ({st}); log:\n{}",
                        m.name,
                        m.log_text()
                    );
                }
            }
            if let Some(s) = m.status().await {
                m.id = s.header().map_or(0, |h| h.member_id());
                return;
            }
            assert!(
                start.elapsed() < WAIT_LIMIT,
                "member {} not ready after {WAIT_LIMIT:?}",
                m.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until every running member names the same leader, which is one of them;
    /// returns its index.
    pub async fn leader(&mut self) -> usize {
        let running = self.running();
        let members = &self.members;
        wait_for(
            "a leader all running members agree on",
            WAIT_LIMIT,
            async || {
                let mut leader = None;
                for &i in &running {
                    let s = members[i].status().await?;
                    if s.leader() == 0 || leader.is_some_and(|l| l != s.leader()) {
                        return None;
                    }
                    leader = Some(s.leader());
                }
                let leader = leader?;
                running.iter().copied().find(|&i| members[i].id == leader)
            },
        )
        .await
    }

    /// Cuts member `i` off from its peers (`true`: they cannot reach it) or reconnects it.
    /// The cluster must have been started with [`ClusterOptions::peer_proxies`].
    pub fn isolate(&self, i: usize, isolated: bool) {
        let proxy = self.members[i].proxy.as_ref();
        proxy
            .expect("a cluster with peer proxies")
            .set_blocked(isolated);
    }

    /// SIGKILLs member `i`.
    pub fn kill9(&mut self, i: usize) {
        self.members[i].kill9();
    }

    /// Restarts member `i` with the same flags and waits until it serves.
    pub async fn restart(&mut self, i: usize) {
        self.members[i].spawn();
        self.wait_ready(i).await;
    }

    /// Waits until every running member reports the same revision and the same
    /// Maintenance.HashKV; returns `(revision, hash)`. Only meaningful with no writes in
    /// flight.
    pub async fn wait_converged(&mut self) -> (i64, u32) {
        let eps = self.endpoints();
        let (rev, _, hash) = wait_for(
            "all members to converge on one hashkv",
            WAIT_LIMIT,
            async || {
                let mut first = None;
                for ep in &eps {
                    let h = hash_kv(ep).await?;
                    if first.is_some_and(|f| f != h) {
                        return None;
                    }
                    first = Some(h);
                }
                first
            },
        )
        .await;
        (rev, hash)
    }

    /// Adds a member with the real `etcdctl member add` (as a learner if `learner`)
    /// through member `via`, starts it with `--initial-cluster-state existing` and the
    /// `ETCD_INITIAL_CLUSTER` etcdctl printed, and waits until it serves. Returns its index.
    pub async fn add_member(&mut self, via: usize, learner: bool) -> usize {
        let name = format!("m{}", self.members.len());
        let peer = self.peer_listener().await;
        let peer_url = format!("--peer-urls=http://127.0.0.1:{}", peer.advertised_port());
        let mut args = vec!["member", "add", &name, &peer_url];
        if learner {
            args.push("--learner");
        }
        let out = etcdctl(REAL_ETCDCTL, &self.members[via].endpoint(), &args, None);
        let text = stdout(&out);
        assert!(
            out.status.success(),
            "member add failed: {}{text}",
            stderr(&out)
        );
        let id = text
            .split_whitespace()
            .nth(1)
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .unwrap_or_else(|| panic!("no member ID in member add output:\n{text}"));
        let initial = text
            .lines()
            .find_map(|l| l.strip_prefix("ETCD_INITIAL_CLUSTER=\""))
            .and_then(|l| l.strip_suffix('"'))
            .unwrap_or_else(|| panic!("no ETCD_INITIAL_CLUSTER in member add output:\n{text}"))
            .to_string();
        let i = self.push_member(name, peer, &initial, "existing");
        self.members[i].spawn();
        self.wait_ready(i).await;
        assert_eq!(
            self.members[i].id, id,
            "the new member's ID is not the one added"
        );
        i
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for m in &mut self.members {
            m.kill9();
        }
        if std::thread::panicking() {
            for m in &self.members {
                let text = m.log_text();
                let lines: Vec<&str> = text.lines().collect();
                let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
                eprintln!(
                    "----- last {} lines of {} ({:016x}) log {} -----\n{}",
                    tail.len(),
                    m.name,
                    m.id,
                    m.log.display(),
                    tail.join("\n")
                );
            }
            if std::env::var("CLUSTER_TEST_KEEP").as_deref() == Ok("1") {
                if let Some(dir) = self.dir.take() {
                    eprintln!("CLUSTER_TEST_KEEP=1: kept {}", dir.keep().display());
                }
            }
        }
    }
}
