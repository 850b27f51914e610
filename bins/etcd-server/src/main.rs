//! `etcd-server`: parses etcd's flags and `ETCD_*` env vars (or, as etcd, only the YAML file
//! given by `--config-file`) into a [`server::Config`], sets up logging as etcd's logging
//! flags say ([`logging`]), starts the member, tells systemd it is ready (`Type=notify`),
//! and stops it gracefully on SIGTERM/SIGINT.

mod config_file;
mod flags;
mod logging;
mod sd_notify;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::ArgMatches;
use server::tls::TlsInfo;
use server::{AutoCompaction, BackupPolicy, Config, Member};

/// mimalloc instead of glibc's malloc (see Cargo.toml): server CPU per put fell from
/// 116 to 65-85 us in `benchmark put` with 100 connections (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// etcd's check of `--auto-compaction-mode` and its `parseCompactionRetention`: an integer
/// retention is hours (periodic) or revisions (revision), anything else a Go duration;
/// `None` when the retention is 0. `mode` is empty when a config file does not set it: etcd
/// then ignores an integer retention and refuses a duration.
/// A Go duration flag (`10m`, `1h30m`, ...).
fn duration(m: &ArgMatches, name: &str) -> anyhow::Result<Duration> {
    let v = flags::value(m, name);
    goduration::parse_std(v)
        .map_err(|e| anyhow::anyhow!("invalid value {v:?} for flag --{name}: {e}"))
}

fn auto_compaction(mode: &str, retention: &str) -> anyhow::Result<Option<AutoCompaction>> {
    if !matches!(mode, "" | "periodic" | "revision") {
        bail!("unknown auto-compaction-mode {mode:?}");
    }
    let retention = if retention.is_empty() { "0" } else { retention };
    let parse_error = |e: &str| anyhow::anyhow!("error parsing CompactionRetention: {e}");
    // Like Go's time.Duration: nanoseconds for periodic, a count for revision.
    let amount = match retention.parse::<i64>() {
        Ok(n) if n >= 0 => {
            match mode {
                "periodic" => n
                    .checked_mul(3_600_000_000_000)
                    .ok_or_else(|| parse_error(&format!("{n} hours is out of range")))?,
                "revision" => n,
                _ => {
                    if n != 0 {
                        tracing::warn!("auto-compaction-retention {n} is ignored: auto-compaction-mode is not set");
                    }
                    0
                }
            }
        }
        _ => goduration::parse(retention).map_err(|e| parse_error(&e))?,
    };
    match mode {
        _ if amount == 0 => Ok(None),
        "periodic" if amount < 0 => Err(parse_error(&format!("negative retention {retention:?}"))),
        "periodic" => Ok(Some(AutoCompaction::Periodic(Duration::from_nanos(
            amount as u64,
        )))),
        "revision" => Ok(Some(AutoCompaction::Revision(amount))),
        _ => bail!("unsupported compaction mode {mode}"),
    }
}

fn config_from(m: &ArgMatches, from_file: bool) -> anyhow::Result<Config> {
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
    cfg.listen_metrics_urls = urls(flags::value(m, "listen-metrics-urls"));
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
    // 0 keeps etcd's default quota; a negative quota disables it.
    let quota: i64 = number(m, "quota-backend-bytes")?;
    if quota != 0 {
        cfg.quota_backend_bytes = quota;
    }
    cfg.wal_sync = !flags::is_true(m, "unsafe-no-fsync");
    cfg.strict_reconfig_check = !flags::is_false(m, "strict-reconfig-check");
    cfg.watch_progress_notify_interval =
        duration(m, "experimental-watch-progress-notify-interval")?;
    cfg.initial_corrupt_check = flags::is_true(m, "experimental-initial-corrupt-check");
    let corrupt_check = duration(m, "experimental-corrupt-check-time")?;
    cfg.corrupt_check_interval = (!corrupt_check.is_zero()).then_some(corrupt_check);
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
    // etcd's config file has no default mode (its flag has: periodic).
    let mode = match m.get_one::<String>("auto-compaction-mode") {
        Some(mode) => mode.as_str(),
        None if from_file => "",
        None => flags::value(m, "auto-compaction-mode"),
    };
    cfg.auto_compaction = auto_compaction(mode, flags::value(m, "auto-compaction-retention"))?;
    cfg.backup = backup_policy(m)?;
    Ok(cfg)
}

