//! `etcd-server`: parses etcd's flags and `ETCD_*` env vars into a [`server::Config`], starts
//! the member, and stops it gracefully on SIGTERM/SIGINT.

mod flags;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::ArgMatches;
use server::tls::TlsInfo;
use server::{Config, Member};

fn urls(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect()
}

fn number<T: std::str::FromStr>(m: &ArgMatches, name: &str) -> anyhow::Result<T> {
    let v = flags::value(m, name);
    v.parse()
        .map_err(|_| anyhow::anyhow!("invalid value {v:?} for flag --{name}"))
}

fn config_from(m: &ArgMatches) -> anyhow::Result<Config> {
    let name = flags::value(m, "name");
    let mut cfg = Config::with_name(name);
    let data_dir = flags::value(m, "data-dir");
    if !data_dir.is_empty() {
        cfg.data_dir = PathBuf::from(data_dir);
    }
    let wal_dir = flags::value(m, "wal-dir");
    cfg.wal_dir = (!wal_dir.is_empty()).then(|| PathBuf::from(wal_dir));
    cfg.listen_client_urls = urls(flags::value(m, "listen-client-urls"));
    cfg.advertise_client_urls = urls(flags::value(m, "advertise-client-urls"));
    cfg.listen_peer_urls = urls(flags::value(m, "listen-peer-urls"));
    cfg.initial_advertise_peer_urls = urls(flags::value(m, "initial-advertise-peer-urls"));
    cfg.initial_cluster = match flags::value(m, "initial-cluster") {
        "" => cfg
            .initial_advertise_peer_urls
            .iter()
            .map(|u| format!("{name}={u}"))
            .collect::<Vec<_>>()
            .join(","),
        ic => ic.to_string(),
    };
    cfg.initial_cluster_token = flags::value(m, "initial-cluster-token").to_string();
    cfg.initial_cluster_state = flags::value(m, "initial-cluster-state").to_string();
    if !matches!(cfg.initial_cluster_state.as_str(), "new" | "existing") {
        bail!(
            "invalid value {:?} for flag --initial-cluster-state: must be new or existing",
            cfg.initial_cluster_state
        );
    }
    cfg.snapshot_count = number(m, "snapshot-count")?;
    cfg.heartbeat_interval = Duration::from_millis(number(m, "heartbeat-interval")?);
    cfg.election_timeout = Duration::from_millis(number(m, "election-timeout")?);
    if cfg.election_timeout < cfg.heartbeat_interval * 5 {
        bail!(
            "--election-timeout[{}ms] should be at least as 5 times as --heartbeat-interval[{}ms]",
            cfg.election_timeout.as_millis(),
            cfg.heartbeat_interval.as_millis()
        );
    }
    cfg.max_txn_ops = number(m, "max-txn-ops")?;
    cfg.max_request_bytes = number(m, "max-request-bytes")?;
    let quota: i64 = number(m, "quota-backend-bytes")?;
    if quota > 0 {
        cfg.quota_backend_bytes = quota;
    }
    cfg.wal_sync = !flags::is_true(m, "unsafe-no-fsync");
    cfg.strict_reconfig_check = !flags::is_false(m, "strict-reconfig-check");
    let interval = flags::value(m, "experimental-watch-progress-notify-interval");
    cfg.watch_progress_notify_interval = goduration::parse_std(interval).map_err(|e| {
        anyhow::anyhow!("invalid value {interval:?} for flag --experimental-watch-progress-notify-interval: {e}")
    })?;
    let ttl: u64 = number(m, "auth-token-ttl")?;
    cfg.auth_token =
        auth::TokenConfig::parse(flags::value(m, "auth-token"), Duration::from_secs(ttl)).map_err(
            |e| {
                anyhow::anyhow!(
                    "failed to create auth store: {e} (--auth-token {:?})",
                    flags::value(m, "auth-token")
                )
            },
        )?;
    cfg.bcrypt_cost = number(m, "bcrypt-cost")?;
    cfg.client_tls = tls_info(m, "");
    cfg.peer_tls = tls_info(m, "peer-");
    Ok(cfg)
}

/// One side's TLS flags (`prefix` is `""` for clients, `"peer-"` for peers).
fn tls_info(m: &ArgMatches, prefix: &str) -> TlsInfo {
    let path = |flag: &str| {
        let v = flags::value(m, &format!("{prefix}{flag}"));
        (!v.is_empty()).then(|| PathBuf::from(v))
    };
    TlsInfo {
        cert_file: path("cert-file"),
        key_file: path("key-file"),
        trusted_ca_file: path("trusted-ca-file"),
        client_cert_auth: flags::is_true(m, &format!("{prefix}client-cert-auth")),
        auto_tls: flags::is_true(m, &format!("{prefix}auto-tls")),
    }
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ETCD_RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = term.recv() => tracing::info!("received terminated signal, shutting down..."),
        _ = tokio::signal::ctrl_c() => tracing::info!("received interrupt signal, shutting down..."),
    }
}

fn main() -> anyhow::Result<()> {
    let m = flags::command().get_matches_from(flags::normalize_args(std::env::args_os()));
    if m.get_flag("version") {
        println!("etcd Version: {}", server::backend::SERVER_VERSION);
        println!("Git SHA: {}", env!("CARGO_PKG_VERSION"));
        println!("Go Version: not applicable (Rust)");
        println!(
            "Go OS/Arch: {}/{}",
            std::env::consts::OS,
            std::env::consts::ARCH
        );
        return Ok(());
    }
    init_logging(flags::value(&m, "log-level"));
    for f in flags::set_flags(&m, flags::INERT_FLAGS) {
        tracing::warn!(
            "flag --{f} is accepted for compatibility but has no effect in this version"
        );
    }
    let cfg = config_from(&m)?;
    if !cfg.wal_sync {
        tracing::warn!(
            "--unsafe-no-fsync: the WAL is not fsynced; a crash may lose acknowledged writes"
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let member = Member::start(cfg).await?;
        tokio::select! {
            _ = shutdown_signal() => {}
            _ = member.removed() => tracing::warn!("the member has been permanently removed from the cluster; shutting down"),
        }
        member.stop().await
    })
}
