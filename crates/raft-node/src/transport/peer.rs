//! [`Peer`]: the handle of one peer's sender task and of its snapshot in flight.

use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;

use super::stream::StreamTask;
use super::{snapshot, Local};

/// Messages queued per peer before new ones are dropped (etcd: 4096).
const QUEUE_CAPACITY: usize = 4096;

/// Since when the stream to a peer is up (`None`: down). Written by its task.
pub(crate) type Active = Arc<Mutex<Option<Instant>>>;

/// One peer. Dropping it stops its tasks.
pub(crate) struct Peer {
    id: u64,
    queue: mpsc::Sender<Vec<u8>>,
    urls: watch::Sender<Vec<String>>,
    active: Active,
    stream_task: AbortHandle,
    snapshot_task: Mutex<Option<AbortHandle>>,
}

impl Peer {
    /// Starts the sender task of peer `id`.
    pub(crate) fn start(id: u64, urls: Vec<String>, local: &Arc<Local>, rt: &Handle) -> Peer {
        let (queue, queued) = mpsc::channel(QUEUE_CAPACITY);
        let (urls, urls_rx) = watch::channel(urls);
        let active = Active::default();
        let task = StreamTask::new(id, Arc::clone(local), queued, urls_rx, Arc::clone(&active));
        let stream_task = rt.spawn(task.run()).abort_handle();
        Peer {
            id,
            queue,
            urls,
            active,
            stream_task,
            snapshot_task: Mutex::new(None),
        }
    }

    pub(crate) fn set_urls(&self, urls: Vec<String>) {
        self.urls.send_if_modified(|current| {
            let changed = *current != urls;
            if changed {
                tracing::info!(peer = %format!("{:x}", self.id), ?urls, "peer URLs updated");
                *current = urls;
            }
            changed
        });
    }

    /// Queues `msg` without waiting; false when the queue is full.
    pub(crate) fn try_send(&self, msg: Vec<u8>) -> bool {
        self.queue.try_send(msg).is_ok()
    }

    pub(crate) fn active_since(&self) -> Option<Instant> {
        *self.active.lock()
    }

    /// Sends a snapshot message (with the state machine's data) in a task of its own.
    pub(crate) fn send_snapshot(&self, msg: Vec<u8>, local: &Arc<Local>, rt: &Handle) {
        let url = self.urls.borrow().first().cloned();
        let task = snapshot::send(Arc::clone(local), self.id, url, msg);
        let handle = rt.spawn(task).abort_handle();
        // raft sends one snapshot at a time per peer; a newer one supersedes the last.
        if let Some(previous) = self.snapshot_task.lock().replace(handle) {
            previous.abort();
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stream_task.abort();
        if let Some(task) = self.snapshot_task.lock().take() {
            task.abort();
        }
    }
}
