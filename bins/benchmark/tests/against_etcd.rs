//! End-to-end runs of the `benchmark` binary against a real etcd server
//! (`ETCD_TEST_SERVER_BIN`, default `/usr/bin/etcd`).

mod support;

use std::time::{Duration, Instant};

use support::{free_port, run_benchmark, Etcd};

#[test]
fn put_total_200_writes_200_keys_and_reports() {
    let etcd = Etcd::start();
    let out = run_benchmark(&[
        "--endpoints",
        &etcd.client_url,
        "--conns",
        "2",
        "--clients",
        "4",
        "put",
        "--key-size",
        "8",
        "--val-size",
        "256",
        "--total",
        "200",
        "--key-space-size",
        "200",
        "--sequential-keys",
    ]);
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        out.stdout,
        out.stderr
    );
    for section in [
        "Summary:",
        "Requests/sec:",
        "Response time histogram:",
        "Latency distribution:",
        "99.9% in ",
    ] {
        assert!(
            out.stdout.contains(section),
            "no {section:?} in:\n{}",
            out.stdout
        );
    }
    assert_eq!(
        out.result("requests").as_deref(),
        Some("200"),
        "{}",
        out.stdout
    );
    assert_eq!(out.result("errors").as_deref(), Some("0"), "{}", out.stdout);
    for key in ["requests_per_sec", "p50_ms", "p90_ms", "p99_ms"] {
        let value: f64 = out
            .result(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no numeric {key} in:\n{}", out.stdout));
        assert!(value > 0.0, "{key}={value}");
    }
    assert_eq!(etcd.count_keys(), Ok(200));
}

#[test]
fn range_benchmark_in_both_consistencies() {
    let etcd = Etcd::start();
    for (consistency, banner) in [
        ("l", "bench with linearizable range"),
        ("s", "bench with serializable range"),
    ] {
        let out = run_benchmark(&[
            "--endpoints",
            etcd.client_url.trim_start_matches("http://"),
            "--clients",
            "3",
            "range",
            "a",
            "z",
            "--total",
            "50",
            "--consistency",
            consistency,
        ]);
        assert!(
            out.status.success(),
            "failed: {}\n{}",
            out.stdout,
            out.stderr
        );
        assert!(out.stdout.starts_with(banner), "{}", out.stdout);
        assert_eq!(
            out.result("requests").as_deref(),
            Some("50"),
            "{}",
            out.stdout
        );
        assert_eq!(out.result("errors").as_deref(), Some("0"), "{}", out.stdout);
    }
}

#[test]
fn target_leader_finds_the_single_member() {
    let etcd = Etcd::start();
    let out = run_benchmark(&[
        "--endpoints",
        &etcd.client_url,
        "--target-leader",
        "put",
        "--total",
        "10",
    ]);
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(
        out.result("requests").as_deref(),
        Some("10"),
        "{}",
        out.stdout
    );
    assert_eq!(etcd.count_keys(), Ok(1), "default key space is one key");
}

#[test]
fn unreachable_endpoint_fails_fast() {
    let port = free_port();
    let started = Instant::now();
    let out = run_benchmark(&[
        "--endpoints",
        &format!("127.0.0.1:{port}"),
        "--dial-timeout",
        "2s",
        "put",
        "--total",
        "10",
    ]);
    assert!(!out.status.success());
    assert!(out.stderr.contains("dial error"), "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn bad_flags_are_rejected() {
    let out = run_benchmark(&["range", "a", "--consistency", "x"]);
    assert!(!out.status.success());
    assert!(out.stderr.contains("--consistency"), "{}", out.stderr);
    let out = run_benchmark(&["put", "--key-space-size", "0"]);
    assert!(!out.status.success());
}
