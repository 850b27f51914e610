//! etcd's `--config-file` (`ETCD_CONFIG_FILE`): a YAML mapping whose keys are etcd's flag
//! names (etcd 3.4 `embed.ConfigFromFile` and `etcdmain`'s proxy keys).
//!
//! The file is turned into the equivalent `--flag=value` arguments and parsed by
//! [`flags::file_command`], so that it produces exactly the configuration the same flags
//! would (one code path, the same inert-flag warnings). As in etcd, other flags and `ETCD_*`
//! env vars are then ignored.
//!
//! Values are typed like etcd's Go fields: strings must be strings, numbers integers,
//! booleans booleans (YAML 1.1 words such as `yes`/`off` too, as etcd's YAML parser), and
//! durations integers of nanoseconds (Go's `time.Duration` in JSON); a value of the wrong
//! type is an error naming its key. A null or empty value leaves the default, as it does in
//! etcd for URLs and the cluster state. Keys etcd does not know are ignored, as etcd does,
//! but reported to the caller so that they are logged.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::ArgMatches;
use yaml_rust2::{Yaml, YamlLoader};

use crate::flags;

/// How a key's value is typed in etcd's configuration struct.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Go `string`.
    Str,
    /// Go `uint`, `uint32`, `uint64`.
    Uint,
    /// Go `int`, `int64`.
    Int,
    /// Go `bool`.
    Bool,
    /// Go `time.Duration`: integer nanoseconds.
    Nanos,
    /// Go `[]string`, given to the flag comma-separated.
    StrList,
    /// A `*-transport-security` mapping ([`TLS_KEYS`]); its flags start with this prefix.
    Tls(&'static str),
}

use Kind::*;

/// Every key of etcd 3.4's configuration file; the flag of a key is the key itself.
const KEYS: &[(&str, Kind)] = &[
    ("name", Str),
    ("data-dir", Str),
    ("wal-dir", Str),
    ("snapshot-count", Uint),
    ("max-snapshots", Uint),
    ("max-wals", Uint),
    ("heartbeat-interval", Uint),
    ("election-timeout", Uint),
    ("initial-election-tick-advance", Bool),
    ("backend-batch-interval", Nanos),
    ("backend-batch-limit", Int),
    ("quota-backend-bytes", Int),
    ("max-txn-ops", Uint),
    ("max-request-bytes", Uint),
    ("max-concurrent-streams", Uint),
    ("listen-peer-urls", Str),
    ("listen-client-urls", Str),
    ("initial-advertise-peer-urls", Str),
    ("advertise-client-urls", Str),
    ("cors", Str),
    ("host-whitelist", Str),
    ("client-transport-security", Tls("")),
    ("peer-transport-security", Tls("peer-")),
    ("cipher-suites", StrList),
    ("initial-cluster-state", Str),
    ("discovery-srv", Str),
    ("discovery-srv-name", Str),
    ("discovery-proxy", Str),
    ("discovery", Str),
    ("discovery-fallback", Str),
    ("initial-cluster", Str),
    ("initial-cluster-token", Str),
    ("strict-reconfig-check", Bool),
    ("enable-v2", Bool),
    ("auto-compaction-mode", Str),
    ("auto-compaction-retention", Str),
    ("grpc-keepalive-min-time", Nanos),
    ("grpc-keepalive-interval", Nanos),
    ("grpc-keepalive-timeout", Nanos),
    ("pre-vote", Bool),
    ("auth-token", Str),
    ("auth-token-ttl", Uint),
    ("bcrypt-cost", Uint),
    ("experimental-initial-corrupt-check", Bool),
    ("experimental-corrupt-check-time", Nanos),
    ("experimental-enable-v2v3", Str),
    ("experimental-backend-bbolt-freelist-type", Str),
    ("experimental-enable-lease-checkpoint", Bool),
    ("experimental-enable-lease-checkpoint-persist", Bool),
    ("experimental-compaction-batch-limit", Int),
    ("experimental-watch-progress-notify-interval", Nanos),
    ("experimental-warning-apply-duration", Nanos),
    ("force-new-cluster", Bool),
    ("backup-dir", Str),
    ("backup-interval", Str),
    ("backup-keep", Uint),
    ("enable-pprof", Bool),
    ("metrics", Str),
    ("listen-metrics-urls", Str),
    ("logger", Str),
    ("log-level", Str),
    ("log-outputs", StrList),
    ("log-output", StrList),
    ("enable-grpc-gateway", Bool),
    ("debug", Bool),
    ("log-package-levels", Str),
    ("unsafe-no-fsync", Bool),
    ("proxy", Str),
    ("proxy-failure-wait", Uint),
    ("proxy-refresh-interval", Uint),
    ("proxy-dial-timeout", Uint),
    ("proxy-write-timeout", Uint),
    ("proxy-read-timeout", Uint),
];

