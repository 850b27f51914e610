//! Linearizable reads (raft's ReadIndex). Reads queued in one loop iteration share one
//! request context; raft answers it with a read state once the leader has confirmed its
//! leadership with a quorum, and every waiter gets that state's index. A request raft
//! dropped (no leader yet, leader change) is re-issued with the same context every
//! [`RETRY_AFTER`] until [`ReadIndexes::timeout`] passes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::RaftError;

/// How long a read request may go unanswered before it is issued again (etcd: 500 ms).
pub(crate) const RETRY_AFTER: Duration = Duration::from_millis(500);

/// Someone waiting for a read index.
pub(crate) type ReadWaiter = oneshot::Sender<Result<u64, RaftError>>;

struct Pending {
    waiters: Vec<ReadWaiter>,
    first_issued: Instant,
    last_issued: Instant,
}

/// Read requests handed to raft and not yet answered.
pub(crate) struct ReadIndexes {
    next_ctx: u64,
    pending: HashMap<u64, Pending>,
    timeout: Duration,
}

impl ReadIndexes {
    /// Reads fail with [`RaftError::Timeout`] after `timeout`.
    pub(crate) fn new(timeout: Duration) -> ReadIndexes {
        ReadIndexes {
            next_ctx: 1,
            pending: HashMap::new(),
            timeout,
        }
    }

    /// Registers `waiters` as one request; returns the context to hand to raft.
    pub(crate) fn register(&mut self, waiters: Vec<ReadWaiter>, now: Instant) -> Vec<u8> {
        let ctx = self.next_ctx;
        self.next_ctx += 1;
        self.pending.insert(
            ctx,
            Pending {
                waiters,
                first_issued: now,
                last_issued: now,
            },
        );
        ctx.to_be_bytes().to_vec()
    }

    /// Answers the request `ctx` (if still pending) with `index`.
    pub(crate) fn resolve(&mut self, ctx: &[u8], index: u64) {
        let Some(key) = decode_ctx(ctx) else { return };
        if let Some(pending) = self.pending.remove(&key) {
            for waiter in pending.waiters {
                // The reader may have given up; nothing to do then.
                let _ = waiter.send(Ok(index));
            }
        }
    }

    /// Fails requests older than the timeout and returns the contexts to issue again.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let timeout = self.timeout;
        self.pending.retain(|_, p| {
            let expired = now.duration_since(p.first_issued) >= timeout;
            if expired {
                for waiter in p.waiters.drain(..) {
                    let _ = waiter.send(Err(RaftError::Timeout));
                }
            }
            !expired
        });
        let mut retry = Vec::new();
        for (ctx, p) in &mut self.pending {
            if now.duration_since(p.last_issued) >= RETRY_AFTER {
                p.last_issued = now;
                retry.push(ctx.to_be_bytes().to_vec());
            }
        }
        retry
    }

    /// Whether no read is waiting.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

fn decode_ctx(ctx: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(ctx.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_every_waiter_of_a_context_once() {
        let mut reads = ReadIndexes::new(Duration::from_secs(5));
        let now = Instant::now();
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, mut rx2) = oneshot::channel();
        let ctx = reads.register(vec![tx1, tx2], now);
        reads.resolve(b"garbage", 3);
        reads.resolve(&ctx, 42);
        reads.resolve(&ctx, 43);
        assert_eq!(rx1.try_recv().unwrap().unwrap(), 42);
        assert_eq!(rx2.try_recv().unwrap().unwrap(), 42);
        assert!(reads.is_empty());
    }

    #[test]
    fn retries_then_times_out() {
        let mut reads = ReadIndexes::new(Duration::from_secs(2));
        let start = Instant::now();
        let (tx, mut rx) = oneshot::channel();
        let ctx = reads.register(vec![tx], start);
        assert!(reads.expire(start + Duration::from_millis(100)).is_empty());
        assert_eq!(reads.expire(start + RETRY_AFTER), vec![ctx]);
        assert!(rx.try_recv().is_err());
        assert!(reads.expire(start + Duration::from_secs(2)).is_empty());
        assert!(matches!(rx.try_recv().unwrap(), Err(RaftError::Timeout)));
        assert!(reads.is_empty());
    }
}
