//! Clusters over the real gRPC transport on 127.0.0.1: each member has its own tokio
//! runtime (like its own process), a [`PeerTransport`], a tonic server for
//! [`raft_service`] on its own port, a WAL dir and a [`KvMachine`] that survives
//! restarts. Every wait is bounded; dropping the cluster stops every member.

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use raft_node::{raft_service, PeerTransport, RaftConfig, RaftNode};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;

use super::kv::{KvMachine, KvState};
use super::{test_config, wait_until};

/// The cluster id every member is started with.
pub const CLUSTER_ID: u64 = 0xc1a5;
/// Bound of every wait.
pub const WAIT: Duration = Duration::from_secs(30);

/// One member; `running` while started.
pub struct Member {
    pub id: u64,
    pub addr: SocketAddr,
    pub machine: KvMachine,
    dir: tempfile::TempDir,
    /// The listener bound at creation, used by the first start (no port race).
    listener: Option<TcpListener>,
    running: Option<Running>,
}

struct Running {
    rt: Runtime,
    node: RaftNode,
    transport: PeerTransport,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
}

/// A cluster of members 1..=n.
pub struct Cluster {
    members: Vec<Member>,
    tune: fn(&mut RaftConfig),
}

impl Cluster {
    /// Starts members 1..=n; `tune` adjusts every member's config.
    pub fn start(n: u64, tune: fn(&mut RaftConfig)) -> Cluster {
        init_logging();
        let members = (1..=n)
            .map(|id| {
                let listener = TcpListener::bind("127.0.0.1:0").expect("bind peer port");
                Member {
                    id,
                    addr: listener.local_addr().unwrap(),
                    machine: KvMachine::default(),
                    dir: tempfile::tempdir().unwrap(),
                    listener: Some(listener),
                    running: None,
                }
            })
            .collect();
        let mut cluster = Cluster { members, tune };
        for id in 1..=n {
            cluster.start_member(id);
        }
        cluster
    }

    pub fn ids(&self) -> Vec<u64> {
        self.members.iter().map(|m| m.id).collect()
    }

    pub fn url(&self, id: u64) -> String {
        format!("http://{}", self.member(id).addr)
    }

    pub fn member(&self, id: u64) -> &Member {
        &self.members[(id - 1) as usize]
    }

    fn running(&self, id: u64) -> &Running {
        self.member(id).running.as_ref().expect("member running")
    }

    pub fn node(&self, id: u64) -> RaftNode {
        self.running(id).node.clone()
    }

    pub fn transport(&self, id: u64) -> PeerTransport {
        self.running(id).transport.clone()
    }

    /// Runs `f` inside member `id`'s runtime.
    pub fn block_on<F: std::future::Future>(&self, id: u64, f: F) -> F::Output {
        self.running(id).rt.block_on(f)
    }

    /// Starts (or restarts, on its old WAL dir and state machine) member `id`.
    pub fn start_member(&mut self, id: u64) {
        let peers: Vec<(u64, SocketAddr)> = self.members.iter().map(|m| (m.id, m.addr)).collect();
        let mut cfg = test_config(id, self.ids(), self.member(id).dir.path());
        (self.tune)(&mut cfg);
        let member = &mut self.members[(id - 1) as usize];
        assert!(member.running.is_none(), "member {id} already running");
        let listener = match member.listener.take() {
            Some(listener) => listener,
            None => rebind(member.addr),
        };
        member.running = Some(launch(id, cfg, listener, &peers, &member.machine));
    }

    /// Stops member `id` like a crash of its process, except that the peer server must
    /// shut down gracefully (its incoming streams end when the node stops).
    pub fn stop_member(&mut self, id: u64) {
        let running = self.members[(id - 1) as usize]
            .running
            .take()
            .expect("member running");
        assert!(
            running.stop(),
            "member {id}: the peer server did not shut down"
        );
    }

    /// Waits until `members` agree on one leader among them; returns it.
    pub fn wait_leader(&self, members: &[u64]) -> u64 {
        let mut leader = 0;
        wait_until(WAIT, "an agreed leader", || {
            let statuses: Vec<_> = members.iter().map(|&id| self.node(id).status()).collect();
            leader = statuses[0].leader_id;
            leader != 0
                && members.contains(&leader)
                && statuses.iter().all(|s| s.leader_id == leader)
                && statuses.iter().filter(|s| s.is_leader).count() == 1
        });
        leader
    }

    /// Proposes `key=value` through member `via`, retrying while no leader is known.
    pub fn put(&self, via: u64, key: &str, value: &str) {
        let data = format!("{key}={value}").into_bytes();
        wait_until(WAIT, "proposal accepted", || {
            self.node(via).propose(data.clone()).is_ok()
        });
    }

    /// Waits until every member of `members` holds the same state with at least `keys`
    /// keys; returns it.
    pub fn wait_converged(&self, members: &[u64], keys: usize) -> KvState {
        let mut state = KvState::default();
        wait_until(
            WAIT,
            &format!("{members:?} converging on {keys} keys"),
            || {
                let states: Vec<KvState> = members
                    .iter()
                    .map(|&id| self.member(id).machine.state())
                    .collect();
                state = states[0].clone();
                state.map.len() >= keys && states.iter().all(|s| *s == state)
            },
        );
        state
    }

    /// Stops every running member.
    pub fn stop_all(&mut self) {
        for member in &mut self.members {
            if let Some(running) = member.running.take() {
                running.stop();
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn launch(
    id: u64,
    cfg: RaftConfig,
    listener: TcpListener,
    peers: &[(u64, SocketAddr)],
    machine: &KvMachine,
) -> Running {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(format!("member-{id}"))
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let transport = PeerTransport::new(id, CLUSTER_ID, machine.source());
    for &(peer, addr) in peers {
        transport.add_peer(peer, vec![format!("http://{addr}")]);
    }
    let node =
        RaftNode::start(cfg, machine.applier(), Box::new(transport.clone())).expect("start member");
    transport.set_node(node.clone());
    listener.set_nonblocking(true).unwrap();
    let incoming = TcpIncoming::from(tokio::net::TcpListener::from_std(listener).unwrap());
    let (shutdown, stop) = oneshot::channel::<()>();
    let server = rt.spawn(
        tonic::transport::Server::builder()
            .add_service(raft_service(node.clone(), transport.clone()))
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stop.await;
            }),
    );
    Running {
        rt,
        node,
        transport,
        shutdown,
        server,
    }
}

impl Running {
    /// Stops the node, the transport and the server; false if the server did not shut
    /// down gracefully in time. The runtime goes down with everything left in it.
    fn stop(self) -> bool {
        self.node.stop();
        self.transport.stop();
        let _ = self.shutdown.send(());
        let server = self.server;
        let graceful = self
            .rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), server).await })
            .is_ok();
        self.rt.shutdown_timeout(Duration::from_secs(2));
        graceful
    }
}

/// Binds `addr` again after a restart (the old listener is closed; retry briefly).
fn rebind(addr: SocketAddr) -> TcpListener {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpListener::bind(addr) {
            Ok(listener) => return listener,
            Err(err) if Instant::now() < deadline => {
                eprintln!("rebinding {addr}: {err}; retrying");
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(err) => panic!("cannot rebind {addr}: {err}"),
        }
    }
}

/// Logs of the code under test, shown with a failing test's output (`RUST_LOG` picks
/// the levels; default: this crate at info).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("raft_node=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
