//! Requests that require a leader, as etcd 3.4's `v3rpc/interceptor.go`.
//!
//! clientv3's `WithRequireLeader` (etcdctl watch uses it) sends the metadata
//! `hasleader: true`. On a member that knows no raft leader such a request, unary or the
//! opening of a stream, is refused at once with `etcdserver: no leader` ([`RequireLeader`],
//! a tonic interceptor in front of every service). A stream opened with it (Watch,
//! LeaseKeepAlive) is ended with the same error once the member has known no leader for
//! [`MAX_NO_LEADER_ELECTIONS`] election timeouts ([`end_without_leader`]): etcd waits that
//! long because reopening streams costs clients much more than refusing new requests.
//! clientv3 gives up on such a watch instead of retrying the member, and etcdctl prints
//! `watch was canceled (etcdserver: no leader)`.

use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use tonic::metadata::MetadataMap;
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::backend::Backend;
use crate::errors::EtcdError;

/// The metadata key of clientv3's `WithRequireLeader` (`rpctypes.MetadataRequireLeaderKey`).
pub const REQUIRE_LEADER_KEY: &str = "hasleader";
/// Its value (`rpctypes.MetadataHasLeader`).
pub const HAS_LEADER: &str = "true";
/// Election timeouts without a leader after which streams that require one end (etcd's
/// `maxNoLeaderCnt`).
pub const MAX_NO_LEADER_ELECTIONS: u32 = 3;
/// The shortest pause between two looks at the leader (guards a zero election timeout).
const MIN_CHECK_INTERVAL: Duration = Duration::from_millis(10);

/// Whether the request carries `hasleader: true` (its first value, as etcd reads it).
pub fn requires_leader(md: &MetadataMap) -> bool {
    md.get(REQUIRE_LEADER_KEY)
        .is_some_and(|v| v.as_bytes() == HAS_LEADER.as_bytes())
}

/// Refuses requests that require a leader while the member knows none.
#[derive(Clone)]
pub struct RequireLeader {
    backend: Arc<dyn Backend>,
}

impl RequireLeader {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self { backend }
    }
}

impl Interceptor for RequireLeader {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        if requires_leader(req.metadata()) && !self.backend.has_leader() {
            return Err(EtcdError::NoLeader.into());
        }
        Ok(req)
    }
}

/// `responses`, ended with `etcdserver: no leader` once the member has known no leader
/// for [`MAX_NO_LEADER_ELECTIONS`] election timeouts. For streams opened with
/// [`requires_leader`] metadata.
pub(crate) fn end_without_leader<T: Send + 'static>(
    backend: Arc<dyn Backend>,
    responses: BoxStream<'static, Result<T, Status>>,
) -> BoxStream<'static, Result<T, Status>> {
    let leaderless = Box::pin(leaderless_too_long(backend));
    stream::unfold(Some((responses, leaderless)), |state| async move {
        let (mut responses, mut leaderless) = state?;
        tokio::select! {
            item = responses.next() => item.map(|item| (item, Some((responses, leaderless)))),
            () = &mut leaderless => Some((Err(EtcdError::NoLeader.into()), None)),
        }
    })
    .boxed()
}

/// Resolves once the member has known no leader for [`MAX_NO_LEADER_ELECTIONS`] election
/// timeouts. While it knows one it looks again every election timeout (as etcd's
/// `monitorLeader`), so a stream ends 3 to 4 election timeouts after the leader is lost.
async fn leaderless_too_long(backend: Arc<dyn Backend>) {
    let election = backend.election_timeout().max(MIN_CHECK_INTERVAL);
    let limit = election * MAX_NO_LEADER_ELECTIONS;
    loop {
        let wait = match backend.leader_lost_since() {
            Some(since) => match limit.checked_sub(since.elapsed()) {
                Some(left) if !left.is_zero() => left,
                _ => return,
            },
            None => election,
        };
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests;