/// `--backup-dir`, `--backup-interval`, `--backup-keep` (ours): `None` without a dir.
fn backup_policy(m: &ArgMatches) -> anyhow::Result<Option<BackupPolicy>> {
    let dir = flags::value(m, "backup-dir");
    if dir.is_empty() {
        return Ok(None);
    }
    let interval = duration(m, "backup-interval")?;
    if interval.is_zero() {
        anyhow::bail!("--backup-interval must be positive");
    }
    let keep: usize = number(m, "backup-keep")?;
    if keep == 0 {
        anyhow::bail!("--backup-keep must be at least 1");
    }
    Ok(Some(BackupPolicy {
        dir: PathBuf::from(dir),
        interval,
        keep,
    }))
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

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = term.recv() => tracing::info!("received terminated signal, shutting down..."),
        _ = tokio::signal::ctrl_c() => tracing::info!("received interrupt signal, shutting down..."),
    }
}

/// The effective flags: the command line's, or those of the `--config-file`.
struct Settings {
    matches: ArgMatches,
    /// The configuration file, if one was given.
    file: Option<PathBuf>,
    /// Flags and env vars given alongside the file, ignored as etcd ignores them.
    ignored: Vec<String>,
    /// Keys of the file that etcd does not know.
    unknown_keys: Vec<String>,
}

impl Settings {
    fn new(cli: ArgMatches) -> anyhow::Result<Settings> {
        let file = flags::value(&cli, "config-file");
        if file.is_empty() {
            if let Some(var) = flags::shadowed_env_var(&cli, |name| std::env::var_os(name)) {
                bail!("conflicting environment variable {var:?} is shadowed by corresponding command-line flag (either unset environment variable or disable flag)");
            }
            return Ok(Settings {
                matches: cli,
                file: None,
                ignored: Vec::new(),
                unknown_keys: Vec::new(),
            });
        }
        let path = PathBuf::from(file);
        let loaded = config_file::load(&path)?;
        Ok(Settings {
            ignored: flags::given_flags(&cli, "config-file"),
            matches: loaded.matches,
            file: Some(path),
            unknown_keys: loaded.unknown_keys,
        })
    }

    /// How a setting is named to the user: `--flag`, or the file's key.
    fn describe(&self, flag: &str) -> String {
        match &self.file {
            None => format!("flag --{flag}"),
            Some(_) => format!("config file key {flag:?}"),
        }
    }

    /// Logs what etcd logs about the configuration's origin, and what is ignored.
    fn log(&self) {
        if let Some(path) = &self.file {
            tracing::info!(path = %path.display(), "loaded server configuration, other configuration command line flags and environment variables will be ignored if provided");
            if !self.ignored.is_empty() {
                tracing::warn!(
                    "ignoring {}: flags and env vars are not read when --config-file is given",
                    self.ignored.join(" ")
                );
            }
            for key in &self.unknown_keys {
                tracing::warn!("config file key {key:?} is unknown to etcd and ignored");
            }
        }
        for f in flags::set_flags(&self.matches, flags::INERT_FLAGS) {
            tracing::warn!(
                "{} is accepted for compatibility but has no effect in this version",
                self.describe(f)
            );
        }
    }

    fn config(&self) -> anyhow::Result<Config> {
        let cfg = config_from(&self.matches, self.file.is_some());
        match &self.file {
            None => cfg,
            Some(path) => cfg.with_context(|| {
                format!("invalid configuration in config file {}", path.display())
            }),
        }
    }
}

/// Tells systemd, if it started us with `Type=notify`, that the member serves.
fn notify_ready() {
    match sd_notify::notify(sd_notify::READY) {
        Ok(true) => tracing::info!("notified systemd of readiness"),
        Ok(false) => {}
        Err(e) => tracing::error!("failed to notify systemd for readiness: {e}"),
    }
}

