//! `hasleader` end to end over gRPC on 127.0.0.1, against the in-memory test backend with
//! a 100 ms election timeout (real clock).

use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_proto::etcdserverpb::{
    kv_client::KvClient, lease_client::LeaseClient, watch_client::WatchClient,
    watch_request::RequestUnion, LeaseKeepAliveRequest, RangeRequest, WatchCreateRequest,
    WatchRequest, WatchResponse,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::transport::Channel;
use tonic::{Code, Status, Streaming};

use super::{MAX_NO_LEADER_ELECTIONS, REQUIRE_LEADER_KEY};
use crate::watch::test_backend::{TestBackend, ELECTION_TIMEOUT};

/// Longest wait for anything in these tests.
const LIMIT: Duration = Duration::from_secs(10);

/// Serves `backend` on 127.0.0.1; a channel to it.
async fn serve(backend: Arc<TestBackend>) -> Channel {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_routes(crate::router(backend, 1 << 20))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect")
}

/// `msg` as a request, with `hasleader: value` metadata if `value` is given.
fn request<T>(msg: T, hasleader: Option<&'static str>) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    if let Some(v) = hasleader {
        req.metadata_mut()
            .insert(REQUIRE_LEADER_KEY, v.parse().expect("ascii"));
    }
    req
}

fn assert_no_leader(status: &Status) {
    assert_eq!(
        (status.code(), status.message()),
        (Code::Unavailable, "etcdserver: no leader")
    );
}

/// Opens a watch stream (with `hasleader: true` if `require_leader`) and creates one
/// watcher on `key`; returns the stream once the creation is confirmed.
async fn open_watch(
    channel: &Channel,
    key: &str,
    require_leader: bool,
) -> (mpsc::Sender<WatchRequest>, Streaming<WatchResponse>) {
    let (tx, rx) = mpsc::channel(4);
    let create = WatchRequest {
        request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
            key: key.as_bytes().to_vec(),
            ..Default::default()
        })),
    };
    tx.send(create).await.expect("queued");
    let call = request(ReceiverStream::new(rx), require_leader.then_some("true"));
    let mut stream = WatchClient::new(channel.clone())
        .watch(call)
        .await
        .expect("watch opens")
        .into_inner();
    let created = next_watch(&mut stream).await.expect("created");
    assert!(created.created);
    (tx, stream)
}

async fn next_watch(s: &mut Streaming<WatchResponse>) -> Result<WatchResponse, Status> {
    tokio::time::timeout(LIMIT, s.message())
        .await
        .expect("a response in time")
        .map(|r| r.expect("stream still open"))
}

#[tokio::test]
async fn unary_requests_that_require_a_leader_are_refused_without_one() {
    let backend = TestBackend::new(Duration::from_secs(600));
    let mut kv = KvClient::new(serve(backend.clone()).await);
    let range = || RangeRequest {
        key: b"k".to_vec(),
        ..Default::default()
    };
    // The test backend serves no range: reaching it means the request was let through.
    let reached = |r: Result<_, Status>| {
        let e = r.expect_err("test backend serves no range");
        e.message() == "not served by the test backend"
    };
    assert!(reached(kv.range(request(range(), Some("true"))).await));

    backend.set_leader(false);
    let e = kv
        .range(request(range(), Some("true")))
        .await
        .expect_err("no leader");
    assert_no_leader(&e);
    assert!(reached(kv.range(request(range(), None)).await));
    assert!(reached(kv.range(request(range(), Some("false"))).await));

    backend.set_leader(true);
    assert!(reached(kv.range(request(range(), Some("true"))).await));
}

#[tokio::test]
async fn streams_that_require_a_leader_cannot_open_without_one() {
    let backend = TestBackend::new(Duration::from_secs(600));
    let channel = serve(backend.clone()).await;
    backend.set_leader(false);
    let (_tx, rx) = mpsc::channel::<WatchRequest>(1);
    let e = WatchClient::new(channel.clone())
        .watch(request(ReceiverStream::new(rx), Some("true")))
        .await
        .expect_err("no leader");
    assert_no_leader(&e);
    let (_tx, rx) = mpsc::channel::<LeaseKeepAliveRequest>(1);
    let e = LeaseClient::new(channel.clone())
        .lease_keep_alive(request(ReceiverStream::new(rx), Some("true")))
        .await
        .expect_err("no leader");
    assert_no_leader(&e);
    // Without the metadata a watch opens and serves.
    let (_tx, mut plain) = open_watch(&channel, "k", false).await;
    backend.put(b"k", b"v");
    assert_eq!(next_watch(&mut plain).await.expect("event").events.len(), 1);
}

#[tokio::test]
async fn streams_that_require_a_leader_end_after_three_election_timeouts_without_one() {
    let backend = TestBackend::new(Duration::from_secs(600));
    let channel = serve(backend.clone()).await;
    let (_tx, mut guarded) = open_watch(&channel, "k", true).await;
    let (_tx2, mut plain) = open_watch(&channel, "k", false).await;
    let (_ka_tx, ka_rx) = mpsc::channel::<LeaseKeepAliveRequest>(1);
    let mut keep_alive = LeaseClient::new(channel.clone())
        .lease_keep_alive(request(ReceiverStream::new(ka_rx), Some("true")))
        .await
        .expect("keep-alive opens")
        .into_inner();

    backend.set_leader(false);
    let lost = Instant::now();
    let e = next_watch(&mut guarded).await.expect_err("ended");
    let after = lost.elapsed();
    assert_no_leader(&e);
    let limit = ELECTION_TIMEOUT * MAX_NO_LEADER_ELECTIONS;
    assert!(
        after >= limit && after < limit + ELECTION_TIMEOUT + Duration::from_secs(1),
        "watch ended {after:?} after the leader was lost"
    );
    let e = tokio::time::timeout(LIMIT, keep_alive.message())
        .await
        .expect("keep-alive ends in time")
        .expect_err("ended");
    assert_no_leader(&e);

    // A stream opened without the metadata stays.
    backend.put(b"k", b"v");
    assert_eq!(next_watch(&mut plain).await.expect("event").events.len(), 1);
}

#[tokio::test]
async fn a_leader_back_in_time_keeps_the_stream() {
    let backend = TestBackend::new(Duration::from_secs(600));
    let channel = serve(backend.clone()).await;
    let (_tx, mut guarded) = open_watch(&channel, "k", true).await;
    backend.set_leader(false);
    tokio::time::sleep(ELECTION_TIMEOUT * 2).await;
    backend.set_leader(true);
    tokio::time::sleep(ELECTION_TIMEOUT * 4).await;
    backend.put(b"k", b"v");
    assert_eq!(
        next_watch(&mut guarded)
            .await
            .expect("still open")
            .events
            .len(),
        1
    );
}
