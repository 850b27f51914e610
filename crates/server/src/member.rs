//! `Member::start`: opens the data dir, the MVCC store and the raft node, serves the peer
//! protocol on every `--listen-peer-urls` address and, once the member is part of a cluster
//! with a leader, the gRPC API on every `--listen-client-urls` address until stopped.
//! `https://` URLs are served over TLS ([`crate::tls`]), `http://` ones in plaintext.
//! Client listeners also answer etcd's plain HTTP endpoints ([`crate::http`]), as do the
//! `--listen-metrics-urls` listeners (`/metrics` and `/health` only).

use std::fs::File;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use auth::AuthStore;
use mvcc::{Engine, RocksEngine, Store};
use parking_lot::RwLock;
use raft_node::{PeerTls, PeerTransport, RaftConfig, RaftNode, SnapshotSource};
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};

/// Applied batches buffered for watchers; one that falls further behind re-reads history.
const WATCH_FEED_BATCHES: usize = 4096;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;

use etcd_proto::etcdserverpb::{AlarmType, InternalRaftRequest, MemberAttributesRequest};
use grpc_api::EtcdError;

use crate::alarms::Alarms;
use crate::applier::KvApplier;
use crate::backend::EtcdBackend;
use crate::cluster::Cluster;
use crate::compactor;
use crate::config::{parse_url, Config};
use crate::corrupt;
use crate::identity::Identity;
use crate::leases;
use crate::metrics::{DiskMetrics, Metrics};
use crate::peer;
use crate::quota::Quota;
use crate::tls::{self, Side};
use crate::wait::{IdGenerator, Wait};

/// A running member. Dropping it without [`Member::stop`] leaves durability intact (every
/// acknowledged write is in the fsynced WAL) but skips the graceful drain.
pub struct Member {
    backend: Arc<EtcdBackend>,
    client_addrs: Vec<SocketAddr>,
    client_urls: Vec<String>,
    shutdown: watch::Sender<bool>,
    client_servers: Vec<Server>,
    peer_servers: Vec<Server>,
    _lock: File,
}

