//! The `v3electionpb.Election` service (etcd's `etcdserver/api/v3election`):
//! `concurrency`'s election run against this member for the caller. Campaign, Proclaim and
//! Resign use the caller's lease (lease 0 on Campaign: a fresh lease of 60 s, as etcd),
//! which the server does not keep alive.

use std::sync::Arc;

use concurrency::{CancellationToken, Election, Session};
use etcd_proto::etcdserverpb::RangeResponse;
use etcd_proto::v3electionpb::{
    election_server, CampaignRequest, CampaignResponse, LeaderKey, LeaderRequest, LeaderResponse,
    ProclaimRequest, ProclaimResponse, ResignRequest, ResignResponse,
};
use futures::stream::{BoxStream, StreamExt};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::backend::Backend;
use crate::member_store::{recipe_status, run_cancellable, MemberStore};

/// etcd's `ErrMissingLeaderKey`.
const MISSING_LEADER_KEY: &str = "\"leader\" field must be provided";

/// The lease etcd's Leader and Observe sessions are made with (never used for a key).
const NO_SESSION_LEASE: i64 = -1;

pub struct ElectionService {
    backend: Arc<dyn Backend>,
}

impl ElectionService {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self { backend }
    }
}

/// etcd's `LeaderResponse` from a get response of the election's prefix.
fn leader_response(mut resp: RangeResponse) -> LeaderResponse {
    LeaderResponse {
        header: resp.header.take(),
        kv: resp.kvs.into_iter().next(),
    }
}

/// The session and election a leader key stands for (`ResumeElection`).
async fn resume(
    store: Arc<MemberStore>,
    leader: Option<LeaderKey>,
) -> Result<(Session<MemberStore>, Election<MemberStore>), Status> {
    let leader = leader.ok_or_else(|| recipe_status(MISSING_LEADER_KEY))?;
    let session = Session::orphaned(store, leader.lease)
        .await
        .map_err(recipe_status)?;
    let election = Election::resume(&session, &leader.name, &leader.key, leader.rev);
    Ok((session, election))
}

type ObserveStream = BoxStream<'static, Result<LeaderResponse, Status>>;

#[tonic::async_trait]
impl election_server::Election for ElectionService {
    async fn campaign(
        &self,
        req: Request<CampaignRequest>,
    ) -> Result<Response<CampaignResponse>, Status> {
        let store = MemberStore::for_caller(&self.backend, &req).await?;
        let req = req.into_inner();
        let resp = run_cancellable(move |ctx| async move {
            let session = Session::orphaned(store, req.lease)
                .await
                .map_err(recipe_status)?;
            let mut election = Election::new(&session, &req.name);
            election
                .campaign(&ctx, &req.value)
                .await
                .map_err(recipe_status)?;
            Ok(CampaignResponse {
                header: election.header().cloned(),
                leader: Some(LeaderKey {
                    name: req.name,
                    key: election.key().to_vec(),
                    rev: election.rev(),
                    lease: session.lease(),
                }),
            })
        })
        .await?;
        Ok(Response::new(resp))
    }

    async fn proclaim(
        &self,
        req: Request<ProclaimRequest>,
    ) -> Result<Response<ProclaimResponse>, Status> {
        let store = MemberStore::for_caller(&self.backend, &req).await?;
        let req = req.into_inner();
        let (_session, mut election) = resume(store, req.leader).await?;
        election
            .proclaim(&CancellationToken::new(), &req.value)
            .await
            .map_err(recipe_status)?;
        Ok(Response::new(ProclaimResponse {
            header: election.header().cloned(),
        }))
    }

    async fn leader(
        &self,
        req: Request<LeaderRequest>,
    ) -> Result<Response<LeaderResponse>, Status> {
        let store = MemberStore::for_caller(&self.backend, &req).await?;
        let session = Session::orphaned(store, NO_SESSION_LEASE)
            .await
            .map_err(recipe_status)?;
        let election = Election::new(&session, &req.into_inner().name);
        let resp = election
            .leader(&CancellationToken::new())
            .await
            .map_err(recipe_status)?;
        Ok(Response::new(leader_response(resp)))
    }

    type ObserveStream = ObserveStream;

    async fn observe(
        &self,
        req: Request<LeaderRequest>,
    ) -> Result<Response<Self::ObserveStream>, Status> {
        let store = MemberStore::for_caller(&self.backend, &req).await?;
        let session = Session::orphaned(store, NO_SESSION_LEASE)
            .await
            .map_err(recipe_status)?;
        let election = Election::new(&session, &req.into_inner().name);
        // The observer stops when the stream (and so its receiver) is dropped.
        let changes = election.observe(CancellationToken::new());
        let stream = ReceiverStream::new(changes).map(|resp| Ok(leader_response(resp)));
        Ok(Response::new(stream.boxed()))
    }

    async fn resign(
        &self,
        req: Request<ResignRequest>,
    ) -> Result<Response<ResignResponse>, Status> {
        let store = MemberStore::for_caller(&self.backend, &req).await?;
        let (_session, mut election) = resume(store, req.into_inner().leader).await?;
        election
            .resign(&CancellationToken::new())
            .await
            .map_err(recipe_status)?;
        Ok(Response::new(ResignResponse {
            header: election.header().cloned(),
        }))
    }
}
