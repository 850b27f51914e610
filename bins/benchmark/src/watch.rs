//! `benchmark watch`, as etcd 3.4's `tools/benchmark/cmd/watch.go`:
//!
//! 1. `--streams` watch streams (stream `s` on client `s % --clients`, the clients sharing
//!    the `--conns` connections round-robin) each create `--watch-per-stream` watchers, one
//!    after the other; watcher `n` watches key `n % --watched-key-total` of the watched keys
//!    (`--key-size` bytes, numbers drawn from `--key-space-size`, or in order with
//!    `--sequential-keys`). "Watch creation summary": the time from sending a create to its
//!    acknowledgement.
//! 2. `--clients` workers put the value `data` to the watched keys in turn, `--put-total`
//!    puts at most `--put-rate` per second (0: no limit), while every stream counts the
//!    events it receives, until all expected events (each put times the watchers of its key)
//!    have arrived. "Watch events received summary": events per second over the put phase
//!    and, per event, the time from sending its put to receiving the event. (etcd's tool
//!    records ~0 per event there, timing only its own channel hand-off; its events/s has the
//!    same meaning as ours.)
//!
//! Events that have not arrived `--request-timeout` after the last put count as errors, so
//! the run always ends.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use crate::conn::Conn;
use etcd_proto::etcdserverpb::{kv_client::KvClient, PutRequest};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::cli::WatchArgs;
use crate::error::BenchError;
use crate::report::{Recorder, Report};
use crate::runner::{format_status, run_senders, RequestSender, RunConfig, Schedule, SendFuture};
use crate::watch_stream::WatchStream;
use crate::workload::{check_key_space, pick_key};

/// The value every put writes (as etcd's tool).
const PUT_VALUE: &[u8] = b"data";

/// Runs the benchmark; returns the printed report (both summaries and the RESULT line).
pub async fn bench(
    channels: &[Conn],
    args: &WatchArgs,
    config: RunConfig,
) -> Result<String, BenchError> {
    validate(args)?;
    let wanted_conns = 1 + args.streams / 100;
    let grpc_conns = config.clients.min(channels.len());
    if grpc_conns < wanted_conns {
        eprintln!(
            "warning: grpc limits 100 streams per client connection, have {grpc_conns} but need {wanted_conns}"
        );
    }
    let keys: Vec<Vec<u8>> = (0..args.watched_key_total as u64)
        .map(|i| pick_key(args.key_size, args.key_space_size, args.sequential_keys, i))
        .collect();
    let created = create_watchers(channels, args, &keys, config).await;

    // Watchers per distinct key (keys may repeat when the key space is small).
    let mut watchers_of: HashMap<&[u8], u64> = HashMap::new();
    for key in created.streams.iter().flat_map(|(_, keys)| keys) {
        *watchers_of.entry(key.as_slice()).or_default() += 1;
    }
    let expected: u64 = (0..args.put_total)
        .map(|i| watchers_of.get(keys[i as usize % keys.len()].as_slice()))
        .map(|n| n.copied().unwrap_or(0))
        .sum();
    let watcher_count = created.report.recorder().successes();
    let streams = created.streams.into_iter().map(|(s, _)| s).collect();
    let events = put_and_receive(channels, args, keys, streams, expected, config).await;

    let extra = format!(
        "watchers={watcher_count} {}",
        created.report.latency_fields("create_")
    );
    Ok(format!(
        "Watch creation summary:\n{}Watch events received summary:\n{}\n{}",
        created.report.render(),
        events.render(),
        events.result_line_with(&extra)
    ))
}

fn validate(args: &WatchArgs) -> Result<(), BenchError> {
    check_key_space(args.key_size, args.key_space_size)?;
    for (flag, value) in [
        ("--streams", args.streams),
        ("--watch-per-stream", args.watch_per_stream),
        ("--watched-key-total", args.watched_key_total),
    ] {
        if value == 0 {
            return Err(BenchError::InvalidArgument(format!(
                "expected positive {flag}"
            )));
        }
    }
    Ok(())
}

/// The streams with the keys of the watchers created on them, and the creation report.
struct Created {
    streams: Vec<(WatchStream, Vec<Vec<u8>>)>,
    report: Report,
}

/// Phase 1: every stream creates its watchers, the streams concurrently.
async fn create_watchers(
    channels: &[Conn],
    args: &WatchArgs,
    keys: &[Vec<u8>],
    config: RunConfig,
) -> Created {
    let start = Instant::now();
    let tasks: Vec<_> = (0..args.streams)
        .map(|s| {
            let channel = channels[(s % config.clients) % channels.len()].clone();
            let my_keys: Vec<Vec<u8>> = (0..args.watch_per_stream)
                .map(|j| keys[(s * args.watch_per_stream + j) % keys.len()].clone())
                .collect();
            tokio::spawn(async move {
                let mut stream = WatchStream::new(channel);
                let mut rec = Recorder::new();
                let mut watched = Vec::with_capacity(my_keys.len());
                for key in my_keys {
                    let sent = Instant::now();
                    match stream.create(key.clone(), config.request_timeout).await {
                        Ok(_) => {
                            rec.record(sent.elapsed());
                            watched.push(key);
                        }
                        Err(e) => rec.record_error(e),
                    }
                }
                (stream, watched, rec)
            })
        })
        .collect();
    let mut all = Recorder::new();
    let mut streams = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok((stream, watched, rec)) => {
                all.merge(&rec);
                streams.push((stream, watched));
            }
            Err(e) => all.record_error(format!("watch stream task failed: {e}")),
        }
    }
    Created {
        streams,
        report: Report::new(all, start.elapsed(), config.precise),
    }
}

