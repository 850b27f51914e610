//! The member's request path behind the gRPC services: writes are proposed through raft and
//! answered when applied; linearizable reads wait for a raft read index to be applied;
//! serializable reads go straight to the store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth::{AuthInfo, AuthStore};
use etcd_proto::etcdserverpb::{
    request_op::Request, AlarmRequest, AlarmResponse, AuthenticateRequest, AuthenticateResponse,
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, HashKvResponse,
    HashResponse, InternalRaftRequest, LeaseGrantRequest, LeaseGrantResponse, LeaseLeasesResponse,
    LeaseRevokeRequest, LeaseRevokeResponse, LeaseStatus, LeaseTimeToLiveRequest,
    LeaseTimeToLiveResponse, MemberAddRequest, MemberAddResponse, MemberListResponse,
    MemberPromoteRequest, MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse,
    MemberUpdateRequest, MemberUpdateResponse, MoveLeaderResponse, PutRequest, PutResponse,
    RangeRequest, RangeResponse, RequestHeader, ResponseHeader, StatusResponse, TxnRequest,
    TxnResponse,
};
use etcd_proto::mvccpb::{Event, KeyValue};
use grpc_api::backend::{AuthOutcome, AuthResult, EventBatch, Result};
use grpc_api::{Backend, EtcdError};
use lease::Lessor;
use mvcc::{Engine, Store, WriteResponse};
use parking_lot::{Mutex, RwLock};
use prost::Message;
use raft_node::{PeerTransport, RaftError, RaftNode};
use tokio::sync::{broadcast, oneshot};

use crate::alarms::{describe, Alarms};
use crate::applier::{lease_error, Applied, ApplyResult};
use crate::cluster::Cluster;
use crate::metrics::Metrics;
use crate::quota::{cost_put, cost_txn, Quota, LEASE_OVERHEAD};
use crate::wait::{IdGenerator, Wait};

/// The version this member reports (the etcd API level it is compatible with).
pub const SERVER_VERSION: &str = "3.4.23";

pub struct EtcdBackend {
    pub member_id: u64,
    pub cluster_id: u64,
    pub cluster: Arc<Cluster>,
    pub peers: PeerTransport,
    pub raft: RaftNode,
    pub store: Arc<Store>,
    pub engine: Arc<dyn Engine>,
    pub wait: Arc<Wait>,
    pub lessor: Arc<Mutex<Lessor>>,
    pub auth: Arc<RwLock<AuthStore>>,
    /// The active alarms, as applied.
    pub alarms: Arc<RwLock<Alarms>>,
    /// `--quota-backend-bytes`.
    pub quota: Quota,
    /// `--bcrypt-cost`.
    pub bcrypt_cost: u32,
    /// `--client-cert-auth`: a verified client certificate's common name is the user.
    pub client_cert_auth: bool,
    pub events: broadcast::Sender<Arc<EventBatch>>,
    pub ids: IdGenerator,
    pub max_request_bytes: usize,
    pub max_txn_ops: usize,
    /// `--strict-reconfig-check`: refuse membership changes that could lose quorum.
    pub strict_reconfig_check: bool,
    /// `--experimental-watch-progress-notify-interval`.
    pub watch_progress_notify_interval: Duration,
    /// etcd's request timeout: 5 s + 2 x election timeout.
    pub request_timeout: Duration,
    /// One raft election timeout (`--election-timeout`).
    pub election_timeout: Duration,
    /// When the last scheduled backup succeeded.
    pub last_backup: crate::backup::LastBackup,
    /// Where snapshot databases are built (`<data-dir>/member/snap`, as etcd's).
    pub snap_dir: std::path::PathBuf,
    /// The member's Prometheus metrics (proposal counters are kept here).
    pub metrics: Arc<Metrics>,
}

pub(crate) fn raft_err(e: RaftError) -> EtcdError {
    match e {
        RaftError::NotLeader => EtcdError::NotLeader,
        RaftError::Stopped => EtcdError::Stopped,
        RaftError::Timeout => EtcdError::Timeout,
        other => EtcdError::Other(other.to_string()),
    }
}

/// Runs `f` when dropped (also when the owning future is cancelled).
struct Deferred<F: FnMut()>(F);

