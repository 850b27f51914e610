//! `Member::start`: opens the data dir, the MVCC store and the raft node, then serves the
//! gRPC API on every `--listen-client-urls` address until stopped.

use std::fs::File;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use mvcc::{Engine, RocksEngine, Store};
use raft_node::{RaftConfig, RaftNode, Transport};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};

/// Applied batches buffered for watchers; one that falls further behind re-reads history.
const WATCH_FEED_BATCHES: usize = 4096;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;

use crate::applier::KvApplier;
use crate::backend::EtcdBackend;
use crate::config::{parse_url, Config};
use crate::identity::Identity;
use crate::leases;
use crate::wait::{IdGenerator, Wait};

/// A single-member cluster has no peers to talk to.
struct NoPeers;
impl Transport for NoPeers {
    fn send(&self, to: u64, _msg: Vec<u8>) {
        tracing::warn!(to, "dropping raft message: peer transport not configured");
    }
}

/// A running member. Dropping it without [`Member::stop`] leaves durability intact (every
/// acknowledged write is in the fsynced WAL) but skips the graceful drain.
pub struct Member {
    backend: Arc<EtcdBackend>,
    client_addrs: Vec<SocketAddr>,
    shutdown: watch::Sender<bool>,
    servers: Vec<JoinHandle<Result<(), tonic::transport::Error>>>,
    _lock: File,
}

impl Member {
    pub async fn start(cfg: Config) -> anyhow::Result<Member> {
        let initial = cfg.initial_members()?;
        if initial.len() > 1 {
            bail!(
                "multi-member clusters are not supported yet: --initial-cluster names {} members",
                initial.len()
            );
        }
        let member_dir = cfg.data_dir.join("member");
        std::fs::create_dir_all(&member_dir)
            .with_context(|| format!("cannot create data dir {}", member_dir.display()))?;
        restrict_permissions(&cfg.data_dir);
        let lock = File::create(member_dir.join("lock"))?;
        if lock.try_lock().is_err() {
            bail!(
                "data dir {} is in use by another process",
                cfg.data_dir.display()
            );
        }

        let engine: Arc<dyn Engine> = Arc::new(
            RocksEngine::open(&cfg.kv_dir())
                .with_context(|| format!("cannot open backend {}", cfg.kv_dir().display()))?,
        );
        let Identity {
            member_id,
            cluster_id,
            members,
        } = Identity::load_or_bootstrap(&*engine, &cfg)?;
        tracing::info!(name = %cfg.name, member_id = %format!("{member_id:x}"), cluster_id = %format!("{cluster_id:x}"), data_dir = %cfg.data_dir.display(), "starting member");
        let store = Arc::new(Store::open(engine.clone())?);
        let wait = Arc::new(Wait::default());
        let tick = cfg.heartbeat_interval;
        let election_ticks =
            (cfg.election_timeout.as_millis() / tick.as_millis().max(1)).max(2) as usize;
        let lessor = leases::open(engine.clone(), &store, tick, election_ticks as u64)?;
        let (events, _) = broadcast::channel(WATCH_FEED_BATCHES);
        let applier = KvApplier {
            store: store.clone(),
            engine: engine.clone(),
            lessor: lessor.clone(),
            wait: wait.clone(),
            events: events.clone(),
        };
        let raft = RaftNode::start(
            RaftConfig {
                id: member_id,
                peers: members.iter().map(|m| m.id).collect(),
                wal_dir: cfg.wal_dir(),
                wal_sync: cfg.wal_sync,
                tick_interval: tick,
                election_tick: election_ticks,
                heartbeat_tick: 1,
                snapshot_count: cfg.snapshot_count,
                ..RaftConfig::default()
            },
            Box::new(applier),
            Box::new(NoPeers),
        )?;
        wait_for_leader(&raft, Duration::from_secs(10)).await?;
        tracing::info!("published local member to cluster through raft");
        tracing::info!("enabled capabilities for version 3.4");

        let backend = Arc::new(EtcdBackend {
            member_id,
            cluster_id,
            members,
            raft,
            store,
            engine,
            wait,
            lessor,
            events,
            ids: IdGenerator::new(member_id),
            max_request_bytes: cfg.max_request_bytes,
            max_txn_ops: cfg.max_txn_ops,
            request_timeout: Duration::from_secs(5) + 2 * cfg.election_timeout,
        });

        let (shutdown, _) = watch::channel(false);
        leases::spawn_expiry(backend.clone(), cfg.election_timeout, shutdown.subscribe());
        let mut servers = Vec::new();
        let mut client_addrs = Vec::new();
        for url in &cfg.listen_client_urls {
            let u = parse_url(url)?;
            if u.scheme != "http" {
                bail!("{url}: only http:// client URLs are supported so far (TLS arrives with the security issue)");
            }
            let listener = TcpListener::bind(&u.host_port)
                .await
                .with_context(|| format!("cannot listen on {url}"))?;
            let addr = listener.local_addr()?;
            client_addrs.push(addr);
            let routes = grpc_api::router(backend.clone(), cfg.max_request_bytes);
            let mut stop = shutdown.subscribe();
            servers.push(tokio::spawn(
                tonic::transport::Server::builder()
                    .add_routes(routes)
                    .serve_with_incoming_shutdown(
                        TcpIncoming::from(listener).with_nodelay(Some(true)),
                        async move {
                            let _ = stop.wait_for(|s| *s).await;
                        },
                    ),
            ));
            tracing::warn!(
                "serving insecure client requests on {addr}, this is strongly discouraged!"
            );
        }
        tracing::info!("ready to serve client requests");
        Ok(Member {
            backend,
            client_addrs,
            shutdown,
            servers,
            _lock: lock,
        })
    }

    /// The bound client addresses (useful when a URL asked for port 0).
    pub fn client_addrs(&self) -> &[SocketAddr] {
        &self.client_addrs
    }

    pub fn member_id(&self) -> u64 {
        self.backend.member_id
    }

    /// Graceful stop: stop accepting, finish in-flight requests, stop raft after its current
    /// Ready, and flush the store.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        for s in self.servers {
            let _ = tokio::time::timeout(Duration::from_secs(10), s).await;
        }
        self.backend.raft.stop();
        self.backend.engine.flush()?;
        tracing::info!("member stopped");
        Ok(())
    }
}

async fn wait_for_leader(raft: &RaftNode, limit: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    while raft.status().leader_id == 0 {
        if start.elapsed() > limit {
            bail!("no raft leader elected within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

fn restrict_permissions(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)) {
        tracing::warn!(dir = %dir.display(), %e, "cannot set data dir permissions to 0700");
    }
}
