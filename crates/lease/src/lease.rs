//! One lease: its TTL, last checkpointed remaining TTL, expiry clock and attached keys.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use etcd_proto::leasepb;

/// A lease as the lessor keeps it in memory.
#[derive(Debug, Clone)]
pub(crate) struct Lease {
    pub(crate) id: i64,
    /// Granted time to live, in seconds (already raised to the minimum TTL).
    pub(crate) ttl: i64,
    /// Remaining TTL from the last applied checkpoint, in seconds; 0 = unset (use `ttl`).
    pub(crate) remaining_ttl: i64,
    /// When the lease expires; `None` = never (followers, and leases whose expiry would
    /// overflow the clock).
    pub(crate) expiry: Option<Instant>,
    /// Attached keys, sorted (revoke deletes them in this order on every member).
    pub(crate) keys: BTreeSet<Vec<u8>>,
}

impl Lease {
    pub(crate) fn new(id: i64, ttl: i64, remaining_ttl: i64) -> Self {
        Self {
            id,
            ttl,
            remaining_ttl,
            expiry: None,
            keys: BTreeSet::new(),
        }
    }

    /// The TTL a refresh counts from: the checkpointed remaining TTL if set, else the full
    /// TTL (etcd's `Lease.RemainingTTL`).
    pub(crate) fn checkpointed_or_full_ttl(&self) -> i64 {
        if self.remaining_ttl > 0 {
            self.remaining_ttl
        } else {
            self.ttl
        }
    }

    /// Expiry = `now + extend + checkpointed_or_full_ttl` (etcd's `Lease.refresh`).
    pub(crate) fn refresh(&mut self, now: Instant, extend: Duration) {
        self.expire_after(now, extend, self.checkpointed_or_full_ttl());
    }

    /// Expiry = `now + extend + secs` seconds; `None` if that overflows the clock.
    pub(crate) fn expire_after(&mut self, now: Instant, extend: Duration, secs: i64) {
        let secs = Duration::from_secs(u64::try_from(secs).unwrap_or(0));
        self.expiry = extend.checked_add(secs).and_then(|d| now.checked_add(d));
    }

    /// No expiry (etcd's `Lease.forever`).
    pub(crate) fn forever(&mut self) {
        self.expiry = None;
    }

    /// True if the lease has an expiry and it is not after `now`.
    pub(crate) fn is_expired(&self, now: Instant) -> bool {
        self.expiry.is_some_and(|e| e <= now)
    }

    /// Time left until expiry in nanoseconds (negative once past it); `None` = never.
    pub(crate) fn remaining_nanos(&self, now: Instant) -> Option<i128> {
        self.expiry.map(|e| {
            if e >= now {
                (e - now).as_nanos() as i128
            } else {
                -((now - e).as_nanos() as i128)
            }
        })
    }

    /// The record persisted in the `lease` column family.
    pub(crate) fn to_record(&self) -> leasepb::Lease {
        leasepb::Lease {
            id: self.id,
            ttl: self.ttl,
            remaining_ttl: self.remaining_ttl,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_uses_checkpoint_when_set() {
        let now = Instant::now();
        let mut l = Lease::new(1, 100, 0);
        l.refresh(now, Duration::from_secs(1));
        assert_eq!(l.expiry, Some(now + Duration::from_secs(101)));
        l.remaining_ttl = 30;
        l.refresh(now, Duration::ZERO);
        assert_eq!(l.expiry, Some(now + Duration::from_secs(30)));
    }

    #[test]
    fn remaining_is_signed_and_forever_is_none() {
        let now = Instant::now();
        let mut l = Lease::new(1, 5, 0);
        assert_eq!(l.remaining_nanos(now), None);
        assert!(!l.is_expired(now));
        l.refresh(now, Duration::ZERO);
        assert_eq!(l.remaining_nanos(now), Some(5_000_000_000));
        let later = now + Duration::from_secs(7);
        assert_eq!(l.remaining_nanos(later), Some(-2_000_000_000));
        assert!(l.is_expired(later));
        assert!(l.is_expired(now + Duration::from_secs(5)));
    }

    #[test]
    fn negative_ttl_expires_now_and_huge_ttl_does_not_panic() {
        let now = Instant::now();
        let mut l = Lease::new(1, -3, 0);
        l.refresh(now, Duration::ZERO);
        assert_eq!(l.expiry, Some(now));
        l.expire_after(now, Duration::MAX, 1);
        assert_eq!(l.expiry, None);
    }
}
