//! The worker pool: `clients` workers share the channels round-robin and claim request
//! indexes from one counter until `total` have been sent, so the run always ends.
//! Each request is bounded by the per-request timeout (a timeout counts as an error),
//! and with a rate limit request `i` is not sent before `start + i / rate`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use etcd_proto::etcdserverpb::kv_client::KvClient;
use tokio::time::Instant;
use tonic::transport::Channel;

use crate::report::{Recorder, Report};
use crate::workload::{Op, Workload};

/// How to drive a workload.
#[derive(Debug, Clone, Copy)]
pub struct RunConfig {
    /// Number of concurrent workers.
    pub clients: usize,
    /// Bound on each request.
    pub request_timeout: Duration,
    /// Full float precision in the report.
    pub precise: bool,
}

/// Error message of a request that hit the per-request timeout (Go's context error).
pub const TIMEOUT_ERROR: &str = "context deadline exceeded";

/// Sends `workload.total()` requests over `channels` with `config.clients` workers and
/// returns the report. `channels` must not be empty.
pub async fn run(channels: &[Channel], workload: Arc<dyn Workload>, config: RunConfig) -> Report {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut workers = Vec::with_capacity(config.clients);
    for channel in channels.iter().cycle().take(config.clients) {
        let client = KvClient::new(channel.clone()).max_decoding_message_size(usize::MAX);
        workers.push(tokio::spawn(worker(
            client,
            Arc::clone(&workload),
            Arc::clone(&next),
            start,
            config.request_timeout,
        )));
    }
    let mut all = Recorder::new();
    for handle in workers {
        match handle.await {
            Ok(rec) => all.merge(&rec),
            Err(e) => all.record_error(format!("worker failed: {e}")),
        }
    }
    Report::new(all, start.elapsed(), config.precise)
}

async fn worker(
    mut client: KvClient<Channel>,
    workload: Arc<dyn Workload>,
    next: Arc<AtomicU64>,
    start: Instant,
    request_timeout: Duration,
) -> Recorder {
    let mut rec = Recorder::new();
    let total = workload.total();
    let rate = workload.rate();
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        if index >= total {
            return rec;
        }
        if let Some(rate) = rate {
            let due = Duration::from_secs_f64(index as f64 / rate as f64);
            tokio::time::sleep_until(start + due).await;
        }
        let op = workload.op(index);
        let sent = Instant::now();
        match tokio::time::timeout(request_timeout, send(&mut client, op)).await {
            Ok(Ok(())) => rec.record(sent.elapsed()),
            Ok(Err(status)) => rec.record_error(format_status(&status)),
            Err(_) => rec.record_error(TIMEOUT_ERROR.to_string()),
        }
    }
}

async fn send(client: &mut KvClient<Channel>, op: Op) -> Result<(), tonic::Status> {
    match op {
        Op::Put(req) => client.put(req).await.map(drop),
        Op::Range(req) => client.range(req).await.map(drop),
    }
}

/// A gRPC error as Go's grpc-go prints it.
fn format_status(status: &tonic::Status) -> String {
    format!(
        "rpc error: code = {:?} desc = {}",
        status.code(),
        status.message()
    )
}