impl<F: FnMut()> Drop for Deferred<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// True when every range in the txn (both branches, nested) is serializable (etcd's
/// `isTxnSerializable`).
fn is_txn_serializable(t: &TxnRequest) -> bool {
    t.success
        .iter()
        .chain(&t.failure)
        .all(|op| match &op.request {
            Some(Request::RequestRange(r)) => r.serializable,
            Some(Request::RequestTxn(inner)) => is_txn_serializable(inner),
            _ => true,
        })
}

impl EtcdBackend {
    /// Proposes `req` through raft and waits until it is applied.
    pub(crate) async fn propose(&self, req: InternalRaftRequest) -> Result<Applied> {
        self.propose_as(&AuthInfo::default(), req).await
    }

    /// Proposes `req` on behalf of `who`: the applying members check its permissions
    /// with the user and auth revision stamped into the header.
    pub(crate) async fn propose_as(
        &self,
        who: &AuthInfo,
        mut req: InternalRaftRequest,
    ) -> Result<Applied> {
        let id = self.ids.next();
        req.header = Some(RequestHeader {
            id,
            username: who.username.clone(),
            auth_revision: who.revision,
        });
        let data = req.encode_to_vec();
        if data.len() > self.max_request_bytes {
            return Err(EtcdError::RequestTooLarge);
        }
        let rx = self.wait.register(id);
        self.submit_and_wait(id, rx, || self.raft.propose(data.clone()))
            .await
    }

    /// Hands proposal `id` (registered in `self.wait` as `rx`) to raft with `propose` and
    /// waits until it is applied, within one request timeout as etcd's
    /// `processInternalRaftRequestOnce`. While no leader is known (an election is running)
    /// the proposal waits for one; if none comes in time it fails as etcd's does, with Go's
    /// `context deadline exceeded`, since raft never took it. A proposal raft took but
    /// did not apply in time fails with the error etcd's `parseProposeCtxErr` picks.
    pub(crate) async fn submit_and_wait(
        &self,
        id: u64,
        rx: oneshot::Receiver<ApplyResult>,
        propose: impl Fn() -> std::result::Result<(), RaftError>,
    ) -> Result<Applied> {
        let start = Instant::now();
        let deadline = start + self.request_timeout;
        loop {
            match propose() {
                Ok(()) => break,
                Err(RaftError::NotLeader) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => {
                    self.wait.cancel(id);
                    self.metrics.proposals_failed.inc();
                    return Err(match e {
                        RaftError::NotLeader => EtcdError::DeadlineExceeded,
                        other => raft_err(other),
                    });
                }
            }
        }
        let pending = &self.metrics.proposals_pending;
        pending.inc();
        let _pending = Deferred(|| pending.dec());
        match tokio::time::timeout_at(deadline.into(), rx).await {
            Ok(Ok(res)) => res,
            Ok(Err(_)) => Err(EtcdError::Stopped),
            Err(_) => {
                self.wait.cancel(id);
                self.metrics.proposals_failed.inc();
                Err(self.proposal_timeout_error(start))
            }
        }
    }

    /// etcd's `parseProposeCtxErr` for a proposal made at `start` that timed out: one made
    /// within two election timeouts before a new leader was elected was probably lost with
    /// the previous leader; any other is a plain timeout. (etcd also says "possibly due to
    /// connection lost" when the leader lost touch with a quorum, or this member with the
    /// leader, since `start`; peer connectivity is not tracked here, so that case is a
    /// plain timeout too.)
    fn proposal_timeout_error(&self, start: Instant) -> EtcdError {
        let elected = self.raft.leader().elected_at;
        let leader_failed = elected.is_some_and(|elected| {
            let lost = elected.checked_sub(2 * self.election_timeout);
            start < elected && lost.is_none_or(|lost| start > lost)
        });
        if leader_failed {
            EtcdError::TimeoutDueToLeaderFail
        } else {
            EtcdError::Timeout
        }
    }

    /// Linearizable read barrier: wait until the raft read index is applied locally.
    async fn read_barrier(&self) -> Result<()> {
        self.read_barrier_within(self.request_timeout).await
    }

    /// [`Self::read_barrier`] failing with a timeout after `limit`.
    pub(crate) async fn read_barrier_within(&self, limit: Duration) -> Result<()> {
        let wait = async {
            let index = self.read_index().await?;
            let mut applied = self.raft.subscribe_applied();
            while *applied.borrow_and_update() < index {
                applied.changed().await.map_err(|_| EtcdError::Stopped)?;
            }
            Ok(())
        };
        tokio::time::timeout(limit, wait)
            .await
            .unwrap_or(Err(EtcdError::Timeout))
    }

