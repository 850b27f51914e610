//! The [`Lessor`]: its configuration, recovery from the engine, and read-only queries. The
//! applied operations are in `apply.rs`, the leader-only ones in `primary.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mvcc::Engine;

use crate::errors::LeaseError;
use crate::lease::Lease;
use crate::persist;
use crate::queue::ExpiryQueue;

/// The largest TTL a lease may be granted, in seconds (etcd's `lease.MaxLeaseTTL`).
pub const MAX_LEASE_TTL: i64 = 9_000_000_000;

/// How long a lease reported by [`Lessor::expired`] stays unreported, waiting for its
/// revoke to be applied, before it is reported again (etcd's
/// `defaultExpiredleaseRetryInterval`).
pub const DEFAULT_EXPIRED_RETRY_INTERVAL: Duration = Duration::from_secs(3);

/// Settings of a [`Lessor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LessorConfig {
    /// Shortest TTL granted, in seconds: shorter requests are raised to it (etcd derives it
    /// from the election timeout, see [`LessorConfig::min_ttl_for`]).
    pub min_ttl: i64,
    /// See [`DEFAULT_EXPIRED_RETRY_INTERVAL`].
    pub expired_retry_interval: Duration,
}

impl LessorConfig {
    /// etcd's minimum lease TTL for a raft timing: `ceil((3 * election_ticks / 2) *
    /// heartbeat)` in seconds, so a lease outlives a leader election. With etcd's defaults
    /// (100 ms, 10 ticks) it is 2.
    pub fn min_ttl_for(heartbeat: Duration, election_ticks: u64) -> i64 {
        let ticks = u32::try_from(election_ticks.saturating_mul(3) / 2).unwrap_or(u32::MAX);
        let d = heartbeat.saturating_mul(ticks);
        let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
        i64::try_from(secs).unwrap_or(i64::MAX)
    }
}

impl Default for LessorConfig {
    /// etcd's defaults: minimum TTL for 100 ms heartbeats and 10 election ticks, 3 s retry.
    fn default() -> Self {
        Self {
            min_ttl: Self::min_ttl_for(Duration::from_millis(100), 10),
            expired_retry_interval: DEFAULT_EXPIRED_RETRY_INTERVAL,
        }
    }
}

/// A granted lease, as a grant answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseInfo {
    /// Lease ID.
    pub id: i64,
    /// Granted TTL in seconds (after raising to the minimum TTL).
    pub ttl: i64,
}

/// A lease's time to live, as `LeaseTimeToLive` answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeToLive {
    /// Lease ID.
    pub id: i64,
    /// TTL the lease was granted with, in seconds.
    pub granted_ttl: i64,
    /// Seconds left, truncated toward zero as etcd does (may be 0 or negative for a lease
    /// past expiry whose revoke is pending). On a non-primary lessor, which keeps no expiry
    /// clock, the checkpointed remaining TTL or else the granted TTL.
    pub ttl: i64,
    /// Attached keys, sorted.
    pub keys: Vec<Vec<u8>>,
}

/// etcd's lessor as a deterministic state machine: it owns no thread and reads no clock;
/// every time-dependent method takes `now`. See the crate documentation for how the server
/// drives it.
#[derive(Debug)]
pub struct Lessor {
    pub(crate) config: LessorConfig,
    pub(crate) leases: HashMap<i64, Lease>,
    /// Attached key -> its lease.
    pub(crate) key_lease: HashMap<Vec<u8>, i64>,
    /// Leases by next time to check for expiry; empty unless primary.
    pub(crate) queue: ExpiryQueue,
    /// True on the leader, between [`Lessor::promote`] and [`Lessor::demote`].
    pub(crate) primary: bool,
}

impl Lessor {
    /// Recovers the leases persisted in `engine` with the default [`LessorConfig`]. See
    /// [`Lessor::open_with`].
    pub fn open(engine: Arc<dyn Engine>) -> Result<Lessor, LeaseError> {
        Self::open_with(engine, LessorConfig::default())
    }

