//! Operations applied from the raft log: grant, revoke, attach, detach, checkpoint.

mod common;

use std::time::Instant;

use common::{grant, lessor_with_min_ttl, primary, secs};
use lease::{LeaseError, LeaseInfo, CF_LEASE, MAX_LEASE_TTL};
use mvcc::{WriteBatch, WriteOp};

#[test]
fn grant_then_revoke_returns_attached_keys_sorted() {
    let now = Instant::now();
    let mut le = primary(now);
    let mut batch = WriteBatch::new();
    let info = le.grant(&mut batch, 7, 60, now).unwrap();
    assert_eq!(info, LeaseInfo { id: 7, ttl: 60 });
    assert!(le.lookup(7));
    assert!(matches!(
        batch.ops(),
        [WriteOp::Put { cf, key, .. }] if *cf == CF_LEASE && key == &7i64.to_be_bytes()
    ));

    for key in [&b"zeta"[..], b"alpha", b"mid"] {
        le.attach(7, key).unwrap();
    }
    assert_eq!(le.lease_of(b"mid"), Some(7));

    let mut batch = WriteBatch::new();
    let keys = le.revoke(&mut batch, 7).unwrap();
    assert_eq!(
        keys,
        vec![b"alpha".to_vec(), b"mid".to_vec(), b"zeta".to_vec()]
    );
    assert_eq!(
        batch.ops(),
        [WriteOp::Delete {
            cf: CF_LEASE,
            key: 7i64.to_be_bytes().to_vec()
        }]
    );
    assert!(!le.lookup(7));
    assert_eq!(le.lease_of(b"mid"), None);
    assert!(le.leases().is_empty());

    // Gone: a second revoke, a detach and a time-to-live all see no lease.
    let mut batch = WriteBatch::new();
    assert_eq!(le.revoke(&mut batch, 7), Err(LeaseError::LeaseNotFound));
    assert!(batch.is_empty());
    assert_eq!(le.detach(7, b"mid"), Err(LeaseError::LeaseNotFound));
    assert_eq!(le.time_to_live(7, now), None);
}

#[test]
fn duplicate_grant_is_rejected_without_writes() {
    let now = Instant::now();
    let mut le = primary(now);
    grant(&mut le, 1, 10, now);
    let mut batch = WriteBatch::new();
    let err = le.grant(&mut batch, 1, 20, now).unwrap_err();
    assert_eq!(err, LeaseError::LeaseExist);
    assert_eq!(err.to_string(), "etcdserver: lease already exists");
    assert!(batch.is_empty());
    assert_eq!(le.lease(1).unwrap().ttl, 10);
}

#[test]
fn too_large_ttl_and_zero_id_are_rejected() {
    let now = Instant::now();
    let mut le = primary(now);
    let mut batch = WriteBatch::new();
    let err = le.grant(&mut batch, 1, MAX_LEASE_TTL + 1, now).unwrap_err();
    assert_eq!(err, LeaseError::LeaseTtlTooLarge);
    assert_eq!(err.to_string(), "etcdserver: too large lease TTL");
    let err = le.grant(&mut batch, 0, 10, now).unwrap_err();
    assert_eq!(err, LeaseError::LeaseNotFound);
    assert_eq!(err.to_string(), "etcdserver: requested lease not found");
    assert!(batch.is_empty());
    assert!(le.is_empty());

    // The maximum itself is fine, and its expiry does not overflow anything.
    let info = le.grant(&mut batch, 2, MAX_LEASE_TTL, now).unwrap();
    assert_eq!(info.ttl, MAX_LEASE_TTL);
    assert!(le.expired(now + secs(1_000_000), 10).is_empty());
}

#[test]
fn short_ttls_are_raised_to_the_minimum() {
    let now = Instant::now();
    let mut le = lessor_with_min_ttl(5);
    let mut batch = WriteBatch::new();
    assert_eq!(le.grant(&mut batch, 1, 1, now).unwrap().ttl, 5);
    assert_eq!(le.grant(&mut batch, 2, -3, now).unwrap().ttl, 5);
    assert_eq!(le.grant(&mut batch, 3, 6, now).unwrap().ttl, 6);
    le.promote(secs(0), now);
    let ttl = le.time_to_live(1, now).unwrap();
    assert_eq!((ttl.granted_ttl, ttl.ttl), (5, 5));
}

#[test]
fn a_key_belongs_to_one_lease() {
    let now = Instant::now();
    let mut le = primary(now);
    grant(&mut le, 1, 10, now);
    grant(&mut le, 2, 10, now);
    le.attach(1, b"k").unwrap();
    le.attach(2, b"k").unwrap();
    assert_eq!(le.lease_of(b"k"), Some(2));
    assert!(le.time_to_live(1, now).unwrap().keys.is_empty());
    assert_eq!(le.time_to_live(2, now).unwrap().keys, vec![b"k".to_vec()]);

    // Detaching from the wrong lease leaves the key where it is.
    le.detach(1, b"k").unwrap();
    assert_eq!(le.lease_of(b"k"), Some(2));
    le.detach(2, b"k").unwrap();
    assert_eq!(le.lease_of(b"k"), None);
    assert!(le.time_to_live(2, now).unwrap().keys.is_empty());

    assert_eq!(le.attach(3, b"k"), Err(LeaseError::LeaseNotFound));
    assert_eq!(le.lease_of(b"k"), None);
}

#[test]
fn checkpoint_is_persisted_and_cleared_by_zero() {
    let now = Instant::now();
    let mut le = primary(now);
    grant(&mut le, 1, 100, now);
    assert_eq!(le.checkpointed_ttl(1), None);

    let mut batch = WriteBatch::new();
    assert!(le.checkpoint(&mut batch, 1, 40));
    assert_eq!(batch.len(), 1);
    assert_eq!(le.checkpointed_ttl(1), Some(40));
    // The running clock is unchanged by a checkpoint.
    assert_eq!(le.time_to_live(1, now).unwrap().ttl, 100);

    assert!(le.checkpoint(&mut batch, 1, 0));
    assert_eq!(le.checkpointed_ttl(1), None);

    let mut batch = WriteBatch::new();
    assert!(!le.checkpoint(&mut batch, 9, 40));
    assert!(batch.is_empty());
}
