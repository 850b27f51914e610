//! Helpers shared by the lease integration tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use lease::{Lessor, LessorConfig};
use mvcc::{Engine, MemEngine, WriteBatch};

/// `n` seconds.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A lessor on a fresh in-memory engine with minimum TTL `min_ttl`.
pub fn lessor_with_min_ttl(min_ttl: i64) -> Lessor {
    let config = LessorConfig {
        min_ttl,
        ..LessorConfig::default()
    };
    Lessor::open_with(Arc::new(MemEngine::new()), config).unwrap()
}

/// A primary lessor (promoted at `now`, no extension) with minimum TTL 1.
pub fn primary(now: Instant) -> Lessor {
    let mut le = lessor_with_min_ttl(1);
    le.promote(Duration::ZERO, now);
    le
}

/// Grants `id` with `ttl`, discarding the engine writes.
pub fn grant(le: &mut Lessor, id: i64, ttl: i64, now: Instant) {
    le.grant(&mut WriteBatch::new(), id, ttl, now).unwrap();
}

/// Grants `id` with `ttl` and commits the record to `engine`.
pub fn grant_on(engine: &dyn Engine, le: &mut Lessor, id: i64, ttl: i64, now: Instant) {
    let mut batch = WriteBatch::new();
    le.grant(&mut batch, id, ttl, now).unwrap();
    engine.write(batch, true).unwrap();
}
