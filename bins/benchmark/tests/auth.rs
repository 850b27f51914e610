//! `--user` against a real etcd (`ETCD_TEST_SERVER_BIN`, default `/usr/bin/etcd`) with
//! auth enabled by etcdctl: each connection logs in and sends its token with every request
//! and stream; without `--user`, or as a user lacking permission, requests fail and are
//! counted; a wrong password stops the run before it starts.

mod support;

use std::time::{Duration, Instant};

use support::{
    run_benchmark, run_benchmark_with_stdin, Etcd, Output, PREFIX, PREFIX_PASSWORD, PREFIX_USER,
    ROOT_PASSWORD,
};

/// A cheap bcrypt cost keeps user creation and logins fast.
const FAST_BCRYPT: [&str; 2] = ["--bcrypt-cost", "4"];

/// etcd's message for a wrong user name or password.
const AUTH_FAILED: &str = "etcdserver: authentication failed, invalid user ID or password";

fn auth_enabled_etcd() -> Etcd {
    let etcd = Etcd::start_with(&FAST_BCRYPT);
    etcd.enable_auth();
    etcd
}

fn root() -> String {
    format!("root:{ROOT_PASSWORD}")
}

/// `put` over 2 connections and 4 clients, `total` keys of the default sizes.
fn put(etcd: &Etcd, user: Option<&str>, total: u64) -> Output {
    let total = total.to_string();
    let mut args = vec![
        "--endpoints",
        &etcd.client_url,
        "--conns",
        "2",
        "--clients",
        "4",
    ];
    if let Some(user) = user {
        args.extend(["--user", user]);
    }
    args.extend([
        "put",
        "--total",
        &total,
        "--key-space-size",
        &total,
        "--sequential-keys",
    ]);
    run_benchmark(&args)
}

fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        out.stdout,
        out.stderr
    );
}

/// Asserts that all `total` requests failed with `message` (in the report's error
/// distribution and in the RESULT line).
fn assert_all_failed(out: &Output, total: u64, message: &str) {
    assert_success(out);
    let line = format!("[{total}]\t{message}");
    assert!(
        out.stdout.contains("Error distribution:") && out.stdout.contains(&line),
        "no {line:?} in:\n{}",
        out.stdout
    );
    assert_eq!(
        out.result("requests").as_deref(),
        Some("0"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.result("errors"),
        Some(total.to_string()),
        "{}",
        out.stdout
    );
}

#[test]
fn put_needs_a_permitted_user_when_auth_is_enabled() {
    let etcd = auth_enabled_etcd();

    let out = put(&etcd, Some(&root()), 100);
    assert_success(&out);
    assert_eq!(
        out.result("requests").as_deref(),
        Some("100"),
        "{}",
        out.stdout
    );
    assert_eq!(out.result("errors").as_deref(), Some("0"), "{}", out.stdout);
    assert_eq!(etcd.count_keys_as(Some(("root", ROOT_PASSWORD))), Ok(100));

    // Without a token etcd refuses every request, as it does for etcd's tool.
    let out = put(&etcd, None, 20);
    assert_all_failed(&out, 20, "etcdserver: user name is empty");

    // The prefix-only user may not write the benchmark's keys.
    let prefix_user = format!("{PREFIX_USER}:{PREFIX_PASSWORD}");
    let out = put(&etcd, Some(&prefix_user), 20);
    assert_all_failed(&out, 20, "etcdserver: permission denied");

    assert_eq!(
        etcd.count_keys_as(Some(("root", ROOT_PASSWORD))),
        Ok(100),
        "failed puts wrote nothing"
    );
}

#[test]
fn wrong_password_fails_before_the_benchmark() {
    let etcd = auth_enabled_etcd();
    let started = Instant::now();
    for extra in [&[][..], &["--target-leader"][..]] {
        let mut args = vec!["--endpoints", &etcd.client_url, "--user", "root:wrong"];
        args.extend(extra);
        args.extend(["put", "--total", "10"]);
        let out = run_benchmark(&args);
        assert!(!out.status.success(), "{args:?} succeeded: {}", out.stdout);
        assert!(
            out.stderr.contains(&format!("dial error: {AUTH_FAILED}")),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            out.result_fields().is_none(),
            "{args:?} ran: {}",
            out.stdout
        );
    }
    let out = run_benchmark(&["--endpoints", &etcd.client_url, "--user", "nobody:x", "put"]);
    assert!(!out.status.success());
    assert!(out.stderr.contains(AUTH_FAILED), "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(etcd.count_keys_as(Some(("root", ROOT_PASSWORD))), Ok(0));
}

#[test]
fn range_and_watch_with_user() {
    let etcd = auth_enabled_etcd();
    let prefix_user = format!("{PREFIX_USER}:{PREFIX_PASSWORD}");
    let prefix_end = format!("{}0", PREFIX.trim_end_matches('/'));

    let out = run_benchmark(&[
        "--endpoints",
        &etcd.client_url,
        "--user",
        &prefix_user,
        "--clients",
        "2",
        "range",
        PREFIX,
        &prefix_end,
        "--total",
        "30",
    ]);
    assert_success(&out);
    assert_eq!(
        out.result("requests").as_deref(),
        Some("30"),
        "{}",
        out.stdout
    );
    assert_eq!(out.result("errors").as_deref(), Some("0"), "{}", out.stdout);

    // Outside its prefix the same user is denied.
    let out = run_benchmark(&[
        "--endpoints",
        &etcd.client_url,
        "--user",
        &prefix_user,
        "range",
        "a",
        "--total",
        "10",
    ]);
    assert_all_failed(&out, 10, "etcdserver: permission denied");

    // Watch streams and their puts carry the token too.
    let out = run_benchmark(&[
        "--endpoints",
        &etcd.client_url,
        "--user",
        &root(),
        "--conns",
        "2",
        "--clients",
        "2",
        "watch",
        "--streams",
        "2",
        "--watch-per-stream",
        "5",
        "--put-total",
        "40",
    ]);
    assert_success(&out);
    assert_eq!(
        out.result("watchers").as_deref(),
        Some("10"),
        "{}",
        out.stdout
    );
    assert_eq!(out.result("errors").as_deref(), Some("0"), "{}", out.stdout);
}

#[test]
fn prompts_for_a_missing_password() {
    let etcd = auth_enabled_etcd();
    let args = [
        "--endpoints",
        &etcd.client_url,
        "--user",
        "root",
        "put",
        "--total",
        "10",
    ];

    let out = run_benchmark_with_stdin(&args, Some(format!("{ROOT_PASSWORD}\n").as_bytes()));
    assert_success(&out);
    assert!(out.stdout.starts_with("Password: \n"), "{}", out.stdout);
    assert_eq!(
        out.result("requests").as_deref(),
        Some("10"),
        "{}",
        out.stdout
    );
    assert_eq!(out.result("errors").as_deref(), Some("0"), "{}", out.stdout);

    let out = run_benchmark_with_stdin(&args, Some(b"not-the-password\n"));
    assert!(!out.status.success(), "{}", out.stdout);
    assert!(out.stderr.contains(AUTH_FAILED), "{}", out.stderr);
}

#[test]
fn user_is_ignored_by_a_server_without_auth() {
    let etcd = Etcd::start_with(&FAST_BCRYPT);
    let out = put(&etcd, Some("root:whatever"), 30);
    assert_success(&out);
    assert_eq!(
        out.result("requests").as_deref(),
        Some("30"),
        "{}",
        out.stdout
    );
    assert_eq!(out.result("errors").as_deref(), Some("0"), "{}", out.stdout);
    assert_eq!(etcd.count_keys(), Ok(30));
}