impl Member {
    /// Starts a member: opens (or bootstraps) its data dir, starts raft and the peer
    /// listeners, waits for a leader, publishes its name and client URLs through raft,
    /// then serves clients.
    pub async fn start(cfg: Config) -> anyhow::Result<Member> {
        let initial = cfg.initial_members()?;
        let client_tls =
            tls::server_config(&cfg.client_tls, Side::Client, &cfg.listen_client_urls)?;
        let peer_server_tls = tls::server_config(&cfg.peer_tls, Side::Peer, &cfg.listen_peer_urls)?;
        let peer_tls = tls::peer_client(&cfg.peer_tls)?;
        if peer_server_tls.is_some() && peer_tls.is_none() && initial.len() > 1 {
            tracing::warn!("https peer URLs without --peer-cert-file, --peer-key-file and --peer-trusted-ca-file (--peer-auto-tls): connections to other members will fail");
        }
        refuse_etcd_data_dir(&cfg)?;
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

        let disk = DiskMetrics::new().context("cannot create the disk metrics")?;
        let engine = disk
            .timed_engine(Arc::new(RocksEngine::open(&cfg.kv_dir()).with_context(
                || format!("cannot open backend {}", cfg.kv_dir().display()),
            )?));
        let identity = load_identity(&*engine, &cfg, &initial, peer_tls.as_ref()).await?;
        let (member_id, cluster_id) = (identity.member_id, identity.cluster_id);
        tracing::info!(name = %cfg.name, member_id = %format!("{member_id:x}"), cluster_id = %format!("{cluster_id:x}"), data_dir = %cfg.data_dir.display(), "starting member");
        let store = Arc::new(Store::open(engine.clone())?);
        let wait = Arc::new(Wait::default());
        let tick = cfg.heartbeat_interval;
        let election_ticks =
            (cfg.election_timeout.as_millis() / tick.as_millis().max(1)).max(2) as usize;
        let lessor_config = leases::config(tick, election_ticks as u64);
        let lessor = leases::open(engine.clone(), &store, lessor_config)?;
        let auth = Arc::new(RwLock::new(
            AuthStore::load(&*engine, &cfg.auth_token).context("cannot load the auth store")?,
        ));
        let alarms = Arc::new(RwLock::new(
            Alarms::load(&*engine).context("cannot load the alarms")?,
        ));
        for a in alarms.read().get(AlarmType::None) {
            tracing::warn!(alarm = %crate::alarms::describe(&a), "alarm active");
        }
        let (events, _) = broadcast::channel(WATCH_FEED_BATCHES);
        let transport = PeerTransport::new(
            member_id,
            cluster_id,
            Arc::new(StoreSnapshots(store.clone(), disk.clone())),
        );
        if let Some(peer_tls) = peer_tls {
            transport.set_tls(peer_tls);
        }
        let cluster = Arc::new(Cluster::load(
            engine.clone(),
            cluster_id,
            member_id,
            Arc::new(transport.clone()),
        )?);
        cluster.set_attributes(
            member_id,
            cfg.name.clone(),
            cfg.advertise_client_urls.clone(),
        );
        // A member that joined a running cluster learns the log from the leader; the
        // founding members write the initial membership as the first entries.
        let raft_peers = if identity.joined {
            vec![]
        } else {
            identity.members.iter().map(|m| m.id).collect()
        };
        let metrics = Arc::new(
            Metrics::new(member_id, cfg.quota_backend_bytes, &disk)
                .context("cannot register the metrics")?,
        );
        let applier = KvApplier {
            metrics: metrics.clone(),
            store: store.clone(),
            engine: engine.clone(),
            lessor: lessor.clone(),
            auth: auth.clone(),
            alarms: alarms.clone(),
            wait: wait.clone(),
            events: events.clone(),
            cluster: cluster.clone(),
            identity,
            lessor_config,
        };
        let raft = RaftNode::start(
            RaftConfig {
                id: member_id,
                peers: raft_peers,
                wal_dir: cfg.wal_dir(),
                wal_sync: cfg.wal_sync,
                tick_interval: tick,
                election_tick: election_ticks,
                heartbeat_tick: 1,
                snapshot_count: cfg.snapshot_count,
                wal_sync_observer: Some(disk.wal_sync_observer()),
                ..RaftConfig::default()
            },
            Box::new(applier),
            Box::new(transport.clone()),
        )?;
        transport.set_node(raft.clone());

        let backend = Arc::new(EtcdBackend {
            member_id,
            cluster_id,
            cluster,
            peers: transport.clone(),
            raft: raft.clone(),
            store,
            engine,
            wait,
            lessor,
            auth,
            alarms,
            quota: Quota::from_flag(cfg.quota_backend_bytes),
            bcrypt_cost: cfg.bcrypt_cost,
            client_cert_auth: cfg.client_tls.client_cert_auth,
            events,
            ids: IdGenerator::new(member_id),
            max_request_bytes: cfg.max_request_bytes,
            max_txn_ops: cfg.max_txn_ops,
            strict_reconfig_check: cfg.strict_reconfig_check,
            watch_progress_notify_interval: cfg.watch_progress_notify_interval,
            request_timeout: Duration::from_secs(5) + 2 * cfg.election_timeout,
            election_timeout: cfg.election_timeout,
            snap_dir: member_dir.join("snap"),
            last_backup: Default::default(),
            metrics,
        });

        let (shutdown, _) = watch::channel(false);
        let mut peer_servers = Vec::new();
        for url in &cfg.listen_peer_urls {
            let (listener, tls) = bind(url, peer_server_tls.as_ref()).await?;
            tracing::info!(
                tls = tls.is_some(),
                "listening for peers on {}",
                listener.local_addr()?
            );
            let routes = tonic::service::Routes::new(raft_node::raft_service(
                raft.clone(),
                transport.clone(),
            ))
            .add_service(peer::cluster_service(backend.clone()));
            peer_servers.push(serve(routes, listener, tls, false, shutdown.subscribe()));
        }
        wait_for_leader(&raft, &transport).await?;
        publish(&backend, &cfg).await?;
        if cfg.initial_corrupt_check {
            corrupt::initial_check(&backend).await?;
        }
        tracing::info!("enabled capabilities for version 3.4");

        leases::spawn_expiry(backend.clone(), cfg.election_timeout, shutdown.subscribe());
        if let Some(interval) = cfg.corrupt_check_interval {
            corrupt::spawn_monitor(backend.clone(), interval, shutdown.subscribe());
        }
        if let Some(policy) = cfg.backup.clone() {
            crate::backup::spawn(backend.clone(), policy, shutdown.subscribe());
        }
        if let Some(policy) = cfg.auto_compaction {
            tracing::info!(?policy, "auto-compaction enabled");
            compactor::spawn(backend.clone(), policy, shutdown.subscribe());
        }
        let mut client_addrs = Vec::new();
        let mut client_urls = Vec::new();
        let mut client_servers = Vec::new();
        for url in &cfg.listen_client_urls {
            let (listener, tls) = bind(url, client_tls.as_ref()).await?;
            let addr = listener.local_addr()?;
            client_addrs.push(addr);
            if tls.is_some() {
                client_urls.push(format!("https://{addr}"));
                tracing::info!("serving client requests over TLS on {addr}");
            } else {
                client_urls.push(format!("http://{addr}"));
                tracing::warn!(
                    "serving insecure client requests on {addr}, this is strongly discouraged!"
                );
            }
            let grpc = grpc_api::router(backend.clone(), cfg.max_request_bytes);
            let routes = crate::http::client_routes(grpc, backend.clone());
            let tls = tls.map(|t| with_http1_alpn(&t));
            client_servers.push(serve(routes, listener, tls, true, shutdown.subscribe()));
        }
        for url in &cfg.listen_metrics_urls {
            let (listener, tls) = bind(url, client_tls.as_ref()).await?;
            tracing::info!(
                tls = tls.is_some(),
                "serving /metrics and /health on {}",
                listener.local_addr()?
            );
            let routes = crate::http::metrics_routes(backend.clone());
            let tls = tls.map(|t| with_http1_alpn(&t));
            client_servers.push(serve(routes, listener, tls, true, shutdown.subscribe()));
        }
        tracing::info!("ready to serve client requests");
        Ok(Member {
            backend,
            client_addrs,
            client_urls,
            shutdown,
            client_servers,
            peer_servers,
            _lock: lock,
        })
    }

