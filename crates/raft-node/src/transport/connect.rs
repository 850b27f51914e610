//! Connections to peers: the one place where a peer URL becomes a gRPC client. Peer TLS
//! (`--peer-cert-file` and friends) plugs in here: accept `https://` and give the
//! endpoint a `ClientTlsConfig`.

use std::time::Duration;

use etcd_proto::peerpb::raft_client::RaftClient;
use tonic::transport::{Channel, Endpoint};

use super::error::TransportError;

/// Connecting to a peer gives up after this (a dead host must not stall reconnects).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// HTTP/2 pings on idle connections, so a peer that vanished without closing its
/// connections (a network partition) is noticed.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(5);
/// A ping unanswered for this long closes the connection.
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to the peer at `url` (eagerly: the caller wants to know it is up).
pub(crate) async fn connect(url: &str) -> Result<RaftClient<Channel>, TransportError> {
    let channel = endpoint(url)?
        .connect()
        .await
        .map_err(|err| TransportError::connect(url, &err))?;
    Ok(RaftClient::new(channel))
}

fn endpoint(url: &str) -> Result<Endpoint, TransportError> {
    let invalid = |reason: &str| TransportError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    match url.split_once("://") {
        Some(("http", _)) => {}
        Some(("https", _)) => return Err(invalid("TLS peer URLs are not supported yet")),
        _ => return Err(invalid("expected http://host:port")),
    }
    let endpoint =
        Endpoint::from_shared(url.to_owned()).map_err(|err| invalid(&err.to_string()))?;
    Ok(endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .keep_alive_while_idle(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls_are_accepted() {
        assert!(endpoint("http://127.0.0.1:2380").is_ok());
        for bad in [
            "https://127.0.0.1:2380",
            "127.0.0.1:2380",
            "unix:///tmp/x",
            "http://",
        ] {
            assert!(
                matches!(endpoint(bad), Err(TransportError::InvalidUrl { .. })),
                "{bad}"
            );
        }
    }
}
