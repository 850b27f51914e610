//! Connection settings, shaped after etcd's `clientv3.Config`.

use std::time::Duration;

/// How to reach the cluster.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Endpoints such as `127.0.0.1:2379`, `http://host:2379` or `https://host:2379`.
    pub endpoints: Vec<String>,
    /// Bound on establishing the connection ([`crate::Client::connect`]); zero means none.
    pub dial_timeout: Duration,
    /// HTTP/2 keepalive ping interval; `None` disables keepalive pings.
    pub keepalive_time: Option<Duration>,
    /// How long to wait for a keepalive ping answer before the connection is considered dead.
    pub keepalive_timeout: Option<Duration>,
    /// Default per-call deadline applied by [`crate::Client::request`]; `None` means none.
    pub request_timeout: Option<Duration>,
    /// TLS settings; `None` means plaintext.
    pub tls: Option<TlsConfig>,
    /// User name and password for etcd authentication.
    pub credentials: Option<Credentials>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            endpoints: vec!["127.0.0.1:2379".to_string()],
            dial_timeout: Duration::from_secs(2),
            keepalive_time: Some(Duration::from_secs(2)),
            keepalive_timeout: Some(Duration::from_secs(6)),
            request_timeout: None,
            tls: None,
            credentials: None,
        }
    }
}

impl ClientConfig {
    /// A configuration with defaults (as etcdctl's) for the given endpoints.
    pub fn new<S: Into<String>>(endpoints: impl IntoIterator<Item = S>) -> Self {
        ClientConfig {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            ..ClientConfig::default()
        }
    }
}

/// TLS material, as etcdctl's `--cacert`, `--cert`, `--key` and related flags give it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM bundle of trusted CAs.
    pub ca_file: Option<String>,
    /// PEM client certificate.
    pub cert_file: Option<String>,
    /// PEM client key.
    pub key_file: Option<String>,
    /// Server name to verify, when it differs from the endpoint host.
    pub server_name: Option<String>,
    /// Skip verification of the server certificate.
    pub insecure_skip_verify: bool,
}

/// etcd user credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}
