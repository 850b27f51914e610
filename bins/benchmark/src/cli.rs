//! Command line, with the flags of etcd 3.4's `tools/benchmark` (`put` and `range`).
//!
//! Global flags go before or after the subcommand, as with cobra's persistent flags.
//! Boolean flags accept both `--flag` and `--flag=true|false`, as Go's pflag does.

use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::duration::parse_duration;
use crate::error::BenchError;

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
    fn rejects_zero_conns() {
        let cli = Cli::try_parse_from(["benchmark", "--conns", "0", "put"]).expect("parses");
        assert!(cli.global.validate().is_err());
    }
}
