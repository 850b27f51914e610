//! `lease grant|revoke|timetolive|list|keep-alive` (etcdctl's `lease_command.go`, with
//! clientv3's lessor behaviour for keep-alives).

use std::time::Duration;

use client::RetryPolicy;
use etcd_proto::etcdserverpb::{
    LeaseGrantRequest, LeaseKeepAliveRequest, LeaseKeepAliveResponse, LeaseLeasesRequest,
    LeaseRevokeRequest, LeaseTimeToLiveRequest,
};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

use super::{block_on, deadline_in, request, Conn, Ctx};
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS, EXIT_BAD_CONNECTION, EXIT_ERROR};
use crate::go::strconv;
use crate::out;
use crate::printer::Format;

/// clientv3's `retryConnWait`: pause before reopening a failed keep-alive stream, and the
/// period of its send loop.
const RETRY_CONN_WAIT: Duration = Duration::from_millis(500);
/// clientv3's `defaultTTL`: first keep-alive deadline when the dial timeout is zero.
const DEFAULT_TTL: Duration = Duration::from_secs(5);
/// Pause before retrying a one-shot keep-alive while the connection is down.
const RECONNECT_WAIT: Duration = Duration::from_millis(100);

/// `leaseFromArgs`: a lease ID in hexadecimal.
fn lease_from_arg(arg: &str) -> Result<i64, Exit> {
    strconv::parse_int(arg, 16).map_err(|e| {
        Exit::error(
            EXIT_BAD_ARGS,
            format!("bad lease ID arg ({e}), expecting ID in Hex"),
        )
    })
}

/// Exactly one argument, or `msg` (exit 128).
fn one_arg<'a>(ctx: &'a Ctx, msg: &str) -> Result<&'a str, Exit> {
    match ctx.args.as_slice() {
        [arg] => Ok(arg),
        _ => Err(Exit::error(EXIT_BAD_ARGS, msg)),
    }
}

/// `etcdctl lease grant <ttl>`.
pub fn grant(ctx: &mut Ctx) -> CmdResult {
    let arg = one_arg(ctx, "lease grant command needs TTL argument")?;
    let ttl = strconv::parse_int(arg, 10)
        .map_err(|e| Exit::error(EXIT_BAD_ARGS, format!("bad TTL ({e})")))?;
    let deadline = deadline_in(ctx.command_timeout());
    let settings = ctx.settings()?;
    block_on(async {
        let conn = Conn::new(&settings.config).await?;
        let lease = conn.client.lease();
        let resp = conn
            .call(deadline, RetryPolicy::Repeatable, |left| {
                let mut lease = lease.clone();
                async move {
                    lease
                        .lease_grant(request(LeaseGrantRequest { ttl, id: 0 }, left))
                        .await
                }
            })
            .await
            .map_err(|e| Exit::error(EXIT_ERROR, format!("failed to grant lease ({e})")))?
            .into_inner();
        settings.printer.grant(&resp)
    })
}

/// `etcdctl lease revoke <id>`.
pub fn revoke(ctx: &mut Ctx) -> CmdResult {
    let id = lease_from_arg(one_arg(ctx, "lease revoke command needs 1 argument")?)?;
    let deadline = deadline_in(ctx.command_timeout());
    let settings = ctx.settings()?;
    block_on(async {
        let conn = Conn::new(&settings.config).await?;
        let lease = conn.client.lease();
        let resp = conn
            .call(deadline, RetryPolicy::Repeatable, |left| {
                let mut lease = lease.clone();
                async move {
                    lease
                        .lease_revoke(request(LeaseRevokeRequest { id }, left))
                        .await
                }
            })
            .await
            .map_err(|e| Exit::error(EXIT_ERROR, format!("failed to revoke lease ({e})")))?
            .into_inner();
        settings.printer.revoke(id, &resp)
    })
}

/// `etcdctl lease timetolive <id> [--keys]` (no deadline, as etcdctl's `context.TODO()`).
pub fn time_to_live(ctx: &mut Ctx) -> CmdResult {
    let arg = one_arg(ctx, "lease timetolive command needs lease ID as argument")?.to_string();
    let keys = ctx.flags.get_bool("keys");
    let settings = ctx.settings()?;
    let id = lease_from_arg(&arg)?;
    block_on(async {
        let conn = Conn::new(&settings.config).await?;
        let lease = conn.client.lease();
        let resp = conn
            .call(None, RetryPolicy::Repeatable, |left| {
                let mut lease = lease.clone();
                async move {
                    lease
                        .lease_time_to_live(request(LeaseTimeToLiveRequest { id, keys }, left))
                        .await
                }
            })
            .await
            .map_err(|e| Exit::error(EXIT_BAD_CONNECTION, e))?
            .into_inner();
        settings.printer.time_to_live(&resp, keys)
    })
}

/// `etcdctl lease list`.
pub fn list(ctx: &mut Ctx) -> CmdResult {
    let settings = ctx.settings()?;
    block_on(async {
        let conn = Conn::new(&settings.config).await?;
        let lease = conn.client.lease();
        let resp = conn
            .call(None, RetryPolicy::Repeatable, |left| {
                let mut lease = lease.clone();
                async move {
                    lease
                        .lease_leases(request(LeaseLeasesRequest {}, left))
                        .await
                }
            })
            .await
            .map_err(|e| Exit::error(EXIT_BAD_CONNECTION, e))?
            .into_inner();
        settings.printer.leases(&resp)
    })
}

