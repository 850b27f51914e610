//! A small async etcd v3 client over the tonic stubs in `etcd_proto`.
//!
//! One [`Client`] owns one gRPC channel (HTTP/2 connection, or a balanced set when several
//! endpoints are given) and hands out cheap typed service clients for KV, Watch, Lease,
//! Cluster, Maintenance and Auth. Opening several clients opens several connections, which
//! is what the benchmark tool wants (`--conns`).
//!
//! Error values mirror what etcd's Go client (`clientv3`) reports, so tools built on this
//! crate (our `etcdctl`) can print the same messages: see [`Error`].
//!
//! TLS follows clientv3's rules ([`TlsConfig`]: `--cacert/--cert/--key`,
//! `--insecure-skip-tls-verify`; `https://` endpoints, or any endpoint without a scheme once
//! TLS is configured). User/password authentication ([`Credentials`]) attaches the token to
//! every request and, through [`Client::call`], logs in again when the server refuses the
//! token, as clientv3's retry interceptor does.
//!
//! [`ClientStore`] runs etcd's lock and election recipes (`crates/concurrency`) over a
//! connection.

mod auth;
mod client;
mod config;
mod connect;
mod endpoint;
mod error;
mod recipes;
mod retry;
mod tls;

pub use auth::TokenInterceptor;
pub use client::{Client, Svc};
pub use config::{ClientConfig, Credentials, TlsConfig};
pub use endpoint::normalize_endpoint;
pub use error::{go_code_name, messages, Error, Result};
pub use recipes::{Caller, ClientStore};
pub use retry::{call_with_retry, RetryLog, RetryPolicy};
pub use tls::check as check_tls;

/// Re-export of the generated wire types, so users need not depend on `etcd-proto` directly.
pub use etcd_proto as proto;
