//! Auto-compaction (`--auto-compaction-mode`, `--auto-compaction-retention`), as etcd 3.4's
//! `etcdserver/api/v3compactor`.
//!
//! - Periodic, retention `R`: samples the store's revision every `min(R, 1h) / 10`, and once
//!   `R` has passed since the start (then every `min(R, 1h)` after each success) compacts to
//!   the oldest sample, the revision the store had about `R` ago. A failure is retried at the
//!   next sample.
//! - Revision, retention `N`: every 5 minutes compacts to `current revision - N` when that
//!   is positive and moved since the last success.
//!
//! Only the leader compacts (etcd pauses the compactor on followers); the compaction is an
//! ordinary `Compaction` proposed through raft, so every member applies it. "Required
//! revision has been compacted" counts as success: someone compacted further already.
//! Time is tokio's, so tests drive the schedule on paused time.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use etcd_proto::etcdserverpb::CompactionRequest;
use grpc_api::{Backend, EtcdError};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{sleep, Instant};

use crate::backend::EtcdBackend;
use crate::config::AutoCompaction;

/// Longest interval between periodic compactions (etcd: 1 h, however long the retention).
const MAX_COMPACT_INTERVAL: Duration = Duration::from_secs(3600);
/// Samples per compaction interval in periodic mode (etcd's `retryDivisor`).
const SAMPLES_PER_INTERVAL: u32 = 10;
/// How often revision mode checks (etcd's `revInterval`).
pub const REVISION_INTERVAL: Duration = Duration::from_secs(300);

/// What the compactor needs from the member.
pub trait Compactable: Send + Sync + 'static {
    /// The store's current revision.
    fn rev(&self) -> i64;
    /// Whether this member leads (only the leader compacts).
    fn is_leader(&self) -> bool;
    /// Compacts the store to `rev` (through raft).
    fn compact_to(&self, rev: i64) -> impl Future<Output = Result<(), EtcdError>> + Send;
}

impl Compactable for EtcdBackend {
    fn rev(&self) -> i64 {
        self.store.current_revision()
    }

    fn is_leader(&self) -> bool {
        self.raft.status().is_leader
    }

    async fn compact_to(&self, rev: i64) -> Result<(), EtcdError> {
        // Compaction needs no user identity: auth is checked on client requests only.
        let req = CompactionRequest {
            revision: rev,
            physical: false,
        };
        Backend::compact(self, req).await.map(|_| ())
    }
}

/// Runs the compactor for `policy` until `stop` turns true.
pub fn spawn<C: Compactable>(
    member: Arc<C>,
    policy: AutoCompaction,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let run = async {
            match policy {
                AutoCompaction::Periodic(retention) => periodic(&*member, retention).await,
                AutoCompaction::Revision(retention) => revision(&*member, retention).await,
            }
        };
        tokio::select! {
            _ = run => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    })
}

/// Compacts to `rev`; true on success (including "already compacted").
async fn compact<C: Compactable>(member: &C, rev: i64, retention: &str, retry: Duration) -> bool {
    tracing::info!("Starting auto-compaction at revision {rev} (retention: {retention})");
    match member.compact_to(rev).await {
        Ok(()) | Err(EtcdError::Compacted) => {
            tracing::info!("Finished auto-compaction at revision {rev}");
            true
        }
        Err(e) => {
            tracing::warn!("Failed auto-compaction at revision {rev} ({e})");
            tracing::warn!("Retry after {retry:?}");
            false
        }
    }
}

/// etcd's `Periodic.Run`.
async fn periodic<C: Compactable>(member: &C, retention: Duration) {
    let compact_interval = retention.min(MAX_COMPACT_INTERVAL);
    let sample_interval = (compact_interval / SAMPLES_PER_INTERVAL).max(Duration::from_nanos(1));
    let samples = (retention.as_nanos() / sample_interval.as_nanos()) as usize + 1;
    let label = format!("{retention:?}");
    let mut revs = VecDeque::with_capacity(samples + 1);
    let mut last_success = Instant::now();
    // The first compaction waits for a whole retention of history.
    let mut wait = retention;
    loop {
        revs.push_back(member.rev());
        if revs.len() > samples {
            revs.pop_front(); // revs[0] is the revision of `retention` ago
        }
        sleep(sample_interval).await;
        if !member.is_leader() || last_success.elapsed() < wait {
            continue;
        }
        wait = compact_interval;
        let rev = revs[0];
        if compact(member, rev, &label, sample_interval).await {
            last_success = Instant::now();
        }
    }
}