    /// raft's read index. As etcd's `linearizableReadLoop`, a new leader elected while
    /// waiting for it fails the read with `etcdserver: leader changed` (clients retry).
    async fn read_index(&self) -> Result<u64> {
        let mut leader = self.raft.subscribe_leader();
        let elected = leader.borrow_and_update().elected_at;
        tokio::select! {
            index = self.raft.read_index() => index.map_err(raft_err),
            changed = leader.wait_for(|l| l.elected_at != elected) => match changed {
                Ok(_) => Err(EtcdError::LeaderChanged),
                Err(_) => Err(EtcdError::Stopped),
            },
        }
    }

    pub(crate) fn is_learner(&self) -> bool {
        self.cluster
            .member(self.member_id)
            .is_some_and(|m| m.is_learner)
    }

    /// A learner serves only Status and serializable reads (etcd's
    /// `isRPCSupportedForLearner`).
    fn not_learner(&self) -> Result<()> {
        if self.is_learner() {
            return Err(EtcdError::NotSupportedForLearner);
        }
        Ok(())
    }

    fn unexpected(what: &str) -> EtcdError {
        EtcdError::Other(format!("etcdserver: unexpected response to {what}"))
    }
}

#[tonic::async_trait]
impl Backend for EtcdBackend {
    async fn range(&self, who: &AuthInfo, req: RangeRequest) -> Result<RangeResponse> {
        self.auth
            .read()
            .check_range(who, &req.key, &req.range_end)?;
        if !req.serializable {
            self.not_learner()?;
            self.read_barrier().await?;
        }
        let resp = self.store.range(&req)?;
        self.metrics.kv.range();
        Ok(resp)
    }

    async fn put(&self, who: &AuthInfo, req: PutRequest) -> Result<PutResponse> {
        self.check_quota(cost_put(&req)).await?;
        self.not_learner()?;
        let r = InternalRaftRequest {
            put: Some(req),
            ..Default::default()
        };
        match self.propose_as(who, r).await? {
            Applied::Kv(WriteResponse::Put(p)) => Ok(p),
            _ => Err(Self::unexpected("put")),
        }
    }

    async fn delete_range(
        &self,
        who: &AuthInfo,
        req: DeleteRangeRequest,
    ) -> Result<DeleteRangeResponse> {
        self.not_learner()?;
        let r = InternalRaftRequest {
            delete_range: Some(req),
            ..Default::default()
        };
        match self.propose_as(who, r).await? {
            Applied::Kv(WriteResponse::DeleteRange(d)) => Ok(d),
            _ => Err(Self::unexpected("delete range")),
        }
    }

    async fn txn(&self, who: &AuthInfo, req: TxnRequest) -> Result<TxnResponse> {
        self.check_quota(cost_txn(&req)).await?;
        self.not_learner()?;
        // As etcd: a txn that only reads is served without a raft proposal, after a read
        // barrier unless every range in it is serializable.
        if mvcc::is_txn_read_only(&req) {
            crate::auth_apply::check_txn(&self.auth.read(), who, &req)?;
            if !is_txn_serializable(&req) {
                self.read_barrier().await?;
            }
            let resp = self.store.txn_read(&req)?;
            self.metrics.kv.read_txn(&resp);
            return Ok(resp);
        }
        let r = InternalRaftRequest {
            txn: Some(req),
            ..Default::default()
        };
        match self.propose_as(who, r).await? {
            Applied::Kv(WriteResponse::Txn(t)) => Ok(t),
            _ => Err(Self::unexpected("txn")),
        }
    }

    async fn compact(&self, req: CompactionRequest) -> Result<CompactionResponse> {
        self.not_learner()?;
        let r = InternalRaftRequest {
            compaction: Some(req),
            ..Default::default()
        };
        match self.propose(r).await? {
            Applied::Kv(WriteResponse::Compaction(c)) => Ok(c),
            _ => Err(Self::unexpected("compaction")),
        }
    }

