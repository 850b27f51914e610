//! The worker pool: one worker per [`RequestSender`] (a client with its connection), all
//! claiming request indexes from one counter until `total` have been sent, so the run always
//! ends. Each request is bounded by the per-request timeout (a timeout counts as an error),
//! and with a rate limit request `i` is not sent before `start + i / rate`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::conn::Conn;
use etcd_proto::etcdserverpb::kv_client::KvClient;
use tokio::time::Instant;

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

/// The future of one request: `Err` carries the message counted in the report.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// One worker's client: sends the request with the given index.
pub trait RequestSender: Send + 'static {
    /// Sends request `index` and waits for its response.
    fn send(&mut self, index: u64) -> SendFuture<'_>;
}

/// How many requests to send, and how fast.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Total number of requests over all workers.
    pub total: u64,
    /// Maximum requests per second, `None` for no limit.
    pub rate: Option<u64>,
}

/// Sends `workload.total()` requests over `channels` with `config.clients` workers (sharing
/// the channels round-robin) and returns the report. `channels` must not be empty.
pub async fn run(channels: &[Conn], workload: Arc<dyn Workload>, config: RunConfig) -> Report {
    let senders: Vec<Box<dyn RequestSender>> = channels
        .iter()
        .cycle()
        .take(config.clients)
        .map(|channel| {
            Box::new(KvSender {
                client: KvClient::new(channel.clone()).max_decoding_message_size(usize::MAX),
                workload: Arc::clone(&workload),
            }) as Box<dyn RequestSender>
        })
        .collect();
    let schedule = Schedule {
        total: workload.total(),
        rate: workload.rate(),
    };
    let start = Instant::now();
    let rec = run_senders(senders, schedule, config.request_timeout).await;
    Report::new(rec, start.elapsed(), config.precise)
}

/// Runs one worker per sender until `schedule.total` requests were sent; returns the merged
/// results.
pub async fn run_senders(
    senders: Vec<Box<dyn RequestSender>>,
    schedule: Schedule,
    request_timeout: Duration,
) -> Recorder {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let workers: Vec<_> = senders
        .into_iter()
        .map(|sender| {
            tokio::spawn(worker(
                sender,
                Arc::clone(&next),
                start,
                schedule,
                request_timeout,
            ))
        })
        .collect();
    let mut all = Recorder::new();
    for handle in workers {
        match handle.await {
            Ok(rec) => all.merge(&rec),
            Err(e) => all.record_error(format!("worker failed: {e}")),
        }
    }
    all
}

async fn worker(
    mut sender: Box<dyn RequestSender>,
    next: Arc<AtomicU64>,
    start: Instant,
    schedule: Schedule,
    request_timeout: Duration,
) -> Recorder {
    let mut rec = Recorder::new();
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        if index >= schedule.total {
            return rec;
        }
        if let Some(rate) = schedule.rate {
            let due = Duration::from_secs_f64(index as f64 / rate as f64);
            tokio::time::sleep_until(start + due).await;
        }
        let sent = Instant::now();
        match tokio::time::timeout(request_timeout, sender.send(index)).await {
            Ok(Ok(())) => rec.record(sent.elapsed()),
            Ok(Err(message)) => rec.record_error(message),
            Err(_) => rec.record_error(TIMEOUT_ERROR.to_string()),
        }
    }
}

/// Sends a [`Workload`]'s KV requests.
struct KvSender {
    client: KvClient<Conn>,
    workload: Arc<dyn Workload>,
}

impl RequestSender for KvSender {
    fn send(&mut self, index: u64) -> SendFuture<'_> {
        let op = self.workload.op(index);
        Box::pin(async move {
            let result = match op {
                Op::Put(req) => self.client.put(req).await.map(drop),
                Op::Range(req) => self.client.range(req).await.map(drop),
            };
            result.map_err(|s| format_status(&s))
        })
    }
}

/// A gRPC error as etcd's tool prints it (clientv3's `toErr`): an etcd server error
/// (rpctypes' errors, all `etcdserver: ...`) as its bare message, any other as grpc-go
/// prints a status.
pub fn format_status(status: &tonic::Status) -> String {
    if status.message().starts_with(ETCD_ERROR_PREFIX) {
        return status.message().to_string();
    }
    format!(
        "rpc error: code = {:?} desc = {}",
        status.code(),
        status.message()
    )
}

/// How every error message of etcd's rpctypes starts.
const ETCD_ERROR_PREFIX: &str = "etcdserver: ";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_errors_print_bare_as_clientv3_does() {
        let denied = tonic::Status::permission_denied("etcdserver: permission denied");
        assert_eq!(format_status(&denied), "etcdserver: permission denied");
        let other = tonic::Status::unavailable("connection refused");
        assert_eq!(
            format_status(&other),
            "rpc error: code = Unavailable desc = connection refused"
        );
    }
}