    /// Resolves once this member has been removed from the cluster (it should then stop:
    /// etcd exits with "the member has been permanently removed from the cluster").
    /// It learns it either by applying its own removal or from a peer that refuses it as
    /// removed (it missed the commit of its removal).
    pub async fn removed(&self) {
        tokio::select! {
            _ = turns_true(self.backend.cluster.subscribe_removed()) => {}
            _ = turns_true(self.backend.peers.removed()) => {}
        }
    }

    /// The bound client addresses (useful when a URL asked for port 0).
    pub fn client_addrs(&self) -> &[SocketAddr] {
        &self.client_addrs
    }

    /// The client URLs this member serves on (`http://` or `https://` + each bound
    /// address).
    pub fn client_urls(&self) -> Vec<String> {
        self.client_urls.clone()
    }

    pub fn member_id(&self) -> u64 {
        self.backend.member_id
    }

    /// Graceful stop: stop accepting, finish in-flight client requests (peers still
    /// reachable), then end the peer streams, stop raft after its current Ready, and flush
    /// the store.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        for s in self.client_servers {
            let _ = tokio::time::timeout(Duration::from_secs(10), s).await;
        }
        // Peer streams stay open until the transport ends them.
        self.backend.peers.stop();
        self.backend.raft.stop();
        for s in self.peer_servers {
            let _ = tokio::time::timeout(Duration::from_secs(5), s).await;
        }
        self.backend.engine.flush()?;
        tracing::info!("member stopped");
        Ok(())
    }
}

/// Resolves when `rx` turns true; never if its sender goes away first.
async fn turns_true(mut rx: watch::Receiver<bool>) {
    if rx.wait_for(|v| *v).await.is_err() {
        std::future::pending::<()>().await;
    }
}

type Server = JoinHandle<Result<(), tonic::transport::Error>>;

