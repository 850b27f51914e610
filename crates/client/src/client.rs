//! The connection handle and its typed service clients.

use std::future::Future;
use std::time::Duration;

use etcd_proto::etcdserverpb::{
    auth_client::AuthClient, cluster_client::ClusterClient, kv_client::KvClient,
    lease_client::LeaseClient, maintenance_client::MaintenanceClient, watch_client::WatchClient,
    AuthenticateRequest,
};
use tokio::time::Instant;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::endpoint::Dialer;
use crate::error::messages::{AUTH_NOT_ENABLED, AUTH_OLD_REVISION, INVALID_AUTH_TOKEN, USER_EMPTY};
use crate::retry::{attempts, backoff};
use crate::{ClientConfig, Credentials, Error, Result, RetryLog, RetryPolicy, TokenInterceptor};

/// The transport every service client of a [`Client`] runs on.
pub type Svc = InterceptedService<Channel, TokenInterceptor>;

/// clientv3's `defaultUnaryMaxRetries`: no call makes more attempts than this, however
/// often its auth token is refreshed.
const MAX_ATTEMPTS: u32 = 100;

/// A connection to an etcd cluster. Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct Client {
    channel: Channel,
    token: TokenInterceptor,
    endpoints: Vec<String>,
    request_timeout: Option<Duration>,
    /// Whom to log in as: set only when both the user name and the password are non-empty
    /// (clientv3 ignores credentials otherwise).
    credentials: Option<Credentials>,
}

impl Client {
    /// Connects to the cluster, waiting at most `dial_timeout` for the connection (when a
    /// single endpoint is given; several endpoints are balanced and connected on demand),
    /// then authenticates if credentials are set.
    pub async fn connect(cfg: ClientConfig) -> Result<Client> {
        let dialer = Dialer::new(&cfg)?;
        let channel = if cfg.dial_timeout.is_zero() {
            dialer.connect().await?
        } else {
            tokio::time::timeout(cfg.dial_timeout, dialer.connect())
                .await
                .map_err(|_| Error::DeadlineExceeded(None))??
        };
        let client = Self::from_channel(channel, &cfg);
        let deadline = (!cfg.dial_timeout.is_zero()).then(|| Instant::now() + cfg.dial_timeout);
        client
            .authenticate(deadline, &mut |_: u32, _: &Error| {})
            .await?;
        Ok(client)
    }

    /// Builds a client without any I/O but reading TLS files: the connection is made by the
    /// first call (and calls made through [`Client::call`] wait for it, as etcd's Go client
    /// does). Must be called within a tokio runtime.
    pub fn connect_lazy(cfg: &ClientConfig) -> Result<Client> {
        Ok(Self::from_channel(Dialer::new(cfg)?.lazy(), cfg))
    }

    fn from_channel(channel: Channel, cfg: &ClientConfig) -> Client {
        Client {
            channel,
            token: TokenInterceptor::default(),
            endpoints: cfg.endpoints.clone(),
            request_timeout: cfg.request_timeout,
            credentials: cfg
                .credentials
                .clone()
                .filter(|c| !c.user.is_empty() && !c.password.is_empty()),
        }
    }

    /// The credentials this client logs in with, if any.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// Logs in with the configured credentials (if any) and attaches the returned token to
    /// all later requests. A cluster without authentication enabled is not an error (as in
    /// clientv3), though the refusal is logged like any failed attempt.
    pub async fn authenticate(
        &self,
        deadline: Option<Instant>,
        log: &mut impl RetryLog,
    ) -> Result<()> {
        let Some(creds) = &self.credentials else {
            return Ok(());
        };
        // Without the interceptor: like clientv3's separate authenticator connection, the
        // login does not carry the (perhaps expired) token, which the server would check.
        let auth = AuthClient::new(self.channel.clone());
        let result = attempts(deadline, RetryPolicy::NonRepeatable, 0, log, |left| {
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
            Err(f) if f.error.is_etcd(AUTH_NOT_ENABLED) => Ok(()),
            Err(f) => Err(f.error),
        }
    }

    /// clientv3's `shouldRefreshToken`: whether `err` asks for a new token.
    fn should_refresh(&self, err: &Error) -> bool {
        (err.is_etcd(USER_EMPTY) && self.credentials.is_some())
            || err.is_etcd(INVALID_AUTH_TOKEN)
            || err.is_etcd(AUTH_OLD_REVISION)
    }

    /// Runs one unary RPC as clientv3's retry interceptor does: [`crate::call_with_retry`]'s
    /// waiting and retries, and when the server refuses the auth token (invalid, or older
    /// than the auth store), a fresh login (if credentials are set) and another attempt.
    pub async fn call<T, F, Fut>(
        &self,
        deadline: Option<Instant>,
        policy: RetryPolicy,
        log: &mut impl RetryLog,
        mut call: F,
    ) -> Result<T>
    where
        F: FnMut(Option<Duration>) -> Fut,
        Fut: Future<Output = std::result::Result<T, tonic::Status>>,
    {
        let mut first = 0;
        loop {
            let failure = match attempts(deadline, policy, first, log, &mut call).await {
                Ok(v) => return Ok(v),
                Err(f) => f,
            };
            if failure.attempt + 1 >= MAX_ATTEMPTS || !self.should_refresh(&failure.error) {
                return Err(failure.error);
            }
            if self.credentials.is_some() {
                self.token.set(None)?;
                if let Err(e) = self.authenticate(deadline, log).await {
                    log.token_refresh_failed(&e);
                    return Err(e);
                }
            }
            first = failure.attempt + 1;
            backoff(deadline).await;
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
