//! A member that has lost its leader behaves as an etcd 3.4 member does (checked against
//! the real etcd 3.4.23 with the same requests):
//! - a request carrying clientv3's `hasleader: true` metadata (`WithRequireLeader`) is
//!   refused at once with `etcdserver: no leader` (Unavailable);
//! - streams opened with it before (a watch, a lease keep-alive; etcdctl watch sends it)
//!   end with that error a few election timeouts after the leader was lost, and etcdctl
//!   watch, the real one and ours, report `watch was canceled (etcdserver: no leader)`
//!   and exit with `watch is canceled by the server` (code 5);
//! - a put fails after the request timeout (5 s + 2 election timeouts) with Go's
//!   `context deadline exceeded` (Unknown): raft never took it;
//! - a linearizable get fails after the same timeout with `etcdserver: request timed out`;
//! - a serializable get still answers;
//! - once a second member is back a leader is elected; a linearizable get that was waiting
//!   then fails with `etcdserver: leader changed`, and all of the above works again.
//!
//! Every request uses a raw tonic client of `etcd_proto` (to set metadata and see the
//! exact gRPC status); every wait is bounded.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use etcd_proto::etcdserverpb::{
    kv_client::KvClient, lease_client::LeaseClient, maintenance_client::MaintenanceClient,
    watch_client::WatchClient, watch_request::RequestUnion, LeaseGrantRequest,
    LeaseKeepAliveRequest, LeaseKeepAliveResponse, PutRequest, RangeRequest, StatusRequest,
    WatchCreateRequest, WatchRequest, WatchResponse,
};
use integration_tests::cluster::{wait_for, Cluster, ELECTION_MS, WAIT_LIMIT};
use integration_tests::{our_bin, REAL_ETCDCTL};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Code, Status, Streaming};

/// etcd's request timeout for these members: 5 s + 2 election timeouts.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(5_000 + 2 * ELECTION_MS);
/// Client-side deadline of every request: well past the server's own timeout.
const CALL_LIMIT: Duration = Duration::from_secs(20);
/// How long after the kills a stream that requires a leader may take to end: the member
/// notices the loss within about two election timeouts, then waits three or four more.
const STREAM_END_LIMIT: Duration = Duration::from_millis(12 * ELECTION_MS);
/// What etcdctl watch prints on stderr when the server ends its stream for lack of a leader.
const CTL_NO_LEADER: &str =
    "watch was canceled (etcdserver: no leader)\nError: watch is canceled by the server\n";
/// The last line of `etcdctl -w json watch` then (etcdctl 3.4.23's output).
const CTL_NO_LEADER_JSON: &str =
    r#"{"Header":{},"Events":null,"CompactRevision":0,"Canceled":true,"Created":false}"#;

async fn channel(endpoint: &str) -> Channel {
    Channel::from_shared(format!("http://{endpoint}"))
        .expect("uri")
        .connect_timeout(Duration::from_secs(2))
        .timeout(CALL_LIMIT)
        .connect()
        .await
        .expect("connect")
}

/// `msg` as a request, with `hasleader: true` if `require_leader`.
fn request<T>(msg: T, require_leader: bool) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    if require_leader {
        req.metadata_mut()
            .insert("hasleader", "true".parse().expect("ascii"));
    }
    req
}

fn assert_status(r: &Result<impl std::fmt::Debug, Status>, code: Code, msg: &str, what: &str) {
    match r {
        Err(s) => assert_eq!((s.code(), s.message()), (code, msg), "{what}"),
        Ok(v) => panic!("{what}: succeeded ({v:?}), expected {code:?} {msg:?}"),
    }
}

async fn put(ch: &Channel, key: &str, value: &str) -> Result<(), Status> {
    let req = PutRequest {
        key: key.into(),
        value: value.into(),
        ..Default::default()
    };
    let mut kv = KvClient::new(ch.clone());
    tokio::time::timeout(CALL_LIMIT, kv.put(req))
        .await
        .expect("put answered in time")
        .map(|_| ())
}

/// The value of `key` (`None`: absent).
async fn get(
    ch: &Channel,
    key: &str,
    serializable: bool,
    require_leader: bool,
) -> Result<Option<String>, Status> {
    let req = RangeRequest {
        key: key.into(),
        serializable,
        ..Default::default()
    };
    let mut kv = KvClient::new(ch.clone());
    let resp = tokio::time::timeout(CALL_LIMIT, kv.range(request(req, require_leader)))
        .await
        .expect("range answered in time")?;
    Ok(resp
        .into_inner()
        .kvs
        .first()
        .map(|kv| String::from_utf8_lossy(&kv.value).into_owned()))
}

/// The leader the member at `ch` knows of (0: none), `None` if it does not answer.
async fn leader_of(ch: &Channel) -> Option<u64> {
    let mut m = MaintenanceClient::new(ch.clone());
    let resp = tokio::time::timeout(Duration::from_secs(2), m.status(StatusRequest {}))
        .await
        .ok()?;
    Some(resp.ok()?.into_inner().leader)
}

