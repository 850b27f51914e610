//! Command line, with the flags and defaults of etcd 3.4's `tools/benchmark` (`put`,
//! `range`, `watch`, `watch-latency`, `lease-keepalive`).
//!
//! `--user` is etcd's too: each connection logs in (see [`crate::auth`]).
//!
//! Global flags go before or after the subcommand, as with cobra's persistent flags.
//! Boolean flags accept both `--flag` and `--flag=true|false`, as Go's pflag does.

use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::error::BenchError;
use goduration::parse_std as parse_duration;

/// `benchmark`: a low-level benchmark tool for etcd3.
#[derive(Debug, Parser)]
#[command(
    name = "benchmark",
    about = "A low-level benchmark tool for etcd3",
    long_about = "benchmark is a low-level benchmark tool for etcd3.\n\
                  It uses gRPC directly and does not depend on an etcd client library."
)]
pub struct Cli {
    /// Options shared by every subcommand.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// The benchmark to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags shared by all subcommands (cobra's persistent flags in etcd's tool).
#[derive(Debug, Clone, Args)]
pub struct GlobalOpts {
    /// gRPC endpoints, comma-separated (`host:port`, optionally with `http://`)
    #[arg(
        long,
        global = true,
        value_delimiter = ',',
        default_value = "127.0.0.1:2379"
    )]
    pub endpoints: Vec<String>,
    /// Total number of gRPC connections
    #[arg(long, global = true, default_value_t = 1)]
    pub conns: usize,
    /// Total number of gRPC clients (workers, sharing the connections round-robin)
    #[arg(long, global = true, default_value_t = 1)]
    pub clients: usize,
    /// Dial timeout for client connections (0 means the default, 5s)
    #[arg(long, global = true, value_parser = parse_duration, default_value = "5s")]
    pub dial_timeout: Duration,
    /// Timeout of each request; a request that takes longer is counted as an error
    #[arg(long, global = true, value_parser = parse_duration, default_value = "10s")]
    pub request_timeout: Duration,
    /// Connect only to the leader node
    #[arg(long, global = true, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value_t = false, default_missing_value = "true")]
    pub target_leader: bool,
    /// Log in as `username[:password]` (etcd's help text, with its final period, below).
    #[arg(
        long,
        global = true,
        default_value = "",
        help = "provide username[:password] and prompt if password is not supplied."
    )]
    pub user: String,
    /// Use full floating point precision in the report
    #[arg(long, global = true, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value_t = false, default_missing_value = "true")]
    pub precise: bool,
}

/// The benchmarks.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Benchmark put
    Put(PutArgs),
    /// Benchmark range
    Range(RangeArgs),
    /// Benchmark watch: create watchers, then count the events of concurrent puts
    Watch(WatchArgs),
    /// Benchmark watch latency: time from a put to each watcher receiving its event
    WatchLatency(WatchLatencyArgs),
    /// Benchmark lease keepalive
    LeaseKeepalive(LeaseKeepaliveArgs),
}

/// Flags of `benchmark put`.
#[derive(Debug, Clone, Args)]
pub struct PutArgs {
    /// Key size of put request
    #[arg(long, default_value_t = 8)]
    pub key_size: usize,
    /// Value size of put request
    #[arg(long, default_value_t = 8)]
    pub val_size: usize,
    /// Maximum puts per second (0 is no limit)
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Total number of put requests
    #[arg(long, default_value_t = 10000)]
    pub total: u64,
    /// Maximum possible keys
    #[arg(long, default_value_t = 1)]
    pub key_space_size: u64,
    /// Use sequential keys
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value_t = false, default_missing_value = "true")]
    pub sequential_keys: bool,
}

/// Arguments and flags of `benchmark range key [end-range]`.
#[derive(Debug, Clone, Args)]
pub struct RangeArgs {
    /// First key of the range (or the only key)
    pub key: String,
    /// End of the range (exclusive); empty means the single key
    pub end: Option<String>,
    /// Maximum range requests per second (0 is no limit)
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Total number of range requests
    #[arg(long, default_value_t = 10000)]
    pub total: u64,
    /// Linearizable(l) or Serializable(s)
    #[arg(long, default_value = "l")]
    pub consistency: String,
}

/// Flags of `benchmark watch` (etcd 3.4's `tools/benchmark/cmd/watch.go`).
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Total watch streams
    #[arg(long, default_value_t = 10)]
    pub streams: usize,
    /// Total watchers per stream
    #[arg(long, default_value_t = 100)]
    pub watch_per_stream: usize,
    /// Total number of keys to be watched
    #[arg(long, default_value_t = 1)]
    pub watched_key_total: usize,
    /// Number of keys to put per second (0 is no limit)
    #[arg(long, default_value_t = 0)]
    pub put_rate: u64,
    /// Number of put requests
    #[arg(long, default_value_t = 1000)]
    pub put_total: u64,
    /// Key size of watch request
    #[arg(long, default_value_t = 32)]
    pub key_size: usize,
    /// Maximum possible keys
    #[arg(long, default_value_t = 1)]
    pub key_space_size: u64,
    /// Use sequential keys
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value_t = false, default_missing_value = "true")]
    pub sequential_keys: bool,
}

