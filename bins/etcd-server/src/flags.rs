//! etcd's command-line flags and `ETCD_*` environment variables.
//!
//! Go's flag package accepts `-name` as well as `--name`, and boolean flags only as
//! `--flag` or `--flag=true|false`; both are reproduced. Flags we act on are typed fields;
//! flags of etcd's that this server accepts but does not act on yet are listed in
//! [`INERT_FLAGS`] and produce a warning when set, never silence.

use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};

/// etcd flags accepted for compatibility that have no effect yet (warned about when set).
pub const INERT_FLAGS: &[&str] = &[
    "max-snapshots",
    "max-wals",
    "initial-election-tick-advance",
    "backend-batch-interval",
    "backend-batch-limit",
    "grpc-keepalive-min-time",
    "grpc-keepalive-interval",
    "grpc-keepalive-timeout",
    "max-concurrent-streams",
    "discovery",
    "discovery-fallback",
    "discovery-proxy",
    "discovery-srv",
    "discovery-srv-name",
    "enable-v2",
    "pre-vote",
    "proxy",
    "proxy-failure-wait",
    "proxy-refresh-interval",
    "proxy-dial-timeout",
    "proxy-write-timeout",
    "proxy-read-timeout",
    "client-crl-file",
    "client-cert-allowed-hostname",
    "peer-crl-file",
    "peer-cert-allowed-cn",
    "peer-cert-allowed-hostname",
    "experimental-peer-skip-client-san-verification",
    "log-package-levels",
    "enable-pprof",
    "metrics",
    "enable-grpc-gateway",
    "experimental-enable-v2v3",
    "experimental-backend-bbolt-freelist-type",
    "experimental-enable-lease-checkpoint",
    "experimental-enable-lease-checkpoint-persist",
    "experimental-compaction-batch-limit",
    "experimental-warning-apply-duration",
    "force-new-cluster",
    "cors",
    "host-whitelist",
    "cipher-suites",
];

/// TLS flags we act on (`server::tls`), registered like the inert ones; read with
/// [`value`] and [`is_true`].
pub const TLS_FLAGS: &[&str] = &[
    "cert-file",
    "key-file",
    "trusted-ca-file",
    "client-cert-auth",
    "auto-tls",
    "peer-cert-file",
    "peer-key-file",
    "peer-trusted-ca-file",
    "peer-client-cert-auth",
    "peer-auto-tls",
];

/// Which of the inert flags take no value (booleans in etcd).
const BOOL_FLAGS: &[&str] = &[
    "initial-election-tick-advance",
    "strict-reconfig-check",
    "enable-v2",
    "pre-vote",
    "peer-client-cert-auth",
    "experimental-peer-skip-client-san-verification",
    "debug",
    "enable-pprof",
    "enable-grpc-gateway",
    "experimental-initial-corrupt-check",
    "experimental-enable-lease-checkpoint",
    "experimental-enable-lease-checkpoint-persist",
    "force-new-cluster",
    "client-cert-auth",
    "auto-tls",
    "peer-auto-tls",
    "unsafe-no-fsync",
];

/// (flag, default) for flags with a value that we act on.
const VALUE_FLAGS: &[(&str, &str)] = &[
    ("config-file", ""),
    ("name", "default"),
    ("data-dir", ""),
    ("wal-dir", ""),
    ("listen-client-urls", "http://localhost:2379"),
    ("advertise-client-urls", "http://localhost:2379"),
    ("listen-metrics-urls", ""),
    ("listen-peer-urls", "http://localhost:2380"),
    ("initial-advertise-peer-urls", "http://localhost:2380"),
    ("initial-cluster", ""),
    ("initial-cluster-token", "etcd-cluster"),
    ("initial-cluster-state", "new"),
    ("snapshot-count", "100000"),
    ("heartbeat-interval", "100"),
    ("election-timeout", "1000"),
    ("max-txn-ops", "128"),
    ("experimental-watch-progress-notify-interval", "10m"),
    ("experimental-corrupt-check-time", "0s"),
    ("max-request-bytes", "1572864"),
    ("quota-backend-bytes", "0"),
    ("logger", "capnslog"),
    ("log-level", "info"),
    ("log-outputs", "default"),
    ("log-output", "default"),
    ("auth-token", "simple"),
    ("auth-token-ttl", "300"),
    ("bcrypt-cost", "10"),
    ("auto-compaction-retention", "0"),
    ("auto-compaction-mode", "periodic"),
    // Ours (etcd has no scheduled backups): off unless --backup-dir is set.
    ("backup-dir", ""),
    ("backup-interval", "1h"),
    ("backup-keep", "24"),
];

