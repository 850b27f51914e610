//! The auth side of the request path, as etcd's `v3_server.go`: who a request comes from
//! (token or client certificate), `Authenticate` (the password is checked here, off the
//! apply path, then a token is proposed), and auth management requests, whose new
//! passwords are hashed here before they are proposed.

use std::time::Instant;

use auth::{password, AuthInfo, Tokens};
use etcd_proto::etcdserverpb::{
    AuthenticateRequest, AuthenticateResponse, InternalAuthenticateRequest, InternalRaftRequest,
};
use grpc_api::backend::{AuthOutcome, AuthResult, Result};
use grpc_api::EtcdError;

use crate::applier::Applied;
use crate::backend::EtcdBackend;

/// The common name of a (verified) client certificate, DER-encoded.
fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}

/// bcrypt off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EtcdError::Other(format!("etcdserver: password hashing failed: {e}")))
}

impl EtcdBackend {
    pub(crate) async fn caller(
        &self,
        token: Option<&str>,
        cert: Option<&[u8]>,
    ) -> AuthResult<AuthInfo> {
        if let Some(token) = token {
            self.wait_for_token_index(token).await;
            return self.auth.read().info_from_token(token, Instant::now());
        }
        if self.client_cert_auth {
            if let Some(cn) = cert.and_then(common_name) {
                return Ok(self.auth.read().info_from_common_name(&cn));
            }
        }
        Ok(AuthInfo::default())
    }

    /// A simple token names the raft index it was assigned at: a member that has not
    /// applied that far yet waits (within the request timeout) before looking it up.
    async fn wait_for_token_index(&self, token: &str) {
        let Some(index) = self.auth.read().token_index(token) else {
            return;
        };
        let mut applied = self.raft.subscribe_applied();
        let wait = applied.wait_for(|&a| a >= index);
        let _ = tokio::time::timeout(self.request_timeout, wait).await;
    }

    pub(crate) async fn authenticate_user(
        &self,
        req: AuthenticateRequest,
    ) -> Result<AuthenticateResponse> {
        let (hash, _) = self.auth.read().password_hash(&req.name)?;
        let password = req.password;
        if !blocking(move || password::verify(&password, &hash)).await? {
            tracing::info!(user = %req.name, "authentication failed, invalid password");
            return Err(EtcdError::AuthFailed);
        }
        let r = InternalRaftRequest {
            authenticate: Some(InternalAuthenticateRequest {
                name: req.name,
                password: String::new(),
                simple_token: Tokens::gen_prefix(),
            }),
            ..Default::default()
        };
        match self.propose(r).await? {
            Applied::Authenticate(resp) => Ok(resp),
            _ => Err(EtcdError::Other(
                "etcdserver: unexpected response to authenticate".into(),
            )),
        }
    }

    pub(crate) async fn change_auth(
        &self,
        who: &AuthInfo,
        mut req: InternalRaftRequest,
    ) -> Result<AuthOutcome> {
        let cost = self.bcrypt_cost;
        if let Some(u) = req.auth_user_add.as_mut() {
            if !u.options.is_some_and(|o| o.no_password) {
                let pw = std::mem::take(&mut u.password);
                u.hashed_password = blocking(move || password::hash(&pw, cost)).await??;
            }
        }
        if let Some(u) = req.auth_user_change_password.as_mut() {
            let pw = std::mem::take(&mut u.password);
            u.hashed_password = blocking(move || password::hash(&pw, cost)).await??;
        }
        match self.propose_as(who, req).await? {
            Applied::Auth(out) => Ok(out),
            _ => Err(EtcdError::Other(
                "etcdserver: unexpected response to an auth request".into(),
            )),
        }
    }
}
