//! Attaching etcd's auth token to every request.

use std::sync::{Arc, RwLock};

use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// Adds the `token` metadata etcd expects once a user has authenticated. Clones share the
/// token, so setting it on one updates all service clients of a [`crate::Client`].
#[derive(Clone, Default)]
pub struct TokenInterceptor {
    token: Arc<RwLock<Option<MetadataValue<tonic::metadata::Ascii>>>>,
}

impl TokenInterceptor {
    /// Sets (or clears) the token sent with each request.
    pub fn set(&self, token: Option<&str>) -> Result<(), Status> {
        let value = match token {
            Some(t) => Some(
                t.parse()
                    .map_err(|_| Status::invalid_argument("auth token is not valid ASCII"))?,
            ),
            None => None,
        };
        *self.token.write().unwrap_or_else(|e| e.into_inner()) = value;
        Ok(())
    }
}

impl Interceptor for TokenInterceptor {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let token = self.token.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(token) = token {
            req.metadata_mut().insert("token", token);
        }
        Ok(req)
    }
}