fn env_name(flag: &str) -> String {
    format!("ETCD_{}", flag.to_uppercase().replace('-', "_"))
}

/// A flag also read from its `ETCD_*` env var when `read_env`.
fn base_arg(name: &'static str, read_env: bool) -> Arg {
    let arg = Arg::new(name).long(name);
    if read_env {
        arg.env(env_name(name))
    } else {
        arg
    }
}

fn value_arg(name: &'static str, read_env: bool) -> Arg {
    base_arg(name, read_env).num_args(1).action(ArgAction::Set)
}

fn bool_arg(name: &'static str, read_env: bool) -> Arg {
    base_arg(name, read_env)
        .num_args(0..=1)
        .require_equals(true)
        .default_missing_value("true")
        .value_parser([
            "true", "false", "1", "0", "t", "f", "TRUE", "FALSE", "True", "False",
        ])
        .action(ArgAction::Set)
}

/// The command line: flags, each also read from its `ETCD_*` env var.
pub fn command() -> Command {
    build(true)
}

/// The same flags without env vars: the values of a `--config-file`, turned into flags
/// ([`crate::config_file`]), are parsed with it so that no `ETCD_*` variable leaks in.
pub fn file_command() -> Command {
    build(false)
}

fn build(read_env: bool) -> Command {
    let mut cmd = Command::new("etcd-server")
        .about("etcd-compatible key-value store member (drop-in for etcd v3)")
        .disable_version_flag(true)
        .arg(
            Arg::new("version")
                .long("version")
                .action(ArgAction::SetTrue),
        );
    for (name, _) in VALUE_FLAGS {
        cmd = cmd.arg(value_arg(name, read_env));
    }
    for name in INERT_FLAGS.iter().chain(TLS_FLAGS) {
        cmd = cmd.arg(
            if BOOL_FLAGS.contains(name) {
                bool_arg(name, read_env)
            } else {
                value_arg(name, read_env)
            }
            .hide(true),
        );
    }
    cmd.arg(bool_arg("unsafe-no-fsync", read_env))
        .arg(bool_arg("debug", read_env))
        .arg(bool_arg("strict-reconfig-check", read_env))
        .arg(bool_arg("experimental-initial-corrupt-check", read_env))
}

/// Go's flag package accepts a single leading dash for long flags: `-name x` == `--name x`.
pub fn normalize_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    args.into_iter()
        .enumerate()
        .map(|(i, a)| match a.to_str() {
            Some(s) if i > 0 && s.len() > 2 && s.starts_with('-') && !s.starts_with("--") => {
                OsString::from(format!("-{s}"))
            }
            _ => a,
        })
        .collect()
}

/// A boolean flag explicitly set to false (for flags that default to true).
pub fn is_false(m: &ArgMatches, name: &str) -> bool {
    matches!(
        m.get_one::<String>(name).map(String::as_str),
        Some("false" | "0" | "f" | "F" | "FALSE" | "False")
    )
}

pub fn is_true(m: &ArgMatches, name: &str) -> bool {
    matches!(
        m.get_one::<String>(name).map(String::as_str),
        Some("true" | "1" | "t" | "TRUE" | "True")
    )
}

pub fn value<'a>(m: &'a ArgMatches, name: &str) -> &'a str {
    m.get_one::<String>(name)
        .map(String::as_str)
        .or_else(|| {
            VALUE_FLAGS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, d)| *d)
        })
        .unwrap_or("")
}

/// Flags explicitly set (command line or env) among `names`.
pub fn set_flags<'a>(m: &ArgMatches, names: &[&'a str]) -> Vec<&'a str> {
    names
        .iter()
        .copied()
        .filter(|n| m.value_source(n).is_some())
        .collect()
}

/// etcd's `pkg/flags.verifyEnv`: the first `ETCD_*` variable present in the environment
/// (`getenv`) whose flag was also given on the command line. etcd refuses to start then.
pub fn shadowed_env_var(
    m: &ArgMatches,
    getenv: impl Fn(&str) -> Option<OsString>,
) -> Option<String> {
    m.ids()
        .filter(|id| m.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| env_name(id.as_str()))
        .find(|var| getenv(var).is_some())
}

