//! The leader's expiry clock: renew, expired, promote, demote, time to live.

mod common;

use std::time::{Duration, Instant};

use common::{grant, lessor_with_min_ttl, primary, secs};
use lease::{LeaseError, Lessor, DEFAULT_EXPIRED_RETRY_INTERVAL};
use mvcc::WriteBatch;

const NS: Duration = Duration::from_nanos(1);

#[test]
fn renew_restarts_the_clock() {
    let t0 = Instant::now();
    let mut le = primary(t0);
    grant(&mut le, 1, 10, t0);
    assert_eq!(le.time_to_live(1, t0 + secs(8)).unwrap().ttl, 2);
    assert_eq!(le.renew(1, t0 + secs(8)), Ok(10));
    assert_eq!(le.time_to_live(1, t0 + secs(11)).unwrap().ttl, 7);
    assert!(le.expired(t0 + secs(18) - NS, 10).is_empty());
    assert_eq!(le.expired(t0 + secs(18), 10), vec![1]);
}

#[test]
fn renew_errors() {
    let t0 = Instant::now();
    let mut le = lessor_with_min_ttl(1);
    grant(&mut le, 1, 10, t0);
    assert_eq!(le.renew(1, t0), Err(LeaseError::NotPrimary));
    le.promote(Duration::ZERO, t0);
    assert_eq!(le.renew(2, t0), Err(LeaseError::LeaseNotFound));
    let err = le.renew(1, t0 + secs(10)).unwrap_err();
    assert_eq!(err, LeaseError::LeaseExpired);
    assert!(err.is_not_found());
    // The failed renew did not revive it.
    assert_eq!(le.expired(t0 + secs(10), 10), vec![1]);
}

#[test]
fn expired_returns_due_leases_in_expiry_order_up_to_limit() {
    let t0 = Instant::now();
    let mut le = primary(t0);
    for (id, ttl) in [(10, 5), (11, 3), (12, 4), (13, 1), (14, 2), (15, 100)] {
        grant(&mut le, id, ttl, t0);
    }
    assert!(le.expired(t0, 10).is_empty());
    assert!(le.expired(t0 + secs(1) - NS, 10).is_empty());
    let now = t0 + secs(5);
    assert_eq!(le.expired(now, 2), vec![13, 14]);
    assert_eq!(le.expired(now, 2), vec![11, 12]);
    assert_eq!(le.expired(now, 0), Vec::<i64>::new());
    assert_eq!(le.expired(now, 10), vec![10]);
    assert!(le.expired(now, 10).is_empty());
    assert_eq!(le.leases(), vec![13, 14, 11, 12, 10, 15]);
}

#[test]
fn reported_leases_wait_for_the_retry_interval() {
    let t0 = Instant::now();
    let mut le = primary(t0);
    for id in 1..=3 {
        grant(&mut le, id, 1, t0);
    }
    let t1 = t0 + secs(1);
    assert_eq!(le.expired(t1, 10), vec![1, 2, 3]);
    // Lease 1's revoke is applied; the revokes proposed for 2 and 3 are lost.
    le.revoke(&mut WriteBatch::new(), 1).unwrap();
    let retry = DEFAULT_EXPIRED_RETRY_INTERVAL;
    assert!(le.expired(t1 + retry - NS, 10).is_empty());
    assert_eq!(le.expired(t1 + retry, 10), vec![2, 3]);
    assert!(le.expired(t1 + retry, 10).is_empty());
}

#[test]
fn renewed_lease_is_reported_at_its_new_expiry_only() {
    let t0 = Instant::now();
    let mut le = primary(t0);
    grant(&mut le, 1, 5, t0);
    grant(&mut le, 2, 5, t0);
    // Lease 1 is renewed just before its expiry; lease 2 is not, and its revoke is lost.
    assert_eq!(le.renew(1, t0 + secs(4)), Ok(5));
    assert_eq!(le.expired(t0 + secs(5), 10), vec![2]);
    assert!(le.expired(t0 + secs(8) - NS, 10).is_empty());
    assert_eq!(le.expired(t0 + secs(8), 10), vec![2]);
    assert!(le.expired(t0 + secs(9) - NS, 10).is_empty());
    assert_eq!(le.expired(t0 + secs(9), 10), vec![1]);
}