/// A watch on `key` opened with `hasleader: true`, its creation confirmed.
async fn open_watch(ch: &Channel, key: &str) -> Result<Watch, Status> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let create = WatchRequest {
        request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
            key: key.into(),
            ..Default::default()
        })),
    };
    tx.send(create).await.expect("queued");
    let mut client = WatchClient::new(ch.clone());
    let call = client.watch(request(ReceiverStream::new(rx), true));
    let responses = tokio::time::timeout(CALL_LIMIT, call)
        .await
        .expect("watch answered in time")?
        .into_inner();
    let mut w = Watch {
        _requests: tx,
        responses,
    };
    let created = w.next(CALL_LIMIT).await?.expect("created response");
    assert!(created.created, "first response confirms the creation");
    Ok(w)
}

struct Watch {
    /// Keeps the client's side of the stream open.
    _requests: tokio::sync::mpsc::Sender<WatchRequest>,
    responses: Streaming<WatchResponse>,
}

impl Watch {
    /// The next response (`None`: the stream ended without error), waiting at most `limit`.
    async fn next(&mut self, limit: Duration) -> Result<Option<WatchResponse>, Status> {
        tokio::time::timeout(limit, self.responses.message())
            .await
            .expect("a watch response in time")
    }
}

/// A lease keep-alive stream opened with `hasleader: true` for a fresh lease (and the
/// client's side of it, to keep open: the server ends the stream when it closes).
async fn open_keep_alive(
    ch: &Channel,
) -> (
    tokio::sync::mpsc::Sender<LeaseKeepAliveRequest>,
    Streaming<LeaseKeepAliveResponse>,
) {
    let grant = LeaseGrantRequest { ttl: 60, id: 0 };
    let lease = LeaseClient::new(ch.clone())
        .lease_grant(grant)
        .await
        .expect("lease granted")
        .into_inner();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(LeaseKeepAliveRequest { id: lease.id })
        .await
        .expect("queued");
    let mut stream = LeaseClient::new(ch.clone())
        .lease_keep_alive(request(ReceiverStream::new(rx), true))
        .await
        .expect("keep-alive opens")
        .into_inner();
    let first = tokio::time::timeout(CALL_LIMIT, stream.message())
        .await
        .expect("keep-alive answered in time")
        .expect("keep-alive ok")
        .expect("a keep-alive response");
    assert_eq!(first.ttl, 60);
    (tx, stream)
}

