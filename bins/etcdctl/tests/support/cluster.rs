//! Multi-member etcd clusters for tests: every member on free loopback ports with its own
//! temporary data directory, a cluster token unique to the test run, short raft timers
//! (`--heartbeat-interval 50 --election-timeout 500`), bounded waits, SIGKILL on drop.
//!
//! The server binary is `$ETCD_TEST_SERVER_BIN` (see [`super::server`]). Our own server
//! cannot form multi-member clusters yet, so [`Cluster::start_or_skip`] skips (with a
//! message) unless that binary is the reference etcd; `ETCD_TEST_MULTI_MEMBER=1` forces
//! the tests to run, `ETCD_TEST_MULTI_MEMBER=0` skips them.
//!
//! Cluster tests of one test binary run one at a time (a cluster holds a global lock), so
//! that a few etcd processes, not dozens, share the machine's cores and elections stay
//! quiet.

use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use client::proto::etcdserverpb::{self as pb, MemberListRequest, StatusRequest, StatusResponse};
use client::{Client, ClientConfig};

use super::server::{free_port, server_bin, EtcdServer};

/// How long a cluster may take to elect a leader or a member to catch up.
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Serializes the cluster tests of one test binary.
static SERIAL: Mutex<()> = Mutex::new(());

/// Why multi-member tests cannot run against the server under test, if they cannot.
pub fn skip_reason() -> Option<String> {
    match std::env::var("ETCD_TEST_MULTI_MEMBER").as_deref() {
        Ok("1") => return None,
        Ok("0") => return Some("ETCD_TEST_MULTI_MEMBER=0".to_string()),
        _ => {}
    }
    let bin = server_bin();
    let version = Command::new(&bin).arg("--version").output();
    let reference = version
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("Go Version: go"))
        .unwrap_or(false);
    (!reference).then(|| {
        format!(
            "ETCD_TEST_SERVER_BIN={} is not the reference etcd, and our server does not \
             support multi-member clusters yet (set ETCD_TEST_MULTI_MEMBER=1 to run anyway)",
            bin.display()
        )
    })
}

/// One member of a [`Cluster`].
pub struct Member {
    /// `--name`.
    pub name: String,
    /// Its peer URL.
    pub peer_url: String,
    /// The process.
    pub server: EtcdServer,
}

/// A running cluster. Dropping it kills every member and removes the data.
pub struct Cluster {
    /// Members in start order (`m0`, `m1`, ...), then joined ones.
    pub members: Vec<Member>,
    token: String,
    ready: Instant,
    tmp: tempfile::TempDir,
    _serial: MutexGuard<'static, ()>,
}

/// Status of one endpoint, `None` if it does not answer within 1 s.
pub fn status(ep: &str) -> Option<StatusResponse> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = Client::connect_lazy(&ClientConfig::new([ep.to_string()])).ok()?;
        let mut maintenance = client.maintenance();
        let call = maintenance.status(StatusRequest {});
        let resp = tokio::time::timeout(Duration::from_secs(1), call).await;
        resp.ok()?.ok().map(tonic::Response::into_inner)
    })
}

/// The member list as `ep` sees it, `None` if it does not answer within 1 s.
pub fn member_list(ep: &str) -> Option<Vec<pb::Member>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = Client::connect_lazy(&ClientConfig::new([ep.to_string()])).ok()?;
        let mut cluster = client.cluster();
        let call = cluster.member_list(MemberListRequest {});
        let resp = tokio::time::timeout(Duration::from_secs(1), call).await;
        resp.ok()?.ok().map(|r| r.into_inner().members)
    })
}

/// Polls `done` every 50 ms until it holds; panics with `what` after [`WAIT_TIMEOUT`].
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < WAIT_TIMEOUT,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sleeps into the next wall-clock second. etcd derives the ID of a member added at run
/// time from its peer URLs and the current second, and refuses an ID it has removed
/// before: re-adding the same peer URLs must happen in a later second.
pub fn next_second() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let into = Duration::from_nanos(u64::from(now.subsec_nanos()));
    std::thread::sleep(Duration::from_secs(1) - into + Duration::from_millis(20));
}

impl Cluster {
    /// Starts an `n`-member cluster, or returns `None` (saying why on stderr) when the
    /// server under test cannot run one.
    pub fn start_or_skip(test: &str, n: usize) -> Option<Cluster> {
        if let Some(why) = skip_reason() {
            eprintln!("skipping {test}: {why}");
            return None;
        }
        Some(Cluster::start(n))
    }

    /// Starts an `n`-member cluster and waits until it has a leader all members agree on.
    pub fn start(n: usize) -> Cluster {
        let serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        let tmp = tempfile::tempdir().expect("tempdir");
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let token = format!("etcdctl-test-{}-{nanos}", std::process::id());
        let ports: Vec<(String, u16, String)> = (0..n)
            .map(|i| {
                let peer = format!("http://127.0.0.1:{}", free_port());
                (format!("m{i}"), free_port(), peer)
            })
            .collect();
        let initial: Vec<String> = ports
            .iter()
            .map(|(name, _, peer)| format!("{name}={peer}"))
            .collect();
        let mut cluster = Cluster {
            members: Vec::new(),
            token,
            ready: Instant::now(),
            tmp,
            _serial: serial,
        };
        for (name, client_port, peer) in ports {
            cluster.spawn(&name, client_port, &peer, &initial.join(","), "new");
        }
        for m in &mut cluster.members {
            m.server.wait_ready();
        }
        cluster.leader();
        cluster.ready = Instant::now();
        cluster
    }

