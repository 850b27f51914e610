//! What the gRPC layer needs from a member. `crates/server` implements it; the services in
//! this crate only validate, call it, and fill response headers.

use etcd_proto::etcdserverpb::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, HashKvResponse,
    HashResponse, LeaseGrantRequest, LeaseGrantResponse, LeaseLeasesResponse, LeaseRevokeRequest,
    LeaseRevokeResponse, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, MemberAddRequest,
    MemberAddResponse, MemberListResponse, MemberPromoteRequest, MemberPromoteResponse,
    MemberRemoveRequest, MemberRemoveResponse, MemberUpdateRequest, MemberUpdateResponse,
    MoveLeaderResponse, PutRequest, PutResponse, RangeRequest, RangeResponse, ResponseHeader,
    StatusResponse, TxnRequest, TxnResponse,
};

use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_proto::mvccpb::{Event, KeyValue};
use tokio::sync::broadcast;

use crate::errors::EtcdError;

/// The changes of one applied raft batch, in revision order; `revision` is the store
/// revision after it.
#[derive(Debug)]
pub struct EventBatch {
    pub revision: i64,
    pub events: Vec<Event>,
}

pub type Result<T> = std::result::Result<T, EtcdError>;

/// etcd's default `--experimental-watch-progress-notify-interval`.
pub const DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL: Duration = Duration::from_secs(600);

/// One member's request handling. Responses may leave their header empty or set only
/// `revision`; the services complete it with [`Backend::fill_header`].
#[tonic::async_trait]
pub trait Backend: Send + Sync + 'static {
    async fn range(&self, req: RangeRequest) -> Result<RangeResponse>;
    async fn put(&self, req: PutRequest) -> Result<PutResponse>;
    async fn delete_range(&self, req: DeleteRangeRequest) -> Result<DeleteRangeResponse>;
    async fn txn(&self, req: TxnRequest) -> Result<TxnResponse>;
    async fn compact(&self, req: CompactionRequest) -> Result<CompactionResponse>;
    async fn status(&self) -> Result<StatusResponse>;
    async fn member_list(&self) -> Result<MemberListResponse>;

    async fn lease_grant(&self, req: LeaseGrantRequest) -> Result<LeaseGrantResponse>;
    async fn lease_revoke(&self, req: LeaseRevokeRequest) -> Result<LeaseRevokeResponse>;
    /// Keep-alive on the leader: the lease's TTL, or 0 when it does not exist (as etcd).
    async fn lease_renew(&self, id: i64) -> Result<i64>;
    /// TTL -1 when the lease does not exist (as etcd).
    async fn lease_time_to_live(
        &self,
        req: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse>;
    async fn lease_leases(&self) -> Result<LeaseLeasesResponse>;

    /// Live changes, as they are applied. A receiver that lags behind catches up from
    /// [`Backend::history`].
    fn subscribe_events(&self) -> broadcast::Receiver<Arc<EventBatch>>;
    /// Every change with revision in `[from, to]`; `Compacted` below the compacted revision.
    fn history(&self, from: i64, to: i64) -> Result<Vec<Event>>;
    /// (current revision, compacted revision).
    fn revisions(&self) -> (i64, i64);
    /// The key's value at `rev` (for watch `prev_kv`), if still available.
    fn kv_at(&self, key: &[u8], rev: i64) -> Option<KeyValue>;

    /// Sets cluster_id, member_id, raft_term, and revision when it is still 0
    /// (etcd's `header.fill`).
    fn fill_header(&self, header: &mut ResponseHeader);

    /// Adds a member (Cluster.MemberAdd).
    async fn member_add(&self, req: MemberAddRequest) -> Result<MemberAddResponse> {
        let _ = req;
        Err(EtcdError::Unimplemented("MemberAdd"))
    }
    /// Removes a member (Cluster.MemberRemove).
    async fn member_remove(&self, req: MemberRemoveRequest) -> Result<MemberRemoveResponse> {
        let _ = req;
        Err(EtcdError::Unimplemented("MemberRemove"))
    }
    /// Changes a member's peer URLs (Cluster.MemberUpdate).
    async fn member_update(&self, req: MemberUpdateRequest) -> Result<MemberUpdateResponse> {
        let _ = req;
        Err(EtcdError::Unimplemented("MemberUpdate"))
    }
    /// Promotes a learner (Cluster.MemberPromote).
    async fn member_promote(&self, req: MemberPromoteRequest) -> Result<MemberPromoteResponse> {
        let _ = req;
        Err(EtcdError::Unimplemented("MemberPromote"))
    }
    /// Maintenance.HashKV at `rev` (0: current).
    async fn hash_kv(&self, rev: i64) -> Result<HashKvResponse> {
        let _ = rev;
        Err(EtcdError::Unimplemented("HashKV"))
    }
    /// Maintenance.Hash: a hash of the whole backend.
    async fn hash(&self) -> Result<HashResponse> {
        Err(EtcdError::Unimplemented("Hash"))
    }
    /// Maintenance.MoveLeader to member `target`.
    async fn move_leader(&self, target: u64) -> Result<MoveLeaderResponse> {
        let _ = target;
        Err(EtcdError::Unimplemented("MoveLeader"))
    }

    /// Whether this member is a raft learner: it serves only Status and serializable
    /// reads, no streams (etcd's `isRPCSupportedForLearner` and stream interceptor).
    fn is_learner(&self) -> bool {
        false
    }

    /// Since when this member has known no raft leader; `None` while it knows one. A
    /// request carrying clientv3's `hasleader` metadata is refused while there is none,
    /// and a stream opened with it ends once there has been none for a few election
    /// timeouts (see [`crate::leader`]).
    fn leader_lost_since(&self) -> Option<Instant> {
        None
    }

    /// Whether this member knows a raft leader.
    fn has_leader(&self) -> bool {
        self.leader_lost_since().is_none()
    }

    /// One raft election timeout (`--election-timeout`, default 1 s).
    fn election_timeout(&self) -> Duration {
        Duration::from_secs(1)
    }

    /// Maximum operations per txn branch (`--max-txn-ops`, default 128).
    fn max_txn_ops(&self) -> usize {
        128
    }

    /// How often a synced watcher created with `progress_notify` gets an empty response
    /// carrying the current revision (`--experimental-watch-progress-notify-interval`,
    /// default 10 m). Zero means the default; values below 100 ms are raised to 100 ms, as
    /// etcd does.
    fn watch_progress_notify_interval(&self) -> Duration {
        DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL
    }
}

/// Fills a response's optional header in place, creating it if absent.
pub(crate) fn fill(backend: &dyn Backend, header: &mut Option<ResponseHeader>) {
    backend.fill_header(header.get_or_insert_with(ResponseHeader::default));
}
