//! Turning etcd-style endpoint strings into a gRPC channel: plaintext or TLS chosen as
//! clientv3 chooses it (`processCreds`), tonic endpoints with the configured timeouts.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::connect::{Connector, Target, Tls};
use crate::tls;
use crate::{ClientConfig, Error, Result, TlsConfig};

/// Normalizes an etcd endpoint into a URI: `host:port` becomes `http://host:port`;
/// `http://` and `https://` are kept. Surrounding whitespace is removed.
pub fn normalize_endpoint(ep: &str) -> String {
    let ep = ep.trim();
    if ep.starts_with("http://") || ep.starts_with("https://") {
        ep.to_string()
    } else {
        format!("http://{ep}")
    }
}

/// clientv3's choice of transport credentials for the balancer, made on the first
/// endpoint's scheme: `http://` is plaintext even when TLS is configured, `https://` uses
/// the configured TLS (or a default, verifying one), no scheme uses TLS only if configured.
fn tls_for(first: &str, cfg: &ClientConfig) -> Option<TlsConfig> {
    let ep = first.trim();
    if ep.starts_with("http://") {
        None
    } else if ep.starts_with("https://") {
        Some(cfg.tls.clone().unwrap_or_default())
    } else {
        cfg.tls.clone()
    }
}

/// How a [`crate::Client`] dials: its tonic endpoints and our connector (TCP, TLS when
/// configured, the readiness check; tonic's URIs stay `http://`: the connector encrypts).
/// Several plaintext endpoints are balanced by tonic itself, with its own connector.
pub(crate) struct Dialer {
    /// The first endpoint (the one a channel through `connector` is made for).
    first: Endpoint,
    /// All endpoints, the first included.
    endpoints: Vec<Endpoint>,
    connector: Option<Connector>,
}

impl Dialer {
    /// The dialer for `cfg` (no I/O beyond reading TLS files).
    pub(crate) fn new(cfg: &ClientConfig) -> Result<Dialer> {
        let Some(first_ep) = cfg.endpoints.first() else {
            return Err(Error::NoEndpoints);
        };
        let first = build(first_ep, cfg)?;
        let endpoints = cfg
            .endpoints
            .iter()
            .map(|ep| build(ep, cfg))
            .collect::<Result<Vec<_>>>()?;
        let tls = match tls_for(first_ep, cfg) {
            None => None,
            Some(t) => Some(Tls {
                config: tls::client_config(&t)?,
                server_name: t.server_name.clone(),
            }),
        };
        let connector = if tls.is_some() || endpoints.len() == 1 {
            let targets = endpoints.iter().map(target).collect::<Result<Vec<_>>>()?;
            Some(Connector::new(tls, targets))
        } else {
            None
        };
        Ok(Dialer {
            first,
            endpoints,
            connector,
        })
    }

    /// A channel that connects on first use.
    pub(crate) fn lazy(&self) -> Channel {
        match &self.connector {
            Some(c) => self.first.connect_with_connector_lazy(c.clone()),
            None => Channel::balance_list(self.endpoints.iter().cloned()),
        }
    }

    /// A connected channel (with several plaintext endpoints, balanced and connected on
    /// demand).
    pub(crate) async fn connect(&self) -> Result<Channel> {
        Ok(match &self.connector {
            Some(c) => self.first.connect_with_connector(c.clone()).await?,
            None => self.lazy(),
        })
    }
}

/// Where the connector dials for `endpoint`.
fn target(endpoint: &Endpoint) -> Result<Target> {
    let uri = endpoint.uri();
    let invalid = |why: &str| Error::InvalidEndpoint(uri.to_string(), why.to_string());
    let host = uri.host().ok_or_else(|| invalid("no host"))?;
    let port = uri.port_u16().ok_or_else(|| invalid("no port"))?;
    Ok((host.trim_matches(['[', ']']).to_string(), port))
}

/// The shortest interval between keepalive pings: grpc-go raises any smaller
/// `keepalive.ClientParameters.Time` to this (`internal.KeepaliveMinPingTime`), and etcd's
/// server (`--grpc-keepalive-min-time`, 5 s) closes connections that ping more often with
/// GOAWAY `ENHANCE_YOUR_CALM`, so etcdctl's default `--keepalive-time 2s` means 10 s.
const MIN_KEEPALIVE_TIME: Duration = Duration::from_secs(10);

/// Builds the tonic endpoint for one etcd endpoint under `cfg` (always an `http://` URI:
/// TLS, when used, is done by the [`Dialer`]'s connector).
fn build(ep: &str, cfg: &ClientConfig) -> Result<Endpoint> {
    let uri = normalize_endpoint(ep);
    let uri = match uri.strip_prefix("https://") {
        Some(rest) => format!("http://{rest}"),
        None => uri,
    };
    let mut endpoint = Endpoint::from_shared(uri)
        .map_err(|e| Error::InvalidEndpoint(ep.to_string(), e.to_string()))?
        .tcp_nodelay(true);
    if cfg.dial_timeout > Duration::ZERO {
        endpoint = endpoint.connect_timeout(cfg.dial_timeout);
    }
    if let Some(interval) = cfg.keepalive_time.filter(|d| !d.is_zero()) {
        endpoint = endpoint
            .http2_keep_alive_interval(interval.max(MIN_KEEPALIVE_TIME))
            .keep_alive_while_idle(true);
        if let Some(timeout) = cfg.keepalive_timeout.filter(|d| !d.is_zero()) {
            endpoint = endpoint.keep_alive_timeout(timeout);
        }
    }
    Ok(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_http_scheme() {
        assert_eq!(
            normalize_endpoint(" 127.0.0.1:2379 "),
            "http://127.0.0.1:2379"
        );
        assert_eq!(normalize_endpoint("http://a:1"), "http://a:1");
        assert_eq!(normalize_endpoint("https://a:1"), "https://a:1");
    }

    #[test]
    fn transport_follows_the_first_endpoint_scheme() {
        let mut cfg = ClientConfig::new(["127.0.0.1:2379"]);
        assert_eq!(tls_for("127.0.0.1:2379", &cfg), None);
        assert_eq!(
            tls_for("https://127.0.0.1:2379", &cfg),
            Some(TlsConfig::default())
        );
        let configured = TlsConfig {
            insecure_skip_verify: true,
            ..TlsConfig::default()
        };
        cfg.tls = Some(configured.clone());
        assert_eq!(tls_for("http://127.0.0.1:2379", &cfg), None);
        assert_eq!(tls_for("127.0.0.1:2379", &cfg), Some(configured.clone()));
        assert_eq!(tls_for("https://127.0.0.1:2379", &cfg), Some(configured));
    }

    #[tokio::test]
    async fn https_endpoints_dial_through_our_connector() {
        let plain = ClientConfig::new(["127.0.0.1:2379", "127.0.0.1:2380"]);
        assert!(Dialer::new(&plain).expect("dialer").connector.is_none());
        let cfg = ClientConfig::new(["https://127.0.0.1:2379", "https://[::1]:2380"]);
        let dialer = Dialer::new(&cfg).expect("dialer");
        assert!(dialer.connector.is_some());
        assert_eq!(
            dialer.endpoints[0].uri().to_string(),
            "http://127.0.0.1:2379/"
        );
        assert_eq!(
            target(&dialer.endpoints[1]).expect("target"),
            ("::1".to_string(), 2380)
        );
    }
}
