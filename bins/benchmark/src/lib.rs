//! A load generator for etcd v3 servers, modelled on etcd 3.4's `tools/benchmark`.
//!
//! It speaks gRPC directly (no client library, like etcd's tool): `--conns` tonic channels
//! are opened to the endpoints round-robin, `--clients` workers share them round-robin and
//! together send exactly `--total` requests. Each request's latency goes into an
//! hdrhistogram; the final report has the same shape as etcd's `pkg/report` output (summary,
//! response time histogram, latency distribution, error distribution), followed by one
//! machine-readable `RESULT key=value ...` line for scripts.
//!
//! `watch`, `watch-latency` and `lease-keepalive` follow etcd's tool too (see their modules);
//! they print the same report shape, with extra fields in the RESULT line.
//!
//! Modules, one concern each:
//! - [`cli`]: command line (global flags, one subcommand per benchmark);
//! - [`conn`]: endpoint parsing, dialing, `--target-leader` discovery;
//! - [`auth`]: `--user`: credentials, the login of each connection, the token interceptor;
//! - [`password`]: the password prompt of `--user name`;
//! - [`workload`]: the requests each subcommand sends (key encoding as etcd's tool does);
//! - [`runner`]: the bounded worker pool (per-request timeout, optional rate limit);
//! - [`limiter`]: a token bucket with Go's `x/time/rate` semantics;
//! - [`watch_stream`]: a client-side watch stream carrying many watchers;
//! - [`watch`], [`watch_latency`], [`lease`]: those benchmarks;
//! - [`report`]: latency statistics and the printed report.

pub mod auth;
pub mod cli;
pub mod conn;
pub mod error;
pub mod lease;
pub mod limiter;
pub mod password;
pub mod report;
pub mod runner;
pub mod watch;
pub mod watch_latency;
pub mod watch_stream;
pub mod workload;

pub use error::BenchError;