/// `etcdctl lease keep-alive [--once] <id>`.
pub fn keep_alive(ctx: &mut Ctx) -> CmdResult {
    let arg = one_arg(ctx, "lease keep-alive command needs lease ID as argument")?;
    let id = lease_from_arg(arg)?;
    let once = ctx.flags.get_bool("once");
    let settings = ctx.settings()?;
    let first_timeout = match settings.config.dial_timeout + Duration::from_secs(1) {
        d if d == Duration::from_secs(1) => DEFAULT_TTL,
        d => d,
    };
    block_on(async {
        let conn = Conn::new(&settings.config).await?;
        if once {
            let resp = keep_alive_once(&conn, id)
                .await
                .map_err(|e| Exit::error(EXIT_BAD_CONNECTION, e))?;
            if resp.ttl <= 0 {
                return Err(Exit::error(
                    EXIT_BAD_CONNECTION,
                    "etcdserver: requested lease not found",
                ));
            }
            return settings.printer.keep_alive(&resp);
        }
        let mut keeper = KeepAlive::new(&conn, id, first_timeout);
        while let Some(resp) = keeper.next().await {
            settings.printer.keep_alive(&resp)?;
        }
        if settings.printer.format == Format::Simple {
            out::line(format!("lease {id:016x} expired or revoked."));
        }
        Ok(())
    })
}

/// clientv3's `KeepAliveOnce`: one request on a fresh stream, one answer; retried while
/// the connection is unavailable.
async fn keep_alive_once(conn: &Conn, id: i64) -> Result<LeaseKeepAliveResponse, client::Error> {
    loop {
        let mut ka = KeepAlive::new(conn, id, Duration::ZERO);
        match ka.exchange().await {
            Ok(Some(resp)) => return Ok(resp),
            Ok(None) => {}
            Err(s) if s.code() == tonic::Code::Unavailable => {}
            Err(s) => return Err(client::Error::Status(s)),
        }
        tokio::time::sleep(RECONNECT_WAIT).await;
    }
}

/// An open keep-alive stream: where requests go, where answers come from.
type KaStream = (
    mpsc::Sender<LeaseKeepAliveRequest>,
    tonic::Streaming<LeaseKeepAliveResponse>,
);

/// One lease kept alive as clientv3's lessor does: a request every TTL/3, the lease given up
/// when it is gone (TTL <= 0) or no answer came within its TTL; failed streams reopened.
struct KeepAlive<'a> {
    conn: &'a Conn,
    id: i64,
    /// When the lease is considered lost without an answer.
    deadline: Instant,
    /// When the next request is due.
    next_send: Instant,
    stream: Option<KaStream>,
}

impl<'a> KeepAlive<'a> {
    fn new(conn: &'a Conn, id: i64, first_timeout: Duration) -> Self {
        let now = Instant::now();
        KeepAlive {
            conn,
            id,
            deadline: now + first_timeout,
            next_send: now,
            stream: None,
        }
    }

    /// Opens a stream whose first request is already queued (the server answers the call
    /// only once it has a message to send), logging in again first as clientv3's stream
    /// interceptor does.
    async fn open(&self) -> Result<KaStream, tonic::Status> {
        self.conn.stream_auth().await.map_err(|e| match e {
            client::Error::Status(s) => s,
            other => tonic::Status::unavailable(other.to_string()),
        })?;
        let (tx, rx) = mpsc::channel(4);
        let _ = tx.send(LeaseKeepAliveRequest { id: self.id }).await;
        let stream = self
            .conn
            .client
            .lease()
            .lease_keep_alive(ReceiverStream::new(rx))
            .await?
            .into_inner();
        Ok((tx, stream))
    }

    /// Sends one request on the (re)opened stream and reads one answer.
    async fn exchange(&mut self) -> Result<Option<LeaseKeepAliveResponse>, tonic::Status> {
        let stream = match &mut self.stream {
            Some((tx, stream)) => {
                tx.send(LeaseKeepAliveRequest { id: self.id })
                    .await
                    .map_err(|_| tonic::Status::unavailable("keep-alive stream closed"))?;
                stream
            }
            None => &mut self.stream.insert(self.open().await?).1,
        };
        stream.message().await
    }

    /// The next keep-alive answer; `None` once the lease is expired, revoked or lost.
    async fn next(&mut self) -> Option<LeaseKeepAliveResponse> {
        loop {
            tokio::time::sleep_until(self.next_send.min(self.deadline)).await;
            if Instant::now() >= self.deadline {
                return None;
            }
            match tokio::time::timeout_at(self.deadline, self.exchange()).await {
                Err(_) => return None,
                Ok(Ok(Some(resp))) if resp.ttl <= 0 => return None,
                Ok(Ok(Some(resp))) => {
                    let ttl = Duration::from_secs(resp.ttl.unsigned_abs());
                    let now = Instant::now();
                    self.deadline = now + ttl;
                    self.next_send = now + ttl / 3;
                    return Some(resp);
                }
                Ok(Ok(None)) | Ok(Err(_)) => {
                    self.stream = None;
                    self.next_send = Instant::now() + RETRY_CONN_WAIT;
                }
            }
        }
    }
}
