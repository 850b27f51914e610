//! The `etcdserverpb.KV` service: validate (as etcd's v3rpc/key.go), delegate, fill headers.

use std::sync::Arc;

use etcd_proto::etcdserverpb::{
    kv_server::Kv, CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse,
    PutRequest, PutResponse, RangeRequest, RangeResponse, TxnRequest, TxnResponse,
};
use tonic::{Request, Response, Status};

use crate::backend::{fill, Backend};
use crate::caller::caller;
use crate::validate;

pub struct KvService {
    backend: Arc<dyn Backend>,
}

impl KvService {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self { backend }
    }
}

#[tonic::async_trait]
impl Kv for KvService {
    async fn range(&self, req: Request<RangeRequest>) -> Result<Response<RangeResponse>, Status> {
        let who = caller(&*self.backend, &req).await?;
        let req = req.into_inner();
        validate::check_range(&req)?;
        let mut resp = self.backend.range(&who, req).await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }

    async fn put(&self, req: Request<PutRequest>) -> Result<Response<PutResponse>, Status> {
        let who = caller(&*self.backend, &req).await?;
        let req = req.into_inner();
        validate::check_put(&req)?;
        let mut resp = self.backend.put(&who, req).await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }

    async fn delete_range(
        &self,
        req: Request<DeleteRangeRequest>,
    ) -> Result<Response<DeleteRangeResponse>, Status> {
        let who = caller(&*self.backend, &req).await?;
        let req = req.into_inner();
        validate::check_delete(&req)?;
        let mut resp = self.backend.delete_range(&who, req).await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }

    async fn txn(&self, req: Request<TxnRequest>) -> Result<Response<TxnResponse>, Status> {
        let who = caller(&*self.backend, &req).await?;
        let req = req.into_inner();
        validate::check_txn(&req, self.backend.max_txn_ops())?;
        let mut resp = self.backend.txn(&who, req).await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }

    async fn compact(
        &self,
        req: Request<CompactionRequest>,
    ) -> Result<Response<CompactionResponse>, Status> {
        let mut resp = self.backend.compact(req.into_inner()).await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }
}
