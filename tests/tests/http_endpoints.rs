//! etcd's plain HTTP endpoints on the client port, beside gRPC: `/health`, `/version` and
//! `/metrics`, and the `--listen-metrics-urls` listeners. Status codes, bodies and the
//! headers that matter are compared with the real etcd 3.4.23; `/metrics` must use etcd's
//! names, types and help strings and show real values.
//!
//! Requests are raw HTTP/1.1 over a `TcpStream` with read/write timeouts.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use integration_tests::cluster::{wait_for, Cluster, WAIT_LIMIT};
use integration_tests::{etcdctl, free_port, our_bin, Server, REAL_ETCD, REAL_ETCDCTL};

const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// One HTTP response.
#[derive(Debug, PartialEq, Eq)]
struct Reply {
    status: u16,
    /// Lower-case names.
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// What is compared with the real etcd: status, body and the headers that matter.
    fn essentials(&self) -> (u16, String, Vec<(&'static str, Option<String>)>) {
        let names = [
            "content-type",
            "allow",
            "x-content-type-options",
            "access-control-allow-origin",
            "access-control-allow-methods",
            "access-control-allow-headers",
        ];
        (
            self.status,
            self.body.clone(),
            names
                .iter()
                .map(|n| (*n, self.header(n).map(str::to_string)))
                .collect(),
        )
    }
}

/// Sends `method path` to `addr` over HTTP/1.1 (`Connection: close`) and reads the reply.
fn request(addr: &str, method: &str, path: &str) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    s.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).expect("write request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    parse(&raw)
}

fn get(addr: &str, path: &str) -> Reply {
    request(addr, "GET", path)
}