/// Waits for a leader; a member of a cluster whose other members are not up yet waits as
/// long as it takes (as etcd does), saying so now and then.
async fn wait_for_leader(raft: &RaftNode, peers: &PeerTransport) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut next_log = Duration::from_secs(5);
    let removed = peers.removed();
    while raft.status().leader_id == 0 {
        if *removed.borrow() {
            raft.stop();
            peers.stop();
            bail!("the member has been permanently removed from the cluster");
        }
        if start.elapsed() > next_log {
            tracing::warn!(waited = ?start.elapsed(), "no raft leader yet: waiting for the other members");
            next_log += Duration::from_secs(5);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// Publishes this member's name and client URLs through raft (etcd's `publish`), retrying
/// until it is applied.
async fn publish(backend: &EtcdBackend, cfg: &Config) -> anyhow::Result<()> {
    let req = InternalRaftRequest {
        member_attributes: Some(MemberAttributesRequest {
            member_id: backend.member_id,
            name: cfg.name.clone(),
            client_urls: cfg.advertise_client_urls.clone(),
        }),
        ..Default::default()
    };
    loop {
        match backend.propose(req.clone()).await {
            Ok(_) => break,
            Err(EtcdError::Stopped) => bail!("raft stopped before the member was published"),
            Err(e) => tracing::warn!(error = %e, "publishing the local member failed; retrying"),
        }
    }
    tracing::info!("published local member to cluster through raft");
    Ok(())
}

/// Loads this member's identity, or bootstraps it: from the flags for a new cluster, from
/// a running member for `--initial-cluster-state existing`.
/// A data dir written by etcd (its bbolt backend `member/snap/db`, e.g. from the real
/// etcdctl's `snapshot restore`) and never by us: refuse it before writing anything.
fn refuse_etcd_data_dir(cfg: &Config) -> anyhow::Result<()> {
    let bbolt = cfg.data_dir.join("member").join("snap").join("db");
    if bbolt.exists() && !cfg.kv_dir().exists() {
        bail!(
            "data dir {} holds an etcd backend ({}), which this server cannot read: restore the snapshot with this server's etcdctl (`etcdctl snapshot restore`) instead",
            cfg.data_dir.display(),
            bbolt.display()
        );
    }
    Ok(())
}

async fn load_identity(
    engine: &dyn Engine,
    cfg: &Config,
    initial: &[(String, Vec<String>)],
    peer_tls: Option<&PeerTls>,
) -> anyhow::Result<Identity> {
    if let Some(id) = Identity::load(engine)? {
        tracing::info!("data dir already initialized: ignoring --initial-cluster flags");
        return Ok(id);
    }
    if cfg.initial_cluster_state != "existing" {
        return Identity::bootstrap(engine, cfg, None);
    }
    let others: Vec<String> = initial
        .iter()
        .filter(|(name, _)| *name != cfg.name)
        .flat_map(|(_, urls)| urls.clone())
        .collect();
    let remote = peer::fetch_cluster(&others, peer_tls, Duration::from_secs(10)).await?;
    Identity::bootstrap(engine, cfg, Some(remote))
}

/// Listens on `url`; an `https://` URL comes with its TLS config (`tls`, which
/// [`tls::server_config`] made sure exists when the URLs ask for it).
async fn bind(
    url: &str,
    tls: Option<&Arc<ServerConfig>>,
) -> anyhow::Result<(TcpListener, Option<Arc<ServerConfig>>)> {
    let u = parse_url(url)?;
    let tls = match u.scheme.as_str() {
        "http" => None,
        "https" => Some(
            tls.cloned()
                .with_context(|| format!("{url}: no TLS certificate configured"))?,
        ),
        _ => bail!("{url}: only http:// and https:// URLs are supported"),
    };
    let listener = TcpListener::bind(&u.host_port)
        .await
        .with_context(|| format!("cannot listen on {url}"))?;
    Ok((listener, tls))
}

/// `tls` also offering HTTP/1.1 in ALPN, for listeners with plain HTTP endpoints.
fn with_http1_alpn(tls: &Arc<ServerConfig>) -> Arc<ServerConfig> {
    let mut config = ServerConfig::clone(tls);
    if !config.alpn_protocols.iter().any(|p| p == b"http/1.1") {
        config.alpn_protocols.push(b"http/1.1".to_vec());
    }
    Arc::new(config)
}

/// Serves `routes` on `listener` (over TLS with `tls`; also over HTTP/1.1 with `http1`)
/// until `stop` turns true.
fn serve(
    routes: tonic::service::Routes,
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    http1: bool,
    mut stop: watch::Receiver<bool>,
) -> Server {
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    let server = tonic::transport::Server::builder()
        .accept_http1(http1)
        .add_routes(routes);
    match tls {
        None => tokio::spawn(server.serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            stopped,
        )),
        Some(tls) => {
            tokio::spawn(server.serve_with_incoming_shutdown(tls::incoming(listener, tls), stopped))
        }
    }
}

/// Raft snapshots carry the whole backend.
struct StoreSnapshots(Arc<Store>, DiskMetrics);

impl SnapshotSource for StoreSnapshots {
    fn snapshot_data(&self, _index: u64) -> Result<Vec<u8>, String> {
        let start = Instant::now();
        let data = self.0.snapshot_data().map_err(|e| e.to_string());
        self.1.observe_snapshot(start.elapsed());
        data
    }
}

fn restrict_permissions(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)) {
        tracing::warn!(dir = %dir.display(), %e, "cannot set data dir permissions to 0700");
    }
}