    async fn status(&self) -> Result<StatusResponse> {
        let st = self.raft.status();
        let db_size = self.engine.size_bytes() as i64;
        let mut errors = Vec::new();
        if st.leader_id == 0 {
            errors.push(EtcdError::NoLeader.to_string());
        }
        errors.extend(self.active_alarms().iter().map(describe));
        Ok(StatusResponse {
            header: None,
            version: SERVER_VERSION.to_string(),
            db_size,
            leader: st.leader_id,
            raft_index: st.commit_index,
            raft_term: st.term,
            raft_applied_index: st.applied_index,
            errors,
            db_size_in_use: db_size,
            is_learner: self.is_learner(),
            backup_last_success: self.last_backup.get(),
        })
    }

    async fn member_list(&self) -> Result<MemberListResponse> {
        self.not_learner()?;
        Ok(MemberListResponse {
            header: None,
            members: self.cluster.members(),
        })
    }

    async fn member_add(&self, req: MemberAddRequest) -> Result<MemberAddResponse> {
        self.not_learner()?;
        self.add_member(req).await
    }

    async fn member_remove(&self, req: MemberRemoveRequest) -> Result<MemberRemoveResponse> {
        self.not_learner()?;
        self.remove_member(req).await
    }

    async fn member_update(&self, req: MemberUpdateRequest) -> Result<MemberUpdateResponse> {
        self.not_learner()?;
        self.update_member(req).await
    }

    async fn member_promote(&self, req: MemberPromoteRequest) -> Result<MemberPromoteResponse> {
        self.not_learner()?;
        self.promote_member(req).await
    }

    async fn move_leader(&self, target: u64) -> Result<MoveLeaderResponse> {
        self.not_learner()?;
        self.transfer_leadership(target).await
    }

    async fn hash_kv(&self, rev: i64) -> Result<HashKvResponse> {
        self.not_learner()?;
        let h = self.store.hash_kv(rev)?;
        Ok(HashKvResponse {
            header: Some(ResponseHeader {
                revision: h.current_revision,
                ..Default::default()
            }),
            hash: h.hash,
            compact_revision: h.compact_revision,
        })
    }

    async fn hash(&self) -> Result<HashResponse> {
        self.not_learner()?;
        let data = self.store.snapshot_data()?;
        Ok(HashResponse {
            header: None,
            hash: crc32fast::hash(&data),
        })
    }

    async fn alarm(&self, req: AlarmRequest) -> Result<AlarmResponse> {
        self.alarm_request(req).await
    }

    async fn snapshot(&self) -> Result<(std::fs::File, u64)> {
        let engine = self.engine.clone();
        let dir = self.snap_dir.clone();
        let (file, size) =
            tokio::task::spawn_blocking(move || crate::db_snapshot::build(&*engine, &dir))
                .await
                .map_err(|e| EtcdError::Other(format!("snapshot: {e}")))?
                .map_err(|e| EtcdError::Other(format!("snapshot: {e:#}")))?;
        tracing::info!(total_bytes = size, "sending database snapshot to client");
        Ok((file, size))
    }

    async fn defragment(&self) -> Result<()> {
        self.not_learner()?;
        let engine = self.engine.clone();
        let done = tokio::task::spawn_blocking(move || engine.defragment())
            .await
            .map_err(|e| EtcdError::Other(format!("defragment: {e}")))?
            .map_err(|e| EtcdError::Other(e.to_string()));
        self.quota.invalidate();
        done
    }

    async fn lease_grant(&self, mut req: LeaseGrantRequest) -> Result<LeaseGrantResponse> {
        self.check_quota(LEASE_OVERHEAD).await?;
        self.not_learner()?;
        if req.id == 0 {
            // The leader picks a positive ID before proposing, as etcd does.
            req.id = (self.ids.next() & (i64::MAX as u64)) as i64;
        }
        let r = InternalRaftRequest {
            lease_grant: Some(req),
            ..Default::default()
        };
        match self.propose(r).await? {
            Applied::LeaseGrant(g) => Ok(g),
            _ => Err(Self::unexpected("lease grant")),
        }
    }

    async fn lease_revoke(
        &self,
        who: &AuthInfo,
        req: LeaseRevokeRequest,
    ) -> Result<LeaseRevokeResponse> {
        self.not_learner()?;
        let r = InternalRaftRequest {
            lease_revoke: Some(req),
            ..Default::default()
        };
        match self.propose_as(who, r).await? {
            Applied::LeaseRevoke(g) => Ok(g),
            _ => Err(Self::unexpected("lease revoke")),
        }
    }

