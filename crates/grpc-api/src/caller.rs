//! Who sends a request: the credentials a request carries (etcd's `token` metadata, or
//! `authorization` as etcd's gRPC gateway sends it, and the verified TLS client
//! certificate), resolved by the [`Backend`] into an [`AuthInfo`].

use tonic::Request;

use crate::backend::{AuthError, AuthInfo, AuthResult, Backend, Result};

/// The credentials of one request or stream, kept so a stream can resolve them again for
/// each watch it creates (the auth revision may have moved on meanwhile).
#[derive(Clone, Debug)]
pub struct Credentials {
    /// `Err` when the metadata holds a token that is not text: never a valid token.
    token: std::result::Result<Option<String>, ()>,
    cert: Option<Vec<u8>>,
}

impl Credentials {
    pub fn of<T>(req: &Request<T>) -> Credentials {
        let md = req.metadata();
        let token = match md.get("token").or_else(|| md.get("authorization")) {
            None => Ok(None),
            Some(v) => v.to_str().map(|t| Some(t.to_owned())).map_err(|_| ()),
        };
        let cert = req
            .peer_certs()
            .and_then(|certs| certs.first().map(|c| c.as_ref().to_vec()));
        Credentials { token, cert }
    }

    /// The caller, as the backend sees it now.
    pub async fn resolve(&self, backend: &dyn Backend) -> AuthResult<AuthInfo> {
        let token = self
            .token
            .as_ref()
            .map_err(|()| AuthError::InvalidAuthToken)?;
        backend
            .auth_info(token.as_deref(), self.cert.as_deref())
            .await
    }
}

/// The caller of `req`.
pub async fn caller<T>(backend: &dyn Backend, req: &Request<T>) -> Result<AuthInfo> {
    Ok(Credentials::of(req).resolve(backend).await?)
}

/// Refuses `req` unless its caller is an administrator (when auth is on).
pub async fn require_admin<T>(backend: &dyn Backend, req: &Request<T>) -> AuthResult<()> {
    let who = Credentials::of(req).resolve(backend).await?;
    backend.check_admin(&who)
}