#[test]
fn leases_granted_on_a_follower_never_expire_until_promote() {
    let t0 = Instant::now();
    let mut le = lessor_with_min_ttl(1);
    grant(&mut le, 1, 10, t0);
    assert!(!le.is_primary());
    assert!(le.expired(t0 + secs(1_000), 10).is_empty());
    // A follower answers its granted TTL.
    let ttl = le.time_to_live(1, t0 + secs(1_000)).unwrap();
    assert_eq!((ttl.granted_ttl, ttl.ttl), (10, 10));

    let t1 = t0 + secs(500);
    le.promote(secs(2), t1);
    assert!(le.is_primary());
    assert!(le.expired(t1 + secs(12) - NS, 10).is_empty());
    assert_eq!(le.expired(t1 + secs(12), 10), vec![1]);
}

#[test]
fn promote_restarts_every_clock_so_nothing_expires_early() {
    let t0 = Instant::now();
    let mut le = primary(t0);
    grant(&mut le, 1, 10, t0);
    grant(&mut le, 2, 30, t0);
    // Leadership moves away at 9 s and comes back at 20 s (lease 1 would have expired at 10 s).
    le.demote();
    let t1 = t0 + secs(20);
    le.promote(secs(1), t1);
    assert!(le.expired(t1 + secs(11) - NS, 10).is_empty());
    assert_eq!(le.expired(t1 + secs(11), 10), vec![1]);
    assert_eq!(le.time_to_live(2, t1).unwrap().ttl, 31);
}

#[test]
fn promote_starts_from_the_checkpointed_remaining_ttl() {
    let t0 = Instant::now();
    let mut le = lessor_with_min_ttl(1);
    grant(&mut le, 1, 100, t0);
    le.checkpoint(&mut WriteBatch::new(), 1, 30);
    le.promote(secs(1), t0);
    let ttl = le.time_to_live(1, t0).unwrap();
    assert_eq!((ttl.granted_ttl, ttl.ttl), (100, 31));
    // A renew restarts from the full TTL; the server clears the checkpoint through raft.
    assert_eq!(le.renew(1, t0), Ok(100));
    assert_eq!(le.time_to_live(1, t0).unwrap().ttl, 100);
    assert_eq!(le.checkpointed_ttl(1), Some(30));
}

#[test]
fn demote_stops_the_clock() {
    let t0 = Instant::now();
    let mut le = primary(t0);
    grant(&mut le, 1, 1, t0);
    grant(&mut le, 2, 2, t0);
    le.demote();
    assert!(!le.is_primary());
    assert!(le.expired(t0 + secs(3_600), 10).is_empty());
    assert_eq!(le.renew(1, t0), Err(LeaseError::NotPrimary));
    // Applied operations still work on a follower.
    let keys = le.revoke(&mut WriteBatch::new(), 2).unwrap();
    assert!(keys.is_empty());
    assert_eq!(le.leases(), vec![1]);
}

#[test]
fn time_to_live_truncates_like_etcd() {
    let t0 = Instant::now();
    let mut le: Lessor = primary(t0);
    grant(&mut le, 1, 10, t0);
    le.attach(1, b"b").unwrap();
    le.attach(1, b"a").unwrap();
    let ttl = le
        .time_to_live(1, t0 + Duration::from_millis(2_500))
        .unwrap();
    assert_eq!(ttl.id, 1);
    assert_eq!(ttl.granted_ttl, 10);
    assert_eq!(ttl.ttl, 7);
    assert_eq!(ttl.keys, vec![b"a".to_vec(), b"b".to_vec()]);
    // Past expiry, revoke pending: truncated toward zero, then negative.
    assert_eq!(
        le.time_to_live(1, t0 + Duration::from_millis(10_500))
            .unwrap()
            .ttl,
        0
    );
    assert_eq!(
        le.time_to_live(1, t0 + Duration::from_millis(11_500))
            .unwrap()
            .ttl,
        -1
    );
}