    /// Recovers the leases persisted in `engine`'s `lease` column family. Recovered leases
    /// have no keys (the server re-attaches them from the MVCC store with
    /// [`Lessor::attach`]) and no expiry: the lessor starts as a follower, and
    /// [`Lessor::promote`] starts their clocks. TTLs below the minimum are raised to it.
    pub fn open_with(engine: Arc<dyn Engine>, config: LessorConfig) -> Result<Lessor, LeaseError> {
        let mut lessor = Lessor {
            config,
            leases: HashMap::new(),
            key_lease: HashMap::new(),
            queue: ExpiryQueue::default(),
            primary: false,
        };
        for r in persist::load(engine.as_ref())? {
            let ttl = r.ttl.max(config.min_ttl);
            lessor
                .leases
                .insert(r.id, Lease::new(r.id, ttl, r.remaining_ttl));
        }
        Ok(lessor)
    }

    /// The lessor's settings.
    pub fn config(&self) -> &LessorConfig {
        &self.config
    }

    /// True if lease `id` exists.
    pub fn lookup(&self, id: i64) -> bool {
        self.leases.contains_key(&id)
    }

    /// The keys attached to lease `id`, sorted (none if it does not exist).
    pub fn keys(&self, id: i64) -> Vec<Vec<u8>> {
        self.leases
            .get(&id)
            .map(|l| l.keys.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Lease `id`'s ID and granted TTL, if it exists.
    pub fn lease(&self, id: i64) -> Option<LeaseInfo> {
        self.leases.get(&id).map(|l| LeaseInfo { id, ttl: l.ttl })
    }

    /// Number of leases.
    pub fn len(&self) -> usize {
        self.leases.len()
    }

    /// True if there is no lease.
    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }

    /// Every lease ID, soonest expiry first (as etcd's `Leases`), leases without expiry
    /// last; ties in ID order.
    pub fn leases(&self) -> Vec<i64> {
        let mut ls: Vec<(Option<Instant>, i64)> =
            self.leases.values().map(|l| (l.expiry, l.id)).collect();
        ls.sort_unstable_by_key(|&(expiry, id)| (expiry.is_none(), expiry, id));
        ls.into_iter().map(|(_, id)| id).collect()
    }

    /// The lease `key` is attached to, if any (etcd's `GetLease`).
    pub fn lease_of(&self, key: &[u8]) -> Option<i64> {
        self.key_lease.get(key).copied()
    }

    /// The remaining TTL last checkpointed for lease `id`, if one is set (non-zero). After a
    /// successful [`Lessor::renew`] of such a lease, the server proposes a checkpoint of 0
    /// for it (as etcd does), so no member later restarts its clock from the stale value.
    pub fn checkpointed_ttl(&self, id: i64) -> Option<i64> {
        self.leases
            .get(&id)
            .map(|l| l.remaining_ttl)
            .filter(|&r| r > 0)
    }

    /// Lease `id`'s granted TTL, seconds left at `now` and attached keys; `None` if it does
    /// not exist. Meaningful on the primary (etcd forwards `LeaseTimeToLive` to the leader).
    pub fn time_to_live(&self, id: i64, now: Instant) -> Option<TimeToLive> {
        let l = self.leases.get(&id)?;
        let ttl = match l.remaining_nanos(now) {
            Some(nanos) => i64::try_from(nanos / 1_000_000_000).unwrap_or(i64::MAX),
            None => l.checkpointed_or_full_ttl(),
        };
        Some(TimeToLive {
            id,
            granted_ttl: l.ttl,
            ttl,
            keys: l.keys.iter().cloned().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_ttl_matches_etcd() {
        assert_eq!(LessorConfig::min_ttl_for(Duration::from_millis(100), 10), 2);
        assert_eq!(LessorConfig::min_ttl_for(Duration::from_millis(100), 20), 3);
        assert_eq!(LessorConfig::min_ttl_for(Duration::from_millis(50), 5), 1);
        assert_eq!(LessorConfig::default().min_ttl, 2);
    }
}