/// When each put was sent, by the revision it created.
type SentAt = Arc<Mutex<HashMap<i64, Instant>>>;

/// Phase 2: puts to the watched keys while the streams count the events.
async fn put_and_receive(
    channels: &[Conn],
    args: &WatchArgs,
    keys: Vec<Vec<u8>>,
    streams: Vec<WatchStream>,
    expected: u64,
    config: RunConfig,
) -> Report {
    let remaining = Arc::new(AtomicI64::new(i64::try_from(expected).unwrap_or(i64::MAX)));
    let (done_tx, done_rx) = watch::channel(expected == 0);
    let done_tx = Arc::new(done_tx);
    let receivers: Vec<_> = streams
        .into_iter()
        .map(|stream| {
            tokio::spawn(receive(
                stream,
                Arc::clone(&remaining),
                Arc::clone(&done_tx),
                done_rx.clone(),
            ))
        })
        .collect();

    let start = Instant::now();
    let sent_at: SentAt = Arc::default();
    let keys = Arc::new(keys);
    let senders: Vec<Box<dyn RequestSender>> = channels
        .iter()
        .cycle()
        .take(config.clients)
        .map(|channel| {
            Box::new(PutSender {
                client: KvClient::new(channel.clone()),
                keys: Arc::clone(&keys),
                sent_at: Arc::clone(&sent_at),
            }) as Box<dyn RequestSender>
        })
        .collect();
    let schedule = Schedule {
        total: args.put_total,
        rate: (args.put_rate > 0).then_some(args.put_rate),
    };
    let puts = run_senders(senders, schedule, config.request_timeout).await;
    let mut wait_done = done_rx.clone();
    // Bounded: stragglers get one request timeout after the last put.
    let _ = tokio::time::timeout(config.request_timeout, wait_done.wait_for(|d| *d)).await;
    let _ = done_tx.send(true);

    let sent_at = sent_at.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut rec = Recorder::new();
    let mut last = start;
    for task in receivers {
        let received = match task.await {
            Ok(received) => received,
            Err(e) => {
                rec.record_error(format!("watch receiver failed: {e}"));
                continue;
            }
        };
        for (revision, at) in received.arrivals {
            let sent = sent_at.get(&revision).copied().unwrap_or(start);
            rec.record(at.saturating_duration_since(sent));
            last = last.max(at);
        }
        if let Some(e) = received.error {
            rec.record_error(e);
        }
    }
    for (message, n) in puts.errors() {
        rec.record_errors(format!("put: {message}"), *n);
    }
    let missing = u64::try_from(remaining.load(Ordering::SeqCst)).unwrap_or(0);
    rec.record_errors(
        "watch event not received within --request-timeout after the last put".to_string(),
        missing,
    );
    let total = if rec.successes() > 0 {
        last - start
    } else {
        start.elapsed()
    };
    Report::new(rec, total, config.precise)
}

/// What one stream received: (mod revision, arrival) per event, and why it stopped early.
struct Received {
    arrivals: Vec<(i64, Instant)>,
    error: Option<String>,
}

/// Counts one stream's events until every expected event of the run has arrived (or the
/// run gives up); the last one to count flags the end for all streams.
async fn receive(
    mut stream: WatchStream,
    remaining: Arc<AtomicI64>,
    done_tx: Arc<watch::Sender<bool>>,
    mut done_rx: watch::Receiver<bool>,
) -> Received {
    let mut arrivals = Vec::new();
    let mut error = None;
    loop {
        tokio::select! {
            _ = done_rx.wait_for(|d| *d) => break,
            msg = stream.message() => match msg {
                Ok(resp) => {
                    let at = Instant::now();
                    for ev in &resp.events {
                        arrivals.push((ev.kv.as_ref().map_or(0, |kv| kv.mod_revision), at));
                        if remaining.fetch_sub(1, Ordering::SeqCst) <= 1 {
                            let _ = done_tx.send(true);
                        }
                    }
                }
                Err(e) => {
                    error = Some(e);
                    break;
                }
            },
        }
    }
    Received { arrivals, error }
}

/// Puts `data` to watched key `index % keys`, noting when the put of each revision was sent.
struct PutSender {
    client: KvClient<Conn>,
    keys: Arc<Vec<Vec<u8>>>,
    sent_at: SentAt,
}

impl RequestSender for PutSender {
    fn send(&mut self, index: u64) -> SendFuture<'_> {
        let key = self.keys[index as usize % self.keys.len()].clone();
        Box::pin(async move {
            let sent = Instant::now();
            let resp = self
                .client
                .put(PutRequest {
                    key,
                    value: PUT_VALUE.to_vec(),
                    ..Default::default()
                })
                .await
                .map_err(|s| format_status(&s))?;
            let revision = resp.into_inner().header.map_or(0, |h| h.revision);
            self.sent_at
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(revision, sent);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> WatchArgs {
        WatchArgs {
            streams: 2,
            watch_per_stream: 3,
            watched_key_total: 4,
            put_rate: 0,
            put_total: 10,
            key_size: 32,
            key_space_size: 1,
            sequential_keys: false,
        }
    }

    #[test]
    fn validates_counts_and_key_space() {
        assert!(validate(&args()).is_ok());
        let bad = [
            WatchArgs {
                streams: 0,
                ..args()
            },
            WatchArgs {
                watch_per_stream: 0,
                ..args()
            },
            WatchArgs {
                watched_key_total: 0,
                ..args()
            },
            WatchArgs {
                key_space_size: 0,
                ..args()
            },
            WatchArgs {
                key_size: 1,
                key_space_size: 1000,
                ..args()
            },
        ];
        for a in bad {
            assert!(validate(&a).is_err(), "{a:?}");
        }
    }
}