    async fn lease_renew(&self, id: i64) -> Result<i64> {
        self.not_learner()?;
        let status = self.raft.status();
        if !status.is_leader {
            return crate::peer::forward_lease_renew(self, status.leader_id, id).await;
        }
        match self.lessor.lock().renew(id, Instant::now()) {
            Ok(ttl) => {
                self.metrics.kv.lease_renewed();
                Ok(ttl)
            }
            Err(e) if e.is_not_found() => Ok(0),
            Err(e) => Err(lease_error(e)),
        }
    }

    async fn lease_time_to_live(
        &self,
        req: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse> {
        self.not_learner()?;
        let status = self.raft.status();
        if !status.is_leader {
            return crate::peer::forward_lease_ttl(self, status.leader_id, req).await;
        }
        let ttl = self.lessor.lock().time_to_live(req.id, Instant::now());
        Ok(match ttl {
            Some(t) => LeaseTimeToLiveResponse {
                header: None,
                id: t.id,
                ttl: t.ttl,
                granted_ttl: t.granted_ttl,
                keys: if req.keys { t.keys } else { vec![] },
            },
            None => LeaseTimeToLiveResponse {
                header: None,
                id: req.id,
                ttl: -1,
                granted_ttl: 0,
                keys: vec![],
            },
        })
    }

    async fn lease_leases(&self) -> Result<LeaseLeasesResponse> {
        self.not_learner()?;
        let leases = self.lessor.lock().leases();
        Ok(LeaseLeasesResponse {
            header: None,
            leases: leases.into_iter().map(|id| LeaseStatus { id }).collect(),
        })
    }

    fn subscribe_events(&self) -> broadcast::Receiver<Arc<EventBatch>> {
        self.events.subscribe()
    }

    fn history(&self, from: i64, to: i64) -> Result<Vec<Event>> {
        Ok(self.store.events(from, to, 0)?)
    }

    fn revisions(&self) -> (i64, i64) {
        (self.store.current_revision(), self.store.compact_revision())
    }

    fn kv_at(&self, key: &[u8], rev: i64) -> Option<KeyValue> {
        if rev <= 0 {
            return None;
        }
        let req = RangeRequest {
            key: key.to_vec(),
            revision: rev,
            ..Default::default()
        };
        self.store.range(&req).ok()?.kvs.into_iter().next()
    }

    fn fill_header(&self, h: &mut ResponseHeader) {
        h.cluster_id = self.cluster_id;
        h.member_id = self.member_id;
        h.raft_term = self.raft.status().term;
        if h.revision == 0 {
            h.revision = self.store.current_revision();
        }
    }

    fn is_learner(&self) -> bool {
        EtcdBackend::is_learner(self)
    }

    fn leader_lost_since(&self) -> Option<Instant> {
        self.raft.leader().lost_at
    }

    fn has_leader(&self) -> bool {
        self.raft.leader().leader_id != 0
    }

    fn election_timeout(&self) -> Duration {
        self.election_timeout
    }

    fn watch_progress_notify_interval(&self) -> Duration {
        self.watch_progress_notify_interval
    }

    fn max_txn_ops(&self) -> usize {
        self.max_txn_ops
    }

    async fn auth_info(&self, token: Option<&str>, cert: Option<&[u8]>) -> AuthResult<AuthInfo> {
        self.caller(token, cert).await
    }

    fn check_range(&self, who: &AuthInfo, key: &[u8], range_end: &[u8]) -> AuthResult<()> {
        self.auth.read().check_range(who, key, range_end)
    }

    fn check_admin(&self, who: &AuthInfo) -> AuthResult<()> {
        self.auth.read().check_admin(who)
    }

    fn auth_status(&self) -> (bool, u64) {
        let auth = self.auth.read();
        (auth.is_enabled(), auth.revision())
    }

    async fn authenticate(&self, req: AuthenticateRequest) -> Result<AuthenticateResponse> {
        self.authenticate_user(req).await
    }

    async fn auth_change(&self, who: &AuthInfo, req: InternalRaftRequest) -> Result<AuthOutcome> {
        self.change_auth(who, req).await
    }
}