    /// Waits until etcd accepts membership changes: it refuses to add a member ("unhealthy
    /// cluster") until the leader has been connected to every voting member for 5 s
    /// (`HealthInterval`).
    pub fn wait_reconfigurable(&self) {
        let at = self.ready + Duration::from_millis(5500);
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
    }

    fn spawn(&mut self, name: &str, client_port: u16, peer: &str, initial: &str, state: &str) {
        let client_url = format!("http://127.0.0.1:{client_port}");
        // A fresh directory even when a name comes back (a member removed and re-added).
        let dir = format!("{name}.{}", self.members.len());
        let server = EtcdServer::spawn(
            &self.tmp.path().join(dir),
            client_port,
            &[
                "--name",
                name,
                "--advertise-client-urls",
                &client_url,
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
                "--initial-cluster",
                initial,
                "--initial-cluster-token",
                &self.token,
                "--initial-cluster-state",
                state,
                "--heartbeat-interval",
                "50",
                "--election-timeout",
                "500",
            ],
        );
        self.members.push(Member {
            name: name.to_string(),
            peer_url: peer.to_string(),
            server,
        });
    }

    /// The client endpoint (`127.0.0.1:port`) of member `i`.
    pub fn ep(&self, i: usize) -> &str {
        &self.members[i].server.endpoint
    }

    /// All client endpoints, comma-separated, in member order.
    pub fn endpoints(&self) -> String {
        let eps: Vec<&str> = (0..self.members.len()).map(|i| self.ep(i)).collect();
        eps.join(",")
    }

    /// Member `i`'s ID (from its Status).
    pub fn member_id(&self, i: usize) -> u64 {
        let mut id = None;
        wait_until(&format!("a status from {}", self.ep(i)), || {
            id = status(self.ep(i))
                .and_then(|s| s.header)
                .map(|h| h.member_id);
            id.is_some()
        });
        id.unwrap_or_default()
    }

    /// Waits until every live member names the same leader, one of them; returns the
    /// leader's index and ID.
    pub fn leader(&self) -> (usize, u64) {
        let mut found = None;
        wait_until("a leader all members agree on", || {
            let live = (0..self.members.len()).filter(|&i| self.members[i].server.is_running());
            let all: Option<Vec<(usize, StatusResponse)>> =
                live.map(|i| status(self.ep(i)).map(|s| (i, s))).collect();
            found = all.and_then(|all| {
                let leader = all.first()?.1.leader;
                if leader == 0 || all.iter().any(|(_, s)| s.leader != leader) {
                    return None;
                }
                all.iter()
                    .find(|(_, s)| s.header.is_some_and(|h| h.member_id == leader))
                    .map(|&(i, _)| (i, leader))
            });
            found.is_some()
        });
        found.unwrap_or_default()
    }

    /// The members as member 0 sees them (in the server's order).
    pub fn member_list(&self) -> Vec<pb::Member> {
        let mut list = None;
        wait_until("a member list", || {
            list = member_list(self.ep(0));
            list.is_some()
        });
        list.unwrap_or_default()
    }

    /// The ID of the member with this peer URL, if there is one.
    pub fn find_member(&self, peer_url: &str) -> Option<u64> {
        self.member_list()
            .into_iter()
            .find(|m| m.peer_ur_ls.iter().any(|u| u == peer_url))
            .map(|m| m.id)
    }

    /// A fresh peer URL for a member to be added.
    pub fn new_peer_url() -> String {
        format!("http://127.0.0.1:{}", free_port())
    }

    /// Starts a process for a member already added (with `member add`) under `name` and
    /// `peer_url`, joining the running cluster; returns its index. Does not wait.
    pub fn join(&mut self, name: &str, peer_url: &str) -> usize {
        let mut initial: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.server.is_running())
            .map(|m| format!("{}={}", m.name, m.peer_url))
            .collect();
        initial.push(format!("{name}={peer_url}"));
        self.spawn(name, free_port(), peer_url, &initial.join(","), "existing");
        self.members.len() - 1
    }

    /// Waits until member `i` has applied everything the leader had when this was called.
    pub fn wait_caught_up(&self, i: usize) {
        let (leader, _) = self.leader();
        let mut target = None;
        wait_until("the leader's raft index", || {
            target = status(self.ep(leader)).map(|s| s.raft_index);
            target.is_some()
        });
        let target = target.unwrap_or_default();
        wait_until(&format!("{} to catch up", self.ep(i)), || {
            status(self.ep(i)).is_some_and(|s| s.raft_applied_index >= target)
        });
    }

    /// Kills member `i` (SIGKILL).
    pub fn kill(&mut self, i: usize) {
        self.members[i].server.kill();
    }
}
