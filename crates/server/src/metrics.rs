//! etcd's Prometheus metrics, with etcd 3.4's names, types and help strings
//! (`etcdserver/metrics.go`, `mvcc/metrics.go`, `etcdserver/api/etcdhttp/metrics.go`).
//!
//! Only metrics this member can fill with real values are registered. Gauges that mirror
//! state (leader, raft indexes, store revisions, database size) are sampled from the member
//! when `/metrics` is scraped ([`Metrics::render`]); counters of events (failed proposals,
//! health checks, gRPC calls) are counted where the event happens. Each [`Metrics`] has its
//! own registry, so several members can run in one process.
//!
//! Submodules: [`disk`] the disk latency histograms (WAL fsync, backend commit and
//! snapshot), [`kv`] the key-value and lease counters, `process` the `process_*` metrics.

mod disk;
mod kv;
#[cfg(target_os = "linux")]
mod process;

use etcd_proto::etcdserverpb::RangeRequest;
use parking_lot::Mutex;
use prometheus::core::Collector;
use prometheus::{
    Encoder, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

pub use disk::DiskMetrics;
pub use kv::KvMetrics;

use crate::backend::{EtcdBackend, SERVER_VERSION};

/// The cluster version this member reports (also in `/version`).
pub const CLUSTER_VERSION: &str = "3.4.0";

/// The member state that scrape-time gauges show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// The leader this member knows of (0: none).
    pub leader_id: u64,
    pub is_leader: bool,
    pub is_learner: bool,
    /// How many times this member learned of a new leader.
    pub leader_changes: u64,
    /// raft's commit index (etcd's `proposals_committed_total` is this gauge).
    pub commit_index: u64,
    /// The applied index (etcd's `proposals_applied_total`).
    pub applied_index: u64,
    /// Bytes the backend occupies on disk.
    pub db_size: u64,
    /// Keys that currently exist (not deleted).
    pub keys: i64,
    pub current_revision: i64,
    /// -1 before the first compaction, as etcd.
    pub compact_revision: i64,
}

/// gRPC call counters with go-grpc-prometheus's names and labels.
pub struct GrpcMetrics {
    started: IntCounterVec,
    handled: IntCounterVec,
}

impl GrpcMetrics {
    /// Counts an RPC that started (`ty`: `unary`, `client_stream`, `server_stream` or
    /// `bidi_stream`).
    pub fn started(&self, service: &str, method: &str, ty: &str) {
        self.started.with_label_values(&[method, service, ty]).inc();
    }

    /// Counts an RPC that ended with gRPC status `code` (its name, e.g. `OK`).
    pub fn handled(&self, service: &str, method: &str, ty: &str, code: &str) {
        self.handled
            .with_label_values(&[code, method, service, ty])
            .inc();
    }
}

/// A member's metrics registry and the metrics it updates.
pub struct Metrics {
    registry: Registry,
    has_leader: IntGauge,
    is_leader: IntGauge,
    is_learner: IntGauge,
    leader_changes: IntCounter,
    proposals_committed: IntGauge,
    proposals_applied: IntGauge,
    /// Proposals raft took that are waiting to be applied.
    pub proposals_pending: IntGauge,
    /// Proposals raft refused or that were not applied within the request timeout.
    pub proposals_failed: IntCounter,
    pub health_success: IntCounter,
    pub health_failures: IntCounter,
    db_total_size: IntGauge,
    debugging_db_total_size: IntGauge,
    db_total_size_in_use: IntGauge,
    keys_total: IntGauge,
    current_revision: IntGauge,
    compact_revision: IntGauge,
    pub grpc: GrpcMetrics,
    /// Key-value and lease operation counters.
    pub kv: KvMetrics,
    /// Disk latency histograms.
    pub disk: DiskMetrics,
    /// Scheduled backups (`--backup-dir`, ours): when the last one succeeded (Unix
    /// seconds, 0 before the first) and how many failed.
    pub backup_last_success: IntGauge,
    pub backup_failures: IntCounter,
    /// Serializes scrapes (the sampled gauges are set, then gathered).
    scrape: Mutex<()>,
}

