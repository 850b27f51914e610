//! The expiry queue: leases ordered by the time the lessor should next look at them (their
//! expiry, or the retry time after they were reported expired), etcd's
//! `LeaseExpiredNotifier`. One entry per lease; insert, update, remove and peek at the
//! earliest are O(log n), so finding due leases never scans all leases.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

/// A min-priority queue of lease IDs keyed by time, with updatable keys.
///
/// An ordered set of `(time, id)` plus the time of each ID: the earliest entry is the first
/// of the set, and updating a lease's time removes its old entry by key. Ties are broken by
/// lease ID so the order is deterministic.
#[derive(Debug, Default)]
pub(crate) struct ExpiryQueue {
    order: BTreeSet<(Instant, i64)>,
    at: HashMap<i64, Instant>,
    /// Number of set / remove operations so far (for tests of the cost of expiry).
    #[cfg(test)]
    ops: u64,
}

impl ExpiryQueue {
    /// Registers `id` at time `t`, replacing its previous time if it had one.
    pub(crate) fn set(&mut self, id: i64, t: Instant) {
        self.count_op();
        if let Some(old) = self.at.insert(id, t) {
            self.order.remove(&(old, id));
        }
        self.order.insert((t, id));
    }

    /// Registers `id` at `at`, or forgets it if `at` is `None` (a lease that never expires).
    pub(crate) fn track(&mut self, id: i64, at: Option<Instant>) {
        match at {
            Some(t) => self.set(id, t),
            None => self.remove(id),
        }
    }

    /// Forgets `id` (no-op if absent).
    pub(crate) fn remove(&mut self, id: i64) {
        self.count_op();
        if let Some(old) = self.at.remove(&id) {
            self.order.remove(&(old, id));
        }
    }

    /// The earliest entry.
    pub(crate) fn peek(&self) -> Option<(Instant, i64)> {
        self.order.first().copied()
    }

    /// Forgets every entry.
    pub(crate) fn clear(&mut self) {
        self.order.clear();
        self.at.clear();
    }

    fn count_op(&mut self) {
        #[cfg(test)]
        {
            self.ops += 1;
        }
    }

    /// Number of leases queued.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.at.len()
    }

    /// Number of set / remove operations since creation.
    #[cfg(test)]
    pub(crate) fn ops(&self) -> u64 {
        self.ops
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn earliest_first_updates_and_removes() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut q = ExpiryQueue::default();
        q.set(1, t0 + s(5));
        q.set(2, t0 + s(3));
        q.set(3, t0 + s(3));
        assert_eq!(q.peek(), Some((t0 + s(3), 2)));
        q.set(2, t0 + s(10));
        assert_eq!(q.peek(), Some((t0 + s(3), 3)));
        assert_eq!(q.len(), 3);
        q.remove(3);
        q.remove(42);
        assert_eq!(q.peek(), Some((t0 + s(5), 1)));
        assert_eq!(q.len(), 2);
        q.clear();
        assert_eq!(q.peek(), None);
        assert_eq!(q.len(), 0);
        assert_eq!(q.ops(), 6);
    }
}