/// The keys of a `*-transport-security` mapping.
const TLS_KEYS: &[(&str, Kind)] = &[
    ("cert-file", Str),
    ("key-file", Str),
    ("client-cert-auth", Bool),
    ("trusted-ca-file", Str),
    ("auto-tls", Bool),
];

/// Why a configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {}: {problem}", path.display())]
    Invalid { path: PathBuf, problem: Problem },
}

/// What is wrong in a configuration file's text.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error("not valid YAML: {0}")]
    Yaml(#[from] yaml_rust2::ScanError),
    #[error("the file must be a mapping of etcd's keys to values, not {0}")]
    NotAMapping(String),
    #[error("invalid value for key {key:?}: expected {expected}, got {found}")]
    BadValue {
        key: String,
        expected: &'static str,
        found: String,
    },
    #[error("{0}")]
    Flags(String),
}

/// A configuration file turned into the flags it stands for.
#[derive(Debug)]
pub struct FileConfig {
    /// The equivalent flags, parsed as [`flags::file_command`] parses them.
    pub matches: ArgMatches,
    /// Keys etcd does not know (ignored, as etcd does), nested ones as `parent.key`.
    pub unknown_keys: Vec<String>,
}

/// Reads and converts the configuration file at `path`.
pub fn load(path: &Path) -> Result<FileConfig, ConfigFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|problem| ConfigFileError::Invalid {
        path: path.to_path_buf(),
        problem,
    })
}

/// Converts a configuration file's text.
pub fn parse(text: &str) -> Result<FileConfig, Problem> {
    let (args, unknown_keys) = flag_args(text)?;
    let argv =
        std::iter::once(OsString::from("etcd-server")).chain(args.into_iter().map(OsString::from));
    let matches = flags::file_command()
        .try_get_matches_from(argv)
        .map_err(|e| {
            Problem::Flags(e.to_string().lines().next().unwrap_or_default().to_string())
        })?;
    Ok(FileConfig {
        matches,
        unknown_keys,
    })
}

/// The `--flag=value` arguments equivalent to `text`, and its unknown keys.
fn flag_args(text: &str) -> Result<(Vec<String>, Vec<String>), Problem> {
    let docs = YamlLoader::load_from_str(text)?;
    let mut out = Converted::default();
    match docs.first() {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Hash(map)) => out.mapping(map, "", "", KEYS)?,
        Some(other) => return Err(Problem::NotAMapping(describe(other))),
    }
    Ok((out.args, out.unknown_keys))
}

#[derive(Default)]
struct Converted {
    args: Vec<String>,
    unknown_keys: Vec<String>,
}

