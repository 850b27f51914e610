//! A concurrent put load that records which puts were acknowledged, for "no acknowledged
//! write is lost" checks across crashes and failovers.
//!
//! Each client writes distinct keys `<prefix><seq>` (value `v<seq>`), one request at a
//! time, through its own endpoint (clients are spread round-robin over the endpoints
//! given). A failed or timed-out put is counted and the client moves on to a new key.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use etcd_client::GetOptions;
use tokio::task::JoinHandle;

use crate::cluster::connect;

/// Timeout of one put.
const PUT_TIMEOUT: Duration = Duration::from_secs(3);

/// A running put load; see the module doc.
pub struct PutLoad {
    stop: Arc<AtomicBool>,
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    next: AtomicUsize,
    failed: AtomicUsize,
    acked: Mutex<Vec<(String, String)>>,
}

impl PutLoad {
    /// Starts `clients` writers over `endpoints`, writing keys under `prefix` until
    /// `total` puts were attempted (`None`: until [`PutLoad::stop`]).
    pub fn start(
        endpoints: &[String],
        clients: usize,
        prefix: &str,
        total: Option<usize>,
    ) -> PutLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared::default());
        let workers = (0..clients)
            .map(|c| {
                let endpoint = endpoints[c % endpoints.len()].clone();
                let (stop, shared, prefix) = (stop.clone(), shared.clone(), prefix.to_string());
                tokio::spawn(async move {
                    let mut client = connect(&[endpoint]).await;
                    while !stop.load(Ordering::Relaxed) {
                        let seq = shared.next.fetch_add(1, Ordering::Relaxed);
                        if total.is_some_and(|t| seq >= t) {
                            break;
                        }
                        let (key, value) = (format!("{prefix}{seq:07}"), format!("v{seq}"));
                        let put = client.put(key.clone(), value.clone(), None);
                        match tokio::time::timeout(PUT_TIMEOUT, put).await {
                            Ok(Ok(_)) => shared.acked.lock().unwrap().push((key, value)),
                            _ => {
                                shared.failed.fetch_add(1, Ordering::Relaxed);
                                // Do not spin against a dead or leaderless member.
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                        }
                    }
                })
            })
            .collect();
        PutLoad {
            stop,
            shared,
            workers,
        }
    }

    /// Puts acknowledged so far.
    pub fn acked_count(&self) -> usize {
        self.shared.acked.lock().unwrap().len()
    }

    /// Puts that failed or timed out so far.
    pub fn failed_count(&self) -> usize {
        self.shared.failed.load(Ordering::Relaxed)
    }

    /// Waits (at most `limit`) until at least `n` puts were acknowledged; returns whether
    /// they were.
    pub async fn wait_acked(&self, n: usize, limit: Duration) -> bool {
        let start = tokio::time::Instant::now();
        while self.acked_count() < n {
            if start.elapsed() > limit {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Stops the writers (waiting at most for one put timeout each) and returns the
    /// acknowledged `(key, value)` pairs and the number of failed puts.
    pub async fn stop(self) -> (Vec<(String, String)>, usize) {
        self.stop.store(true, Ordering::Relaxed);
        self.join(PUT_TIMEOUT * 2).await
    }

    /// Waits (at most `limit`) for a load started with a `total` to attempt every put,
    /// then returns as [`PutLoad::stop`] does. Panics if the writers are not done in time.
    pub async fn finish(self, limit: Duration) -> (Vec<(String, String)>, usize) {
        self.join(limit).await
    }

    async fn join(self, limit: Duration) -> (Vec<(String, String)>, usize) {
        let deadline = tokio::time::Instant::now() + limit;
        for w in self.workers {
            if tokio::time::timeout_at(deadline, w).await.is_err() {
                self.stop.store(true, Ordering::Relaxed);
                panic!(
                    "the load writers did not finish within {limit:?} ({} puts acknowledged)",
                    self.shared.acked.lock().unwrap().len()
                );
            }
        }
        let acked = std::mem::take(&mut *self.shared.acked.lock().unwrap());
        (acked, self.shared.failed.load(Ordering::Relaxed))
    }
}

/// Reads every key under `prefix` from `endpoint` (serializable: what this member has
/// applied) and returns the acknowledged pairs that are missing or hold another value.
pub async fn missing_acked(
    endpoint: &str,
    prefix: &str,
    acked: &[(String, String)],
) -> Vec<String> {
    let mut c = connect(&[endpoint.to_string()]).await;
    let opts = GetOptions::new().with_prefix().with_serializable();
    let resp = tokio::time::timeout(Duration::from_secs(10), c.get(prefix, Some(opts)))
        .await
        .unwrap_or_else(|_| panic!("range of {prefix} on {endpoint} timed out"))
        .unwrap_or_else(|e| panic!("range of {prefix} on {endpoint}: {e}"));
    let found: HashMap<&[u8], &[u8]> = resp.kvs().iter().map(|kv| (kv.key(), kv.value())).collect();
    acked
        .iter()
        .filter(|(k, v)| found.get(k.as_bytes()) != Some(&v.as_bytes()))
        .map(|(k, v)| {
            format!(
                "{k}={v} (found {:?})",
                found.get(k.as_bytes()).map(|b| String::from_utf8_lossy(b))
            )
        })
        .collect()
}
