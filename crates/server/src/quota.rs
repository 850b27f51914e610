//! `--quota-backend-bytes` (etcd's `backendQuota`): a request that would grow the backend
//! past the quota is refused before it is proposed, and raises the NOSPACE alarm.
//!
//! The cost of a request is etcd's estimate: a put costs its key and value plus 256 bytes
//! of metadata, a txn the costlier of its two branches' puts, a lease grant 64 bytes;
//! anything else costs nothing and always passes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use etcd_proto::etcdserverpb::{request_op::Request, PutRequest, RequestOp, TxnRequest};
use parking_lot::Mutex;

/// etcd's `DefaultQuotaBytes` (2 GiB), used when the flag is 0.
pub const DEFAULT_QUOTA_BYTES: i64 = 2 * 1024 * 1024 * 1024;
/// etcd's `MaxQuotaBytes` (8 GiB): larger quotas are accepted with a warning.
pub const MAX_QUOTA_BYTES: i64 = 8 * 1024 * 1024 * 1024;
/// Estimated cost of storing a lease.
pub const LEASE_OVERHEAD: u64 = 64;
/// Estimated cost of a key's metadata.
const KV_OVERHEAD: u64 = 256;

/// How long a backend size read for the quota check is reused: reading it asks every
/// column family, which a write should not pay for each time (etcd reads an atomic).
const SIZE_REFRESH: Duration = Duration::from_millis(100);

/// The backend quota: `None` when disabled (a negative `--quota-backend-bytes`).
#[derive(Debug)]
pub struct Quota(Option<u64>, SizeCache);

/// The last backend size read, and when.
#[derive(Debug, Default)]
struct SizeCache {
    bytes: AtomicU64,
    read_at: Mutex<Option<Instant>>,
}

impl SizeCache {
    fn get(&self, read: impl FnOnce() -> u64) -> u64 {
        let mut at = self.read_at.lock();
        if at.is_none_or(|t| t.elapsed() >= SIZE_REFRESH) {
            self.bytes.store(read(), Ordering::Relaxed);
            *at = Some(Instant::now());
        }
        self.bytes.load(Ordering::Relaxed)
    }
}

impl Quota {
    /// The quota `--quota-backend-bytes` asks for: 0 is etcd's default, negative disables.
    pub fn from_flag(bytes: i64) -> Quota {
        match bytes {
            b if b < 0 => {
                tracing::info!(quota_size_bytes = b, "disabled backend quota");
                Quota(None, SizeCache::default())
            }
            0 => Quota(Some(DEFAULT_QUOTA_BYTES as u64), SizeCache::default()),
            b => {
                if b > MAX_QUOTA_BYTES {
                    tracing::warn!(
                        quota_size_bytes = b,
                        quota_maximum_size_bytes = MAX_QUOTA_BYTES,
                        "quota exceeds the maximum value"
                    );
                }
                Quota(Some(b as u64), SizeCache::default())
            }
        }
    }

    /// Forgets the size read last (after a defragment shrank the backend).
    pub fn invalidate(&self) {
        *self.1.read_at.lock() = None;
    }

    /// Whether a request costing `cost` fits; `size` reads the backend's size (called at
    /// most every 100 ms, and only when the answer depends on it).
    pub fn available(&self, cost: u64, size: impl FnOnce() -> u64) -> bool {
        match self.0 {
            _ if cost == 0 => true,
            None => true,
            Some(max) => self.1.get(size).saturating_add(cost) < max,
        }
    }
}

pub fn cost_put(r: &PutRequest) -> u64 {
    KV_OVERHEAD + r.key.len() as u64 + r.value.len() as u64
}

/// The costlier branch's puts (as etcd, nested txns are not counted).
pub fn cost_txn(r: &TxnRequest) -> u64 {
    let branch = |ops: &[RequestOp]| -> u64 {
        ops.iter()
            .map(|op| match &op.request {
                Some(Request::RequestPut(p)) => cost_put(p),
                _ => 0,
            })
            .sum()
    };
    branch(&r.success).max(branch(&r.failure))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, value: usize) -> PutRequest {
        PutRequest {
            key: key.into(),
            value: vec![b'v'; value],
            ..Default::default()
        }
    }

    #[test]
    fn flag_values() {
        assert_eq!(Quota::from_flag(0).0, Some(2 << 30));
        assert_eq!(Quota::from_flag(-1).0, None);
        assert_eq!(Quota::from_flag(100).0, Some(100));
    }

    #[test]
    fn costs_and_availability() {
        assert_eq!(cost_put(&put("k", 10)), 267);
        let op = |p| RequestOp {
            request: Some(Request::RequestPut(p)),
        };
        let t = TxnRequest {
            success: vec![op(put("a", 1)), op(put("b", 1))],
            failure: vec![op(put("c", 600))],
            ..Default::default()
        };
        assert_eq!(cost_txn(&t), 857);
        assert_eq!(cost_txn(&TxnRequest::default()), 0);
        let size = |bytes: u64| move || bytes;
        assert!(Quota::from_flag(1000).available(299, size(700)));
        assert!(!Quota::from_flag(1000).available(300, size(700)));
        let q = Quota::from_flag(1000);
        assert!(q.available(0, || unreachable!("no size read for a free request")));
        assert!(Quota::from_flag(-1).available(10, || unreachable!("no quota")));
        // The size read is reused for a while, and read again once invalidated.
        assert!(q.available(1, size(10)));
        assert!(q.available(1, size(5000)), "the cached 10 bytes answer");
        q.invalidate();
        assert!(!q.available(1, size(5000)));
    }
}