/// etcd's `Revision.Run`.
async fn revision<C: Compactable>(member: &C, retention: i64) {
    let label = format!("{retention} revisions");
    let mut prev = 0;
    loop {
        sleep(REVISION_INTERVAL).await;
        if !member.is_leader() {
            continue;
        }
        let rev = member.rev().saturating_sub(retention);
        if rev <= 0 || rev == prev {
            continue;
        }
        if compact(member, rev, &label, REVISION_INTERVAL).await {
            prev = rev;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A member whose revision is a function of the time since the test started, recording
    /// its compactions as (seconds since start, revision).
    struct Fake {
        start: Instant,
        rev_at: fn(Duration) -> i64,
        leader: AtomicBool,
        failures: Mutex<VecDeque<EtcdError>>,
        compactions: Mutex<Vec<(u64, i64)>>,
    }

    impl Fake {
        fn new(rev_at: fn(Duration) -> i64) -> Arc<Fake> {
            Arc::new(Fake {
                start: Instant::now(),
                rev_at,
                leader: AtomicBool::new(true),
                failures: Mutex::new(VecDeque::new()),
                compactions: Mutex::new(Vec::new()),
            })
        }

        fn compactions(&self) -> Vec<(u64, i64)> {
            self.compactions.lock().clone()
        }
    }

    impl Compactable for Fake {
        fn rev(&self) -> i64 {
            (self.rev_at)(self.start.elapsed())
        }

        fn is_leader(&self) -> bool {
            self.leader.load(Ordering::SeqCst)
        }

        async fn compact_to(&self, rev: i64) -> Result<(), EtcdError> {
            let secs = self.start.elapsed().as_secs();
            self.compactions.lock().push((secs, rev));
            match self.failures.lock().pop_front() {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
    }

    /// One write per second.
    fn per_second(t: Duration) -> i64 {
        1 + t.as_secs() as i64
    }

    /// One write per minute.
    fn per_minute(t: Duration) -> i64 {
        1 + (t.as_secs() / 60) as i64
    }

    fn constant(_: Duration) -> i64 {
        50
    }

    fn start(fake: &Arc<Fake>, policy: AutoCompaction) -> watch::Sender<bool> {
        let (stop, rx) = watch::channel(false);
        spawn(fake.clone(), policy, rx);
        stop
    }

    #[tokio::test(start_paused = true)]
    async fn periodic_one_minute() {
        let fake = Fake::new(per_second);
        let _stop = start(&fake, AutoCompaction::Periodic(Duration::from_secs(60)));
        sleep(Duration::from_secs(59)).await;
        assert!(fake.compactions().is_empty());
        sleep(Duration::from_secs(60 * 3 + 2)).await;
        // First after one retention to the revision at the start; then every minute to
        // the oldest of the 11 samples taken every 6 s (66 s ago).
        assert_eq!(
            fake.compactions(),
            [(60, 1), (120, 55), (180, 115), (240, 175)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn periodic_one_hour() {
        let fake = Fake::new(per_minute);
        let _stop = start(&fake, AutoCompaction::Periodic(Duration::from_secs(3600)));
        sleep(Duration::from_secs(3 * 3600 + 60)).await;
        assert_eq!(fake.compactions(), [(3600, 1), (7200, 55), (10800, 115)]);
    }

    #[tokio::test(start_paused = true)]
    async fn periodic_longer_than_an_hour_compacts_hourly() {
        let fake = Fake::new(per_minute);
        let _stop = start(
            &fake,
            AutoCompaction::Periodic(Duration::from_secs(3 * 3600)),
        );
        sleep(Duration::from_secs(5 * 3600 + 60)).await;
        // Samples every 6 min, 31 of them: the oldest is 3 h 6 min old after the first.
        assert_eq!(
            fake.compactions(),
            [(3 * 3600, 1), (4 * 3600, 55), (5 * 3600, 115)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn periodic_failure_is_retried_at_the_next_sample_and_compacted_is_success() {
        // Fails at 60 s, retried 6 s later (same oldest sample), answered "compacted",
        // which counts as success: the next one is a minute later.
        let fake = Fake::new(per_second);
        fake.failures
            .lock()
            .extend([EtcdError::Stopped, EtcdError::Compacted]);
        let _stop = start(&fake, AutoCompaction::Periodic(Duration::from_secs(60)));
        sleep(Duration::from_secs(127)).await;
        assert_eq!(fake.compactions(), [(60, 1), (66, 1), (126, 61)]);
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_leader_compacts() {
        let fake = Fake::new(per_second);
        fake.leader.store(false, Ordering::SeqCst);
        let _stop = start(&fake, AutoCompaction::Periodic(Duration::from_secs(60)));
        sleep(Duration::from_secs(100)).await;
        assert!(fake.compactions().is_empty());
        fake.leader.store(true, Ordering::SeqCst);
        sleep(Duration::from_secs(6)).await;
        // Sampling went on while following: the oldest sample is 66 s old.
        assert_eq!(fake.compactions(), [(102, 37)]);
    }

    #[tokio::test(start_paused = true)]
    async fn revision_mode_every_five_minutes_when_moved() {
        let fake = Fake::new(per_second);
        let _stop = start(&fake, AutoCompaction::Revision(10));
        sleep(Duration::from_secs(299)).await;
        assert!(fake.compactions().is_empty());
        sleep(Duration::from_secs(302)).await;
        assert_eq!(fake.compactions(), [(300, 291), (600, 591)]);

        let idle = Fake::new(constant);
        let _stop = start(&idle, AutoCompaction::Revision(10));
        sleep(Duration::from_secs(3 * 300 + 1)).await;
        assert_eq!(idle.compactions(), [(300, 40)]);

        let young = Fake::new(constant);
        let _stop = start(&young, AutoCompaction::Revision(50));
        sleep(Duration::from_secs(2 * 300 + 1)).await;
        assert!(young.compactions().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn stops_on_shutdown() {
        let fake = Fake::new(per_second);
        let (stop, rx) = watch::channel(false);
        let task = spawn(
            fake.clone(),
            AutoCompaction::Periodic(Duration::from_secs(60)),
            rx,
        );
        sleep(Duration::from_secs(30)).await;
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .expect("compactor stopped")
            .unwrap();
        sleep(Duration::from_secs(120)).await;
        assert!(fake.compactions().is_empty());
    }
}
