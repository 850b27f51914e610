//! `benchmark lease-keepalive`, as etcd 3.4's `tools/benchmark/cmd/lease.go`: each of the
//! `--clients` workers grants itself a lease (TTL 100 s), then the workers together send
//! `--total` keep-alives. Each keep-alive is clientv3's `KeepAliveOnce`: a new
//! `LeaseKeepAlive` stream, one request, one response, stream dropped. A response with TTL
//! <= 0 (lease not found) is an error, as in clientv3.

use std::time::Duration;

use crate::conn::Conn;
use etcd_proto::etcdserverpb::{
    lease_client::LeaseClient, LeaseGrantRequest, LeaseKeepAliveRequest,
};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

use crate::cli::LeaseKeepaliveArgs;
use crate::error::BenchError;
use crate::report::Report;
use crate::runner::{format_status, run_senders, RequestSender, RunConfig, Schedule, SendFuture};

/// TTL of the leases the workers keep alive (etcd's tool: 100).
const LEASE_TTL: i64 = 100;
/// clientv3's `ErrLeaseNotFound` message.
const LEASE_NOT_FOUND: &str = "etcdserver: requested lease not found";

/// Runs the benchmark; returns the printed report.
pub async fn bench(
    channels: &[Conn],
    args: &LeaseKeepaliveArgs,
    config: RunConfig,
) -> Result<String, BenchError> {
    let mut senders: Vec<Box<dyn RequestSender>> = Vec::with_capacity(config.clients);
    for channel in channels.iter().cycle().take(config.clients) {
        let mut client = LeaseClient::new(channel.clone());
        let id = grant(&mut client, config.request_timeout).await?;
        senders.push(Box::new(KeepAliveSender { client, id }));
    }
    let schedule = Schedule {
        total: args.total,
        rate: None,
    };
    let start = Instant::now();
    let rec = run_senders(senders, schedule, config.request_timeout).await;
    let report = Report::new(rec, start.elapsed(), config.precise);
    Ok(format!("{}\n{}", report.render(), report.result_line()))
}

async fn grant(client: &mut LeaseClient<Conn>, timeout: Duration) -> Result<i64, BenchError> {
    let req = LeaseGrantRequest {
        ttl: LEASE_TTL,
        id: 0,
    };
    match tokio::time::timeout(timeout, client.lease_grant(req)).await {
        Ok(Ok(resp)) => Ok(resp.into_inner().id),
        Ok(Err(status)) => Err(BenchError::Setup(format!(
            "lease grant: {}",
            format_status(&status)
        ))),
        Err(_) => Err(BenchError::Setup("lease grant timed out".to_string())),
    }
}

/// Keeps one lease alive, one stream per keep-alive.
struct KeepAliveSender {
    client: LeaseClient<Conn>,
    id: i64,
}

impl RequestSender for KeepAliveSender {
    fn send(&mut self, _index: u64) -> SendFuture<'_> {
        Box::pin(async move {
            // The request side stays open until the response is in, as clientv3's.
            let (tx, rx) = mpsc::channel(1);
            tx.send(LeaseKeepAliveRequest { id: self.id })
                .await
                .map_err(|_| "keepalive request not sent".to_string())?;
            let mut responses = self
                .client
                .lease_keep_alive(ReceiverStream::new(rx))
                .await
                .map_err(|s| format_status(&s))?
                .into_inner();
            let resp = responses
                .message()
                .await
                .map_err(|s| format_status(&s))?
                .ok_or_else(|| "keepalive stream closed without a response".to_string())?;
            drop(tx);
            if resp.ttl <= 0 {
                return Err(LEASE_NOT_FOUND.to_string());
            }
            Ok(())
        })
    }
}
