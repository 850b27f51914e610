//! An in-memory [`Backend`] for the watch and leader tests: the test publishes event
//! batches (each a new revision), sets the progress interval and says whether the member
//! knows a leader; KV and lease calls are not served.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use etcd_proto::etcdserverpb::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse,
    LeaseGrantRequest, LeaseGrantResponse, LeaseLeasesResponse, LeaseRevokeRequest,
    LeaseRevokeResponse, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, MemberListResponse,
    PutRequest, PutResponse, RangeRequest, RangeResponse, ResponseHeader, StatusResponse,
    TxnRequest, TxnResponse,
};
use etcd_proto::mvccpb::{event::EventType, Event, KeyValue};
use tokio::sync::broadcast;

use crate::backend::AuthInfo;
use crate::backend::{Backend, EventBatch, Result};
use crate::errors::EtcdError;

pub const CLUSTER_ID: u64 = 0xc1;
pub const MEMBER_ID: u64 = 0x3e;
/// The test member's election timeout.
pub const ELECTION_TIMEOUT: Duration = Duration::from_millis(100);

pub struct TestBackend {
    revision: AtomicI64,
    history: Mutex<Vec<Event>>,
    events: broadcast::Sender<Arc<EventBatch>>,
    progress_interval: Duration,
    /// Since when the member has known no leader (`None`: it knows one).
    leader_lost: Mutex<Option<Instant>>,
}

impl TestBackend {
    /// A store at revision 1 (as a fresh etcd) with the given progress interval.
    pub fn new(progress_interval: Duration) -> Arc<Self> {
        Arc::new(TestBackend {
            revision: AtomicI64::new(1),
            history: Mutex::new(Vec::new()),
            events: broadcast::channel(1024).0,
            progress_interval,
            leader_lost: Mutex::new(None),
        })
    }

    /// The member knows a leader (`true`) or has just lost it.
    pub fn set_leader(&self, known: bool) {
        *self.leader_lost.lock().expect("leader lock") = (!known).then(Instant::now);
    }

    /// Applies one revision that puts each `(key, value)`; returns the new revision.
    pub fn put_all(&self, kvs: &[(&[u8], Vec<u8>)]) -> i64 {
        let rev = self.revision.load(Ordering::SeqCst) + 1;
        let events: Vec<Event> = kvs
            .iter()
            .map(|(k, v)| Event {
                r#type: EventType::Put as i32,
                kv: Some(KeyValue {
                    key: k.to_vec(),
                    value: v.clone(),
                    create_revision: rev,
                    mod_revision: rev,
                    version: 1,
                    lease: 0,
                }),
                prev_kv: None,
            })
            .collect();
        self.history
            .lock()
            .expect("history lock")
            .extend(events.iter().cloned());
        self.revision.store(rev, Ordering::SeqCst);
        // No subscriber is fine: watchers read history.
        let _ = self.events.send(Arc::new(EventBatch {
            revision: rev,
            events,
        }));
        rev
    }

    pub fn put(&self, key: &[u8], value: &[u8]) -> i64 {
        self.put_all(&[(key, value.to_vec())])
    }
}

fn unsupported<T>() -> Result<T> {
    Err(EtcdError::Other("not served by the test backend".into()))
}

#[tonic::async_trait]
impl Backend for TestBackend {
    async fn range(&self, _: &AuthInfo, _: RangeRequest) -> Result<RangeResponse> {
        unsupported()
    }
    async fn put(&self, _: &AuthInfo, _: PutRequest) -> Result<PutResponse> {
        unsupported()
    }
    async fn delete_range(
        &self,
        _: &AuthInfo,
        _: DeleteRangeRequest,
    ) -> Result<DeleteRangeResponse> {
        unsupported()
    }
    async fn txn(&self, _: &AuthInfo, _: TxnRequest) -> Result<TxnResponse> {
        unsupported()
    }
    async fn compact(&self, _: CompactionRequest) -> Result<CompactionResponse> {
        unsupported()
    }
    async fn status(&self) -> Result<StatusResponse> {
        unsupported()
    }
    async fn member_list(&self) -> Result<MemberListResponse> {
        unsupported()
    }
    async fn lease_grant(&self, _: LeaseGrantRequest) -> Result<LeaseGrantResponse> {
        unsupported()
    }
    async fn lease_revoke(
        &self,
        _: &AuthInfo,
        _: LeaseRevokeRequest,
    ) -> Result<LeaseRevokeResponse> {
        unsupported()
    }
    async fn lease_renew(&self, _: i64) -> Result<i64> {
        unsupported()
    }
    async fn lease_time_to_live(
        &self,
        _: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse> {
        unsupported()
    }
    async fn lease_leases(&self) -> Result<LeaseLeasesResponse> {
        unsupported()
    }

    fn subscribe_events(&self) -> broadcast::Receiver<Arc<EventBatch>> {
        self.events.subscribe()
    }

    fn history(&self, from: i64, to: i64) -> Result<Vec<Event>> {
        let history = self.history.lock().expect("history lock");
        Ok(history
            .iter()
            .filter(|e| {
                let rev = e.kv.as_ref().map_or(0, |kv| kv.mod_revision);
                (from..=to).contains(&rev)
            })
            .cloned()
            .collect())
    }

    fn revisions(&self) -> (i64, i64) {
        (self.revision.load(Ordering::SeqCst), 0)
    }

    fn kv_at(&self, _: &[u8], _: i64) -> Option<KeyValue> {
        None
    }

    fn fill_header(&self, h: &mut ResponseHeader) {
        h.cluster_id = CLUSTER_ID;
        h.member_id = MEMBER_ID;
        h.raft_term = 2;
        if h.revision == 0 {
            h.revision = self.revision.load(Ordering::SeqCst);
        }
    }

    fn watch_progress_notify_interval(&self) -> Duration {
        self.progress_interval
    }

    fn leader_lost_since(&self) -> Option<Instant> {
        *self.leader_lost.lock().expect("leader lock")
    }

    fn election_timeout(&self) -> Duration {
        ELECTION_TIMEOUT
    }
}