fn main() -> anyhow::Result<()> {
    let cli = flags::command().get_matches_from(flags::normalize_args(std::env::args_os()));
    if cli.get_flag("version") {
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
    let settings = Settings::new(cli)?;
    logging::LogConfig::from_flags(&settings.matches)
        .and_then(|log| log.install())
        .map_err(|e| anyhow::anyhow!("error verifying flags, {e}. See 'etcd --help'."))?;
    settings.log();
    let cfg = settings.config()?;
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
        notify_ready();
        tokio::select! {
            _ = shutdown_signal() => {}
            _ = member.removed() => tracing::warn!("the member has been permanently removed from the cluster; shutting down"),
        }
        member.stop().await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_file(text: &str) -> Config {
        config_from(&config_file::parse(text).unwrap().matches, true).unwrap()
    }

    #[test]
    fn a_config_file_gives_the_config_its_flags_give() {
        let text = "name: infra1\ndata-dir: /d\nwal-dir: /w\nlisten-client-urls: http://127.0.0.1:1,http://127.0.0.1:2\nlisten-peer-urls: http://127.0.0.1:3\ninitial-advertise-peer-urls: http://127.0.0.1:3\nheartbeat-interval: 50\nelection-timeout: 500\nsnapshot-count: 7\nstrict-reconfig-check: false\nexperimental-watch-progress-notify-interval: 2000000000\nauth-token: simple\nclient-transport-security:\n  auto-tls: true\npeer-transport-security:\n  cert-file: /p.crt\n  key-file: /p.key\n";
        let cfg = from_file(text);
        assert_eq!(cfg.name, "infra1");
        assert_eq!(cfg.data_dir, PathBuf::from("/d"));
        assert_eq!(cfg.wal_dir, Some(PathBuf::from("/w")));
        assert_eq!(
            cfg.listen_client_urls,
            ["http://127.0.0.1:1", "http://127.0.0.1:2"]
        );
        assert_eq!(cfg.initial_cluster, "infra1=http://127.0.0.1:3");
        assert_eq!(cfg.heartbeat_interval, Duration::from_millis(50));
        assert_eq!(cfg.election_timeout, Duration::from_millis(500));
        assert_eq!(cfg.snapshot_count, 7);
        assert!(!cfg.strict_reconfig_check);
        assert_eq!(cfg.watch_progress_notify_interval, Duration::from_secs(2));
        assert!(cfg.client_tls.auto_tls);
        assert_eq!(cfg.peer_tls.cert_file, Some(PathBuf::from("/p.crt")));
        assert_eq!(cfg.peer_tls.key_file, Some(PathBuf::from("/p.key")));
        assert!(cfg.peer_tls.trusted_ca_file.is_none());
    }

    #[test]
    fn bad_values_in_a_config_file_are_refused() {
        for text in [
            "initial-cluster-state: maybe",
            "heartbeat-interval: 100\nelection-timeout: 200",
            "auth-token: nonsense",
        ] {
            let m = config_file::parse(text).unwrap().matches;
            assert!(config_from(&m, true).is_err(), "{text:?}");
        }
    }

    #[test]
    fn auto_compaction_is_parsed_as_etcd_does() {
        let hour = Duration::from_secs(3600);
        let ok = |mode, retention| auto_compaction(mode, retention).unwrap();
        assert_eq!(ok("periodic", "0"), None);
        assert_eq!(ok("periodic", ""), None);
        assert_eq!(ok("revision", "0"), None);
        assert_eq!(ok("periodic", "1"), Some(AutoCompaction::Periodic(hour)));
        assert_eq!(
            ok("periodic", "72"),
            Some(AutoCompaction::Periodic(72 * hour))
        );
        assert_eq!(
            ok("periodic", "30m"),
            Some(AutoCompaction::Periodic(hour / 2))
        );
        assert_eq!(
            ok("periodic", "2.5s"),
            Some(AutoCompaction::Periodic(Duration::from_millis(2500)))
        );
        assert_eq!(ok("revision", "1000"), Some(AutoCompaction::Revision(1000)));
        // A duration in revision mode is its number of nanoseconds, as in etcd.
        assert_eq!(ok("revision", "1us"), Some(AutoCompaction::Revision(1000)));
        // No mode (a config file without the key): an integer is ignored.
        assert_eq!(ok("", "5"), None);

        let err = |mode, retention| auto_compaction(mode, retention).unwrap_err().to_string();
        assert_eq!(
            err("period", "1"),
            "unknown auto-compaction-mode \"period\""
        );
        assert_eq!(
            err("periodic", "abc"),
            "error parsing CompactionRetention: time: invalid duration \"abc\""
        );
        assert!(err("periodic", "-5").starts_with("error parsing CompactionRetention: time: "));
        assert_eq!(err("", "5m"), "unsupported compaction mode ");
    }

    #[test]
    fn auto_compaction_from_flags_and_config_file() {
        let cli = |args: &[&str]| {
            let argv = std::iter::once("etcd").chain(args.iter().copied());
            let m = flags::command().try_get_matches_from(argv).unwrap();
            config_from(&m, false).unwrap().auto_compaction
        };
        assert_eq!(cli(&[]), None);
        assert_eq!(
            cli(&["--auto-compaction-retention=2"]),
            Some(AutoCompaction::Periodic(Duration::from_secs(7200)))
        );
        assert_eq!(
            cli(&[
                "--auto-compaction-mode",
                "revision",
                "--auto-compaction-retention",
                "10"
            ]),
            Some(AutoCompaction::Revision(10))
        );
        let file = |text| from_file(text).auto_compaction;
        assert_eq!(
            file("auto-compaction-mode: revision\nauto-compaction-retention: \"100\""),
            Some(AutoCompaction::Revision(100))
        );
        assert_eq!(
            file("auto-compaction-mode: periodic\nauto-compaction-retention: 1h30m"),
            Some(AutoCompaction::Periodic(Duration::from_secs(5400)))
        );
        assert_eq!(file("auto-compaction-retention: \"1\""), None);
        let m = config_file::parse("auto-compaction-mode: sometimes")
            .unwrap()
            .matches;
        assert!(config_from(&m, true).is_err());
    }
}
