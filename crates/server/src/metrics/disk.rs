//! etcd's disk latency histograms (`wal/metrics.go`, `mvcc/backend/metrics.go`):
//! `etcd_disk_wal_fsync_duration_seconds` (every WAL fdatasync, observed through the WAL's
//! [`wal::SyncObserver`] hook), `etcd_disk_backend_commit_duration_seconds` (every batch
//! written to the storage engine, measured by [`TimedEngine`] around [`Engine::write`], as
//! etcd times every bbolt commit) and `etcd_disk_backend_snapshot_duration_seconds` (every
//! backend snapshot sent to a follower).
//!
//! The histograms exist before the member knows its ID (the engine is opened first), so
//! they are created here on their own and registered in the member's registry later.

use std::sync::Arc;
use std::time::Duration;

use mvcc::{DumpVisitor, Engine, EngineError, WriteBatch};
use prometheus::{exponential_buckets, Histogram, HistogramOpts, Registry};

use super::register;

/// The disk latency histograms of one member.
#[derive(Clone)]
pub struct DiskMetrics {
    wal_fsync: Histogram,
    backend_commit: Histogram,
    backend_snapshot: Histogram,
}

fn histogram(name: &str, help: &str, start: f64, count: usize) -> prometheus::Result<Histogram> {
    Histogram::with_opts(
        HistogramOpts::new(name, help).buckets(exponential_buckets(start, 2.0, count)?),
    )
}

impl DiskMetrics {
    /// The histograms, with etcd 3.4's names, help strings and buckets.
    pub fn new() -> prometheus::Result<DiskMetrics> {
        Ok(DiskMetrics {
            wal_fsync: histogram(
                "etcd_disk_wal_fsync_duration_seconds",
                "The latency distributions of fsync called by WAL.",
                0.001,
                14,
            )?,
            backend_commit: histogram(
                "etcd_disk_backend_commit_duration_seconds",
                "The latency distributions of commit called by backend.",
                0.001,
                14,
            )?,
            backend_snapshot: histogram(
                "etcd_disk_backend_snapshot_duration_seconds",
                "The latency distribution of backend snapshots.",
                0.01,
                17,
            )?,
        })
    }

    /// Adds the histograms to `registry`.
    pub(super) fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        register(registry, self.wal_fsync.clone())?;
        register(registry, self.backend_commit.clone())?;
        register(registry, self.backend_snapshot.clone())?;
        Ok(())
    }

    /// The WAL hook that feeds `etcd_disk_wal_fsync_duration_seconds`.
    pub fn wal_sync_observer(&self) -> wal::SyncObserver {
        let h = self.wal_fsync.clone();
        wal::SyncObserver::new(move |took| h.observe(took.as_secs_f64()))
    }

    /// `engine`, with every batch write timed into
    /// `etcd_disk_backend_commit_duration_seconds`.
    pub fn timed_engine(&self, engine: Arc<dyn Engine>) -> Arc<dyn Engine> {
        Arc::new(TimedEngine {
            inner: engine,
            commit: self.backend_commit.clone(),
        })
    }

    /// Records a backend snapshot that took `took`.
    pub fn observe_snapshot(&self, took: Duration) {
        self.backend_snapshot.observe(took.as_secs_f64());
    }
}

/// An [`Engine`] that times each [`Engine::write`] of the engine it wraps.
struct TimedEngine {
    inner: Arc<dyn Engine>,
    commit: Histogram,
}

impl Engine for TimedEngine {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        self.inner.get(cf, key)
    }

    fn scan(
        &self,
        cf: &str,
        start: &[u8],
        end: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        self.inner.scan(cf, start, end, f)
    }

    fn write(&self, batch: WriteBatch, sync: bool) -> Result<(), EngineError> {
        let timer = self.commit.start_timer();
        let result = self.inner.write(batch, sync);
        timer.observe_duration();
        result
    }

    fn flush(&self) -> Result<(), EngineError> {
        self.inner.flush()
    }

    fn size_bytes(&self) -> u64 {
        self.inner.size_bytes()
    }

    fn defragment(&self) -> Result<(), EngineError> {
        self.inner.defragment()
    }

    fn dump(&self, f: &mut DumpVisitor<'_>) -> Result<(), EngineError> {
        self.inner.dump(f)
    }

    /// Not timed: installing a whole snapshot is no commit (etcd renames a file).
    fn replace_all(&self, entries: WriteBatch) -> Result<(), EngineError> {
        self.inner.replace_all(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mvcc::MemEngine;

    fn count(h: &Histogram) -> u64 {
        h.get_sample_count()
    }

    #[test]
    fn engine_writes_and_wal_syncs_are_timed() {
        let m = DiskMetrics::new().unwrap();
        let engine = m.timed_engine(Arc::new(MemEngine::new()));
        let mut batch = WriteBatch::new();
        batch.put(mvcc::CF_KEY, b"k".to_vec(), b"v".to_vec());
        engine.write(batch, false).unwrap();
        assert_eq!(count(&m.backend_commit), 1);
        assert_eq!(engine.get(mvcc::CF_KEY, b"k").unwrap(), Some(b"v".to_vec()));

        let dir = tempfile::tempdir().unwrap();
        let (w, _) = wal::Wal::open(dir.path(), wal::WalOptions::default()).unwrap();
        let w = w.observe_syncs(m.wal_sync_observer());
        w.append_sync(&[wal::Record {
            kind: 1,
            index: 1,
            data: vec![1],
        }])
        .unwrap();
        assert_eq!(count(&m.wal_fsync), w.sync_count());
        assert!(count(&m.wal_fsync) >= 1);

        m.observe_snapshot(Duration::from_millis(30));
        assert_eq!(count(&m.backend_snapshot), 1);
    }

    #[test]
    fn buckets_are_etcds() {
        let m = DiskMetrics::new().unwrap();
        let r = Registry::new();
        m.register(&r).unwrap();
        let mut out = Vec::new();
        prometheus::Encoder::encode(&prometheus::TextEncoder::new(), &r.gather(), &mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        for line in [
            "# TYPE etcd_disk_wal_fsync_duration_seconds histogram",
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.001\"} 0",
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"8.192\"} 0",
            "etcd_disk_backend_commit_duration_seconds_bucket{le=\"8.192\"} 0",
            "etcd_disk_backend_snapshot_duration_seconds_bucket{le=\"0.01\"} 0",
            "etcd_disk_backend_snapshot_duration_seconds_bucket{le=\"655.36\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
    }
}