/// Registers `metric` in `registry` and returns it.
fn register<M: Collector + Clone + 'static>(
    registry: &Registry,
    metric: M,
) -> prometheus::Result<M> {
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

fn gauge(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    register(registry, IntGauge::with_opts(Opts::new(name, help))?)
}

fn counter(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntCounter> {
    register(registry, IntCounter::with_opts(Opts::new(name, help))?)
}

/// A gauge vector whose one series (`label` = `value`) is 1, as etcd's version gauges.
fn info(
    registry: &Registry,
    name: &str,
    help: &str,
    label: &str,
    value: &str,
) -> prometheus::Result<()> {
    let g = register(registry, IntGaugeVec::new(Opts::new(name, help), &[label])?)?;
    g.with_label_values(&[value]).set(1);
    Ok(())
}

impl Metrics {
    /// The metrics of member `member_id` whose backend quota is `quota_backend_bytes`;
    /// `disk` holds the histograms its storage already feeds.
    pub fn new(
        member_id: u64,
        quota_backend_bytes: i64,
        disk: &DiskMetrics,
    ) -> prometheus::Result<Metrics> {
        let r = Registry::new();
        disk.register(&r)?;
        #[cfg(target_os = "linux")]
        r.register(Box::new(process::ProcessMetrics::for_self()))?;
        info(
            &r,
            "etcd_server_version",
            "Which version is running. 1 for 'server_version' label with current version.",
            "server_version",
            SERVER_VERSION,
        )?;
        let cluster_minor = CLUSTER_VERSION.rsplit_once('.').map_or("", |(m, _)| m);
        info(
            &r,
            "etcd_cluster_version",
            "Which version is running. 1 for 'cluster_version' label with current cluster version",
            "cluster_version",
            cluster_minor,
        )?;
        info(
            &r,
            "etcd_server_id",
            "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
            "server_id",
            &format!("{member_id:x}"),
        )?;
        gauge(
            &r,
            "etcd_server_quota_backend_bytes",
            "Current backend storage quota size in bytes.",
        )?
        .set(quota_backend_bytes);
        let db_help = "Total size of the underlying database physically allocated in bytes.";
        let grpc_labels = ["grpc_method", "grpc_service", "grpc_type"];
        let grpc = GrpcMetrics {
            started: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "grpc_server_started_total",
                        "Total number of RPCs started on the server.",
                    ),
                    &grpc_labels,
                )?,
            )?,
            handled: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "grpc_server_handled_total",
                        "Total number of RPCs completed on the server, regardless of success or failure.",
                    ),
                    &["grpc_code", grpc_labels[0], grpc_labels[1], grpc_labels[2]],
                )?,
            )?,
        };
        Ok(Metrics {
            backup_last_success: gauge(
                &r,
                "etcd_backup_last_success_timestamp_seconds",
                "When the last scheduled backup (--backup-dir) was written and verified, in Unix seconds; 0 before the first.",
            )?,
            backup_failures: counter(
                &r,
                "etcd_backup_failures_total",
                "Scheduled backups (--backup-dir) that failed.",
            )?,
            has_leader: gauge(
                &r,
                "etcd_server_has_leader",
                "Whether or not a leader exists. 1 is existence, 0 is not.",
            )?,
            is_leader: gauge(
                &r,
                "etcd_server_is_leader",
                "Whether or not this member is a leader. 1 if is, 0 otherwise.",
            )?,
            is_learner: gauge(
                &r,
                "etcd_server_is_learner",
                "Whether or not this member is a learner. 1 if is, 0 otherwise.",
            )?,
            leader_changes: counter(
                &r,
                "etcd_server_leader_changes_seen_total",
                "The number of leader changes seen.",
            )?,
            proposals_committed: gauge(
                &r,
                "etcd_server_proposals_committed_total",
                "The total number of consensus proposals committed.",
            )?,
            proposals_applied: gauge(
                &r,
                "etcd_server_proposals_applied_total",
                "The total number of consensus proposals applied.",
            )?,
            proposals_pending: gauge(
                &r,
                "etcd_server_proposals_pending",
                "The current number of pending proposals to commit.",
            )?,
            proposals_failed: counter(
                &r,
                "etcd_server_proposals_failed_total",
                "The total number of failed proposals seen.",
            )?,
            health_success: counter(
                &r,
                "etcd_server_health_success",
                "The total number of successful health checks",
            )?,
            health_failures: counter(
                &r,
                "etcd_server_health_failures",
                "The total number of failed health checks",
            )?,
            db_total_size: gauge(&r, "etcd_mvcc_db_total_size_in_bytes", db_help)?,
            debugging_db_total_size: gauge(
                &r,
                "etcd_debugging_mvcc_db_total_size_in_bytes",
                db_help,
            )?,
            db_total_size_in_use: gauge(
                &r,
                "etcd_mvcc_db_total_size_in_use_in_bytes",
                "Total size of the underlying database logically in use in bytes.",
            )?,
            keys_total: gauge(
                &r,
                "etcd_debugging_mvcc_keys_total",
                "Total number of keys.",
            )?,
            current_revision: gauge(
                &r,
                "etcd_debugging_mvcc_current_revision",
                "The current revision of store.",
            )?,
            compact_revision: gauge(
                &r,
                "etcd_debugging_mvcc_compact_revision",
                "The revision of the last compaction in store.",
            )?,
            grpc,
            kv: KvMetrics::new(&r)?,
            disk: disk.clone(),
            registry: r,
            scrape: Mutex::new(()),
        })
    }

    /// Sets the sampled gauges from `s` and renders every metric in Prometheus' text
    /// format (version 0.0.4).
    pub fn render(&self, s: &Sample) -> Result<String, prometheus::Error> {
        let _scrape = self.scrape.lock();
        self.has_leader.set(i64::from(s.leader_id != 0));
        self.is_leader.set(i64::from(s.is_leader));
        self.is_learner.set(i64::from(s.is_learner));
        let seen = self.leader_changes.get();
        if s.leader_changes > seen {
            self.leader_changes.inc_by(s.leader_changes - seen);
        }
        self.proposals_committed.set(clamp(s.commit_index));
        self.proposals_applied.set(clamp(s.applied_index));
        self.db_total_size.set(clamp(s.db_size));
        self.debugging_db_total_size.set(clamp(s.db_size));
        // RocksDB keeps no free pages inside its files: all of it is in use.
        self.db_total_size_in_use.set(clamp(s.db_size));
        self.keys_total.set(s.keys);
        self.current_revision.set(s.current_revision);
        self.compact_revision.set(s.compact_revision);
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl EtcdBackend {
    /// The member's current state, as the scrape-time gauges show it.
    pub fn metrics_sample(&self) -> Sample {
        let st = self.raft.status();
        Sample {
            leader_id: st.leader_id,
            is_leader: st.is_leader,
            is_learner: self.is_learner(),
            leader_changes: self.raft.leader().changes,
            commit_index: st.commit_index,
            applied_index: st.applied_index,
            db_size: self.engine.size_bytes(),
            keys: self.live_keys(),
            current_revision: self.store.current_revision(),
            compact_revision: self.store.compact_revision(),
        }
    }

    /// How many keys exist now (etcd's `keys_total` gauge), counted in the index.
    fn live_keys(&self) -> i64 {
        let all = RangeRequest {
            key: vec![0],
            range_end: vec![0],
            count_only: true,
            ..Default::default()
        };
        self.store.range(&all).map_or(0, |r| r.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_etcd_names_and_sampled_values() {
        let disk = DiskMetrics::new().unwrap();
        let m = Metrics::new(0xbdae9bbc11dd390d, 2 * 1024 * 1024 * 1024, &disk).unwrap();
        let s = Sample {
            leader_id: 7,
            is_leader: true,
            leader_changes: 2,
            commit_index: 9,
            applied_index: 8,
            db_size: 4096,
            keys: 2,
            current_revision: 3,
            compact_revision: -1,
            ..Sample::default()
        };
        m.proposals_failed.inc();
        let text = m.render(&s).unwrap();
        for line in [
            "# TYPE etcd_server_has_leader gauge",
            "etcd_server_has_leader 1",
            "etcd_server_is_leader 1",
            "etcd_server_is_learner 0",
            "# TYPE etcd_server_leader_changes_seen_total counter",
            "etcd_server_leader_changes_seen_total 2",
            "# TYPE etcd_server_proposals_committed_total gauge",
            "etcd_server_proposals_committed_total 9",
            "etcd_server_proposals_applied_total 8",
            "etcd_server_proposals_pending 0",
            "etcd_server_proposals_failed_total 1",
            "etcd_mvcc_db_total_size_in_bytes 4096",
            "etcd_debugging_mvcc_db_total_size_in_bytes 4096",
            "etcd_mvcc_db_total_size_in_use_in_bytes 4096",
            "etcd_debugging_mvcc_keys_total 2",
            "etcd_mvcc_put_total 0",
            "# TYPE etcd_disk_wal_fsync_duration_seconds histogram",
            "# TYPE process_resident_memory_bytes gauge",
            "etcd_debugging_mvcc_current_revision 3",
            "etcd_debugging_mvcc_compact_revision -1",
            "etcd_server_quota_backend_bytes 2147483648",
            "etcd_server_version{server_version=\"3.4.23\"} 1",
            "etcd_cluster_version{cluster_version=\"3.4\"} 1",
            "etcd_server_id{server_id=\"bdae9bbc11dd390d\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // A counter never goes back, and a second scrape does not count twice.
        let again = m
            .render(&Sample {
                leader_changes: 1,
                ..s
            })
            .unwrap();
        assert!(again.contains("etcd_server_leader_changes_seen_total 2\n"));
    }
}
