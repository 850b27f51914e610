//! What the gRPC layer needs from a member. `crates/server` implements it; the services in
//! this crate only validate, call it, and fill response headers.

use etcd_proto::authpb::Permission;
use etcd_proto::etcdserverpb::{
    AlarmRequest, AlarmResponse, AuthenticateRequest, AuthenticateResponse, CompactionRequest,
    CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, HashKvResponse, HashResponse,
    InternalRaftRequest, LeaseGrantRequest, LeaseGrantResponse, LeaseLeasesResponse,
    LeaseRevokeRequest, LeaseRevokeResponse, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
    MemberAddRequest, MemberAddResponse, MemberListResponse, MemberPromoteRequest,
    MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse, MemberUpdateRequest,
    MemberUpdateResponse, MoveLeaderResponse, PutRequest, PutResponse, RangeRequest, RangeResponse,
    ResponseHeader, StatusResponse, TxnRequest, TxnResponse,
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

pub use auth::{AuthError, AuthInfo};

/// Auth checks answer the auth store's own errors: most services turn them into etcd's
/// `etcdserver: ...` errors, but some (etcd's maintenance RPCs) pass them on as they are.
pub type AuthResult<T> = std::result::Result<T, AuthError>;

/// What an applied auth management request answers besides success; each RPC takes the
/// part it returns (UserGet: `roles`, UserList: `users`, RoleGet: `perms`, RoleList: `roles`).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AuthOutcome {
    pub roles: Vec<String>,
    pub users: Vec<String>,
    pub perms: Vec<Permission>,
}

/// etcd's default `--experimental-watch-progress-notify-interval`.
pub const DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL: Duration = Duration::from_secs(600);

/// One member's request handling. Responses may leave their header empty or set only
/// `revision`; the services complete it with [`Backend::fill_header`].
#[tonic::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// KV requests on behalf of `who` (checked against its permissions when auth is on).
    async fn range(&self, who: &AuthInfo, req: RangeRequest) -> Result<RangeResponse>;
    async fn put(&self, who: &AuthInfo, req: PutRequest) -> Result<PutResponse>;
    async fn delete_range(
        &self,
        who: &AuthInfo,
        req: DeleteRangeRequest,
    ) -> Result<DeleteRangeResponse>;
    async fn txn(&self, who: &AuthInfo, req: TxnRequest) -> Result<TxnResponse>;
    async fn compact(&self, req: CompactionRequest) -> Result<CompactionResponse>;
    async fn status(&self) -> Result<StatusResponse>;
    async fn member_list(&self) -> Result<MemberListResponse>;

    async fn lease_grant(&self, req: LeaseGrantRequest) -> Result<LeaseGrantResponse>;
    /// Revoking needs write permission on every key attached to the lease.
    async fn lease_revoke(
        &self,
        who: &AuthInfo,
        req: LeaseRevokeRequest,
    ) -> Result<LeaseRevokeResponse>;
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

    /// The caller of a request: the user of its `token` metadata, or with
    /// `--client-cert-auth` the common name of its verified client certificate (`cert`,
    /// DER), or nobody. A token this member does not know is `invalid auth token`.
    async fn auth_info(&self, token: Option<&str>, cert: Option<&[u8]>) -> AuthResult<AuthInfo> {
        let _ = (token, cert);
        Ok(AuthInfo::default())
    }

    /// May `who` read `[key, range_end)` (watch creation)?
    fn check_range(&self, who: &AuthInfo, key: &[u8], range_end: &[u8]) -> AuthResult<()> {
        let _ = (who, key, range_end);
        Ok(())
    }

    /// Is `who` an administrator (root role), when auth is on? For maintenance and
    /// membership requests, as etcd's `IsAdminPermitted`.
    fn check_admin(&self, who: &AuthInfo) -> AuthResult<()> {
        let _ = who;
        Ok(())
    }

    /// Whether auth is enabled, and the auth revision (AuthStatus).
    fn auth_status(&self) -> (bool, u64) {
        (false, 0)
    }

    /// Checks a password and answers a token.
    async fn authenticate(&self, req: AuthenticateRequest) -> Result<AuthenticateResponse> {
        let _ = req;
        Err(EtcdError::AuthNotEnabled)
    }

    /// An auth management request on behalf of `who` (`req` carries exactly one of the
    /// `auth_*` requests), applied through raft.
    async fn auth_change(&self, who: &AuthInfo, req: InternalRaftRequest) -> Result<AuthOutcome> {
        let _ = (who, req);
        Err(EtcdError::Unimplemented("auth management"))
    }

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
    /// Maintenance.Alarm: lists, raises or clears alarms (applied through raft).
    async fn alarm(&self, req: AlarmRequest) -> Result<AlarmResponse> {
        let _ = req;
        Err(EtcdError::Unimplemented("Alarm"))
    }
    /// Maintenance.Snapshot: the backend as etcd's snapshot database (a bbolt file with
    /// etcd's buckets), in a rewound temporary file, with its size.
    async fn snapshot(&self) -> Result<(std::fs::File, u64)> {
        Err(EtcdError::Unimplemented("Snapshot"))
    }
    /// Maintenance.Defragment: reclaims the storage space freed by compaction, while the
    /// member keeps serving.
    async fn defragment(&self) -> Result<()> {
        Err(EtcdError::Unimplemented("Defragment"))
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
