//! Applies committed raft entries to the MVCC store and the lessor, and wakes the proposers
//! waiting on them.
//!
//! Entries arrive in order, in batches (one raft Ready). A whole batch becomes one
//! `mvcc::ApplyBatch`: one engine write carrying the KV changes, the lease table changes and
//! the consistent index, so replaying the WAL after a crash skips what the store already has
//! (`index <= consistent_index`). Lease attachments (in memory, rebuilt from the store at
//! start) follow the batch's events request by request.
//!
//! Membership: raft conf changes (MemberAdd/Remove/Promote) and the member requests carried
//! in normal entries (published attributes, MemberUpdate) change the [`Cluster`]. A raft
//! snapshot (this member fell behind the leader's log) replaces the whole backend, then the
//! store, lessor and membership reload from it.

use std::sync::Arc;
use std::time::Instant;

use auth::{AuthInfo, AuthStore};
use etcd_proto::etcdserverpb::{
    request_op, AlarmMember, AuthenticateResponse, ConfChangeContext, DeleteRangeRequest,
    InternalRaftRequest, LeaseGrantResponse, LeaseRevokeResponse, Member, RequestOp,
    ResponseHeader, TxnRequest,
};
use etcd_proto::mvccpb::{event::EventType, Event};
use grpc_api::backend::{AuthOutcome, EventBatch};
use grpc_api::EtcdError;
use lease::{LeaseError, Lessor, LessorConfig};
use mvcc::{ApplyBatch, Engine, Store, WriteRequest, WriteResponse};
use parking_lot::{Mutex, RwLock};
use prost::Message;
use raft_node::{Applier, Committed, MembershipChange, SnapshotMeta, SyncJob};
use tokio::sync::broadcast;

use crate::alarms::Alarms;
use crate::auth_apply;
use crate::cluster::Cluster;
use crate::identity::Identity;
use crate::leases;
use crate::wait::Wait;

/// What an applied request answers.
#[derive(Debug)]
pub enum Applied {
    Kv(WriteResponse),
    LeaseGrant(LeaseGrantResponse),
    LeaseRevoke(LeaseRevokeResponse),
    /// A membership change: the members after it.
    Members(Vec<Member>),
    /// An auth management request.
    Auth(AuthOutcome),
    Authenticate(AuthenticateResponse),
    /// An alarm request: the alarms it listed, raised or cleared.
    Alarm(Vec<AlarmMember>),
}

pub type ApplyResult = Result<Applied, EtcdError>;

pub struct KvApplier {
    /// Counts applied operations (etcd's mvcc and lease counters).
    pub metrics: Arc<crate::metrics::Metrics>,
    pub store: Arc<Store>,
    pub engine: Arc<dyn Engine>,
    pub lessor: Arc<Mutex<Lessor>>,
    pub auth: Arc<RwLock<AuthStore>>,
    pub alarms: Arc<RwLock<Alarms>>,
    pub wait: Arc<Wait>,
    /// Live feed for watchers; sending never blocks (lagging receivers catch up from history).
    pub events: broadcast::Sender<Arc<EventBatch>>,
    pub cluster: Arc<Cluster>,
    pub identity: Identity,
    pub lessor_config: LessorConfig,
}

pub fn lease_error(e: LeaseError) -> EtcdError {
    match e {
        LeaseError::LeaseNotFound | LeaseError::LeaseExpired => EtcdError::LeaseNotFound,
        LeaseError::LeaseExist => EtcdError::LeaseExist,
        LeaseError::LeaseTtlTooLarge => EtcdError::LeaseTtlTooLarge,
        other => EtcdError::Other(other.to_string()),
    }
}

/// Keeps lease attachments in step with applied changes: a put attaches its key to its lease
/// (moving it off any other), a put without a lease or a delete detaches it.
fn follow_events(lessor: &mut Lessor, events: &[Event]) {
    for ev in events {
        let Some(kv) = &ev.kv else { continue };
        let old = lessor.lease_of(&kv.key);
        let new = (ev.r#type == EventType::Put as i32 && kv.lease != 0).then_some(kv.lease);
        if old == new {
            continue;
        }
        if let Some(id) = old {
            let _ = lessor.detach(id, &kv.key);
        }
        if let Some(id) = new {
            if let Err(e) = lessor.attach(id, &kv.key) {
                tracing::warn!(lease = id, error = %e, "cannot attach key to lease");
            }
        }
    }
}

/// All of a revoked lease's keys go in one revision, as etcd's revoke txn.
fn delete_keys_txn(keys: Vec<Vec<u8>>) -> WriteRequest {
    WriteRequest::Txn(TxnRequest {
        compare: vec![],
        success: keys
            .into_iter()
            .map(|key| RequestOp {
                request: Some(request_op::Request::RequestDeleteRange(
                    DeleteRangeRequest {
                        key,
                        ..Default::default()
                    },
                )),
            })
            .collect(),
        failure: vec![],
    })
}

fn header(rev: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        revision: rev,
        ..Default::default()
    })
}