fn parse(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("end of headers");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// Decodes a chunked body.
fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = s.split_once("\r\n").expect("chunk size line");
        let n = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if n == 0 {
            return out;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
}

/// The value of the sample `series` (a metric name with its labels, as printed).
fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn must(metrics: &str, series: &str) -> f64 {
    value(metrics, series).unwrap_or_else(|| panic!("no {series} in\n{metrics}"))
}

/// Our `# HELP` and `# TYPE` lines, which the real etcd must print identically.
fn descriptions(metrics: &str) -> Vec<&str> {
    metrics
        .lines()
        .filter(|l| l.starts_with("# HELP ") || l.starts_with("# TYPE "))
        .collect()
}

#[test]
fn health_version_and_errors_match_real_etcd() {
    let dir = tempfile::tempdir().unwrap();
    let ours = Server::ours(&dir.path().join("ours"));
    let real = Server::real(&dir.path().join("real"));
    for (method, path) in [
        ("GET", "/health"),
        ("GET", "/health?exclude=NOSPACE"),
        ("GET", "/version"),
        ("POST", "/health"),
        ("PUT", "/version"),
        ("GET", "/no-such-path"),
    ] {
        let a = request(&ours.endpoint(), method, path);
        let b = request(&real.endpoint(), method, path);
        assert_eq!(a.essentials(), b.essentials(), "{method} {path}");
    }
    let h = get(&ours.endpoint(), "/health");
    assert_eq!((h.status, h.body.as_str()), (200, r#"{"health":"true"}"#));
    let v = get(&ours.endpoint(), "/version");
    assert_eq!(v.body, r#"{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}"#);
}

#[test]
fn metrics_use_etcd_names_and_real_values() {
    let dir = tempfile::tempdir().unwrap();
    let ours = Server::ours(&dir.path().join("ours"));
    let real = Server::real(&dir.path().join("real"));
    let before = get(&ours.endpoint(), "/metrics");
    assert_eq!(before.status, 200);
    assert_eq!(
        before.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let m = before.body;
    assert_eq!(must(&m, "etcd_server_has_leader"), 1.0);
    assert_eq!(must(&m, "etcd_server_is_leader"), 1.0);
    assert_eq!(must(&m, "etcd_server_is_learner"), 0.0);
    assert_eq!(must(&m, "etcd_server_leader_changes_seen_total"), 1.0);
    assert_eq!(must(&m, "etcd_server_proposals_pending"), 0.0);
    assert_eq!(must(&m, "etcd_server_proposals_failed_total"), 0.0);
    assert!(must(&m, "etcd_mvcc_db_total_size_in_bytes") > 0.0);
    assert_eq!(must(&m, "etcd_debugging_mvcc_current_revision"), 1.0);
    assert_eq!(must(&m, "etcd_debugging_mvcc_compact_revision"), -1.0);
    assert_eq!(
        must(&m, r#"etcd_server_version{server_version="3.4.23"}"#),
        1.0
    );
    let committed = must(&m, "etcd_server_proposals_committed_total");
    let applied = must(&m, "etcd_server_proposals_applied_total");
    assert!(committed >= 1.0 && applied >= 1.0, "{m}");

    let put = etcdctl(REAL_ETCDCTL, &ours.endpoint(), &["put", "k", "v"], None);
    assert!(put.status.success(), "{put:?}");
    let m = get(&ours.endpoint(), "/metrics").body;
    assert_eq!(must(&m, "etcd_mvcc_put_total"), 1.0);
    assert_eq!(must(&m, "etcd_debugging_mvcc_keys_total"), 1.0);
    assert!(must(&m, "etcd_disk_wal_fsync_duration_seconds_count") >= 1.0);
    assert!(
        must(
            &m,
            r#"etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"}"#
        ) >= 1.0
    );
    assert!(must(&m, "process_resident_memory_bytes") > 0.0);
    assert!(must(&m, "etcd_server_proposals_committed_total") > committed);
    assert!(must(&m, "etcd_server_proposals_applied_total") > applied);
    assert_eq!(must(&m, "etcd_debugging_mvcc_current_revision"), 2.0);
    let put_labels = r#"grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary""#;
    assert_eq!(
        must(&m, &format!("grpc_server_started_total{{{put_labels}}}")),
        1.0
    );
    assert_eq!(
        must(
            &m,
            &format!("grpc_server_handled_total{{grpc_code=\"OK\",{put_labels}}}")
        ),
        1.0
    );
    // A failing call is counted with its code.
    let bad = etcdctl(REAL_ETCDCTL, &ours.endpoint(), &["put", "", "v"], None);
    assert!(!bad.status.success());
    let m = get(&ours.endpoint(), "/metrics").body;
    assert_eq!(
        must(
            &m,
            &format!("grpc_server_handled_total{{grpc_code=\"InvalidArgument\",{put_labels}}}")
        ),
        1.0
    );

    // Every name, type and help string is etcd's, except our scheduled backups' (etcd has
    // none; docs/operations.md).
    let theirs = get(&real.endpoint(), "/metrics").body;
    let missing: Vec<&str> = descriptions(&m)
        .into_iter()
        .filter(|d| !theirs.lines().any(|l| l == *d))
        .filter(|d| !d.contains(" etcd_backup_"))
        .collect();
    assert!(missing.is_empty(), "not as etcd prints them: {missing:#?}");
}

/// The same etcdctl session against `endpoint`: puts, a get, a delete, a txn of two puts
/// (no compares), and a lease granted, kept alive once and revoked.
fn session(endpoint: &str) {
    let run = |args: &[&str], stdin: Option<&str>| {
        let out = etcdctl(REAL_ETCDCTL, endpoint, args, stdin);
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["put", "a", "1"], None);
    run(&["put", "b", "2"], None);
    run(&["get", "a"], None);
    run(&["del", "b"], None);
    run(&["txn"], Some("\nput x 1\nput y 2\n\n\n"));
    let granted = run(&["lease", "grant", "60"], None);
    let id = granted
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no lease id in {granted:?}"));
    run(&["lease", "keep-alive", "--once", id], None);
    run(&["lease", "revoke", id], None);
}

#[test]
fn mvcc_lease_and_disk_metrics_count_as_real_etcd() {
    let dir = tempfile::tempdir().unwrap();
    let ours = Server::ours(&dir.path().join("ours"));
    let real = Server::real(&dir.path().join("real"));
    let counters = [
        "etcd_mvcc_put_total",
        "etcd_mvcc_range_total",
        "etcd_mvcc_delete_total",
        "etcd_mvcc_txn_total",
        "etcd_debugging_mvcc_put_total",
        "etcd_debugging_mvcc_keys_total",
        "etcd_debugging_lease_granted_total",
        "etcd_debugging_lease_renewed_total",
        "etcd_debugging_lease_revoked_total",
    ];
    let mut seen = Vec::new();
    for s in [&ours, &real] {
        session(&s.endpoint());
        let m = get(&s.endpoint(), "/metrics").body;
        seen.push(counters.map(|c| (c, must(&m, c))));
        // Every write was fsynced and committed to the backend at least once.
        for h in [
            "etcd_disk_wal_fsync_duration_seconds_count",
            "etcd_disk_backend_commit_duration_seconds_count",
        ] {
            assert!(must(&m, h) >= 1.0, "{h} in\n{m}");
        }
        assert!(must(&m, "process_resident_memory_bytes") > 1e6);
        assert!(must(&m, "process_open_fds") > 0.0);
        assert!(must(&m, "etcd_mvcc_db_total_size_in_use_in_bytes") > 0.0);
    }
    assert_eq!(seen[0], seen[1], "ours, then real etcd's");
    assert_eq!(seen[0][0], ("etcd_mvcc_put_total", 4.0));
    assert_eq!(seen[0][5], ("etcd_debugging_mvcc_keys_total", 3.0));
}

#[test]
fn listen_metrics_urls_serve_metrics_and_health_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut replies = Vec::new();
    for (bin, name) in [(our_bin("etcd-server"), "ours"), (REAL_ETCD.into(), "real")] {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let server = Server::start(
            &bin,
            &dir.path().join(name),
            &["--listen-metrics-urls", &url],
        );
        let addr = format!("127.0.0.1:{port}");
        let metrics = get(&addr, "/metrics");
        assert_eq!(metrics.status, 200, "{name}");
        assert_eq!(must(&metrics.body, "etcd_server_has_leader"), 1.0, "{name}");
        let others: Vec<_> = [("GET", "/health"), ("GET", "/version"), ("POST", "/health")]
            .iter()
            .map(|(m, p)| request(&addr, m, p).essentials())
            .collect();
        replies.push(others);
        drop(server);
    }
    assert_eq!(replies[0], replies[1]);
    assert_eq!(replies[0][0].0, 200);
    assert_eq!(replies[0][1].0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_false_without_a_leader() {
    let mut c = Cluster::start(3).await;
    let survivor = c.leader().await;
    let addr = c.members[survivor].endpoint();
    assert_eq!(get(&addr, "/health").status, 200);
    for i in (0..3).filter(|&i| i != survivor) {
        c.kill9(i);
    }
    let reply = wait_for("/health to fail", WAIT_LIMIT, async || {
        let r = fetch(&addr, "/health").await;
        (r.status != 200).then_some(r)
    })
    .await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (503, "{\"health\":\"false\"}\n")
    );
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    // The leader steps down once it misses its quorum: then there is no leader at all.
    let m = wait_for("the survivor to know no leader", WAIT_LIMIT, async || {
        let m = fetch(&addr, "/metrics").await.body;
        (must(&m, "etcd_server_has_leader") == 0.0).then_some(m)
    })
    .await;
    assert_eq!(must(&m, "etcd_server_is_leader"), 0.0);
    assert!(must(&m, "etcd_server_health_failures") >= 1.0);
    let r = fetch(&addr, "/health").await;
    assert_eq!(r.essentials(), reply.essentials());
}

/// [`get`] off the async runtime's threads.
async fn fetch(addr: &str, path: &'static str) -> Reply {
    let addr = addr.to_string();
    tokio::task::spawn_blocking(move || get(&addr, path))
        .await
        .expect("request")
}