/// `etcdctl [-w json] watch KEY` running in the background (killed on drop), its stdout
/// read line by line.
struct CtlWatch {
    name: String,
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl CtlWatch {
    fn start(bin: &Path, endpoint: &str, json: bool, key: &str) -> CtlWatch {
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--endpoints={endpoint}"))
            .args(if json { &["-w", "json"][..] } else { &[] })
            .args(["watch", key])
            .env("ETCDCTL_API", "3")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: prctl is async-signal-safe; the closure allocates nothing.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("spawn etcdctl watch");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        CtlWatch {
            name: format!("{}{}", bin.display(), if json { " -w json" } else { "" }),
            child,
            lines,
        }
    }

    /// Whether it prints a line within `limit`.
    fn prints_within(&self, limit: Duration) -> bool {
        self.lines.recv_timeout(limit).is_ok()
    }

    /// Waits (at most `limit`) for it to exit; its status, stderr and the last line it
    /// printed on stdout.
    async fn wait_exit(&mut self, limit: Duration) -> (ExitStatus, String, Option<String>) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    e.read_to_string(&mut err).expect("stderr");
                }
                // The reader thread ends at the end of the pipe.
                let mut last = None;
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
                    last = Some(line);
                }
                return (status, err, last);
            }
            assert!(
                start.elapsed() < limit,
                "{} watch still running {limit:?} after the kills",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for CtlWatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_without_leader_answers_as_etcd_and_recovers() {
    let mut c = Cluster::start(3).await;
    // The leader survives: it must notice it lost its quorum and step down.
    let survivor = c.leader().await;
    let others: Vec<usize> = (0..3).filter(|&i| i != survivor).collect();
    let endpoint = c.members[survivor].endpoint();
    let ch = channel(&endpoint).await;
    put(&ch, "k", "v1").await.expect("put with a leader");

    // Streams that require a leader, opened while there is one.
    let mut watch = open_watch(&ch, "k").await.expect("watch with a leader");
    let (_keep_alive_requests, mut keep_alive) = open_keep_alive(&ch).await;
    let ours = our_bin("etcdctl");
    let mut ctl_watches = [
        CtlWatch::start(Path::new(REAL_ETCDCTL), &endpoint, false, "k"),
        CtlWatch::start(&ours, &endpoint, false, "k"),
        CtlWatch::start(Path::new(REAL_ETCDCTL), &endpoint, true, "k"),
        CtlWatch::start(&ours, &endpoint, true, "k"),
    ];
    // Put until every etcdctl watch has printed something (they may still be connecting).
    let mut ready = [false; 4];
    let mut last = String::new();
    for n in 0.. {
        assert!(n < 50, "etcdctl watches did not start: {ready:?}");
        last = format!("ready{n}");
        put(&ch, "k", &last).await.expect("put with a leader");
        for (w, ready) in ctl_watches.iter().zip(&mut ready) {
            *ready = *ready || w.prints_within(Duration::from_millis(300));
        }
        if ready.iter().all(|&r| r) {
            break;
        }
    }
    let event = watch.next(CALL_LIMIT).await.expect("watch ok");
    assert!(event.is_some_and(|r| !r.events.is_empty()));

    for &i in &others {
        c.kill9(i);
    }
    let killed = Instant::now();

    // The survivor notices it has no leader.
    wait_for("the survivor to know no leader", WAIT_LIMIT, async || {
        (leader_of(&ch).await? == 0).then_some(())
    })
    .await;

    // hasleader requests are refused at once, unary or stream.
    let t = Instant::now();
    let r = get(&ch, "k", true, true).await;
    assert_status(
        &r,
        Code::Unavailable,
        "etcdserver: no leader",
        "hasleader get",
    );
    assert!(t.elapsed() < Duration::from_secs(1), "refused at once");
    let r = open_watch(&ch, "k").await.map(|_| ());
    assert_status(
        &r,
        Code::Unavailable,
        "etcdserver: no leader",
        "new hasleader watch",
    );

    // Streams opened with hasleader end with etcd's error.
    loop {
        let r = watch.next(STREAM_END_LIMIT).await;
        if let Ok(Some(_)) = r {
            continue; // events from before the kills
        }
        assert_status(
            &r,
            Code::Unavailable,
            "etcdserver: no leader",
            "hasleader watch",
        );
        break;
    }
    let r = tokio::time::timeout(STREAM_END_LIMIT, keep_alive.message())
        .await
        .expect("keep-alive ended in time");
    assert_status(&r, Code::Unavailable, "etcdserver: no leader", "keep-alive");
    assert!(
        killed.elapsed() < STREAM_END_LIMIT,
        "streams ended {:?} after the kills",
        killed.elapsed()
    );
    for (i, w) in ctl_watches.iter_mut().enumerate() {
        let (status, stderr, last_line) = w.wait_exit(STREAM_END_LIMIT).await;
        assert_eq!(stderr, CTL_NO_LEADER, "{} watch stderr", w.name);
        assert_eq!(status.code(), Some(5), "{} watch exit status", w.name);
        if i >= 2 {
            assert_eq!(
                last_line.as_deref(),
                Some(CTL_NO_LEADER_JSON),
                "{} watch's last line",
                w.name
            );
        }
    }

    // A serializable read answers; a write and a linearizable read time out as etcd's.
    assert_eq!(
        get(&ch, "k", true, false).await.expect("serializable get"),
        Some(last)
    );
    let t = Instant::now();
    let (put_result, get_result) = tokio::join!(
        async {
            let r = put(&ch, "k", "lost").await;
            (r, t.elapsed())
        },
        async {
            let r = get(&ch, "k", false, false).await;
            (r, t.elapsed())
        },
    );
    let within_timeout = |took: Duration| {
        took >= REQUEST_TIMEOUT - Duration::from_millis(200)
            && took < REQUEST_TIMEOUT + Duration::from_secs(3)
    };
    assert_status(
        &put_result.0,
        Code::Unknown,
        "context deadline exceeded",
        "put",
    );
    assert!(
        within_timeout(put_result.1),
        "put failed after {:?}",
        put_result.1
    );
    assert_status(
        &get_result.0,
        Code::Unavailable,
        "etcdserver: request timed out",
        "linearizable get",
    );
    assert!(
        within_timeout(get_result.1),
        "get failed after {:?}",
        get_result.1
    );

    // One member back: a leader is elected. A linearizable read waiting meanwhile fails
    // as etcd's does, then everything works again.
    let waiting_read = tokio::spawn({
        let ch = ch.clone();
        async move { get(&ch, "k", false, false).await }
    });
    c.restart(others[0]).await;
    c.leader().await;
    let r = waiting_read.await.expect("read task");
    assert_status(
        &r,
        Code::Unavailable,
        "etcdserver: leader changed",
        "read across the election",
    );
    put(&ch, "k", "back").await.expect("put after recovery");
    assert_eq!(
        get(&ch, "k", false, true).await.expect("hasleader get"),
        Some("back".to_string())
    );
    let mut watch = open_watch(&ch, "k").await.expect("hasleader watch");
    put(&ch, "k", "watched").await.expect("put after recovery");
    let event = watch
        .next(CALL_LIMIT)
        .await
        .expect("watch ok")
        .expect("event");
    assert_eq!(event.events[0].kv.as_ref().expect("kv").value, b"watched");
}
