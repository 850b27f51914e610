//! Watch service behaviour against an in-memory backend: progress notifications (on a
//! paused clock, so intervals are exact), slow watchers catching up from history, the
//! progress request, and fragments, the last two end to end over gRPC on 127.0.0.1.

use std::sync::Arc;
use std::time::Duration;

use etcd_proto::etcdserverpb::{
    watch_client::WatchClient, watch_request::RequestUnion, WatchCreateRequest,
    WatchProgressRequest, WatchRequest, WatchResponse,
};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::Streaming;

use super::hub::Hub;
use super::test_backend::{TestBackend, CLUSTER_ID, MEMBER_ID};
use super::watcher::{effective_progress_interval, Watcher, MIN_PROGRESS_NOTIFY_INTERVAL};
use super::{StreamCtx, INVALID_WATCH_ID};
use crate::backend::DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL;

const INTERVAL: Duration = Duration::from_secs(10);

fn create(key: &str, progress_notify: bool) -> WatchCreateRequest {
    WatchCreateRequest {
        key: key.as_bytes().to_vec(),
        progress_notify,
        ..Default::default()
    }
}

/// Runs one watcher task with ID `id`; its responses arrive on the returned receiver.
fn spawn_watcher(
    backend: &Arc<TestBackend>,
    id: i64,
    req: WatchCreateRequest,
) -> mpsc::Receiver<Vec<WatchResponse>> {
    let (out, rx) = mpsc::channel(64);
    let ctx = StreamCtx {
        backend: backend.clone(),
        hub: Arc::new(Hub::new(backend.clone())),
        out,
        max_response_bytes: usize::MAX,
    };
    tokio::spawn(Watcher::new(id, req).run(ctx));
    rx
}

async fn next(rx: &mut mpsc::Receiver<Vec<WatchResponse>>) -> WatchResponse {
    let mut batch = tokio::time::timeout(Duration::from_secs(3600), rx.recv())
        .await
        .expect("a response within the hour (paused clock)")
        .expect("watcher alive");
    assert_eq!(batch.len(), 1, "unfragmented responses come alone");
    batch.remove(0)
}

/// clientv3's `IsProgressNotify`.
fn is_progress_notify(r: &WatchResponse) -> bool {
    r.events.is_empty()
        && !r.canceled
        && !r.created
        && r.compact_revision == 0
        && r.header.as_ref().is_some_and(|h| h.revision != 0)
}

fn revision(r: &WatchResponse) -> i64 {
    r.header.as_ref().map_or(0, |h| h.revision)
}