/// A storage failure while applying: the member cannot go on safely (etcd panics too).
fn fatal(e: &mvcc::MvccError) -> bool {
    matches!(e, mvcc::MvccError::Engine(_) | mvcc::MvccError::Corrupt(_))
}

/// What applying one entry reads and changes besides the MVCC batch.
struct State<'a> {
    lessor: &'a mut Lessor,
    auth: &'a mut AuthStore,
    alarms: &'a mut Alarms,
    cluster: &'a Cluster,
    /// The entry's raft index.
    index: u64,
    now: Instant,
}

/// Applies one request to the open batch. The outer error is a fatal storage failure; the
/// inner result is what the client gets.
fn apply_one(
    batch: &mut ApplyBatch<'_>,
    state: State<'_>,
    req: InternalRaftRequest,
) -> Result<ApplyResult, mvcc::MvccError> {
    let State {
        lessor,
        auth,
        alarms,
        cluster,
        index,
        now,
    } = state;
    let who = req
        .header
        .as_ref()
        .map_or_else(AuthInfo::default, |h| AuthInfo {
            username: h.username.clone(),
            revision: h.auth_revision,
        });
    if let Some(a) = &req.alarm {
        return Ok(Ok(Applied::Alarm(alarms.apply(batch.extra_writes(), a))));
    }
    if let Some(refused) = alarms.refuse(&req) {
        return Ok(Err(refused));
    }
    if auth_apply::is_auth_request(&req) {
        return Ok(auth_apply::apply(
            auth,
            batch.extra_writes(),
            req,
            &who,
            index,
            now,
        ));
    }
    if let Err(e) = auth_apply::check_write(auth, lessor, &req, &who) {
        return Ok(Err(e.into()));
    }
    let client = |r: Result<WriteResponse, mvcc::MvccError>| match r {
        Err(e) if fatal(&e) => Err(e),
        other => Ok(other.map(Applied::Kv).map_err(EtcdError::from)),
    };
    let write = if let Some(p) = req.put {
        Some(WriteRequest::Put(p))
    } else if let Some(d) = req.delete_range {
        Some(WriteRequest::DeleteRange(d))
    } else if let Some(t) = req.txn {
        Some(WriteRequest::Txn(t))
    } else {
        req.compaction.map(WriteRequest::Compaction)
    };
    if let Some(w) = write {
        return client(batch.apply_with_leases(w, &|id| lessor.lookup(id)));
    }
    if let Some(g) = req.lease_grant {
        let granted = lessor.grant(batch.extra_writes(), g.id, g.ttl, now);
        return Ok(granted.map_err(lease_error).map(|info| {
            Applied::LeaseGrant(LeaseGrantResponse {
                header: header(batch.revision()),
                id: info.id,
                ttl: info.ttl,
                error: String::new(),
            })
        }));
    }
    if let Some(r) = req.lease_revoke {
        let keys = match lessor.revoke(batch.extra_writes(), r.id) {
            Ok(keys) => keys,
            Err(e) => return Ok(Err(lease_error(e))),
        };
        if !keys.is_empty() {
            if let Err(e) = client(batch.apply(delete_keys_txn(keys)))? {
                return Ok(Err(e));
            }
        }
        return Ok(Ok(Applied::LeaseRevoke(LeaseRevokeResponse {
            header: header(batch.revision()),
        })));
    }
    if let Some(a) = req.member_attributes {
        cluster.set_attributes(a.member_id, a.name, a.client_urls);
        return Ok(Ok(Applied::Members(cluster.members())));
    }
    if let Some(u) = req.member_update {
        cluster.update_peer_urls(u.id, u.peer_ur_ls);
        return Ok(Ok(Applied::Members(cluster.members())));
    }
    Ok(Err(EtcdError::Other(
        "etcdserver: unsupported request".into(),
    )))
}

impl KvApplier {
    /// After a snapshot restore, hands watchers the changes they missed (revisions after
    /// `before`) from the restored store's history, as one batch.
    fn replay_to_watchers(&self, before: i64) {
        let now = self.store.current_revision();
        if now <= before {
            return;
        }
        match self.store.events(before + 1, now, 0) {
            Ok(events) => {
                let _ = self.events.send(Arc::new(EventBatch {
                    revision: now,
                    events,
                }));
            }
            Err(e) => tracing::warn!(
                from = before + 1,
                to = now,
                error = %e,
                "watchers on this member miss the changes a raft snapshot skipped (compacted in the snapshot)"
            ),
        }
    }
}

