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
use crate::{Applier, MemberChange, RaftConfig, RaftError, RaftStats, RaftStatus, Transport};

/// Handle to a running raft member. Clones share the same node; `Send + Sync`.
#[derive(Clone)]
pub struct RaftNode {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    requests: Sender<Request>,
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl RaftNode {
    /// Opens (or creates) the WAL in `cfg.wal_dir`, restores the raft log and starts the
    /// node thread. Entries up to `applier.applied_index()` are not delivered again. A
    /// single-member cluster is leader when this returns.
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
                id: cfg.id,
                requests: tx,
                shared,
                thread: Mutex::new(Some(thread)),
            }),
        })
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
        self.inner.send(Request::Propose(data))
    }

    fn check_accepting(&self) -> Result<(), RaftError> {
        if self.inner.shared.is_stopped() {
            return Err(RaftError::Stopped);
        }
        if self.inner.shared.status.lock().leader_id == 0 {
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
        self.inner.send(Request::ProposeConfChange(Box::new(cc)))
    }

    /// Linearizable read barrier: returns an index such that a read served once the
    /// state machine has applied it reflects every write committed before this call.
    /// Fails with [`RaftError::Timeout`] when no quorum confirms the leader in time.
    pub async fn read_index(&self) -> Result<u64, RaftError> {
        if self.inner.shared.is_stopped() {
            return Err(RaftError::Stopped);
        }
        let (tx, rx) = oneshot::channel();
        self.inner.send(Request::ReadIndex(tx))?;
        rx.await.map_err(|_| RaftError::Stopped)?
    }

    /// Feeds a message received from a peer (a protobuf-encoded raft `Message`).
    pub fn step(&self, msg: Vec<u8>) -> Result<(), RaftError> {
        let msg = Message::parse_from_bytes(&msg)
            .map_err(|err| RaftError::InvalidMessage(err.to_string()))?;
        if msg.to != self.inner.id {
            return Err(RaftError::InvalidMessage(format!(
                "message for member {:x} delivered to member {:x}",
                msg.to, self.inner.id
            )));
        }
        self.inner.send(Request::Step(Box::new(msg)))
    }

    /// The node's raft state as of its last loop iteration.
    pub fn status(&self) -> RaftStatus {
        self.inner.shared.status.lock().clone()
    }

    /// Work counters (Readies, WAL appends and syncs, applied entries, compactions).
    pub fn stats(&self) -> RaftStats {
        self.inner.shared.counters.snapshot()
    }

    /// Notified with the applied index after every loop iteration that advanced it.
    pub fn subscribe_applied(&self) -> watch::Receiver<u64> {
        self.inner.shared.applied.subscribe()
    }

    /// Stops the node: the thread finishes the Ready at hand, closes the WAL and exits;
    /// this waits for it (except when called from the node thread itself, e.g. by the
    /// applier). Later calls return [`RaftError::Stopped`]. Idempotent.
    pub fn stop(&self) {
        self.inner.stop();
    }
}

impl Inner {
    fn send(&self, request: Request) -> Result<(), RaftError> {
        self.requests.send(request).map_err(|_| RaftError::Stopped)
    }

    fn stop(&self) {
        self.shared.mark_stopped();
        // The thread may already be gone; then there is nothing to tell it.
        let _ = self.requests.send(Request::Stop);
        let Some(handle) = self.thread.lock().take() else {
            return;
        };
        if handle.thread().id() == thread::current().id() {
            return;
        }
        if handle.join().is_err() {
            tracing::error!(id = self.id, "raft node thread panicked");
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop();
    }
}