/// A tick comes one interval plus at most a tenth of jitter after `since`.
fn assert_one_period(since: Instant, periods: u32) {
    let elapsed = since.elapsed();
    assert!(
        elapsed >= INTERVAL * periods && elapsed <= INTERVAL * periods + INTERVAL * periods / 10,
        "{elapsed:?} is not {periods} progress period(s) of {INTERVAL:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn idle_watcher_gets_progress_every_interval() {
    let backend = TestBackend::new(INTERVAL);
    backend.put(b"other", b"x"); // revision 2
    let mut with = spawn_watcher(&backend, 7, create("a", true));
    let mut without = spawn_watcher(&backend, 8, create("a", false));
    assert!(next(&mut with).await.created);
    assert!(next(&mut without).await.created);
    let start = Instant::now();
    for n in 1..=3 {
        let r = next(&mut with).await;
        assert!(is_progress_notify(&r), "{r:?}");
        assert_eq!((r.watch_id, revision(&r)), (7, 2));
        let h = r.header.unwrap();
        assert_eq!((h.cluster_id, h.member_id), (CLUSTER_ID, MEMBER_ID));
        assert_one_period(start, n);
    }
    assert!(
        without.try_recv().is_err(),
        "no progress without progress_notify"
    );
}

#[tokio::test(start_paused = true)]
async fn progress_is_elided_after_events_and_follows_unrelated_writes() {
    let backend = TestBackend::new(INTERVAL);
    let mut rx = spawn_watcher(&backend, 1, create("a", true));
    assert!(next(&mut rx).await.created);
    let start = Instant::now();

    // An event in the first period: that tick sends nothing, the next one does.
    tokio::time::sleep(INTERVAL / 2).await;
    let rev = backend.put(b"a", b"1");
    let ev = next(&mut rx).await;
    assert_eq!((ev.events.len(), revision(&ev)), (1, rev));
    let r = next(&mut rx).await;
    assert!(is_progress_notify(&r), "{r:?}");
    assert_eq!(revision(&r), rev);
    assert_one_period(start, 2);

    // A write the watcher does not match still moves its progress revision.
    let unrelated = backend.put(b"b", b"1");
    let r = next(&mut rx).await;
    assert!(is_progress_notify(&r), "{r:?}");
    assert_eq!(revision(&r), unrelated);
    assert_one_period(start, 3);
}

#[tokio::test(start_paused = true)]
async fn future_start_revision_reports_the_store_revision() {
    let backend = TestBackend::new(INTERVAL);
    let mut req = create("a", true);
    req.start_revision = 100;
    let mut rx = spawn_watcher(&backend, 1, req);
    assert!(next(&mut rx).await.created);
    let r = next(&mut rx).await;
    assert!(is_progress_notify(&r), "{r:?}");
    assert_eq!(revision(&r), 1);
}

/// A watcher that does not read while `puts` revisions of its key are written (yielding to
/// other tasks every `yield_every` puts, if set) still gets every event once, in order; a
/// watcher of another key gets none of them.
async fn slow_watcher_gets_every_event_once(puts: usize, yield_every: Option<usize>) {
    let backend = TestBackend::new(INTERVAL);
    let mut rx = spawn_watcher(&backend, 1, create("a", false));
    let mut other = spawn_watcher(&backend, 2, create("b", false));
    assert!(next(&mut rx).await.created);
    assert!(next(&mut other).await.created);
    let mut last = 0;
    for i in 0..puts {
        last = backend.put(b"a", b"v");
        if yield_every.is_some_and(|n| i % n == 0) {
            tokio::task::yield_now().await;
        }
    }
    let mut expected = 2;
    while expected <= last {
        let r = next(&mut rx).await;
        for ev in &r.events {
            assert_eq!(ev.kv.as_ref().map(|kv| kv.mod_revision), Some(expected));
            expected += 1;
        }
    }
    tokio::task::yield_now().await;
    assert!(other.try_recv().is_err(), "no events for another key");
    assert!(rx.try_recv().is_err(), "nothing after the last event");
}

/// The hub keeps up (it runs every few puts) but the watcher, blocked on its full output,
/// overflows its inbox: it re-reads history.
#[tokio::test]
async fn watcher_overflowing_its_inbox_catches_up_exactly_once() {
    slow_watcher_gets_every_event_once(super::hub::INBOX_BATCHES + 100, Some(16)).await;
}

/// The hub itself falls behind the backend's feed (it never runs during the puts): every
/// watcher re-reads history.
#[tokio::test]
async fn hub_lagging_behind_the_feed_catches_up_exactly_once() {
    slow_watcher_gets_every_event_once(2000, None).await;
}

#[test]
fn progress_interval_defaults_and_minimum() {
    assert_eq!(
        effective_progress_interval(Duration::ZERO),
        DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL
    );
    assert_eq!(
        effective_progress_interval(Duration::from_millis(10)),
        MIN_PROGRESS_NOTIFY_INTERVAL
    );
    assert_eq!(
        effective_progress_interval(Duration::from_secs(2)),
        Duration::from_secs(2)
    );
}

/// A client stream to the watch service of `backend` served on 127.0.0.1.
struct Client {
    requests: mpsc::Sender<WatchRequest>,
    responses: Streaming<WatchResponse>,
}

impl Client {
    async fn connect(backend: Arc<TestBackend>, max_request_bytes: usize) -> Client {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let routes = crate::router(backend, max_request_bytes);
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_routes(routes)
                .serve_with_incoming(TcpListenerStream::new(listener)),
        );
        let mut client = WatchClient::connect(format!("http://{addr}"))
            .await
            .expect("connect")
            .max_decoding_message_size(usize::MAX);
        let (requests, rx) = mpsc::channel(16);
        let responses = client
            .watch(ReceiverStream::new(rx))
            .await
            .expect("watch stream")
            .into_inner();
        Client {
            requests,
            responses,
        }
    }

    async fn send(&self, req: RequestUnion) {
        self.requests
            .send(WatchRequest {
                request_union: Some(req),
            })
            .await
            .expect("request stream open");
    }

    async fn next(&mut self) -> WatchResponse {
        tokio::time::timeout(Duration::from_secs(10), self.responses.message())
            .await
            .expect("a response within 10 s")
            .expect("stream ok")
            .expect("stream open")
    }
}

