//! The `etcdserverpb.Lease` service: grant and revoke go through raft (in the backend);
//! keep-alive renews on the leader; a keep-alive for an unknown lease answers TTL 0 and a
//! time-to-live for one answers TTL -1, as etcd's `v3rpc/lease.go`.

use std::sync::Arc;

use etcd_proto::etcdserverpb::{
    lease_server::Lease, LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest,
    LeaseKeepAliveResponse, LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest,
    LeaseRevokeResponse, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use futures::stream::{BoxStream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::backend::{fill, Backend};
use crate::caller::caller;
use crate::errors::EtcdError;
use crate::leader;

pub struct LeaseService {
    backend: Arc<dyn Backend>,
}

impl LeaseService {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self { backend }
    }
}

type KeepAliveStream = BoxStream<'static, Result<LeaseKeepAliveResponse, Status>>;

#[tonic::async_trait]
impl Lease for LeaseService {
    async fn lease_grant(
        &self,
        req: Request<LeaseGrantRequest>,
    ) -> Result<Response<LeaseGrantResponse>, Status> {
        let mut resp = self.backend.lease_grant(req.into_inner()).await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }

    async fn lease_revoke(
        &self,
        req: Request<LeaseRevokeRequest>,
    ) -> Result<Response<LeaseRevokeResponse>, Status> {
        let who = caller(&*self.backend, &req).await?;
        let mut resp = self.backend.lease_revoke(&who, req.into_inner()).await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }

    type LeaseKeepAliveStream = KeepAliveStream;

    async fn lease_keep_alive(
        &self,
        req: Request<Streaming<LeaseKeepAliveRequest>>,
    ) -> Result<Response<Self::LeaseKeepAliveStream>, Status> {
        if self.backend.is_learner() {
            return Err(EtcdError::NotSupportedForLearner.into());
        }
        let require_leader = leader::requires_leader(req.metadata());
        let backend = self.backend.clone();
        let responses = req.into_inner().then(move |msg| {
            let backend = backend.clone();
            async move {
                let id = msg?.id;
                let ttl = backend.lease_renew(id).await?;
                let mut resp = LeaseKeepAliveResponse {
                    header: None,
                    id,
                    ttl,
                };
                fill(&*backend, &mut resp.header);
                Ok(resp)
            }
        });
        let mut responses: KeepAliveStream = responses.boxed();
        if require_leader {
            responses = leader::end_without_leader(self.backend.clone(), responses);
        }
        Ok(Response::new(responses))
    }

    async fn lease_time_to_live(
        &self,
        req: Request<LeaseTimeToLiveRequest>,
    ) -> Result<Response<LeaseTimeToLiveResponse>, Status> {
        let mut resp = self.backend.lease_time_to_live(req.into_inner()).await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }

    async fn lease_leases(
        &self,
        _: Request<LeaseLeasesRequest>,
    ) -> Result<Response<LeaseLeasesResponse>, Status> {
        let mut resp = self.backend.lease_leases().await?;
        fill(&*self.backend, &mut resp.header);
        Ok(Response::new(resp))
    }
}
