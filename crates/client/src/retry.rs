//! Deadline-bounded calls with the retry behaviour of etcd's Go client.
//!
//! clientv3 sends RPCs "wait for ready": while the connection cannot be established the call
//! waits (until its deadline) instead of failing. On top, its retry interceptor retries
//! repeatable (read-only) calls that fail with `Unavailable`. [`call_with_retry`] does both.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tonic::{Code, Status};

use crate::error::{is_etcd_error_message, Error, Result};

/// Which failures may be retried, as in clientv3's `retryPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryPolicy {
    /// Safe to resend (Range, Status, MemberList, ...): retried on any `Unavailable`.
    Repeatable,
    /// Mutations: only waited for while the connection is down, never resent after a reply.
    NonRepeatable,
}

/// Pause between two attempts after an `Unavailable` answer (clientv3 waits 25 ms).
const RETRY_BACKOFF: Duration = Duration::from_millis(25);
/// Pause between two connection attempts while waiting for the connection.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(100);

/// True for an `Unavailable` that comes from the transport (no connection), not the server.
fn is_connection_failure(s: &Status) -> bool {
    s.code() == Code::Unavailable && !is_etcd_error_message(s.message())
}

/// A short description of a transport failure, including its sources.
fn describe(s: &Status) -> String {
    let mut text = s.message().to_string();
    let mut source = std::error::Error::source(s);
    while let Some(err) = source {
        text.push_str(": ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    text
}

/// Where the failures of a call are reported (clientv3's retry interceptor logs them).
/// Closures `|attempt: u32, err: &Error| ...` are loggers that ignore token refreshes.
pub trait RetryLog {
    /// Attempt number `attempt` (counted from 0 across the whole call) failed with `err`.
    fn attempt_failed(&mut self, attempt: u32, err: &Error);

    /// Fetching a new auth token, after the server refused the old one, failed with `err`
    /// (the call then fails with it).
    fn token_refresh_failed(&mut self, err: &Error) {
        let _ = err;
    }
}

impl<F: FnMut(u32, &Error)> RetryLog for F {
    fn attempt_failed(&mut self, attempt: u32, err: &Error) {
        self(attempt, err)
    }
}

/// Runs `call` until it succeeds, fails for good, or `deadline` passes.
///
/// `call` gets the time left (to put into the request as its gRPC timeout). Every failed
/// attempt that clientv3 would log is reported to `on_failure(attempt, &error)` before the
/// next attempt or the return. A passed deadline yields [`Error::DeadlineExceeded`].
/// Answers about the auth token are not acted upon here: [`crate::Client::call`] does.
pub async fn call_with_retry<T, F, Fut>(
    deadline: Option<Instant>,
    policy: RetryPolicy,
    mut on_failure: impl FnMut(u32, &Error),
    call: F,
) -> Result<T>
where
    F: FnMut(Option<Duration>) -> Fut,
    Fut: Future<Output = std::result::Result<T, Status>>,
{
    attempts(deadline, policy, 0, &mut on_failure, call)
        .await
        .map_err(|f| f.error)
}

/// How a run of attempts ended without success.
pub(crate) struct Failure {
    /// The error the call fails with.
    pub error: Error,
    /// The number of the attempt that failed last.
    pub attempt: u32,
}

/// [`call_with_retry`] with attempts numbered from `first_attempt` and any [`RetryLog`].
pub(crate) async fn attempts<T, F, Fut>(
    deadline: Option<Instant>,
    policy: RetryPolicy,
    first_attempt: u32,
    log: &mut impl RetryLog,
    mut call: F,
) -> std::result::Result<T, Failure>
where
    F: FnMut(Option<Duration>) -> Fut,
    Fut: Future<Output = std::result::Result<T, Status>>,
{
    let mut attempt = first_attempt;
    let mut last_connection_error: Option<String> = None;
    let mut fail = |attempt: u32, error: Error| {
        log.attempt_failed(attempt, &error);
        Failure { error, attempt }
    };
    loop {
        let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let outcome = match remaining {
            Some(left) if left.is_zero() => None,
            Some(left) => tokio::time::timeout(left, call(Some(left))).await.ok(),
            None => Some(call(None).await),
        };
        let status = match outcome {
            Some(Ok(v)) => return Ok(v),
            Some(Err(status)) => status,
            None => {
                let err = Error::DeadlineExceeded(last_connection_error.take());
                return Err(fail(attempt, err));
            }
        };
        if is_connection_failure(&status) {
            last_connection_error = Some(describe(&status));
            sleep_within(deadline, RECONNECT_BACKOFF).await;
            continue;
        }
        if status.code() == Code::DeadlineExceeded && deadline.is_some_and(|d| Instant::now() >= d)
        {
            return Err(fail(attempt, Error::DeadlineExceeded(None)));
        }
        let retry = policy == RetryPolicy::Repeatable && status.code() == Code::Unavailable;
        let failure = fail(attempt, Error::Status(status));
        if !retry {
            return Err(failure);
        }
        attempt += 1;
        sleep_within(deadline, RETRY_BACKOFF).await;
    }
}

/// Pause before the attempt that follows a token refresh.
pub(crate) async fn backoff(deadline: Option<Instant>) {
    sleep_within(deadline, RETRY_BACKOFF).await;
}

/// Sleeps for `pause`, or until `deadline` if that comes first.
async fn sleep_within(deadline: Option<Instant>, pause: Duration) {
    let wake = Instant::now() + pause;
    tokio::time::sleep_until(deadline.map_or(wake, |d| d.min(wake))).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn connection_failures_wait_until_deadline() {
        let calls = AtomicU32::new(0);
        let mut logged = Vec::new();
        let deadline = Instant::now() + Duration::from_millis(300);
        let res: Result<()> = call_with_retry(
            Some(deadline),
            RetryPolicy::NonRepeatable,
            |a, e| logged.push((a, e.grpc_text())),
            |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(Status::unavailable("tcp connect error")) }
            },
        )
        .await;
        assert!(matches!(res, Err(Error::DeadlineExceeded(Some(_)))));
        assert!(calls.load(Ordering::SeqCst) >= 2);
        assert_eq!(logged.len(), 1);
        assert_eq!(
            logged[0].1,
            "rpc error: code = DeadlineExceeded desc = latest balancer error: tcp connect error"
        );
    }

    #[tokio::test]
    async fn server_errors_are_not_retried() {
        let mut logged = 0;
        let res: Result<()> = call_with_retry(
            None,
            RetryPolicy::Repeatable,
            |_, _| logged += 1,
            |_| async {
                Err(Status::out_of_range(
                    "etcdserver: mvcc: required revision is a future revision",
                ))
            },
        )
        .await;
        assert_eq!(
            res.unwrap_err().to_string(),
            "etcdserver: mvcc: required revision is a future revision"
        );
        assert_eq!(logged, 1);
    }

    #[tokio::test]
    async fn repeatable_calls_retry_unavailable() {
        let calls = AtomicU32::new(0);
        let res = call_with_retry(
            None,
            RetryPolicy::Repeatable,
            |_, _| {},
            |_| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        Err(Status::unavailable("etcdserver: leader changed"))
                    } else {
                        Ok(7)
                    }
                }
            },
        )
        .await;
        assert_eq!(res.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
