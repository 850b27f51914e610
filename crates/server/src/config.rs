//! A member's configuration: etcd's flags as plain data, with etcd's defaults.
//! Parsing of command-line flags and `ETCD_*` env vars lives in `bins/etcd-server`.

use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

use crate::tls::TlsInfo;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("invalid URL {0:?}: {1}")]
    BadUrl(String, String),
    /// etcd's message (`--initial-cluster` is the second field, for context in logs).
    #[error("couldn't find local name {0:?} in the initial cluster configuration")]
    NotInCluster(String, String),
    #[error("invalid --initial-cluster entry {0:?}: expected name=peer-url")]
    BadClusterEntry(String),
    #[error("{0}")]
    Unsupported(String),
}

/// etcd's configuration surface (the subset this member acts on; see `bins/etcd-server` for
/// every accepted flag).
#[derive(Debug, Clone)]
pub struct Config {
    pub name: String,
    pub data_dir: PathBuf,
    /// Dedicated WAL directory (`--wal-dir`); default `<data-dir>/member/wal`.
    pub wal_dir: Option<PathBuf>,
    pub listen_client_urls: Vec<String>,
    pub advertise_client_urls: Vec<String>,
    /// `--listen-metrics-urls`: extra listeners serving only `/metrics` and `/health`
    /// (`https://` ones with the client TLS config).
    pub listen_metrics_urls: Vec<String>,
    pub listen_peer_urls: Vec<String>,
    pub initial_advertise_peer_urls: Vec<String>,
    /// `name=url,name=url`.
    pub initial_cluster: String,
    pub initial_cluster_token: String,
    pub initial_cluster_state: String,
    pub snapshot_count: u64,
    pub heartbeat_interval: Duration,
    pub election_timeout: Duration,
    pub max_request_bytes: usize,
    pub max_txn_ops: usize,
    /// `--quota-backend-bytes`: 0 is etcd's default (2 GiB), negative disables the quota.
    pub quota_backend_bytes: i64,
    /// fdatasync the WAL before acknowledging (always true in production; tests may turn it off).
    pub wal_sync: bool,
    /// Refuse membership changes that could lose quorum (`--strict-reconfig-check`).
    pub strict_reconfig_check: bool,
    /// `--experimental-watch-progress-notify-interval` (10 m).
    pub watch_progress_notify_interval: Duration,
    /// `--auth-token` and `--auth-token-ttl`.
    pub auth_token: auth::TokenConfig,
    /// `--bcrypt-cost` (out-of-range values fall back to 10, as etcd).
    pub bcrypt_cost: u32,
    /// TLS of the client listeners (`--cert-file`, `--key-file`, ...).
    pub client_tls: TlsInfo,
    /// TLS of the peer listeners and of connections to peers (`--peer-cert-file`, ...).
    pub peer_tls: TlsInfo,
    /// `--auto-compaction-mode` and `--auto-compaction-retention`; `None` (retention 0,
    /// the default) is off.
    pub auto_compaction: Option<AutoCompaction>,
    /// `--experimental-initial-corrupt-check`: compare hashes with the peers before serving.
    pub initial_corrupt_check: bool,
    /// `--experimental-corrupt-check-time`: how often the leader compares hashes with the
    /// followers; `None` (0s, the default) never.
    pub corrupt_check_interval: Option<Duration>,
    /// `--backup-dir`, `--backup-interval`, `--backup-keep` (ours): scheduled backups.
    pub backup: Option<crate::backup::BackupPolicy>,
}

/// What the leader compacts automatically ([`crate::compactor`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoCompaction {
    /// `periodic`: keep about this much history.
    Periodic(Duration),
    /// `revision`: keep this many revisions (checked every 5 minutes).
    Revision(i64),
}

