//! The `etcdserverpb.Cluster` service: membership listing and runtime reconfiguration,
//! each a call to the [`Backend`] with the response header filled.

use std::sync::Arc;

use etcd_proto::etcdserverpb::{
    cluster_server::Cluster, MemberAddRequest, MemberAddResponse, MemberListRequest,
    MemberListResponse, MemberPromoteRequest, MemberPromoteResponse, MemberRemoveRequest,
    MemberRemoveResponse, MemberUpdateRequest, MemberUpdateResponse,
};
use tonic::{Request, Response, Status};

use crate::backend::{fill, Backend};
use crate::caller::require_admin;
use crate::EtcdError;

pub struct ClusterService {
    backend: Arc<dyn Backend>,
}

impl ClusterService {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self { backend }
    }
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn member_add(
        &self,
        req: Request<MemberAddRequest>,
    ) -> Result<Response<MemberAddResponse>, Status> {
        require_admin(&*self.backend, &req)
            .await
            .map_err(EtcdError::from)?;
        let mut resp = self.backend.member_add(req.into_inner()).await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }

    async fn member_remove(
        &self,
        req: Request<MemberRemoveRequest>,
    ) -> Result<Response<MemberRemoveResponse>, Status> {
        require_admin(&*self.backend, &req)
            .await
            .map_err(EtcdError::from)?;
        let mut resp = self.backend.member_remove(req.into_inner()).await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }

    async fn member_update(
        &self,
        req: Request<MemberUpdateRequest>,
    ) -> Result<Response<MemberUpdateResponse>, Status> {
        require_admin(&*self.backend, &req)
            .await
            .map_err(EtcdError::from)?;
        let mut resp = self.backend.member_update(req.into_inner()).await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }

    async fn member_list(
        &self,
        _: Request<MemberListRequest>,
    ) -> Result<Response<MemberListResponse>, Status> {
        let mut resp = self.backend.member_list().await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }

    async fn member_promote(
        &self,
        req: Request<MemberPromoteRequest>,
    ) -> Result<Response<MemberPromoteResponse>, Status> {
        require_admin(&*self.backend, &req)
            .await
            .map_err(EtcdError::from)?;
        let mut resp = self.backend.member_promote(req.into_inner()).await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }
}
