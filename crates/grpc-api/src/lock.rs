//! The `v3lockpb.Lock` service (etcd's `etcdserver/api/v3lock`): `concurrency`'s mutex run
//! against this member for the caller, on the caller's lease, which the server does not
//! keep alive.

use std::sync::Arc;

use concurrency::{Mutex, Session};
use etcd_proto::v3lockpb::{
    lock_server::Lock, LockRequest, LockResponse, UnlockRequest, UnlockResponse,
};
use tonic::{Request, Response, Status};

use crate::backend::Backend;
use crate::member_store::{recipe_status, run_cancellable, MemberStore};

pub struct LockService {
    backend: Arc<dyn Backend>,
}

impl LockService {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self { backend }
    }
}

#[tonic::async_trait]
impl Lock for LockService {
    async fn lock(&self, req: Request<LockRequest>) -> Result<Response<LockResponse>, Status> {
        let store = MemberStore::for_caller(&self.backend, &req).await?;
        let req = req.into_inner();
        let resp = run_cancellable(move |ctx| async move {
            let session = Session::orphaned(store, req.lease)
                .await
                .map_err(recipe_status)?;
            let mut mutex = Mutex::new(&session, &req.name);
            mutex.lock(&ctx).await.map_err(recipe_status)?;
            Ok(LockResponse {
                header: mutex.header().cloned(),
                key: mutex.key().to_vec(),
            })
        })
        .await?;
        Ok(Response::new(resp))
    }

    async fn unlock(
        &self,
        req: Request<UnlockRequest>,
    ) -> Result<Response<UnlockResponse>, Status> {
        let store = MemberStore::for_caller(&self.backend, &req).await?;
        let header = concurrency::delete(&*store, &req.into_inner().key)
            .await
            .map_err(recipe_status)?;
        Ok(Response::new(UnlockResponse {
            header: Some(header),
        }))
    }
}
