//! Connections to peers: the one place where a peer URL becomes a gRPC client. `http://`
//! URLs connect in plaintext; `https://` URLs need a [`PeerTls`] (`--peer-cert-file`,
//! `--peer-key-file`, `--peer-trusted-ca-file`): our certificate is the client identity
//! and the peer's certificate must chain to the trusted CA, or the handshake fails;
//! with `--peer-auto-tls` (no CA) any certificate is accepted, as etcd does.

use std::time::Duration;

use etcd_proto::peerpb::raft_client::RaftClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::error::TransportError;
use super::insecure::SkipVerifyConnector;

/// Connecting to a peer gives up after this (a dead host must not stall reconnects).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// HTTP/2 pings on idle connections, so a peer that vanished without closing its
/// connections (a network partition) is noticed.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(5);
/// A ping unanswered for this long closes the connection.
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// TLS towards peers, as PEM.
#[derive(Clone, Default)]
pub struct PeerTls {
    /// `--peer-trusted-ca-file`: peers' certificates must chain to it. `None` accepts any
    /// certificate (etcd's `--peer-auto-tls`, whose certificates are self-signed).
    pub ca_pem: Option<Vec<u8>>,
    /// `--peer-cert-file` and `--peer-key-file`: presented to peers (which may require it).
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for PeerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerTls")
            .field("verify", &self.ca_pem.is_some())
            .field("identity", &self.identity.is_some())
            .finish()
    }
}

impl PeerTls {
    fn client_config(&self, ca_pem: &[u8]) -> ClientTlsConfig {
        let config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem));
        match &self.identity {
            Some((cert, key)) => config.identity(Identity::from_pem(cert, key)),
            None => config,
        }
    }
}

/// A peer's gRPC endpoint and how to connect to it (TLS that skips verification needs a
/// connector of its own).
#[derive(Clone)]
pub struct PeerEndpoint {
    endpoint: Endpoint,
    skip_verify: Option<SkipVerifyConnector>,
}

impl PeerEndpoint {
    /// Adjusts the endpoint (timeouts and the like).
    pub fn configure(mut self, f: impl FnOnce(Endpoint) -> Endpoint) -> Self {
        self.endpoint = f(self.endpoint);
        self
    }

    /// Connects now.
    pub async fn connect(&self) -> Result<Channel, tonic::transport::Error> {
        match &self.skip_verify {
            Some(c) => self.endpoint.connect_with_connector(c.clone()).await,
            None => self.endpoint.connect().await,
        }
    }

    /// Connects on first use.
    pub fn connect_lazy(&self) -> Channel {
        match &self.skip_verify {
            Some(c) => self.endpoint.connect_with_connector_lazy(c.clone()),
            None => self.endpoint.connect_lazy(),
        }
    }
}

/// Connects to the peer at `url` (eagerly: the caller wants to know it is up).
pub(crate) async fn connect(
    url: &str,
    tls: Option<&PeerTls>,
) -> Result<RaftClient<Channel>, TransportError> {
    let channel = endpoint(url, tls)?
        .connect()
        .await
        .map_err(|err| TransportError::connect(url, &err))?;
    Ok(RaftClient::new(channel))
}

/// The endpoint for the peer URL `url` (`https://` needs `tls`), with the transport's
/// timeouts and keep-alives; for other member-to-member clients too.
pub fn peer_endpoint(url: &str, tls: Option<&PeerTls>) -> Result<PeerEndpoint, String> {
    endpoint(url, tls).map_err(|err| err.to_string())
}

fn endpoint(url: &str, tls: Option<&PeerTls>) -> Result<PeerEndpoint, TransportError> {
    let invalid = |reason: &str| TransportError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let (mut target, mut tls_config, mut skip_verify) = (url.to_owned(), None, None);
    match (url.split_once("://"), tls) {
        (Some(("http", _)), _) => {}
        (Some(("https", rest)), Some(tls)) => match &tls.ca_pem {
            Some(ca) => tls_config = Some(tls.client_config(ca)),
            None => {
                // tonic refuses https:// without its own TLS; the connector does TLS.
                target = format!("http://{rest}");
                skip_verify = Some(
                    SkipVerifyConnector::new(CONNECT_TIMEOUT)
                        .map_err(|err| invalid(&err.to_string()))?,
                );
            }
        },
        (Some(("https", _)), None) => {
            return Err(invalid(
                "https peer URLs need --peer-cert-file, --peer-key-file and --peer-trusted-ca-file (or --peer-auto-tls)",
            ))
        }
        _ => return Err(invalid("expected http://host:port or https://host:port")),
    };
    let mut endpoint = Endpoint::from_shared(target).map_err(|err| invalid(&err.to_string()))?;
    if let Some(tls) = tls_config {
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|err| invalid(&err.to_string()))?;
    }
    let endpoint = endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .keep_alive_while_idle(true);
    Ok(PeerEndpoint {
        endpoint,
        skip_verify,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_urls_and_https_with_tls_only() {
        assert!(endpoint("http://127.0.0.1:2380", None).is_ok());
        let auto = endpoint("https://127.0.0.1:2380", Some(&PeerTls::default())).unwrap();
        assert!(
            auto.skip_verify.is_some(),
            "auto TLS uses the skip-verify connector"
        );
        for bad in [
            "https://127.0.0.1:2380",
            "127.0.0.1:2380",
            "unix:///tmp/x",
            "http://",
        ] {
            assert!(
                matches!(endpoint(bad, None), Err(TransportError::InvalidUrl { .. })),
                "{bad}"
            );
        }
    }
}
