//! Leader-only operations, outside raft: the expiry clock. Only the primary lessor (the raft
//! leader) renews leases and finds expired ones; followers keep no clock, so a lease can
//! only be revoked by a revoke the leader proposes.

use std::time::{Duration, Instant};

use crate::errors::LeaseError;
use crate::lessor::Lessor;

/// Most leases etcd expects to revoke per second (etcd's `leaseRevokeRate`). When a newly
/// promoted lessor has at least this many leases, [`Lessor::promote`] spreads expiries so
/// no second sees more than 3/4 of it.
pub const LEASE_REVOKE_RATE: usize = 1000;

const NANOS_PER_SEC: i128 = 1_000_000_000;

impl Lessor {
    /// True between [`Lessor::promote`] and [`Lessor::demote`].
    pub fn is_primary(&self) -> bool {
        self.primary
    }

    /// Keep-alive: lease `id` now expires `ttl` seconds after `now`; returns its TTL
    /// (etcd's `Renew`). Errors: [`LeaseError::NotPrimary`] on a follower (forward to the
    /// leader), [`LeaseError::LeaseNotFound`] for an unknown lease,
    /// [`LeaseError::LeaseExpired`] for a lease past expiry whose revoke is pending.
    ///
    /// The clock restarts from the full TTL. If the lease has a checkpointed remaining TTL
    /// ([`Lessor::checkpointed_ttl`]), the server should propose a checkpoint of 0 for it.
    pub fn renew(&mut self, id: i64, now: Instant) -> Result<i64, LeaseError> {
        if !self.primary {
            return Err(LeaseError::NotPrimary);
        }
        let lease = self.leases.get_mut(&id).ok_or(LeaseError::LeaseNotFound)?;
        if lease.is_expired(now) {
            return Err(LeaseError::LeaseExpired);
        }
        lease.expire_after(now, Duration::ZERO, lease.ttl);
        self.queue.track(id, lease.expiry);
        Ok(lease.ttl)
    }

    /// Makes this lessor the primary (on becoming raft leader, once the entries of the
    /// previous term are applied). Every lease's expiry becomes `now + extend + TTL` (the
    /// checkpointed remaining TTL if set), so no lease expires early because of a restart or
    /// leader change; etcd passes the election timeout as `extend`. With
    /// [`LEASE_REVOKE_RATE`] leases or more, expiries that would pile up in the same second
    /// are pushed later as etcd's `Promote` does (never earlier).
    pub fn promote(&mut self, extend: Duration, now: Instant) {
        self.primary = true;
        self.queue.clear();
        for lease in self.leases.values_mut() {
            lease.refresh(now, extend);
            self.queue.track(lease.id, lease.expiry);
        }
        if self.leases.len() >= LEASE_REVOKE_RATE {
            self.spread_expiries(extend, now);
        }
    }

    /// etcd's pile-up adjustment: walking leases by expiry in one-second windows, a window
    /// may hold at most 3/4 of [`LEASE_REVOKE_RATE`] expiries; later ones are delayed in
    /// proportion to the excess.
    fn spread_expiries(&mut self, extend: Duration, now: Instant) {
        let mut order: Vec<(i128, i64)> = self
            .leases
            .values()
            .filter_map(|l| l.remaining_nanos(now).map(|r| (r, l.id)))
            .collect();
        order.sort_unstable();
        let Some(&(first, _)) = order.first() else {
            return;
        };
        let target = (3 * LEASE_REVOKE_RATE / 4) as f64;
        let mut base = first;
        let mut next = base + NANOS_PER_SEC;
        let mut expires: u64 = 0;
        for (remaining, id) in order {
            if remaining > next {
                base = remaining;
                next = base + NANOS_PER_SEC;
                expires = 1;
                continue;
            }
            expires += 1;
            if expires as f64 <= target {
                continue;
            }
            let rate_delay =
                NANOS_PER_SEC as f64 * (expires as f64 / target) - (remaining - base) as f64;
            // Positive: `remaining - base` is at most the previous delay, which is smaller.
            let delay = Duration::from_nanos(rate_delay.max(0.0) as u64);
            next = base + delay.as_nanos() as i128;
            if let Some(lease) = self.leases.get_mut(&id) {
                lease.refresh(now, delay.saturating_add(extend));
                self.queue.track(id, lease.expiry);
            }
        }
    }

