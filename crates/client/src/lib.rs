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
//! Room is left for TLS (`--cacert/--cert/--key`, see [`TlsConfig`]) and for user/password
//! authentication ([`Credentials`]); authentication is implemented (the token is attached to
//! every request), TLS is parsed but reported as unsupported for now.

mod auth;
mod client;
mod config;
mod endpoint;
mod error;
mod retry;

pub use auth::TokenInterceptor;
pub use client::{Client, Svc};
pub use config::{ClientConfig, Credentials, TlsConfig};
pub use endpoint::normalize_endpoint;
pub use error::{go_code_name, Error, Result};
pub use retry::{call_with_retry, RetryPolicy};

/// Re-export of the generated wire types, so users need not depend on `etcd-proto` directly.
pub use etcd_proto as proto;
