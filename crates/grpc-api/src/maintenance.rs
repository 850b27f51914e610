//! The `etcdserverpb.Maintenance` service: Status, Alarm, Defragment, Hash, HashKV,
//! MoveLeader and Snapshot (streamed by [`crate::snapshot_stream`]).

use std::pin::Pin;
use std::sync::Arc;

use etcd_proto::etcdserverpb::{
    maintenance_server::Maintenance, AlarmRequest, AlarmResponse, DefragmentRequest,
    DefragmentResponse, HashKvRequest, HashKvResponse, HashRequest, HashResponse,
    MoveLeaderRequest, MoveLeaderResponse, SnapshotRequest, SnapshotResponse, StatusRequest,
    StatusResponse,
};
use futures::Stream;
use tonic::{Request, Response, Status};

use crate::backend::{fill, Backend};
use crate::caller::require_admin;
use crate::EtcdError;

/// etcd's maintenance server returns the auth store's errors unconverted (`auth: ...`,
/// code Unknown), unlike every other service.
fn raw(e: auth::AuthError) -> EtcdError {
    EtcdError::Other(e.to_string())
}

pub struct MaintenanceService {
    backend: Arc<dyn Backend>,
}

impl MaintenanceService {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self { backend }
    }
}

type SnapshotStream = Pin<Box<dyn Stream<Item = Result<SnapshotResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Maintenance for MaintenanceService {
    async fn alarm(&self, req: Request<AlarmRequest>) -> Result<Response<AlarmResponse>, Status> {
        // etcd answers alarms without a header.
        Ok(Response::new(self.backend.alarm(req.into_inner()).await?))
    }

    async fn status(&self, _: Request<StatusRequest>) -> Result<Response<StatusResponse>, Status> {
        let mut resp = self.backend.status().await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }

    async fn defragment(
        &self,
        req: Request<DefragmentRequest>,
    ) -> Result<Response<DefragmentResponse>, Status> {
        require_admin(&*self.backend, &req).await.map_err(raw)?;
        self.backend.defragment().await?;
        // etcd answers an empty response: no header.
        Ok(Response::new(DefragmentResponse { header: None }))
    }

    async fn hash(&self, req: Request<HashRequest>) -> Result<Response<HashResponse>, Status> {
        require_admin(&*self.backend, &req).await.map_err(raw)?;
        let mut resp = self.backend.hash().await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }

    async fn hash_kv(
        &self,
        req: Request<HashKvRequest>,
    ) -> Result<Response<HashKvResponse>, Status> {
        require_admin(&*self.backend, &req).await.map_err(raw)?;
        let mut resp = self.backend.hash_kv(req.into_inner().revision).await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }

    type SnapshotStream = SnapshotStream;

    async fn snapshot(
        &self,
        req: Request<SnapshotRequest>,
    ) -> Result<Response<Self::SnapshotStream>, Status> {
        require_admin(&*self.backend, &req).await.map_err(raw)?;
        let (file, size) = self.backend.snapshot().await?;
        Ok(Response::new(Box::pin(crate::snapshot_stream::stream(
            file, size,
        ))))
    }

    async fn move_leader(
        &self,
        req: Request<MoveLeaderRequest>,
    ) -> Result<Response<MoveLeaderResponse>, Status> {
        // etcd answers MoveLeader with an empty response: no header.
        let resp = self.backend.move_leader(req.into_inner().target_id).await?;
        Ok(Response::new(resp))
    }
}