impl Converted {
    /// Converts `map`, whose keys are `keys`; `path` prefixes key names in messages and
    /// `flag_prefix` the flags.
    fn mapping(
        &mut self,
        map: &yaml_rust2::yaml::Hash,
        path: &str,
        flag_prefix: &str,
        keys: &[(&str, Kind)],
    ) -> Result<(), Problem> {
        for (k, v) in map {
            let key = match k {
                Yaml::String(s) => s.clone(),
                other => describe(other),
            };
            let full_key = format!("{path}{key}");
            let Some(&(_, kind)) = keys.iter().find(|(name, _)| *name == key) else {
                self.unknown_keys.push(full_key);
                continue;
            };
            match (kind, v) {
                (_, Yaml::Null) => {}
                (Tls(prefix), Yaml::Hash(inner)) => {
                    self.mapping(inner, &format!("{full_key}."), prefix, TLS_KEYS)?
                }
                (Tls(_), other) => return Err(bad(&full_key, "a mapping", other)),
                (kind, v) => {
                    if let Some(value) = scalar(&full_key, kind, v)? {
                        self.args.push(format!("--{flag_prefix}{key}={value}"));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The flag value of a non-null `v` for `key` of type `kind`; `None` for an empty value.
fn scalar(key: &str, kind: Kind, v: &Yaml) -> Result<Option<String>, Problem> {
    let value = match (kind, v) {
        (Str, Yaml::String(s)) => s.clone(),
        (Str, _) => return Err(bad(key, "a string", v)),
        (Uint, Yaml::Integer(i)) if *i >= 0 => i.to_string(),
        (Uint, _) => return Err(bad(key, "a non-negative integer", v)),
        (Int, Yaml::Integer(i)) => i.to_string(),
        (Int, _) => return Err(bad(key, "an integer", v)),
        (Nanos, Yaml::Integer(i)) => format!("{i}ns"),
        (Nanos, _) => return Err(bad(key, "an integer number of nanoseconds", v)),
        (Bool, Yaml::Boolean(b)) => b.to_string(),
        (Bool, Yaml::String(s)) => match yaml11_bool(s) {
            Some(b) => b.to_string(),
            None => return Err(bad(key, "a boolean", v)),
        },
        (Bool, _) => return Err(bad(key, "a boolean", v)),
        (StrList, Yaml::Array(items)) => {
            let strings = items
                .iter()
                .map(|item| match item {
                    Yaml::String(s) => Ok(s.as_str()),
                    _ => Err(bad(key, "a list of strings", v)),
                })
                .collect::<Result<Vec<_>, _>>()?;
            strings.join(",")
        }
        (StrList, _) => return Err(bad(key, "a list of strings", v)),
        (Tls(_), _) => return Err(bad(key, "a mapping", v)),
    };
    Ok((!value.is_empty()).then_some(value))
}

/// The booleans of YAML 1.1, which etcd's parser (go-yaml v2) reads as such.
fn yaml11_bool(s: &str) -> Option<bool> {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            Some(false)
        }
        _ => None,
    }
}

fn bad(key: &str, expected: &'static str, found: &Yaml) -> Problem {
    Problem::BadValue {
        key: key.to_string(),
        expected,
        found: describe(found),
    }
}

/// A YAML value as an error message shows it.
fn describe(v: &Yaml) -> String {
    match v {
        Yaml::String(s) => format!("the string {s:?}"),
        Yaml::Integer(i) => format!("the integer {i}"),
        Yaml::Real(r) => format!("the number {r}"),
        Yaml::Boolean(b) => format!("the boolean {b}"),
        Yaml::Array(_) => "a list".to_string(),
        Yaml::Hash(_) => "a mapping".to_string(),
        Yaml::Null => "null".to_string(),
        Yaml::Alias(_) => "an alias".to_string(),
        Yaml::BadValue => "an unreadable value".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        flag_args(text).unwrap().0
    }

    fn problem(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    /// etcd 3.4's sample `etcd.conf.yml`.
    const SAMPLE: &str = r#"
# This is the configuration file for the etcd server.
name: 'default'
data-dir:
wal-dir:
snapshot-count: 10000
heartbeat-interval: 100
election-timeout: 1000
quota-backend-bytes: 0
listen-peer-urls: http://localhost:2380
listen-client-urls: http://localhost:2379
max-snapshots: 5
max-wals: 5
cors:
initial-advertise-peer-urls: http://localhost:2380
advertise-client-urls: http://localhost:2379
discovery:
discovery-fallback: 'proxy'
discovery-proxy:
discovery-srv:
initial-cluster:
initial-cluster-token: 'etcd-cluster'
initial-cluster-state: 'new'
strict-reconfig-check: false
enable-v2: true
enable-pprof: true
proxy: 'off'
proxy-failure-wait: 5000
proxy-refresh-interval: 30000
proxy-dial-timeout: 1000
proxy-write-timeout: 5000
proxy-read-timeout: 0
client-transport-security:
  cert-file:
  key-file:
  client-cert-auth: false
  trusted-ca-file:
  auto-tls: false
peer-transport-security:
  cert-file:
  key-file:
  client-cert-auth: false
  trusted-ca-file:
  auto-tls: false
debug: false
log-package-levels:
log-outputs: [default]
force-new-cluster: false
"#;

    #[test]
    fn etcds_sample_file_is_accepted() {
        let fc = parse(SAMPLE).unwrap();
        assert!(fc.unknown_keys.is_empty(), "{:?}", fc.unknown_keys);
        let m = &fc.matches;
        assert_eq!(flags::value(m, "snapshot-count"), "10000");
        assert_eq!(
            flags::value(m, "listen-client-urls"),
            "http://localhost:2379"
        );
        assert!(flags::is_false(m, "strict-reconfig-check"));
        assert!(!flags::is_true(m, "client-cert-auth"));
        assert_eq!(flags::value(m, "log-outputs"), "default");
        assert_eq!(flags::value(m, "proxy-read-timeout"), "0");
        // Null values leave the defaults.
        assert_eq!(flags::value(m, "data-dir"), "");
        assert!(m.value_source("discovery").is_none());
    }

    #[test]
    fn every_key_is_a_flag() {
        let cmd = flags::file_command();
        let known = |flag: String| cmd.get_arguments().any(|a| a.get_id().as_str() == flag);
        for (key, kind) in KEYS {
            match kind {
                Tls(prefix) => {
                    for (sub, _) in TLS_KEYS {
                        assert!(known(format!("{prefix}{sub}")), "{key}.{sub}");
                    }
                }
                _ => assert!(known(key.to_string()), "{key}"),
            }
        }
    }

    #[test]
    fn values_become_flags() {
        let text = r#"
name: infra1
heartbeat-interval: 50
quota-backend-bytes: -1
strict-reconfig-check: off
experimental-watch-progress-notify-interval: 2000000000
cipher-suites: [TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384]
peer-transport-security:
  cert-file: /p.crt
  auto-tls: yes
client-transport-security:
  client-cert-auth: true
  trusted-ca-file: /ca.crt
"#;
        assert_eq!(
            args(text),
            [
                "--name=infra1",
                "--heartbeat-interval=50",
                "--quota-backend-bytes=-1",
                "--strict-reconfig-check=false",
                "--experimental-watch-progress-notify-interval=2000000000ns",
                "--cipher-suites=TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384",
                "--peer-cert-file=/p.crt",
                "--peer-auto-tls=true",
                "--client-cert-auth=true",
                "--trusted-ca-file=/ca.crt",
            ]
        );
    }

    #[test]
    fn empty_file_and_empty_values_keep_defaults() {
        assert!(args("").is_empty());
        assert!(args("# nothing\n").is_empty());
        assert!(args("name: ''\nlisten-client-urls: \"\"\ninitial-cluster-state:\n").is_empty());
    }

    #[test]
    fn unknown_keys_are_reported_not_refused() {
        let (args, unknown) =
            flag_args("name: a\nno-such-key: 1\npeer-transport-security:\n  cert: x\n").unwrap();
        assert_eq!(args, ["--name=a"]);
        assert_eq!(unknown, ["no-such-key", "peer-transport-security.cert"]);
    }

    #[test]
    fn values_of_the_wrong_type_name_their_key() {
        for (text, key) in [
            ("snapshot-count: lots", "snapshot-count"),
            ("snapshot-count: \"5\"", "snapshot-count"),
            ("snapshot-count: -5", "snapshot-count"),
            ("heartbeat-interval: 1.5", "heartbeat-interval"),
            ("name: 123", "name"),
            ("enable-v2: maybe", "enable-v2"),
            ("log-outputs: stderr", "log-outputs"),
            ("grpc-keepalive-timeout: 5s", "grpc-keepalive-timeout"),
            ("client-transport-security: on", "client-transport-security"),
            (
                "peer-transport-security:\n  client-cert-auth: 3",
                "peer-transport-security.client-cert-auth",
            ),
        ] {
            let err = problem(text);
            assert!(
                err.contains(&format!("key \"{key}\"")),
                "{text:?} gave {err}"
            );
        }
    }

    #[test]
    fn malformed_files_are_refused() {
        assert!(problem("a: [\n").contains("not valid YAML"));
        assert!(problem("- name\n- x\n").contains("must be a mapping"));
        assert!(problem("name: a\nname: b\n").contains("not valid YAML"));
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let err = load(Path::new("/nonexistent/etcd.yml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/etcd.yml"), "{err}");
    }
}
