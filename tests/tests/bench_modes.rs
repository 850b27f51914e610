//! The benchmark tool's `watch`, `watch-latency` and `lease-keepalive` modes run briefly
//! against our server and against real etcd, and report sane numbers: exact request counts,
//! no errors, well-formed latencies. No timing is asserted.

use std::collections::HashMap;
use std::process::Command;

use integration_tests::{our_bin, stderr, stdout, Server};

/// Runs our `benchmark` (bounded by `timeout`) and returns its stdout and RESULT fields.
fn bench(server: &Server, args: &[&str]) -> (String, HashMap<String, String>) {
    let out = Command::new("timeout")
        .args(["-s", "KILL", "120"])
        .arg(our_bin("benchmark"))
        .args(["--endpoints", &server.endpoint()])
        .args(args)
        .output()
        .expect("run benchmark");
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "benchmark {args:?} failed:\n{text}\n{}",
        stderr(&out)
    );
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or_else(|| panic!("no RESULT line in:\n{text}"));
    let fields = line["RESULT ".len()..]
        .split(' ')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (text, fields)
}

/// Checks the counts, then that every latency field `{prefix}…_ms` is a number, ordered
/// p50 <= p99 <= max.
fn check(fields: &HashMap<String, String>, requests: u64, latency_prefixes: &[&str]) {
    let num = |k: &str| -> f64 {
        fields
            .get(k)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no numeric {k} in {fields:?}"))
    };
    assert_eq!(num("requests"), requests as f64, "{fields:?}");
    assert_eq!(num("errors"), 0.0, "{fields:?}");
    assert!(num("requests_per_sec") > 0.0, "{fields:?}");
    for p in latency_prefixes {
        let (p50, p99, max) = (
            num(&format!("{p}p50_ms")),
            num(&format!("{p}p99_ms")),
            num(&format!("{p}max_ms")),
        );
        assert!(num(&format!("{p}avg_ms")) >= 0.0);
        assert!(0.0 <= p50 && p50 <= p99 && p99 <= max, "{p}: {fields:?}");
    }
}

fn modes_report_sane_numbers(server: &Server) {
    // 2 streams x 5 watchers of one key, 40 puts: 400 events.
    let (text, f) = bench(
        server,
        &[
            "--conns=2",
            "--clients=2",
            "watch",
            "--streams=2",
            "--watch-per-stream=5",
            "--put-total=40",
            "--put-rate=1000",
        ],
    );
    assert!(text.starts_with("Watch creation summary:\n"), "{text}");
    assert!(text.contains("Watch events received summary:\n"), "{text}");
    assert_eq!(f["watchers"], "10");
    check(&f, 400, &["", "create_"]);

    // 3 watchers, 20 puts: 60 measured deliveries.
    let (text, f) = bench(
        server,
        &[
            "--conns=2",
            "--clients=3",
            "watch-latency",
            "--total=20",
            "--put-rate=200",
        ],
    );
    assert!(
        text.contains("Delivery latency (from sending the put):"),
        "{text}"
    );
    assert_eq!(f["watchers"], "3");
    check(&f, 60, &["", "delivery_"]);

    let (text, f) = bench(server, &["--clients=4", "lease-keepalive", "--total=50"]);
    assert!(text.contains("Latency distribution:"), "{text}");
    check(&f, 50, &[""]);
}

#[test]
fn benchmark_modes_against_our_server() {
    let dir = tempfile::tempdir().unwrap();
    modes_report_sane_numbers(&Server::ours(&dir.path().join("d")));
}

#[test]
fn benchmark_modes_against_real_etcd() {
    let dir = tempfile::tempdir().unwrap();
    modes_report_sane_numbers(&Server::real(&dir.path().join("d")));
}
