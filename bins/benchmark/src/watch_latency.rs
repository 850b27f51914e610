//! `benchmark watch-latency`, as etcd 3.4's `tools/benchmark/cmd/watch_latency.go`:
//!
//! `--clients` watchers watch one random `--key-size` key. As with clientv3 (one watch
//! stream per client object, the clients sharing the `--conns` connections), watcher `i` is
//! on stream `i % conns`, one stream per connection. A separate connection puts a random
//! `--val-size` value to the key `--total` times, at most `--put-rate` per second (burst of
//! `--put-rate`, as etcd's limiter; 0: no limit), each put only after every watcher received
//! the event of the previous one.
//!
//! The main report is etcd's measure: from the put's response to each watcher's receipt of
//! the event (0 when the event came first). "Delivery latency" is measured from sending the
//! put instead, and is also in the RESULT line as `delivery_*`. A watcher whose event has not
//! arrived `--request-timeout` after the put counts as an error.

use std::collections::HashSet;

use crate::conn::Conn;
use etcd_proto::etcdserverpb::{kv_client::KvClient, PutRequest};
use rand::RngCore;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::cli::WatchLatencyArgs;
use crate::error::BenchError;
use crate::limiter::Limiter;
use crate::report::{Recorder, Report};
use crate::runner::{format_status, RunConfig, TIMEOUT_ERROR};
use crate::watch_stream::WatchStream;

/// One event as a stream received it.
struct Arrival {
    /// The watcher: (stream index, watch ID).
    watcher: (usize, i64),
    revision: i64,
    at: Instant,
}

/// Runs the benchmark: watchers over `channels`, puts over `put_channel`. Returns the
/// printed report.
pub async fn bench(
    channels: &[Conn],
    put_channel: Conn,
    args: &WatchLatencyArgs,
    config: RunConfig,
) -> Result<String, BenchError> {
    if args.key_size == 0 {
        return Err(BenchError::InvalidArgument(
            "expected positive --key-size".to_string(),
        ));
    }
    let key = random_bytes(args.key_size);
    let value = random_bytes(args.val_size);

    let stream_count = channels.len().min(config.clients);
    let mut streams: Vec<WatchStream> = channels[..stream_count]
        .iter()
        .map(|c| WatchStream::new(c.clone()))
        .collect();
    let mut watchers = HashSet::new();
    for i in 0..config.clients {
        let s = i % stream_count;
        let id = streams[s]
            .create(key.clone(), config.request_timeout)
            .await
            .map_err(|e| BenchError::Setup(format!("creating watcher {i}: {e}")))?;
        watchers.insert((s, id));
    }
    let (arrivals_tx, mut arrivals) = mpsc::unbounded_channel();
    let receivers: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(s, stream)| tokio::spawn(forward(s, stream, arrivals_tx.clone())))
        .collect();
    drop(arrivals_tx);

    let mut kv = KvClient::new(put_channel);
    let mut limiter = (args.put_rate > 0).then(|| {
        let burst = u32::try_from(args.put_rate).unwrap_or(u32::MAX);
        Limiter::new(args.put_rate, burst, Instant::now())
    });
    let mut acked_rec = Recorder::new();
    let mut delivery_rec = Recorder::new();
    let start = Instant::now();
    for _ in 0..args.total {
        if let Some(limiter) = limiter.as_mut() {
            limiter.wait().await;
        }
        let put = PutRequest {
            key: key.clone(),
            value: value.clone(),
            ..Default::default()
        };
        let sent = Instant::now();
        let revision = match tokio::time::timeout(config.request_timeout, kv.put(put)).await {
            Ok(Ok(resp)) => resp.into_inner().header.map_or(0, |h| h.revision),
            Ok(Err(status)) => {
                acked_rec.record_error(format!("put: {}", format_status(&status)));
                continue;
            }
            Err(_) => {
                acked_rec.record_error(format!("put: {TIMEOUT_ERROR}"));
                continue;
            }
        };
        let acked = Instant::now();
        let mut waiting = watchers.clone();
        let deadline = acked + config.request_timeout;
        while !waiting.is_empty() {
            match tokio::time::timeout_at(deadline, arrivals.recv()).await {
                Ok(Some(a)) => {
                    // Anything else is a late event of an earlier, timed-out put.
                    if a.revision == revision && waiting.remove(&a.watcher) {
                        acked_rec.record(a.at.saturating_duration_since(acked));
                        delivery_rec.record(a.at.saturating_duration_since(sent));
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
        acked_rec.record_errors(
            "watch event not received within --request-timeout".to_string(),
            waiting.len() as u64,
        );
    }
    let total = start.elapsed();
    for r in receivers {
        r.abort();
    }

    let report = Report::new(acked_rec, total, config.precise);
    let delivery = Report::new(delivery_rec, total, config.precise);
    let extra = format!(
        "watchers={} {}",
        watchers.len(),
        delivery.latency_fields("delivery_")
    );
    Ok(format!(
        "{}\nDelivery latency (from sending the put):{}\n{}",
        report.render(),
        delivery.latency_distribution(),
        report.result_line_with(&extra)
    ))
}

/// Hands every event a stream receives to the measuring loop, until the stream fails or the
/// loop is gone.
async fn forward(index: usize, mut stream: WatchStream, out: mpsc::UnboundedSender<Arrival>) {
    while let Ok(resp) = stream.message().await {
        let at = Instant::now();
        for ev in &resp.events {
            let arrival = Arrival {
                watcher: (index, resp.watch_id),
                revision: ev.kv.as_ref().map_or(0, |kv| kv.mod_revision),
                at,
            };
            if out.send(arrival).is_err() {
                return;
            }
        }
    }
}

/// `n` random bytes (etcd's `mustRandBytes`).
fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    b
}
