//! Proposals waiting for their raft entry to be applied, keyed by request ID
//! (etcd's `pkg/wait`). The applier completes them; a dropped receiver is harmless.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::applier::ApplyResult;

#[derive(Default)]
pub struct Wait {
    pending: Mutex<HashMap<u64, oneshot::Sender<ApplyResult>>>,
}

impl Wait {
    pub fn register(&self, id: u64) -> oneshot::Receiver<ApplyResult> {
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(id, tx);
        rx
    }

    pub fn cancel(&self, id: u64) {
        self.pending.lock().remove(&id);
    }

    pub fn trigger(&self, id: u64, result: ApplyResult) {
        if let Some(tx) = self.pending.lock().remove(&id) {
            let _ = tx.send(result);
        }
    }
}

/// Unique request IDs, as etcd's `pkg/idutil`: the member ID's low 16 bits, then a
/// millisecond timestamp and a counter, so IDs from different members and restarts differ.
pub struct IdGenerator {
    prefix: u64,
    next: AtomicU64,
}

impl IdGenerator {
    pub fn new(member_id: u64) -> Self {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        IdGenerator {
            prefix: (member_id & 0xffff) << 48,
            next: AtomicU64::new((ms & 0xff_ffff_ffff) << 8),
        }
    }

    pub fn next(&self) -> u64 {
        let suffix = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.prefix | (suffix & 0xffff_ffff_ffff)
    }
}
