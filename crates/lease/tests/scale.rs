//! 100k leases: expiry stays cheap (a queue by expiry, not a scan). The bound on time is
//! deliberately generous; the exact work per call is checked by a unit test in the crate.

mod common;

use std::time::{Duration, Instant};

use common::{grant, primary, secs};

#[test]
fn hundred_thousand_leases_expire_in_order_in_batches() {
    const N: i64 = 100_000;
    let started = Instant::now();
    let t0 = Instant::now();
    let mut le = primary(t0);
    for id in 1..=N {
        // 1,000 leases expire in each second from 1 s to 100 s.
        grant(&mut le, id, 1 + (id - 1) / 1_000, t0);
    }

    // Nothing due: many calls that find nothing.
    for _ in 0..10_000 {
        assert!(le.expired(t0 + Duration::from_millis(999), 500).is_empty());
    }

    // At 50 s, 50k leases are due; drain them 500 at a time, as etcd does every 500 ms.
    let now = t0 + secs(50);
    let mut got = Vec::new();
    loop {
        let batch = le.expired(now, 500);
        assert!(batch.len() <= 500);
        if batch.is_empty() {
            break;
        }
        got.extend(batch);
    }
    assert_eq!(got, (1..=50_000).collect::<Vec<_>>());

    let took = started.elapsed();
    assert!(took < Duration::from_secs(60), "took {took:?}");
}
