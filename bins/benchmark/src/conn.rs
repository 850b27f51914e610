//! Connections: endpoint parsing, dialing `--conns` tonic channels round-robin over the
//! endpoints (as etcd's `mustCreateClients`), logging each one in with `--user` (see
//! [`crate::auth`]), and `--target-leader` discovery through the Maintenance `Status` and
//! Cluster `MemberList` RPCs.

use std::time::Duration;

use etcd_proto::etcdserverpb::{
    cluster_client::ClusterClient, maintenance_client::MaintenanceClient, MemberListRequest,
    StatusRequest,
};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::auth::{authenticate, Credentials, TokenInterceptor};
use crate::error::BenchError;

/// One benchmark connection: a channel whose requests carry its auth token, if any.
pub type Conn = InterceptedService<Channel, TokenInterceptor>;

/// Turns `host:port` or `http://host:port` into a URI tonic can dial.
/// TLS (`https://`) is not supported.
pub fn normalize_endpoint(endpoint: &str) -> Result<String, BenchError> {
    let trimmed = endpoint.trim();
    let invalid = |reason: &str| BenchError::InvalidEndpoint {
        endpoint: endpoint.to_string(),
        reason: reason.to_string(),
    };
    if trimmed.starts_with("https://") || trimmed.starts_with("unixs://") {
        return Err(invalid("TLS endpoints are not supported"));
    }
    let host_port = trimmed.strip_prefix("http://").unwrap_or(trimmed);
    let host_port = host_port.trim_end_matches('/');
    if host_port.is_empty() || host_port.contains("://") || host_port.contains('/') {
        return Err(invalid("expected host:port or http://host:port"));
    }
    let uri = format!("http://{host_port}");
    Endpoint::from_shared(uri.clone()).map_err(|e| invalid(&e.to_string()))?;
    Ok(uri)
}

/// Opens one HTTP/2 connection to `uri`, failing after `timeout`.
pub async fn dial(uri: &str, timeout: Duration) -> Result<Channel, BenchError> {
    let dial_err = |reason: String| BenchError::Dial {
        endpoint: uri.to_string(),
        reason,
    };
    let endpoint = Endpoint::from_shared(uri.to_string())
        .map_err(|e| dial_err(e.to_string()))?
        .connect_timeout(timeout)
        .tcp_nodelay(true);
    match tokio::time::timeout(timeout, endpoint.connect()).await {
        Ok(Ok(channel)) => Ok(channel),
        Ok(Err(e)) => Err(dial_err(error_chain(&e))),
        Err(_) => Err(dial_err(format!("timed out after {timeout:?}"))),
    }
}

/// Dials `uri` and, with `credentials`, authenticates once on the new connection (the
/// login bounded by `timeout` too); every request on the returned connection then carries
/// the token. A server with auth disabled gets no token, as with clientv3.
pub async fn connect(
    uri: &str,
    timeout: Duration,
    credentials: Option<&Credentials>,
) -> Result<Conn, BenchError> {
    let channel = dial(uri, timeout).await?;
    let token = match credentials {
        Some(credentials) => authenticate(channel.clone(), credentials, timeout).await?,
        None => None,
    };
    let interceptor = TokenInterceptor::new(token.as_deref())?;
    Ok(InterceptedService::new(channel, interceptor))
}

/// Connects `conns` times (see [`connect`]), handing out `endpoints` round-robin.
pub async fn dial_all(
    endpoints: &[String],
    conns: usize,
    timeout: Duration,
    credentials: Option<&Credentials>,
) -> Result<Vec<Conn>, BenchError> {
    let mut channels = Vec::with_capacity(conns);
    for i in 0..conns {
        channels.push(connect(&endpoints[i % endpoints.len()], timeout, credentials).await?);
    }
    Ok(channels)
}

/// Asks the endpoints, in order, who the leader is, then returns the leader's client URLs
/// (normalized), as etcd's `mustFindLeaderEndpoints` does. A failed login is final.
pub async fn leader_endpoints(
    endpoints: &[String],
    dial_timeout: Duration,
    request_timeout: Duration,
    credentials: Option<&Credentials>,
) -> Result<Vec<String>, BenchError> {
    let mut last_error = String::from("no endpoint answered");
    for uri in endpoints {
        let channel = match connect(uri, dial_timeout, credentials).await {
            Ok(channel) => channel,
            Err(e @ BenchError::Auth(_)) => return Err(e),
            Err(e) => {
                last_error = e.to_string();
                continue;
            }
        };
        let status = tokio::time::timeout(
            request_timeout,
            MaintenanceClient::new(channel.clone()).status(StatusRequest {}),
        )
        .await;
        let leader = match status {
            Ok(Ok(resp)) => resp.into_inner().leader,
            Ok(Err(status)) => {
                last_error = format!("status of {uri}: {}", status.message());
                continue;
            }
            Err(_) => {
                last_error = format!("status of {uri}: timed out");
                continue;
            }
        };
        let members = tokio::time::timeout(
            request_timeout,
            ClusterClient::new(channel).member_list(MemberListRequest::default()),
        )
        .await
        .map_err(|_| BenchError::Leader("member list timed out".to_string()))?
        .map_err(|s| BenchError::Leader(format!("failed to get a member list: {}", s.message())))?
        .into_inner()
        .members;
        let urls = members
            .into_iter()
            .find(|m| m.id == leader)
            .map(|m| m.client_ur_ls)
            .ok_or_else(|| BenchError::Leader(format!("leader {leader:x} is not a member")))?;
        return urls
            .iter()
            .map(|u| normalize_endpoint(u))
            .collect::<Result<Vec<_>, _>>()
            .and_then(|eps| {
                if eps.is_empty() {
                    Err(BenchError::Leader("leader has no client URLs".to_string()))
                } else {
                    Ok(eps)
                }
            });
    }
    Err(BenchError::Leader(last_error))
}

/// The error and its sources, joined with `: ` (tonic's transport errors hide the cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_endpoints() {
        assert_eq!(
            normalize_endpoint("127.0.0.1:2379").unwrap(),
            "http://127.0.0.1:2379"
        );
        assert_eq!(
            normalize_endpoint(" http://localhost:22379/ ").unwrap(),
            "http://localhost:22379"
        );
        assert!(normalize_endpoint("https://127.0.0.1:2379").is_err());
        assert!(normalize_endpoint("").is_err());
        assert!(normalize_endpoint("127.0.0.1:2379/path").is_err());
    }

    #[tokio::test]
    async fn dial_to_closed_port_fails_fast() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let uri = format!("http://127.0.0.1:{port}");
        let started = std::time::Instant::now();
        let result = dial(&uri, Duration::from_secs(3)).await;
        assert!(matches!(result, Err(BenchError::Dial { .. })));
        assert!(started.elapsed() < Duration::from_secs(4));
    }
}
