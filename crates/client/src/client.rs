//! The connection handle and its typed service clients.

use std::time::Duration;

use etcd_proto::etcdserverpb::{
    auth_client::AuthClient, cluster_client::ClusterClient, kv_client::KvClient,
    lease_client::LeaseClient, maintenance_client::MaintenanceClient, watch_client::WatchClient,
    AuthenticateRequest,
};
use tokio::time::Instant;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::{
    call_with_retry, endpoint, ClientConfig, Credentials, Error, Result, RetryPolicy,
    TokenInterceptor,
};

/// The transport every service client of a [`Client`] runs on.
pub type Svc = InterceptedService<Channel, TokenInterceptor>;

/// A connection to an etcd cluster. Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct Client {
    channel: Channel,
    token: TokenInterceptor,
    endpoints: Vec<String>,
    request_timeout: Option<Duration>,
}

impl Client {
    /// Connects to the cluster, waiting at most `dial_timeout` for the connection (when a
    /// single endpoint is given; several endpoints are balanced and connected on demand),
    /// then authenticates if credentials are set.
    pub async fn connect(cfg: ClientConfig) -> Result<Client> {
        let endpoints = Self::endpoints_of(&cfg)?;
        let channel = if let [single] = endpoints.as_slice() {
            let connect = single.connect();
            if cfg.dial_timeout.is_zero() {
                connect.await?
            } else {
                tokio::time::timeout(cfg.dial_timeout, connect)
                    .await
                    .map_err(|_| Error::DeadlineExceeded(None))??
            }
        } else {
            Channel::balance_list(endpoints.into_iter())
        };
        let client = Self::from_channel(channel, &cfg);
        if let Some(creds) = &cfg.credentials {
            let deadline = (!cfg.dial_timeout.is_zero()).then(|| Instant::now() + cfg.dial_timeout);
            client.authenticate(creds, deadline, |_, _| {}).await?;
        }
        Ok(client)
    }

    /// Builds a client without any I/O: the connection is made by the first call (and calls
    /// made through [`call_with_retry`] wait for it, as etcd's Go client does). Must be
    /// called within a tokio runtime.
    pub fn connect_lazy(cfg: &ClientConfig) -> Result<Client> {
        let endpoints = Self::endpoints_of(cfg)?;
        let channel = if let [single] = endpoints.as_slice() {
            single.connect_lazy()
        } else {
            Channel::balance_list(endpoints.into_iter())
        };
        Ok(Self::from_channel(channel, cfg))
    }

    fn endpoints_of(cfg: &ClientConfig) -> Result<Vec<Endpoint>> {
        if cfg.endpoints.is_empty() {
            return Err(Error::NoEndpoints);
        }
        cfg.endpoints
            .iter()
            .map(|ep| endpoint::build(ep, cfg))
            .collect()
    }

    fn from_channel(channel: Channel, cfg: &ClientConfig) -> Client {
        Client {
            channel,
            token: TokenInterceptor::default(),
            endpoints: cfg.endpoints.clone(),
            request_timeout: cfg.request_timeout,
        }
    }

    /// Logs in as `creds.user` and attaches the returned token to all later requests.
    /// A cluster without authentication enabled is not an error (as in clientv3).
    pub async fn authenticate(
        &self,
        creds: &Credentials,
        deadline: Option<Instant>,
        on_failure: impl FnMut(u32, &Error),
    ) -> Result<()> {
        let auth = self.auth();
        let result = call_with_retry(deadline, RetryPolicy::Repeatable, on_failure, |left| {
            let mut req = tonic::Request::new(AuthenticateRequest {
                name: creds.user.clone(),
                password: creds.password.clone(),
            });
            if let Some(left) = left {
                req.set_timeout(left);
            }
            let mut auth = auth.clone();
            async move { auth.authenticate(req).await }
        })
        .await;
        match result {
            Ok(resp) => Ok(self.token.set(Some(&resp.into_inner().token))?),
            Err(e) if e.is_etcd("etcdserver: authentication is not enabled") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The endpoints this client was configured with.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// Wraps `msg` into a request carrying the configured default timeout, if any.
    pub fn request<T>(&self, msg: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(msg);
        if let Some(t) = self.request_timeout {
            req.set_timeout(t);
        }
        req
    }

    fn svc(&self) -> Svc {
        InterceptedService::new(self.channel.clone(), self.token.clone())
    }

    /// The KV service (Range, Put, DeleteRange, Txn, Compact).
    pub fn kv(&self) -> KvClient<Svc> {
        KvClient::new(self.svc())
    }

    /// The Watch service.
    pub fn watch(&self) -> WatchClient<Svc> {
        WatchClient::new(self.svc())
    }

    /// The Lease service.
    pub fn lease(&self) -> LeaseClient<Svc> {
        LeaseClient::new(self.svc())
    }

    /// The Cluster (membership) service.
    pub fn cluster(&self) -> ClusterClient<Svc> {
        ClusterClient::new(self.svc())
    }

    /// The Maintenance service (Status, Alarm, Defragment, Hash, Snapshot, MoveLeader).
    pub fn maintenance(&self) -> MaintenanceClient<Svc> {
        MaintenanceClient::new(self.svc())
    }

    /// The Auth service.
    pub fn auth(&self) -> AuthClient<Svc> {
        AuthClient::new(self.svc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_endpoints_is_an_error() {
        let cfg = ClientConfig::new(Vec::<String>::new());
        assert!(matches!(
            Client::connect_lazy(&cfg),
            Err(Error::NoEndpoints)
        ));
        assert_eq!(
            Client::connect(cfg).await.err().map(|e| e.to_string()),
            Some("etcdclient: no available endpoints".to_string())
        );
    }

    #[tokio::test]
    async fn connect_fails_within_dial_timeout() {
        // Port 1 on loopback: nothing listens there.
        let mut cfg = ClientConfig::new(["127.0.0.1:1"]);
        cfg.dial_timeout = Duration::from_millis(500);
        let start = std::time::Instant::now();
        assert!(Client::connect(cfg).await.is_err());
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