impl Applier for KvApplier {
    fn applied_index(&self) -> u64 {
        self.store.consistent_index()
    }

    fn apply(&mut self, entries: Vec<Committed>) {
        let applied = self.store.consistent_index();
        let Some(last) = entries.last().map(|e| e.index) else {
            return;
        };
        if last <= applied {
            return;
        }
        let now = Instant::now();
        let mut lessor = self.lessor.lock();
        let mut auth = self.auth.write();
        let mut alarms = self.alarms.write();
        let mut batch = self.store.begin();
        let mut done = Vec::with_capacity(entries.len());
        let mut followed = 0;
        for e in entries.into_iter().filter(|e| e.index > applied) {
            let req = match InternalRaftRequest::decode(e.data.as_slice()) {
                Ok(r) => r,
                Err(err) => {
                    tracing::error!(index = e.index, %err, "skipping undecodable raft entry");
                    continue;
                }
            };
            let id = req.header.as_ref().map(|h| h.id).unwrap_or(req.id);
            let state = State {
                lessor: &mut lessor,
                auth: &mut auth,
                alarms: &mut alarms,
                cluster: &self.cluster,
                index: e.index,
                now,
            };
            let result = match apply_one(&mut batch, state, req) {
                Ok(result) => result,
                // A storage failure leaves the member unable to make progress safely; etcd
                // panics in the same place. The WAL still has every entry for a restart.
                Err(err) => panic!("fatal: applying raft entry {} failed: {err}", e.index),
            };
            follow_events(&mut lessor, &batch.events()[followed..]);
            followed = batch.events().len();
            done.push((id, result));
        }
        let (events, revision) = match batch.commit(last) {
            Ok(done) => done,
            Err(err) => panic!("fatal: committing raft entries up to index {last} failed: {err}"),
        };
        if !events.is_empty() {
            let _ = self.events.send(Arc::new(EventBatch { revision, events }));
        }
        drop(alarms);
        drop(auth);
        drop(lessor);
        for (id, res) in done {
            self.metrics.kv.applied(&res);
            self.wait.trigger(id, res);
        }
    }

    fn sync_state(&mut self) -> SyncJob {
        let engine = self.engine.clone();
        Box::new(move || engine.flush().map_err(|e| e.to_string()))
    }

    fn apply_membership(&mut self, change: MembershipChange) {
        let ctx = if change.context.is_empty() {
            None
        } else {
            match ConfChangeContext::decode(change.context.as_slice()) {
                Ok(ctx) => Some(ctx),
                Err(err) => {
                    tracing::error!(index = change.index, %err, "undecodable conf change context");
                    None
                }
            }
        };
        let (request_id, member) = ctx.map(|c| (c.request_id, c.member)).unwrap_or_default();
        self.cluster.apply_conf_change(&change, member);
        tracing::info!(index = change.index, changes = ?change.changes, voters = ?change.voters, learners = ?change.learners, "applied membership change");
        if request_id != 0 {
            self.wait
                .trigger(request_id, Ok(Applied::Members(self.cluster.members())));
        }
    }

    fn restore_snapshot(&mut self, meta: SnapshotMeta, data: Vec<u8>) -> Result<(), String> {
        let fail = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");
        tracing::info!(
            index = meta.index,
            term = meta.term,
            bytes = data.len(),
            "restoring backend from a raft snapshot"
        );
        let mut lessor = self.lessor.lock();
        let before = self.store.current_revision();
        self.store
            .restore_data(&data)
            .map_err(|e| fail("restoring the backend", &e))?;
        self.replay_to_watchers(before);
        self.identity
            .persist_local(&*self.engine)
            .map_err(|e| fail("rewriting the local identity", &e))?;
        *lessor = leases::load(self.engine.clone(), &self.store, self.lessor_config)
            .map_err(|e| fail("reloading leases", &e))?;
        self.cluster
            .reload()
            .map_err(|e| fail("reloading membership", &e))?;
        self.auth
            .write()
            .reload(&*self.engine)
            .map_err(|e| fail("reloading the auth store", &e))?;
        *self.alarms.write() =
            Alarms::load(&*self.engine).map_err(|e| fail("reloading the alarms", &e))?;
        tracing::info!(
            consistent_index = self.store.consistent_index(),
            revision = self.store.current_revision(),
            "restored backend from a raft snapshot"
        );
        Ok(())
    }
}
