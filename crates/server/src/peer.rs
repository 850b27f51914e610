//! The peer port besides raft traffic: the `peerpb.Cluster` service (membership lookup
//! for a joining member; lease keep-alives, lease TTL queries and learner promotions that
//! a follower forwards to the leader, as etcd forwards them over its peer HTTP API; HashKV
//! for the corruption checks), the
//! client side of those calls, and mirroring membership into the raft transport.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use etcd_proto::etcdserverpb::{
    HashKvRequest, HashKvResponse, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, Member,
    MemberPromoteRequest, MemberPromoteResponse,
};
use etcd_proto::peerpb::cluster_client::ClusterClient;
use etcd_proto::peerpb::cluster_server::{Cluster as PeerCluster, ClusterServer};
use etcd_proto::peerpb::{LeaseRenewRequest, LeaseRenewResponse, MembersRequest, MembersResponse};
use grpc_api::backend::Result;
use grpc_api::{Backend, EtcdError};
use raft_node::PeerTransport;
use raft_node::{peer_endpoint, PeerTls};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::backend::EtcdBackend;
use crate::cluster::PeerDirectory;

/// How long a forwarded request may take (etcd's peer request timeout is similar).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

impl PeerDirectory for PeerTransport {
    fn upsert(&self, id: u64, peer_urls: Vec<String>) {
        self.add_peer(id, peer_urls);
    }
    fn remove(&self, id: u64) {
        self.remove_peer(id);
    }
}

/// Serves `peerpb.Cluster` for `backend`.
pub fn cluster_service(backend: Arc<EtcdBackend>) -> ClusterServer<PeerApi> {
    ClusterServer::new(PeerApi { backend })
}

pub struct PeerApi {
    backend: Arc<EtcdBackend>,
}

fn status(e: EtcdError) -> Status {
    e.into()
}

#[tonic::async_trait]
impl PeerCluster for PeerApi {
    async fn members(
        &self,
        _: Request<MembersRequest>,
    ) -> std::result::Result<Response<MembersResponse>, Status> {
        Ok(Response::new(MembersResponse {
            cluster_id: self.backend.cluster_id,
            members: self.backend.cluster.members(),
        }))
    }

    async fn lease_renew(
        &self,
        req: Request<LeaseRenewRequest>,
    ) -> std::result::Result<Response<LeaseRenewResponse>, Status> {
        let ttl = self.backend.lease_renew(req.into_inner().id).await;
        Ok(Response::new(LeaseRenewResponse {
            ttl: ttl.map_err(status)?,
        }))
    }

    async fn lease_time_to_live(
        &self,
        req: Request<LeaseTimeToLiveRequest>,
    ) -> std::result::Result<Response<LeaseTimeToLiveResponse>, Status> {
        let resp = self.backend.lease_time_to_live(req.into_inner()).await;
        Ok(Response::new(resp.map_err(status)?))
    }

    async fn member_promote(
        &self,
        req: Request<MemberPromoteRequest>,
    ) -> std::result::Result<Response<MemberPromoteResponse>, Status> {
        let resp = self.backend.member_promote(req.into_inner()).await;
        Ok(Response::new(resp.map_err(status)?))
    }

    async fn hash_kv(
        &self,
        req: Request<HashKvRequest>,
    ) -> std::result::Result<Response<HashKvResponse>, Status> {
        let mut resp = self
            .backend
            .hash_kv(req.into_inner().revision)
            .await
            .map_err(status)?;
        if let Some(h) = resp.header.as_mut() {
            self.backend.fill_header(h);
        }
        Ok(Response::new(resp))
    }
}

pub(crate) fn channel(url: &str, tls: Option<&PeerTls>) -> std::result::Result<Channel, String> {
    Ok(peer_endpoint(url, tls)?
        .configure(|e| {
            e.connect_timeout(Duration::from_secs(1))
                .timeout(FORWARD_TIMEOUT)
        })
        .connect_lazy())
}

/// A client of the leader's `peerpb.Cluster` service, or the error a client gets when
/// there is no leader to forward to.
fn leader_client(backend: &EtcdBackend, leader: u64) -> Result<ClusterClient<Channel>> {
    if leader == 0 {
        return Err(EtcdError::NoLeader);
    }
    let url = backend
        .cluster
        .member(leader)
        .and_then(|m| m.peer_ur_ls.into_iter().next())
        .ok_or(EtcdError::NoLeader)?;
    channel(&url, backend.peers.tls().as_ref())
        .map(ClusterClient::new)
        .map_err(EtcdError::Other)
}

/// The error a forwarded call failed with: etcd's own when the leader answered with one
/// (same message), else a timeout as etcd reports a lost leader.
fn forwarded_error(s: Status) -> EtcdError {
    match s.code() {
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled
            if !s.message().starts_with("etcdserver:") =>
        {
            EtcdError::TimeoutDueToLeaderFail
        }
        _ => EtcdError::from_message(s.message()),
    }
}

pub(crate) async fn forward_lease_renew(
    backend: &EtcdBackend,
    leader: u64,
    id: i64,
) -> Result<i64> {
    let mut client = leader_client(backend, leader)?;
    let resp = client
        .lease_renew(LeaseRenewRequest { id })
        .await
        .map_err(forwarded_error)?;
    Ok(resp.into_inner().ttl)
}

pub(crate) async fn forward_lease_ttl(
    backend: &EtcdBackend,
    leader: u64,
    req: LeaseTimeToLiveRequest,
) -> Result<LeaseTimeToLiveResponse> {
    let mut client = leader_client(backend, leader)?;
    let resp = client
        .lease_time_to_live(req)
        .await
        .map_err(forwarded_error)?;
    Ok(resp.into_inner())
}

pub(crate) async fn forward_promote(
    backend: &EtcdBackend,
    leader: u64,
    req: MemberPromoteRequest,
) -> Result<MemberPromoteResponse> {
    let mut client = leader_client(backend, leader)?;
    let resp = client.member_promote(req).await.map_err(forwarded_error)?;
    Ok(resp.into_inner())
}

/// `--initial-cluster-state existing`: asks the other members listed in
/// `--initial-cluster` for the cluster ID and membership, for up to `limit`.
pub async fn fetch_cluster(
    urls: &[String],
    tls: Option<&PeerTls>,
    limit: Duration,
) -> anyhow::Result<(u64, Vec<Member>)> {
    let deadline = Instant::now() + limit;
    let mut last_err = String::from("no peer URLs to ask");
    loop {
        for url in urls {
            let Ok(ch) = channel(url, tls) else {
                continue;
            };
            match ClusterClient::new(ch).members(MembersRequest {}).await {
                Ok(r) => {
                    let r = r.into_inner();
                    return Ok((r.cluster_id, r.members));
                }
                Err(e) => last_err = format!("{url}: {}", e.message()),
            }
        }
        if Instant::now() >= deadline {
            bail!("cannot fetch cluster info from peer urls: could not retrieve cluster information from the given URLs ({last_err})");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