/// Every flag given on the command line (as `--flag`) or through its env var (as
/// `ETCD_FLAG`), except `except`; command-line ones first.
pub fn given_flags(m: &ArgMatches, except: &str) -> Vec<String> {
    m.ids()
        .map(|id| id.as_str())
        .filter(|id| *id != except)
        .filter_map(|id| match m.value_source(id) {
            Some(ValueSource::CommandLine) => Some(format!("--{id}")),
            Some(ValueSource::EnvVariable) => Some(env_name(id)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ArgMatches, clap::Error> {
        command().try_get_matches_from(normalize_args(args.iter().map(OsString::from)))
    }

    #[test]
    fn single_dash_and_double_dash_and_equals() {
        let m = parse(&[
            "etcd",
            "-name",
            "n1",
            "--data-dir=/x",
            "--snapshot-count",
            "5",
        ])
        .unwrap();
        assert_eq!(value(&m, "name"), "n1");
        assert_eq!(value(&m, "data-dir"), "/x");
        assert_eq!(value(&m, "snapshot-count"), "5");
        assert_eq!(value(&m, "max-request-bytes"), "1572864");
        assert_eq!(value(&m, "listen-metrics-urls"), "");
        assert!(set_flags(&m, INERT_FLAGS).is_empty());
    }

    #[test]
    fn listen_metrics_urls_is_a_real_flag() {
        let m = parse(&["etcd", "--listen-metrics-urls", "http://127.0.0.1:2381"]).unwrap();
        assert_eq!(value(&m, "listen-metrics-urls"), "http://127.0.0.1:2381");
        assert!(!INERT_FLAGS.contains(&"listen-metrics-urls"));
    }

    #[test]
    fn auto_compaction_flags_are_real_with_etcd_defaults() {
        let m = parse(&["etcd"]).unwrap();
        assert_eq!(value(&m, "auto-compaction-mode"), "periodic");
        assert_eq!(value(&m, "auto-compaction-retention"), "0");
        let m = parse(&["etcd", "--auto-compaction-mode=revision"]).unwrap();
        assert_eq!(value(&m, "auto-compaction-mode"), "revision");
        assert!(set_flags(&m, INERT_FLAGS).is_empty());
    }

    #[test]
    fn bool_flags_take_no_separate_value() {
        let m = parse(&["etcd", "--client-cert-auth", "--peer-auto-tls=false"]).unwrap();
        assert!(is_true(&m, "client-cert-auth"));
        assert!(!is_true(&m, "peer-auto-tls"));
        assert_eq!(
            set_flags(&m, TLS_FLAGS),
            vec!["client-cert-auth", "peer-auto-tls"]
        );
    }

    #[test]
    fn given_flags_lists_what_the_command_line_set() {
        let m = parse(&["etcd", "--config-file", "c.yml", "-name", "x", "--debug"]).unwrap();
        assert_eq!(given_flags(&m, "config-file"), ["--name", "--debug"]);
        assert!(given_flags(&parse(&["etcd"]).unwrap(), "config-file").is_empty());
    }

    #[test]
    fn logging_flags_are_real_with_etcd_defaults() {
        let m = parse(&["etcd"]).unwrap();
        assert_eq!(value(&m, "logger"), "capnslog");
        assert_eq!(value(&m, "log-outputs"), "default");
        assert_eq!(value(&m, "log-level"), "info");
        let m = parse(&["etcd", "--logger=zap", "--debug", "--log-outputs", "stderr"]).unwrap();
        assert_eq!(value(&m, "logger"), "zap");
        assert!(is_true(&m, "debug"));
        assert!(set_flags(&m, INERT_FLAGS).is_empty());
    }

    #[test]
    fn a_flag_given_twice_by_command_line_and_env_is_found() {
        let m = parse(&["etcd", "--data-dir", "/d", "--snapshot-count=5"]).unwrap();
        let env = |set: &'static [&'static str]| {
            move |name: &str| set.contains(&name).then(|| OsString::from("x"))
        };
        assert_eq!(shadowed_env_var(&m, env(&["ETCD_NAME", "PATH"])), None);
        assert_eq!(
            shadowed_env_var(&m, env(&["ETCD_NAME", "ETCD_SNAPSHOT_COUNT"])),
            Some("ETCD_SNAPSHOT_COUNT".to_string())
        );
    }

    #[test]
    fn unknown_flags_are_errors() {
        assert!(parse(&["etcd", "--no-such-flag", "x"]).is_err());
    }

    #[test]
    fn e2e_harness_flags_are_accepted() {
        parse(&[
            "etcd",
            "--name",
            "a",
            "--experimental-initial-corrupt-check",
            "--peer-auto-tls",
            "--auto-tls",
            "--client-crl-file",
            "c",
            "--strict-reconfig-check",
            "--auth-token",
            "jwt,pub-key=a",
            "--quota-backend-bytes",
            "100",
        ])
        .unwrap();
    }
}