#[tokio::test]
async fn progress_notifications_and_progress_request_over_grpc() {
    let backend = TestBackend::new(MIN_PROGRESS_NOTIFY_INTERVAL);
    let mut c = Client::connect(backend.clone(), 1024 * 1024).await;
    c.send(RequestUnion::CreateRequest(create("a", true))).await;
    assert_eq!(c.next().await.watch_id, 0);
    c.send(RequestUnion::CreateRequest(create("b", false)))
        .await;
    // Progress for watcher 0 may come before watcher 1's creation.
    loop {
        let r = c.next().await;
        if r.created {
            assert_eq!(r.watch_id, 1);
            break;
        }
        assert_eq!(r.watch_id, 0);
    }

    // The stream-wide progress request: watch ID -1, the store revision.
    let rev = backend.put(b"c", b"x");
    c.send(RequestUnion::ProgressRequest(WatchProgressRequest {}))
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut watcher0_progress = 0;
    loop {
        assert!(Instant::now() < deadline, "no progress response");
        let r = c.next().await;
        assert!(is_progress_notify(&r), "{r:?}");
        if r.watch_id == INVALID_WATCH_ID {
            assert_eq!(revision(&r), rev);
            break;
        }
        assert_eq!(r.watch_id, 0, "watcher 1 did not ask for progress");
        watcher0_progress += 1;
    }

    // Periodic notifications reach watcher 0 only.
    while watcher0_progress < 2 {
        let r = c.next().await;
        assert!(is_progress_notify(&r), "{r:?}");
        assert_eq!(r.watch_id, 0, "watcher 1 did not ask for progress");
        watcher0_progress += 1;
    }
    // After an event, the next notification carries the event's revision.
    let rev = backend.put(b"a", b"y");
    loop {
        let r = c.next().await;
        assert_eq!(r.watch_id, 0, "{r:?}");
        if !r.events.is_empty() {
            assert_eq!(revision(&r), rev);
            break;
        }
        assert!(is_progress_notify(&r), "{r:?}");
    }
    let r = c.next().await;
    assert!(is_progress_notify(&r), "{r:?}");
    assert_eq!((r.watch_id, revision(&r)), (0, rev));
}

#[tokio::test]
async fn fragmented_and_whole_responses_over_grpc() {
    // max-request-bytes 0: responses are split at the gRPC overhead alone (512 KiB).
    let backend = TestBackend::new(DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL);
    let mut c = Client::connect(backend.clone(), 0).await;
    let prefix = |fragment: bool| WatchCreateRequest {
        key: b"big/".to_vec(),
        range_end: b"big0".to_vec(),
        fragment,
        ..Default::default()
    };
    c.send(RequestUnion::CreateRequest(prefix(true))).await;
    assert!(c.next().await.created);
    c.send(RequestUnion::CreateRequest(prefix(false))).await;
    assert!(c.next().await.created);

    let keys: Vec<Vec<u8>> = (0..12)
        .map(|i| format!("big/{i:02}").into_bytes())
        .collect();
    let kvs: Vec<(&[u8], Vec<u8>)> = keys
        .iter()
        .map(|k| (k.as_slice(), vec![b'v'; 100 * 1024]))
        .collect();
    let rev = backend.put_all(&kvs);

    let mut received: Vec<(i64, usize, bool)> = Vec::new();
    let mut events = [Vec::new(), Vec::new()];
    while events.iter().map(Vec::len).sum::<usize>() < 24 {
        let r = c.next().await;
        assert_eq!(revision(&r), rev);
        received.push((r.watch_id, r.events.len(), r.fragment));
        events[r.watch_id as usize].extend(r.events.into_iter().map(|e| e.kv.unwrap().key));
    }
    let fragmented: Vec<_> = received.iter().filter(|r| r.0 == 0).collect();
    assert_eq!(
        fragmented,
        [&(0, 5, true), &(0, 5, true), &(0, 2, false)],
        "{received:?}"
    );
    let first = received.iter().position(|r| r.0 == 0).unwrap();
    assert_eq!(
        &received[first..first + 3],
        &[(0, 5, true), (0, 5, true), (0, 2, false)],
        "fragments are contiguous on the stream"
    );
    assert!(received.contains(&(1, 12, false)), "{received:?}");
    assert_eq!(events[0], keys);
    assert_eq!(events[1], keys);
}