impl Config {
    /// etcd's defaults for a member called `name` (data dir `<name>.etcd`).
    pub fn with_name(name: &str) -> Config {
        Config {
            name: name.to_string(),
            data_dir: PathBuf::from(format!("{name}.etcd")),
            wal_dir: None,
            listen_client_urls: vec!["http://localhost:2379".into()],
            advertise_client_urls: vec!["http://localhost:2379".into()],
            listen_metrics_urls: Vec::new(),
            listen_peer_urls: vec!["http://localhost:2380".into()],
            initial_advertise_peer_urls: vec!["http://localhost:2380".into()],
            initial_cluster: format!("{name}=http://localhost:2380"),
            initial_cluster_token: "etcd-cluster".into(),
            initial_cluster_state: "new".into(),
            snapshot_count: 100_000,
            heartbeat_interval: Duration::from_millis(100),
            election_timeout: Duration::from_millis(1000),
            max_request_bytes: 1536 * 1024,
            max_txn_ops: 128,
            quota_backend_bytes: 2 * 1024 * 1024 * 1024,
            wal_sync: true,
            strict_reconfig_check: true,
            watch_progress_notify_interval: Duration::from_secs(600),
            auth_token: auth::TokenConfig::default(),
            bcrypt_cost: auth::password::DEFAULT_COST,
            client_tls: TlsInfo::default(),
            peer_tls: TlsInfo::default(),
            auto_compaction: None,
            initial_corrupt_check: false,
            corrupt_check_interval: None,
            backup: None,
        }
    }

    pub fn wal_dir(&self) -> PathBuf {
        self.wal_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("member").join("wal"))
    }

    pub fn kv_dir(&self) -> PathBuf {
        self.data_dir.join("member").join("kv")
    }

    /// `--initial-cluster` as (name, peer urls) pairs, names in order of first appearance.
    pub fn initial_members(&self) -> Result<Vec<(String, Vec<String>)>, ConfigError> {
        let mut members: Vec<(String, Vec<String>)> = Vec::new();
        for entry in self.initial_cluster.split(',').filter(|e| !e.is_empty()) {
            let (name, url) = entry
                .split_once('=')
                .ok_or_else(|| ConfigError::BadClusterEntry(entry.to_string()))?;
            parse_url(url)?;
            match members.iter_mut().find(|(n, _)| n == name) {
                Some((_, urls)) => urls.push(url.to_string()),
                None => members.push((name.to_string(), vec![url.to_string()])),
            }
        }
        if !members.iter().any(|(n, _)| *n == self.name) {
            return Err(ConfigError::NotInCluster(
                self.name.clone(),
                self.initial_cluster.clone(),
            ));
        }
        Ok(members)
    }
}

/// A listen/advertise URL split into scheme and `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub scheme: String,
    pub host_port: String,
}

/// Parses `http://host:port` / `https://host:port` (etcd also accepts a trailing `/`).
pub fn parse_url(s: &str) -> Result<Url, ConfigError> {
    let bad = |why: &str| ConfigError::BadUrl(s.to_string(), why.to_string());
    let (scheme, rest) = s.split_once("://").ok_or_else(|| bad("missing scheme"))?;
    if !matches!(scheme, "http" | "https" | "unix" | "unixs") {
        return Err(bad("URL scheme must be http, https, unix, or unixs"));
    }
    let host_port = rest.trim_end_matches('/');
    if host_port.is_empty() {
        return Err(bad("missing host"));
    }
    Ok(Url {
        scheme: scheme.to_string(),
        host_port: host_port.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_etcd() {
        let c = Config::with_name("default");
        assert_eq!(c.data_dir, PathBuf::from("default.etcd"));
        assert_eq!(c.max_request_bytes, 1572864);
        assert_eq!(c.wal_dir(), PathBuf::from("default.etcd/member/wal"));
        assert_eq!(c.initial_members().unwrap().len(), 1);
    }

    #[test]
    fn initial_cluster_parsing() {
        let mut c = Config::with_name("b");
        c.initial_cluster = "a=http://h1:2380,b=http://h2:2380,b=http://h3:2380".into();
        let m = c.initial_members().unwrap();
        assert_eq!(m[1].1, vec!["http://h2:2380", "http://h3:2380"]);
        c.name = "z".into();
        assert!(matches!(
            c.initial_members(),
            Err(ConfigError::NotInCluster(..))
        ));
        c.initial_cluster = "nonsense".into();
        assert!(c.initial_members().is_err());
        assert!(parse_url("ftp://x:1").is_err());
        assert_eq!(
            parse_url("http://127.0.0.1:2379/").unwrap().host_port,
            "127.0.0.1:2379"
        );
    }
}