/// Flags of `benchmark watch-latency` (etcd 3.4's `tools/benchmark/cmd/watch_latency.go`).
#[derive(Debug, Clone, Args)]
pub struct WatchLatencyArgs {
    /// Total number of put requests
    #[arg(long, default_value_t = 10000)]
    pub total: u64,
    /// Number of keys to put per second (0 is no limit)
    #[arg(long, default_value_t = 100)]
    pub put_rate: u64,
    /// Key size of watch response
    #[arg(long, default_value_t = 32)]
    pub key_size: usize,
    /// Value size of watch response
    #[arg(long, default_value_t = 32)]
    pub val_size: usize,
}

/// Flags of `benchmark lease-keepalive` (etcd 3.4's `tools/benchmark/cmd/lease.go`).
#[derive(Debug, Clone, Args)]
pub struct LeaseKeepaliveArgs {
    /// Total number of lease keepalive requests
    #[arg(long, default_value_t = 10000)]
    pub total: u64,
}

/// Default dial timeout, used when `--dial-timeout 0` is given.
pub const DEFAULT_DIAL_TIMEOUT: Duration = Duration::from_secs(5);

impl GlobalOpts {
    /// Checks the flags that cannot be checked by clap alone.
    pub fn validate(&self) -> Result<(), BenchError> {
        if self.conns == 0 {
            return Err(BenchError::InvalidArgument(
                "expected positive --conns".to_string(),
            ));
        }
        if self.clients == 0 {
            return Err(BenchError::InvalidArgument(
                "expected positive --clients".to_string(),
            ));
        }
        if self.endpoints.iter().all(|e| e.trim().is_empty()) {
            return Err(BenchError::InvalidArgument(
                "expected at least one --endpoints entry".to_string(),
            ));
        }
        if self.request_timeout.is_zero() {
            return Err(BenchError::InvalidArgument(
                "expected positive --request-timeout".to_string(),
            ));
        }
        Ok(())
    }

    /// The dial timeout to use (`0` falls back to [`DEFAULT_DIAL_TIMEOUT`]).
    pub fn effective_dial_timeout(&self) -> Duration {
        if self.dial_timeout.is_zero() {
            DEFAULT_DIAL_TIMEOUT
        } else {
            self.dial_timeout
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_etcd_style_put_command_line() {
        let cli = Cli::try_parse_from([
            "benchmark",
            "--endpoints",
            "http://127.0.0.1:2379,127.0.0.1:22379",
            "--conns",
            "10",
            "--clients",
            "100",
            "put",
            "--key-size",
            "8",
            "--val-size",
            "256",
            "--total",
            "20000",
            "--sequential-keys",
            "--key-space-size=500",
            "--target-leader",
            "--user",
            "root:pw",
        ])
        .expect("valid command line");
        assert_eq!(cli.global.endpoints.len(), 2);
        assert_eq!((cli.global.conns, cli.global.clients), (10, 100));
        let Command::Put(put) = cli.command else {
            panic!("expected put");
        };
        assert_eq!((put.key_size, put.val_size, put.total), (8, 256, 20000));
        assert_eq!(put.key_space_size, 500);
        assert!(put.sequential_keys);
        assert!(cli.global.target_leader);
        assert_eq!(cli.global.user, "root:pw");
    }

    #[test]
    fn parses_range_with_global_flags_after_subcommand() {
        let cli = Cli::try_parse_from([
            "benchmark",
            "range",
            "foo",
            "fop",
            "--consistency",
            "s",
            "--total",
            "5",
            "--conns=2",
            "--target-leader=false",
            "--dial-timeout",
            "1500ms",
        ])
        .expect("valid command line");
        assert_eq!(cli.global.conns, 2);
        assert!(!cli.global.target_leader);
        assert_eq!(cli.global.dial_timeout, Duration::from_millis(1500));
        let Command::Range(range) = cli.command else {
            panic!("expected range");
        };
        assert_eq!(range.key, "foo");
        assert_eq!(range.end.as_deref(), Some("fop"));
        assert_eq!((range.consistency.as_str(), range.total), ("s", 5));
    }

    #[test]
    fn parses_watch_modes_with_etcd_defaults() {
        let cli = Cli::try_parse_from(["benchmark", "watch", "--put-rate", "50"]).expect("parses");
        let Command::Watch(w) = cli.command else {
            panic!("expected watch");
        };
        assert_eq!(
            (w.streams, w.watch_per_stream, w.watched_key_total),
            (10, 100, 1)
        );
        assert_eq!((w.put_rate, w.put_total, w.key_size), (50, 1000, 32));
        assert_eq!((w.key_space_size, w.sequential_keys), (1, false));

        let cli =
            Cli::try_parse_from(["benchmark", "--clients", "3", "watch-latency"]).expect("parses");
        let Command::WatchLatency(w) = cli.command else {
            panic!("expected watch-latency");
        };
        assert_eq!(
            (w.total, w.put_rate, w.key_size, w.val_size),
            (10000, 100, 32, 32)
        );

        let cli =
            Cli::try_parse_from(["benchmark", "lease-keepalive", "--total", "7"]).expect("parses");
        let Command::LeaseKeepalive(l) = cli.command else {
            panic!("expected lease-keepalive");
        };
        assert_eq!(l.total, 7);
    }

    #[test]
    fn rejects_zero_conns() {
        let cli = Cli::try_parse_from(["benchmark", "--conns", "0", "put"]).expect("parses");
        assert!(cli.global.validate().is_err());
    }
}
