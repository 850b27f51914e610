//! Operations applied from the raft log, identically on every member: grant, revoke,
//! checkpoint (which change persisted state and add their writes to the caller's engine
//! batch) and attach / detach (in memory only).

use std::time::{Duration, Instant};

use mvcc::WriteBatch;

use crate::errors::LeaseError;
use crate::lease::Lease;
use crate::lessor::{LeaseInfo, Lessor, MAX_LEASE_TTL};
use crate::persist;

impl Lessor {
    /// Grants lease `id` with `ttl` seconds (raised to the minimum TTL) and adds its record
    /// to `batch` (etcd's `Grant`). On the primary its clock starts at `now`; elsewhere it
    /// has no expiry until [`Lessor::promote`].
    ///
    /// Errors, in etcd's order: ID 0 -> [`LeaseError::LeaseNotFound`] (the server picks a
    /// non-zero ID before proposing); `ttl > MAX_LEASE_TTL` ->
    /// [`LeaseError::LeaseTtlTooLarge`]; existing ID -> [`LeaseError::LeaseExist`]. On error
    /// nothing changes.
    pub fn grant(
        &mut self,
        batch: &mut WriteBatch,
        id: i64,
        ttl: i64,
        now: Instant,
    ) -> Result<LeaseInfo, LeaseError> {
        if id == 0 {
            return Err(LeaseError::LeaseNotFound);
        }
        if ttl > MAX_LEASE_TTL {
            return Err(LeaseError::LeaseTtlTooLarge);
        }
        if self.leases.contains_key(&id) {
            return Err(LeaseError::LeaseExist);
        }
        let ttl = ttl.max(self.config.min_ttl);
        let mut lease = Lease::new(id, ttl, 0);
        if self.primary {
            lease.refresh(now, Duration::ZERO);
            self.queue.track(id, lease.expiry);
        }
        persist::put(batch, &lease);
        self.leases.insert(id, lease);
        Ok(LeaseInfo { id, ttl })
    }

    /// Revokes lease `id`: forgets it, adds the delete of its record to `batch` and returns
    /// its attached keys, sorted, for the caller to delete in the same revision and batch
    /// (etcd's `Revoke`). Detaching those keys afterwards is unnecessary (and answers
    /// [`LeaseError::LeaseNotFound`]).
    pub fn revoke(&mut self, batch: &mut WriteBatch, id: i64) -> Result<Vec<Vec<u8>>, LeaseError> {
        let lease = self.leases.remove(&id).ok_or(LeaseError::LeaseNotFound)?;
        self.queue.remove(id);
        for key in &lease.keys {
            if self.key_lease.get(key) == Some(&id) {
                self.key_lease.remove(key);
            }
        }
        persist::delete(batch, id);
        Ok(lease.keys.into_iter().collect())
    }

    /// Records `remaining_ttl` as lease `id`'s checkpointed remaining TTL (0 clears it) and
    /// adds the updated record to `batch` (etcd's `Checkpoint` with checkpoint persistence
    /// on). The running expiry is unchanged: the value is used when a lessor next starts the
    /// lease's clock ([`Lessor::promote`]). Returns false, changing nothing, if the lease
    /// does not exist (etcd ignores such checkpoints).
    pub fn checkpoint(&mut self, batch: &mut WriteBatch, id: i64, remaining_ttl: i64) -> bool {
        let Some(lease) = self.leases.get_mut(&id) else {
            return false;
        };
        lease.remaining_ttl = remaining_ttl;
        persist::put(batch, lease);
        true
    }

    /// Attaches `key` to lease `id` (a put with that lease, or recovery from the MVCC store).
    /// A key belongs to one lease: it is detached from any other lease first. Not persisted.
    pub fn attach(&mut self, id: i64, key: &[u8]) -> Result<(), LeaseError> {
        if !self.leases.contains_key(&id) {
            return Err(LeaseError::LeaseNotFound);
        }
        if let Some(old) = self.key_lease.insert(key.to_vec(), id) {
            if old != id {
                if let Some(l) = self.leases.get_mut(&old) {
                    l.keys.remove(key);
                }
            }
        }
        if let Some(l) = self.leases.get_mut(&id) {
            l.keys.insert(key.to_vec());
        }
        Ok(())
    }

    /// Detaches `key` from lease `id` (the key was deleted or put with another lease).
    /// [`LeaseError::LeaseNotFound`] if the lease does not exist, as etcd's `Detach`.
    pub fn detach(&mut self, id: i64, key: &[u8]) -> Result<(), LeaseError> {
        let lease = self.leases.get_mut(&id).ok_or(LeaseError::LeaseNotFound)?;
        lease.keys.remove(key);
        if self.key_lease.get(key) == Some(&id) {
            self.key_lease.remove(key);
        }
        Ok(())
    }
}
