//! A load generator for etcd v3 servers, modelled on etcd 3.4's `tools/benchmark`.
//!
//! It speaks gRPC directly (no client library, like etcd's tool): `--conns` tonic channels
//! are opened to the endpoints round-robin, `--clients` workers share them round-robin and
//! together send exactly `--total` requests. Each request's latency goes into an
//! hdrhistogram; the final report has the same shape as etcd's `pkg/report` output (summary,
//! response time histogram, latency distribution, error distribution), followed by one
//! machine-readable `RESULT key=value ...` line for scripts.
//!
//! Modules, one concern each:
//! - [`cli`]: command line (global flags, `put` and `range` subcommands);
//! - [`duration`]: Go-style duration flags (`500ms`, `2s`, `1m30s`);
//! - [`conn`]: endpoint parsing, dialing, `--target-leader` discovery;
//! - [`workload`]: the requests each subcommand sends (key encoding as etcd's tool does);
//! - [`runner`]: the bounded worker pool (per-request timeout, optional rate limit);
//! - [`report`]: latency statistics and the printed report.

pub mod cli;
pub mod conn;
pub mod duration;
pub mod error;
pub mod report;
pub mod runner;
pub mod workload;

pub use error::BenchError;
