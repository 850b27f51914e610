//! Turning etcd-style endpoint strings into tonic endpoints.

use std::time::Duration;

use tonic::transport::Endpoint;

use crate::{ClientConfig, Error, Result};

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

/// Builds the tonic endpoint for one etcd endpoint under `cfg`.
pub(crate) fn build(ep: &str, cfg: &ClientConfig) -> Result<Endpoint> {
    let uri = normalize_endpoint(ep);
    if uri.starts_with("https://") || cfg.tls.is_some() {
        return Err(Error::TlsUnsupported);
    }
    let mut endpoint = Endpoint::from_shared(uri.clone())
        .map_err(|e| Error::InvalidEndpoint(ep.to_string(), e.to_string()))?
        .tcp_nodelay(true);
    if cfg.dial_timeout > Duration::ZERO {
        endpoint = endpoint.connect_timeout(cfg.dial_timeout);
    }
    if let Some(interval) = cfg.keepalive_time.filter(|d| !d.is_zero()) {
        endpoint = endpoint
            .http2_keep_alive_interval(interval)
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
    fn https_is_reported_unsupported() {
        let cfg = ClientConfig::new(["https://127.0.0.1:2379"]);
        assert!(matches!(
            build("https://127.0.0.1:2379", &cfg),
            Err(Error::TlsUnsupported)
        ));
    }
}
