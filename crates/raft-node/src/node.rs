//! [`RaftNode`]: the cheap-to-clone handle the server talks to.

use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crossbeam_channel::Sender;
use parking_lot::Mutex;
use protobuf::Message as _;
use raft::eraftpb::Message;
use tokio::sync::{oneshot, watch};

use crate::boot::{boot, status_of};
use crate::membership::to_conf_change;
use crate::shared::{Request, Shared};
use crate::worker::Worker;
use crate::{
    Applier, LeaderInfo, MemberChange, RaftConfig, RaftError, RaftStats, RaftStatus, Transport,
};

/// Handle to a running raft member. Clones share the same node; `Send + Sync`.
#[derive(Clone)]
pub struct RaftNode {
    inner: Arc<Inner>,
}

/// The last handle to go stops the node.
struct Inner {
    link: NodeLink,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// A way to reach the node thread that does not keep the node running (the transport
/// holds one: the node owns the transport, so a full handle would be a cycle).
#[derive(Clone)]
pub(crate) struct NodeLink {
    id: u64,
    requests: Sender<Request>,
    shared: Arc<Shared>,
}

impl RaftNode {
    /// Opens (or creates) the WAL in `cfg.wal_dir`, restores the raft log and starts the
    /// node thread. Entries up to `applier.applied_index()` are not delivered again, except
    /// on a cluster member those above the log's durable commit index (the applier skips
    /// them). A single-member cluster is leader when this returns.
    pub fn start(
        cfg: RaftConfig,
        applier: Box<dyn Applier>,
        transport: Box<dyn Transport>,
    ) -> Result<RaftNode, RaftError> {
        cfg.validate()?;
        let booted = boot(&cfg, applier.applied_index())?;
        let shared = Arc::new(Shared::new(status_of(&booted.raw)));
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut worker = Worker::new(&cfg, booted, applier, transport, rx, Arc::clone(&shared));
        worker.startup()?;
        let thread = thread::Builder::new()
            .name(format!("raft-{}", cfg.id))
            .spawn(move || worker.run())
            .map_err(RaftError::Spawn)?;
        Ok(RaftNode {
            inner: Arc::new(Inner {
                link: NodeLink {
                    id: cfg.id,
                    requests: tx,
                    shared,
                },
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// This member's id.
    pub fn id(&self) -> u64 {
        self.inner.link.id
    }

    /// Queues `data` (non-empty) for the log. On a follower raft forwards it to the
    /// leader. Success means queued, not committed: wait for the applier to see it. A
    /// proposal raft drops later (leader lost meanwhile) is only counted in
    /// [`RaftStats::proposals_dropped`], so callers need a timeout.
    ///
    /// Errors: [`RaftError::NotLeader`] when no leader is known, [`RaftError::Stopped`].
    pub fn propose(&self, data: Vec<u8>) -> Result<(), RaftError> {
        if data.is_empty() {
            // Raft uses empty entries internally; they are never applied.
            return Err(RaftError::EmptyProposal);
        }
        self.check_accepting()?;
        self.inner.link.send(Request::Propose(data))
    }

    fn check_accepting(&self) -> Result<(), RaftError> {
        let shared = &self.inner.link.shared;
        if shared.is_stopped() {
            return Err(RaftError::Stopped);
        }
        if shared.status.lock().leader_id == 0 {
            return Err(RaftError::NotLeader);
        }
        Ok(())
    }

    /// Queues a membership change (a raft conf change carrying `context`). Like
    /// [`RaftNode::propose`]: forwarded by a follower, done once
    /// [`crate::Applier::apply_membership`] sees it. raft accepts one pending change at
    /// a time and drops others meanwhile.
    pub fn propose_member_change(
        &self,
        change: MemberChange,
        context: Vec<u8>,
    ) -> Result<(), RaftError> {
        self.check_accepting()?;
        let cc = to_conf_change(change, context);
        self.inner
            .link
            .send(Request::ProposeConfChange(Box::new(cc)))
    }

    /// Asks raft to hand leadership to member `to` (etcd's MoveLeader). The leader
    /// stops accepting proposals, brings `to` up to date and tells it to campaign; a
    /// follower forwards the request to the leader. Done once [`RaftNode::status`]
    /// shows `to` as leader; raft gives up after an election timeout.
    pub fn transfer_leader(&self, to: u64) -> Result<(), RaftError> {
        self.check_accepting()?;
        self.inner.link.send(Request::TransferLeader(to))
    }

    /// Linearizable read barrier: returns an index such that a read served once the
    /// state machine has applied it reflects every write committed before this call.
    /// Fails with [`RaftError::Timeout`] when no quorum confirms the leader in time.
    pub async fn read_index(&self) -> Result<u64, RaftError> {
        if self.inner.link.shared.is_stopped() {
            return Err(RaftError::Stopped);
        }
        let (tx, rx) = oneshot::channel();
        self.inner.link.send(Request::ReadIndex(tx))?;
        rx.await.map_err(|_| RaftError::Stopped)?
    }

    /// Feeds a message received from a peer (a protobuf-encoded raft `Message`).
    pub fn step(&self, msg: Vec<u8>) -> Result<(), RaftError> {
        let msg = Message::parse_from_bytes(&msg)
            .map_err(|err| RaftError::InvalidMessage(err.to_string()))?;
        self.step_message(msg)
    }

    /// Feeds a decoded peer message; it must be addressed to this member.
    pub(crate) fn step_message(&self, msg: Message) -> Result<(), RaftError> {
        let id = self.inner.link.id;
        if msg.to != id {
            return Err(RaftError::InvalidMessage(format!(
                "message for member {:x} delivered to member {id:x}",
                msg.to
            )));
        }
        self.inner.link.send(Request::Step(Box::new(msg)))
    }

    /// Tells raft that the last message to member `id` could not be delivered, so the
    /// leader probes it instead of streaming entries. Ignored once stopped.
    pub fn report_unreachable(&self, id: u64) {
        self.inner.link.report_unreachable(id);
    }

    /// Tells raft how sending a snapshot to member `id` ended (`ok`: delivered). Until
    /// then (or until `id` acknowledges it) the leader sends it nothing else.
    pub fn report_snapshot(&self, id: u64, ok: bool) {
        self.inner.link.report_snapshot(id, ok);
    }

    /// The node's raft state as of its last loop iteration.
    pub fn status(&self) -> RaftStatus {
        self.inner.link.shared.status.lock().clone()
    }

    /// Who leads as of the node's last loop iteration, and since when.
    pub fn leader(&self) -> LeaderInfo {
        *self.inner.link.shared.leader.borrow()
    }

    /// Notified whenever the leader this member knows of changes (see [`LeaderInfo`]).
    pub fn subscribe_leader(&self) -> watch::Receiver<LeaderInfo> {
        self.inner.link.shared.leader.subscribe()
    }

    /// Work counters (Readies, WAL appends and syncs, applied entries, compactions).
    pub fn stats(&self) -> RaftStats {
        self.inner.link.shared.counters.snapshot()
    }

    /// Notified with the applied index after every loop iteration that advanced it.
    pub fn subscribe_applied(&self) -> watch::Receiver<u64> {
        self.inner.link.subscribe_applied()
    }

    /// Whether the node has stopped ([`RaftNode::stop`] or a fatal error).
    pub fn is_stopped(&self) -> bool {
        self.inner.link.shared.is_stopped()
    }

    /// Resolves once the node has stopped ([`RaftNode::stop`] or a fatal error).
    pub async fn stopped(&self) {
        self.inner.link.stopped().await;
    }

    pub(crate) fn link(&self) -> NodeLink {
        self.inner.link.clone()
    }

    /// Stops the node: the thread finishes the Ready at hand, closes the WAL and exits;
    /// this waits for it (except when called from the node thread itself, e.g. by the
    /// applier). Later calls return [`RaftError::Stopped`]. Idempotent.
    pub fn stop(&self) {
        self.inner.stop();
    }
}

impl NodeLink {
    fn send(&self, request: Request) -> Result<(), RaftError> {
        self.requests.send(request).map_err(|_| RaftError::Stopped)
    }

    pub(crate) fn report_unreachable(&self, id: u64) {
        // A stopped node needs no reports.
        let _ = self.send(Request::ReportUnreachable(id));
    }

    pub(crate) fn report_snapshot(&self, id: u64, ok: bool) {
        let _ = self.send(Request::ReportSnapshot(id, ok));
    }

    pub(crate) fn subscribe_applied(&self) -> watch::Receiver<u64> {
        self.shared.applied.subscribe()
    }

    pub(crate) async fn stopped(&self) {
        let mut stopped = self.shared.stopped_watch.subscribe();
        // The sender lives in `shared`, which this link keeps alive.
        let _ = stopped.wait_for(|&s| s).await;
    }
}

impl Inner {
    fn stop(&self) {
        let link = &self.link;
        link.shared.mark_stopped();
        // The thread may already be gone; then there is nothing to tell it.
        let _ = link.requests.send(Request::Stop);
        let Some(handle) = self.thread.lock().take() else {
            return;
        };
        if handle.thread().id() == thread::current().id() {
            return;
        }
        if handle.join().is_err() {
            tracing::error!(id = link.id, "raft node thread panicked");
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop();
    }
}
