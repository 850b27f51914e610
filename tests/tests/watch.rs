//! Watch on our server with the `etcd-client` crate: history from revision 1 then live,
//! prefix, prev_kv, cancel, compacted start revision, lease expiry seen as DELETE, and a
//! stress test: many watchers on overlapping prefixes under concurrent writes receive every
//! event exactly once, in order, as the MVCC history says.
//!
//! With raw gRPC (etcd-client neither exposes `fragment` nor reassembles fragments):
//! fragments of a large catch-up response are cut where real etcd cuts them, progress
//! notifications and the progress request answer as real etcd's do.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use etcd_client::{Client, EventType, PutOptions, WatchOptions, WatchStream};
use etcd_proto::etcdserverpb::{
    kv_client::KvClient, request_op, watch_client::WatchClient, watch_request::RequestUnion,
    PutRequest, RequestOp, TxnRequest, WatchCreateRequest, WatchProgressRequest, WatchRequest,
    WatchResponse,
};
use integration_tests::{Server, REAL_ETCD};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Events (type, key, value, mod_revision) until `until_rev` is reached, bounded in time.
async fn collect(w: &mut WatchStream, until_rev: i64) -> Vec<(EventType, String, String, i64)> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while got
        .last()
        .is_none_or(|e: &(EventType, String, String, i64)| e.3 < until_rev)
    {
        let msg = tokio::time::timeout_at(deadline, w.message())
            .await
            .expect("watch events within 20 s")
            .unwrap()
            .expect("stream open");
        for ev in msg.events() {
            let kv = ev.kv().unwrap();
            got.push((
                ev.event_type(),
                kv.key_str().unwrap().to_string(),
                kv.value_str().unwrap().to_string(),
                kv.mod_revision(),
            ));
        }
    }
    got
}