    /// Stops the expiry clock (on losing leadership): no lease expires on this member until
    /// the next [`Lessor::promote`] (etcd's `Demote`).
    pub fn demote(&mut self) {
        self.primary = false;
        for lease in self.leases.values_mut() {
            lease.forever();
        }
        self.queue.clear();
    }

    /// Up to `limit` leases past their expiry at `now`, soonest expiry first, for the server
    /// to propose revokes for (etcd's `findExpiredLeases`). Each reported lease is not
    /// reported again for [`crate::LessorConfig::expired_retry_interval`], unless renewed
    /// (it would no longer be expired) or revoked (gone): by then its revoke should have
    /// been applied, and if it was lost the lease is reported again. Empty unless primary.
    ///
    /// Cost: O((reported + 1) · log n) for n leases; leases not yet due are not visited.
    pub fn expired(&mut self, now: Instant, limit: usize) -> Vec<i64> {
        let mut out = Vec::new();
        if !self.primary {
            return out;
        }
        while out.len() < limit {
            let Some((at, id)) = self.queue.peek() else {
                break;
            };
            if at > now {
                break;
            }
            let Some(lease) = self.leases.get(&id) else {
                self.queue.remove(id);
                continue;
            };
            let retry = now.checked_add(self.config.expired_retry_interval);
            self.queue.track(id, retry);
            if lease.is_expired(now) {
                out.push(id);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lessor::LessorConfig;
    use mvcc::{MemEngine, WriteBatch};
    use std::sync::Arc;

    fn lessor() -> Lessor {
        let config = LessorConfig {
            min_ttl: 1,
            ..LessorConfig::default()
        };
        Lessor::open_with(Arc::new(MemEngine::new()), config).unwrap()
    }

    #[test]
    fn promote_spreads_piled_up_expiries_and_never_shortens() {
        let now = Instant::now();
        let s = Duration::from_secs;
        let mut le = lessor();
        let mut batch = WriteBatch::new();
        for id in 1..=2000 {
            le.grant(&mut batch, id, 10, now).unwrap();
        }
        le.promote(Duration::ZERO, now);
        let mut expiries: Vec<Instant> = le.leases.values().map(|l| l.expiry.unwrap()).collect();
        expiries.sort();
        assert!(expiries.iter().all(|&e| e >= now + s(10)));
        // 750 per second at most: 750 at 10 s, then 751..1500 in (11 s, 12 s], the rest later.
        let due = |t: Instant| expiries.iter().filter(|&&e| e <= t).count();
        assert_eq!(due(now + s(10)), 750);
        assert_eq!(due(now + s(11)), 750);
        assert_eq!(due(now + s(12)), 1500);
        assert_eq!(due(now + s(14)), 2000);
        // The queue agrees with the leases.
        assert_eq!(le.expired(now + s(11), usize::MAX).len(), 750);
    }

    #[test]
    fn few_leases_are_not_spread() {
        let now = Instant::now();
        let mut le = lessor();
        let mut batch = WriteBatch::new();
        for id in 1..=999 {
            le.grant(&mut batch, id, 10, now).unwrap();
        }
        le.promote(Duration::from_secs(1), now);
        assert!(le
            .leases
            .values()
            .all(|l| l.expiry == Some(now + Duration::from_secs(11))));
    }

    /// Finding due leases among 100k must not visit the others: the queue work is
    /// proportional to the leases reported.
    #[test]
    fn expiry_work_is_proportional_to_due_leases() {
        let now = Instant::now();
        let mut le = lessor();
        le.promote(Duration::ZERO, now);
        let mut batch = WriteBatch::new();
        for id in 1..=100_000 {
            // 100 leases per TTL second, TTLs 1..=1000 s.
            le.grant(&mut batch, id, 1 + (id - 1) / 100, now).unwrap();
        }
        let before = le.queue.ops();
        let got = le.expired(now + Duration::from_secs(3), 1000);
        assert_eq!(got, (1..=300).collect::<Vec<_>>());
        assert_eq!(le.queue.ops() - before, 300);
        let before = le.queue.ops();
        assert!(le.expired(now + Duration::from_secs(3), 1000).is_empty());
        assert_eq!(le.queue.ops() - before, 0);
    }
}