async fn created(w: &mut WatchStream) -> etcd_client::WatchResponse {
    let first = w.message().await.unwrap().unwrap();
    assert!(first.created());
    first
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_live_prefix_prev_kv_cancel_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::ours(&dir.path().join("d"));
    let mut c = Client::connect([s.url()], None).await.unwrap();
    c.put("a", "1", None).await.unwrap(); // rev 2
    c.put("b/1", "x", None).await.unwrap(); // rev 3
    c.put("a", "2", None).await.unwrap(); // rev 4
    c.delete("a", None).await.unwrap(); // rev 5

    // From revision 1: the whole history of "a", then live changes.
    let mut w = c
        .watch(
            "a",
            Some(WatchOptions::new().with_start_revision(1).with_prev_key()),
        )
        .await
        .unwrap();
    created(&mut w).await;
    c.put("a", "3", None).await.unwrap(); // rev 6
    let got = collect(&mut w, 6).await;
    let want = vec![
        (EventType::Put, "a".into(), "1".into(), 2),
        (EventType::Put, "a".into(), "2".into(), 4),
        (EventType::Delete, "a".into(), "".into(), 5),
        (EventType::Put, "a".into(), "3".into(), 6),
    ];
    assert_eq!(got, want);

    // Prefix watch from now; then cancel.
    let mut p = c
        .watch("b/", Some(WatchOptions::new().with_prefix()))
        .await
        .unwrap();
    let id = created(&mut p).await.watch_id();
    c.put("b/2", "y", None).await.unwrap(); // rev 7
    c.put("c", "not watched", None).await.unwrap(); // rev 8
    c.put("b/3", "z", None).await.unwrap(); // rev 9
    let got = collect(&mut p, 9).await;
    assert_eq!(
        got.iter().map(|e| e.1.as_str()).collect::<Vec<_>>(),
        ["b/2", "b/3"]
    );
    p.cancel(id).await.unwrap();
    let msg = p.message().await.unwrap().unwrap();
    assert!(msg.canceled());

    // A start revision below the compacted revision is canceled with compact_revision.
    c.compact(7, None).await.unwrap();
    let mut old = c
        .watch("a", Some(WatchOptions::new().with_start_revision(3)))
        .await
        .unwrap();
    let mut msg = old.message().await.unwrap().unwrap();
    if msg.created() && !msg.canceled() {
        msg = old.message().await.unwrap().unwrap();
    }
    assert!(msg.canceled());
    assert_eq!(msg.compact_revision(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_expiry_is_seen_as_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::ours(&dir.path().join("d"));
    let mut c = Client::connect([s.url()], None).await.unwrap();
    let l = c.lease_grant(2, None).await.unwrap();
    let r1 = c
        .put("l/1", "v", Some(PutOptions::new().with_lease(l.id())))
        .await
        .unwrap();
    c.put("l/2", "v", Some(PutOptions::new().with_lease(l.id())))
        .await
        .unwrap();
    let start = r1.header().unwrap().revision();
    let mut w = c
        .watch(
            "l/",
            Some(WatchOptions::new().with_prefix().with_start_revision(start)),
        )
        .await
        .unwrap();
    created(&mut w).await;
    let got = collect(&mut w, start + 2).await;
    let deletes: Vec<_> = got.iter().filter(|e| e.0 == EventType::Delete).collect();
    assert_eq!(deletes.len(), 2, "{got:?}");
    assert_eq!(
        deletes[0].3, deletes[1].3,
        "both keys deleted in one revision"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_watchers_get_every_event_once_in_order() {
    const WATCHERS: usize = 1000;
    const CONNS: usize = 10;
    const WRITES: usize = 400;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::ours(&dir.path().join("d"));
    let mut conns = Vec::new();
    for _ in 0..CONNS {
        conns.push(Client::connect([s.url()], None).await.unwrap());
    }
    // Overlapping prefixes: "s/" (everything), "s/N" (a tenth), "s/NM" (a hundredth).
    let prefix = |i: usize| match i % 3 {
        0 => "s/".to_string(),
        1 => format!("s/{}", i % 10),
        _ => format!("s/{}{}", i % 10, (i / 10) % 10),
    };
    let mut watchers = Vec::new();
    for i in 0..WATCHERS {
        let mut w = conns[i % CONNS]
            .watch(prefix(i), Some(WatchOptions::new().with_prefix()))
            .await
            .unwrap();
        created(&mut w).await;
        watchers.push((prefix(i), w));
    }
    // Concurrent writers; each acknowledged put gives (key, revision).
    let mut writers = Vec::new();
    for (wi, c) in conns.iter().take(4).enumerate() {
        let mut c = c.clone();
        writers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            for n in 0..WRITES / 4 {
                let key = format!("s/{}{}/{wi}-{n}", n % 10, (n / 10) % 10);
                let r = c.put(key.clone(), "v", None).await.unwrap();
                done.push((key, r.header().unwrap().revision()));
            }
            done
        }));
    }
    let mut history: Vec<(String, i64)> = Vec::new();
    for w in writers {
        history.extend(w.await.unwrap());
    }
    history.sort_by_key(|h| h.1);
    let last = history.last().unwrap().1;
    let mut by_prefix: HashMap<String, Vec<(String, i64)>> = HashMap::new();
    for (p, mut w) in watchers {
        let want = by_prefix
            .entry(p.clone())
            .or_insert_with(|| {
                history
                    .iter()
                    .filter(|h| h.0.starts_with(&p))
                    .cloned()
                    .collect()
            })
            .clone();
        let Some(want_last) = want.last().map(|h| h.1) else {
            continue;
        };
        let got: Vec<(String, i64)> = collect(&mut w, want_last)
            .await
            .into_iter()
            .map(|e| (e.1, e.3))
            .collect();
        assert_eq!(got, want, "watcher on {p:?}");
    }
    assert!(last >= WRITES as i64);
}

/// A watch stream over raw gRPC, with one watcher.
struct RawWatch {
    requests: mpsc::Sender<WatchRequest>,
    responses: tonic::Streaming<WatchResponse>,
    id: i64,
}

impl RawWatch {
    /// Opens a stream on `url` and creates a watcher; waits for its creation.
    async fn create(url: &str, create: WatchCreateRequest) -> RawWatch {
        let mut client = WatchClient::connect(url.to_string())
            .await
            .unwrap()
            .max_decoding_message_size(usize::MAX);
        let (requests, rx) = mpsc::channel(8);
        // Sent before the call: etcd sends the response headers with its first response.
        requests
            .send(WatchRequest {
                request_union: Some(RequestUnion::CreateRequest(create)),
            })
            .await
            .unwrap();
        let responses = client
            .watch(ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        let mut w = RawWatch {
            requests,
            responses,
            id: 0,
        };
        let created = w.next().await;
        assert!(created.created && !created.canceled, "{created:?}");
        w.id = created.watch_id;
        w
    }

    async fn next(&mut self) -> WatchResponse {
        tokio::time::timeout(Duration::from_secs(20), self.responses.message())
            .await
            .expect("a watch response within 20 s")
            .unwrap()
            .expect("stream open")
    }

    async fn request_progress(&self) {
        let req = WatchRequest {
            request_union: Some(RequestUnion::ProgressRequest(WatchProgressRequest {})),
        };
        self.requests.send(req).await.unwrap();
    }
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

async fn put(url: &str, key: &str) -> i64 {
    let mut kv = KvClient::connect(url.to_string()).await.unwrap();
    let req = PutRequest {
        key: key.into(),
        value: b"x".to_vec(),
        ..Default::default()
    };
    let resp = kv.put(req).await.unwrap().into_inner();
    resp.header.unwrap().revision
}

const BIG_VALUE: usize = 100 * 1024;

/// Three txns of ten 100 KiB puts each (1 MB, under the 1.5 MiB request limit); returns the
/// revision of the first.
async fn write_big_txns(url: &str) -> i64 {
    let mut kv = KvClient::connect(url.to_string())
        .await
        .unwrap()
        .max_decoding_message_size(usize::MAX);
    let mut first = 0;
    for t in 0..3 {
        let ops = (0..10)
            .map(|i| RequestOp {
                request: Some(request_op::Request::RequestPut(PutRequest {
                    key: format!("frag/{t}{i}").into_bytes(),
                    value: vec![b'v'; BIG_VALUE],
                    ..Default::default()
                })),
            })
            .collect();
        let txn = TxnRequest {
            success: ops,
            ..Default::default()
        };
        let resp = kv.txn(txn).await.unwrap().into_inner();
        if t == 0 {
            first = resp.header.unwrap().revision;
        }
    }
    first
}

/// (events, fragment) of each response a watcher on `frag/` from `start` receives until it
/// has all 30 events, which must arrive in key order.
async fn response_shapes(url: &str, start: i64, fragment: bool) -> Vec<(usize, bool)> {
    let mut w = RawWatch::create(
        url,
        WatchCreateRequest {
            key: b"frag/".to_vec(),
            range_end: b"frag0".to_vec(),
            start_revision: start,
            fragment,
            ..Default::default()
        },
    )
    .await;
    let mut shapes = Vec::new();
    let mut keys = Vec::new();
    while keys.len() < 30 {
        let r = w.next().await;
        shapes.push((r.events.len(), r.fragment));
        keys.extend(r.events.into_iter().map(|e| e.kv.unwrap().key));
    }
    let want: Vec<Vec<u8>> = (0..3)
        .flat_map(|t| (0..10).map(move |i| format!("frag/{t}{i}").into_bytes()))
        .collect();
    assert_eq!(keys, want);
    shapes
}

/// The response shapes of a fragmenting and a plain watcher catching up on 3 MB of history.
async fn fragment_shapes(server: &Server) -> (Vec<(usize, bool)>, Vec<(usize, bool)>) {
    let url = server.url();
    let start = write_big_txns(&url).await;
    (
        response_shapes(&url, start, true).await,
        response_shapes(&url, start, false).await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragment_splits_large_responses_where_etcd_does() {
    let dir = tempfile::tempdir().unwrap();
    let ours = Server::ours(&dir.path().join("ours"));
    let (fragmented, whole) = fragment_shapes(&ours).await;
    drop(ours);
    // 30 events of ~100 KiB against etcd's limit of 1.5 MiB + 512 KiB gRPC overhead.
    assert_eq!(fragmented, [(20, true), (10, false)]);
    assert_eq!(whole, [(30, false)]);

    let real = Server::real(&dir.path().join("real"));
    assert_eq!(fragment_shapes(&real).await, (fragmented, whole));
}

/// A watcher with `progress_notify` on a server started with a 200 ms interval gets empty
/// responses with its watch ID and the store revision; the progress request gets one with
/// watch ID -1.
async fn check_progress_notifications(server: &Server) {
    let url = server.url();
    let rev = put(&url, "other").await;
    let create = WatchCreateRequest {
        key: b"p".to_vec(),
        progress_notify: true,
        ..Default::default()
    };
    let mut w = RawWatch::create(&url, create).await;
    for _ in 0..3 {
        let r = w.next().await;
        assert!(is_progress_notify(&r), "{r:?}");
        assert_eq!((r.watch_id, revision(&r)), (w.id, rev));
    }
    check_progress_request(&mut w, rev).await;
}

/// The stream-wide progress request is answered with watch ID -1 at revision `rev`.
async fn check_progress_request(w: &mut RawWatch, rev: i64) {
    w.request_progress().await;
    loop {
        let r = w.next().await;
        assert!(is_progress_notify(&r), "{r:?}");
        if r.watch_id == -1 {
            assert_eq!(revision(&r), rev);
            return;
        }
        assert_eq!(r.watch_id, w.id);
    }
}

const PROGRESS_FLAG: &str = "--experimental-watch-progress-notify-interval=200ms";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_notifications_on_real_etcd() {
    let dir = tempfile::tempdir().unwrap();
    let real = Server::start(
        Path::new(REAL_ETCD),
        &dir.path().join("d"),
        &[PROGRESS_FLAG],
    );
    check_progress_notifications(&real).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_notifications_on_ours() {
    let dir = tempfile::tempdir().unwrap();
    let ours = Server::start(
        &integration_tests::our_bin("etcd-server"),
        &dir.path().join("d"),
        &[PROGRESS_FLAG],
    );
    check_progress_notifications(&ours).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_request_answers_with_the_store_revision() {
    let dir = tempfile::tempdir().unwrap();
    let ours = Server::ours(&dir.path().join("d"));
    let url = ours.url();
    let mut w = RawWatch::create(
        &url,
        WatchCreateRequest {
            key: b"p".to_vec(),
            ..Default::default()
        },
    )
    .await;
    let rev = put(&url, "other").await;
    check_progress_request(&mut w, rev).await;
}
