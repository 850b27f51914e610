//! `auth`, `user` and `role` against a real etcd, compared byte for byte with the real
//! etcdctl: a whole session (users and roles in every output format, permissions on keys,
//! prefixes and open ranges, auth enable/disable, acting as root and as a restricted user
//! with `--user`, `--password`, `ETCDCTL_USER` and the password prompt), argument errors,
//! and the token refresh after the server dropped an expired token.

mod support;

use std::time::Duration;

use support::ctl::{ours, run, Background, Case, Outcome, REAL};
use support::server::{EtcdServer, Pair, Setup};

const FORMATS: [&str; 5] = ["simple", "json", "fields", "protobuf", "table"];
/// Cheap password hashing keeps the many logins fast (etcd's default cost is 10).
const BCRYPT: [&str; 2] = ["--bcrypt-cost", "4"];
const ROOT: &str = "--user=root:rootpw";
const ALICE: &str = "--user=alice:alicepw";

/// Keys the permissions are checked on.
fn seed(ep: &str) {
    for (k, v) in [("pre/x", "1"), ("b", "2"), ("z", "3"), ("w", "4")] {
        let args = vec![
            format!("--endpoints={ep}"),
            "put".into(),
            k.into(),
            v.into(),
        ];
        let out = run(REAL, &args, &[], b"");
        assert_eq!(
            out.code,
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Runs `c` with both etcdctls, each against its copy of the cluster.
fn check(pair: &Pair, c: Case) -> Outcome {
    c.check(&pair.real.endpoint, &pair.ours.endpoint)
}

/// Asserts what the real etcdctl did (so the session tests what it means to): its exit
/// code, and `needle` in its output.
#[track_caller]
fn expect(out: Outcome, code: i32, needle: &str) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.code, Some(code), "{text}");
    assert!(text.contains(needle), "{needle:?} not in {text:?}");
}

/// `args` in every output format (`-w <format>` first, `{F}` in arguments replaced by the
/// format's name so that mutations in formats etcdctl cannot print still differ).
fn every_format(pair: &Pair, args: &[&str]) {
    for f in FORMATS {
        let mut all = vec!["-w".to_string(), f.to_string()];
        all.extend(args.iter().map(|a| a.replace("{F}", f)));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        check(pair, Case::new(&refs));
    }
}

/// Users and roles made, changed, shown and removed in each format, auth disabled.
fn lifecycle_in_every_format(pair: &Pair) {
    every_format(pair, &["role", "add", "r-{F}"]);
    every_format(pair, &["user", "add", "u-{F}", "--new-user-password=pw"]);
    every_format(
        pair,
        &["role", "grant-permission", "r-{F}", "readwrite", "k1", "k3"],
    );
    every_format(
        pair,
        &[
            "role",
            "grant-permission",
            "r-{F}",
            "read",
            "p/",
            "--prefix",
        ],
    );
    every_format(pair, &["user", "grant-role", "u-{F}", "r-{F}"]);
    every_format(pair, &["role", "get", "r-{F}"]);
    every_format(pair, &["user", "get", "u-{F}"]);
    every_format(pair, &["user", "get", "--detail", "u-{F}"]);
    every_format(pair, &["user", "list"]);
    every_format(pair, &["role", "list"]);
    every_format(pair, &["role", "revoke-permission", "r-{F}", "k1", "k3"]);
    every_format(pair, &["user", "revoke-role", "u-{F}", "r-{F}"]);
    for f in FORMATS {
        let user = format!("u-{f}");
        let c = Case::new(&["-w", f, "user", "passwd", &user, "--interactive=false"]);
        check(pair, c.stdin("newpw\n"));
    }
    every_format(pair, &["user", "delete", "u-{F}"]);
    every_format(pair, &["role", "delete", "r-{F}"]);
}

/// The users, roles and permissions the rest of the session works with.
fn create_principals(pair: &Pair) {
    check(pair, Case::new(&["user", "add", "root:rootpw"]));
    check(pair, Case::new(&["role", "add", "root"]));
    check(pair, Case::new(&["user", "grant-role", "root", "root"]));
    // Passwords typed at the prompt (twice), read with --interactive=false, or none.
    check(
        pair,
        Case::new(&["user", "add", "alice"]).stdin("alicepw\nalicepw\n"),
    );
    check(
        pair,
        Case::new(&["user", "add", "bob", "--interactive=false"]).stdin("  bobpw extra\n"),
    );
    check(
        pair,
        Case::new(&["-w", "json", "user", "add", "carol", "--no-password"]),
    );
    check(pair, Case::new(&["role", "add", "reader"]));
    for grant in [
        &["reader", "read", "pre/", "--prefix"][..],
        &["reader", "readwrite", "a", "c"],
        &["reader", "write", "w", "--from-key"],
        &["reader", "READ", "single"],
    ] {
        let mut args = vec!["role", "grant-permission"];
        args.extend_from_slice(grant);
        check(pair, Case::new(&args));
    }
    check(pair, Case::new(&["role", "add", "wide"]));
    for grant in [
        &["wide", "read", "", "--prefix"][..],
        &["wide", "write", ""],
        &["wide", "readwrite", "", "--from-key"],
        &["wide", "readwrite", "x\u{ff}", "--prefix"],
        &["wide", "read", "e\u{7f}", "--prefix"],
        &["wide", "write", "m", "n"],
    ] {
        let mut args = vec!["role", "grant-permission"];
        args.extend_from_slice(grant);
        check(pair, Case::new(&args));
    }
    check(pair, Case::new(&["user", "grant-role", "alice", "reader"]));
    check(pair, Case::new(&["user", "grant-role", "bob", "reader"]));
    check(pair, Case::new(&["user", "grant-role", "bob", "wide"]));
    every_format(pair, &["role", "get", "reader"]);
    every_format(pair, &["role", "get", "wide"]);
    let wide = check(pair, Case::new(&["role", "get", "wide"]));
    expect(wide.clone(), 0, "\t[\0, <open ended>\n");
    expect(wide, 0, "\t[m, n) (prefix m)\n");
    every_format(pair, &["user", "get", "bob"]);
    every_format(pair, &["user", "get", "bob", "--detail"]);
    every_format(pair, &["user", "list"]);
    every_format(pair, &["role", "list"]);
}

/// With auth enabled: who may do what, and how logins fail.
fn act_as_users(pair: &Pair) {
    // No user: refused.
    expect(
        check(pair, Case::new(&["get", "b"])),
        1,
        "user name is empty",
    );
    check(pair, Case::new(&["user", "list"]));
    // Root, with each way of giving the password.
    check(pair, Case::new(&[ROOT, "put", "pre/y", "5"]));
    check(
        pair,
        Case::new(&[ROOT, "-w", "json", "get", "", "--prefix"]),
    );
    check(
        pair,
        Case::new(&["--user", "root", "--password", "rootpw", "role", "list"]),
    );
    check(
        pair,
        Case::new(&["--user=root", "user", "get", "alice"]).stdin("rootpw\n"),
    );
    check(
        pair,
        Case::new(&["get", "b"]).env("ETCDCTL_USER", "root:rootpw"),
    );
    check(
        pair,
        Case::new(&["--user=root", "get", "b"]).env("ETCDCTL_PASSWORD", "rootpw"),
    );
    // Alice reads pre/, reads and writes [a, c), writes from w on.
    for args in [
        &["get", "pre/x"][..],
        &["get", "pre/", "--prefix"],
        &["put", "pre/x", "v"],
        &["put", "b", "v"],
        &["-w", "json", "get", "b"],
        &["get", "z"],
        &["del", "z"],
        &["put", "w1", "x"],
        &["get", "w"],
        &["get", "", "--prefix"],
        &["user", "list"],
        &["role", "get", "reader"],
        &["user", "get", "alice"],
        &["auth", "disable"],
    ] {
        let mut all = vec![ALICE];
        all.extend_from_slice(args);
        check(pair, Case::new(&all));
    }
    expect(
        check(pair, Case::new(&[ALICE, "get", "pre/x"])),
        0,
        "pre/x\n1\n",
    );
    expect(
        check(pair, Case::new(&[ALICE, "put", "d", "v"])),
        1,
        "permission denied",
    );
    let denied = Case::new(&[ALICE, "txn"]).stdin("\nput d 1\n\n\n");
    expect(check(pair, denied), 1, "permission denied");
    let allowed = Case::new(&[ALICE, "txn"]).stdin("\nget b\n\n\n");
    expect(check(pair, allowed), 0, "SUCCESS");
    expect(
        check(pair, Case::new(&[ALICE, "watch", "z"])),
        5,
        "permission denied",
    );
    check(pair, Case::new(&[ALICE, "-w", "json", "watch", "z"]));
    check(pair, Case::new(&[ALICE, "endpoint", "health"]).durations());
    check(
        pair,
        Case::new(&["--user=alice", "get", "b"]).stdin("alicepw\n"),
    );
    check(
        pair,
        Case::new(&["--user", "alice", "--password", "alicepw", "get", "b"]),
    );
    // Failed logins, and a user name without password (no login at all).
    let wrong = Case::new(&["--user=alice:wrong", "get", "b"]);
    expect(check(pair, wrong), 2, "invalid user ID or password");
    check(pair, Case::new(&["--user=nobody:pw", "get", "b"]));
    check(pair, Case::new(&["--user=alice:", "get", "b"]));
    check(pair, Case::new(&["--user=alice", "get", "b"]).stdin(""));
    // Bob also holds "wide": everything readable.
    check(pair, Case::new(&["--user=bob:bobpw", "get", "z"]));
}

/// Revocations, password changes and refused administration.
fn revoke_and_change(pair: &Pair) {
    check(
        pair,
        Case::new(&[ROOT, "user", "revoke-role", "alice", "reader"]),
    );
    check(pair, Case::new(&[ALICE, "get", "b"]));
    for revoke in [
        &["reader", "pre/", "--prefix"][..],
        &["reader", "a", "c"],
        &["reader", "w", "--from-key"],
        &["reader", "single"],
        &["reader", "nokey"],
        &["wide", "", "--prefix"],
        &["wide", ""],
        &["wide", "", "--from-key"],
        &["wide", "m", "n"],
    ] {
        let mut args = vec![ROOT, "role", "revoke-permission"];
        args.extend_from_slice(revoke);
        check(pair, Case::new(&args));
    }
    every_format(pair, &[ROOT, "role", "get", "wide"]);
    let shown = check(pair, Case::new(&[ROOT, "role", "get", "reader"]));
    assert_eq!(shown.stdout, b"Role reader\nKV Read:\nKV Write:\n");
    let passwd = Case::new(&[ROOT, "user", "passwd", "bob", "--interactive=false"]);
    check(pair, passwd.stdin("bobpw2\n"));
    expect(
        check(pair, Case::new(&["--user=bob:bobpw", "get", "b"])),
        2,
        "",
    );
    // Logged in (exit 1, not 2), but bob's roles lost their permissions.
    expect(
        check(pair, Case::new(&["--user=bob:bobpw2", "get", "b"])),
        1,
        "permission denied",
    );
    check(
        pair,
        Case::new(&[ROOT, "user", "passwd", "bob"]).stdin("x\ny\n"),
    );
    check(
        pair,
        Case::new(&[ROOT, "user", "passwd", "bob"]).stdin("pw3\npw3\n"),
    );
    expect(
        check(pair, Case::new(&["--user=bob:pw3", "get", "b"])),
        1,
        "permission denied",
    );
    for args in [
        &["user", "add", "root:x"][..],
        &["role", "add", "reader"],
        &["role", "get", "nosuch"],
        &["user", "get", "nosuch"],
        &["user", "grant-role", "bob", "nosuch"],
        &["user", "revoke-role", "carol", "wide"],
        &["user", "delete", "nosuch"],
        &["role", "delete", "nosuch"],
        &["-w", "table", "user", "list"],
        &["-w", "fields", "user", "get", "bob"],
        &["-w", "table", "user", "get", "bob", "--detail"],
        &["auth", "enable"],
        &["user", "delete", "carol"],
        &["role", "delete", "wide"],
        &["user", "get", "bob", "--detail"],
    ] {
        let mut all = vec![ROOT];
        all.extend_from_slice(args);
        check(pair, Case::new(&all));
    }
}

#[test]
fn whole_session_matches_etcdctl() {
    let pair = Pair::with_setup(&Setup::args(&BCRYPT), seed);
    lifecycle_in_every_format(&pair);
    create_principals(&pair);
    expect(
        check(&pair, Case::new(&["auth", "enable"])),
        0,
        "Authentication Enabled",
    );
    act_as_users(&pair);
    revoke_and_change(&pair);
    check(&pair, Case::new(&[ROOT, "auth", "disable"]));
    check(&pair, Case::new(&["user", "list"]));
    check(&pair, Case::new(&[ALICE, "get", "b"]));
    check(&pair, Case::new(&["-w", "json", "auth", "disable"]));
}

#[test]
fn auth_enable_needs_root_and_creates_its_role() {
    let pair = Pair::with_setup(&Setup::args(&BCRYPT), |_| {});
    check(&pair, Case::new(&["auth", "enable"]));
    check(
        &pair,
        Case::new(&["user", "add", "root", "--new-user-password=rootpw"]),
    );
    // The root user lacks the root role: etcdctl creates and grants it.
    check(&pair, Case::new(&["-w", "table", "auth", "enable"]));
    check(&pair, Case::new(&[ROOT, "user", "get", "root", "--detail"]));
    check(&pair, Case::new(&[ROOT, "auth", "disable"]));
}

#[test]
fn argument_errors_match_etcdctl() {
    let server = EtcdServer::start_setup(&Setup::args(&BCRYPT));
    let ep = &server.endpoint;
    for args in [
        &["user", "add"][..],
        &["user", "add", ":pw"],
        &["user", "add", "a", "b"],
        &["user", "get"],
        &["user", "list", "x"],
        &["user", "grant-role", "a"],
        &["user", "revoke-role", "a"],
        &["user", "passwd"],
        &["user", "delete"],
        &["role", "add"],
        &["role", "get"],
        &["role", "list", "x"],
        &["role", "delete"],
        &["role", "grant-permission", "r", "read"],
        &["role", "grant-permission", "r", "admin", "k"],
        &[
            "role",
            "grant-permission",
            "r",
            "read",
            "k",
            "--prefix",
            "--from-key",
        ],
        &[
            "role",
            "grant-permission",
            "r",
            "read",
            "k",
            "e",
            "--prefix",
        ],
        &[
            "role",
            "grant-permission",
            "r",
            "read",
            "k",
            "e",
            "--from-key",
        ],
        &[
            "role",
            "grant-permission",
            "r",
            "read",
            "",
            "--prefix",
            "--from-key",
        ],
        &["role", "revoke-permission", "r"],
        &["role", "revoke-permission", "r", "k", "e", "--prefix"],
        &["auth", "enable", "x"],
        &["auth", "disable", "x"],
        &["auth", "status"],
        &["-w", "yaml", "user", "list"],
    ] {
        Case::new(args).check_on(ep);
    }
    // Prompted passwords that are empty or do not match.
    Case::new(&["user", "add", "dave"]).stdin("").check_on(ep);
    Case::new(&["user", "add", "dave"])
        .stdin("a\nb\n")
        .check_on(ep);
    Case::new(&["user", "passwd", "dave"])
        .stdin("\n")
        .check_on(ep);
}

/// Runs `bin` as `root` in `txn` mode with its input sent only after the server dropped the
/// login's token (`--auth-token-ttl 1`).
fn txn_after_token_expiry(bin: &str, ep: &str) -> Outcome {
    let mut ctl = Background::start(bin, &["--endpoints={EP}", ROOT, "txn"], ep);
    std::thread::sleep(Duration::from_secs(3));
    ctl.write("\nput k v\n\n\n");
    ctl.close_stdin();
    ctl.finish(Duration::from_secs(20))
}

/// Runs `bin` as `root` in interactive `watch` mode, creating a second watch once the
/// token of the stream expired: clientv3 opens a new stream (with a fresh token) and
/// creates both watches again, without closing the old stream, whose events still arrive.
fn watch_after_token_expiry(bin: &str, ep: &str) -> Outcome {
    let mut ctl = Background::start(bin, &["--endpoints={EP}", ROOT, "watch", "-i"], ep);
    ctl.write("watch wa\n");
    std::thread::sleep(Duration::from_secs(3));
    ctl.write("watch wb\n");
    std::thread::sleep(Duration::from_secs(1));
    for (k, v) in [("wa", "1"), ("wb", "2")] {
        let args = [
            format!("--endpoints={ep}"),
            ROOT.into(),
            "put".into(),
            k.into(),
            v.into(),
        ];
        assert_eq!(run(REAL, &args, &[], b"").code, Some(0));
    }
    ctl.wait_for(Duration::from_secs(10), |out| out.ends_with(b"wb\n2\n"));
    ctl.close_stdin();
    ctl.finish(Duration::from_secs(10))
}

#[test]
fn expired_token_is_refreshed_and_the_call_retried() {
    let mut args = BCRYPT.to_vec();
    args.extend(["--auth-token-ttl", "1"]);
    let server = EtcdServer::start_setup(&Setup::args(&args));
    let ep = &server.endpoint;
    for setup in [
        &["user", "add", "root:rootpw"][..],
        &["role", "add", "root"],
        &["user", "grant-role", "root", "root"],
        &["auth", "enable"],
    ] {
        let mut args = vec![format!("--endpoints={ep}")];
        args.extend(setup.iter().map(|s| s.to_string()));
        assert_eq!(run(REAL, &args, &[], b"").code, Some(0), "{setup:?}");
    }
    let want = txn_after_token_expiry(REAL, ep);
    let got = txn_after_token_expiry(ours(), ep);
    assert!(
        String::from_utf8_lossy(&want.stderr).contains("etcdserver: invalid auth token"),
        "the token did not expire: {want:?}"
    );
    assert_eq!(want.stdout, b"SUCCESS\n\nOK\n");
    Case::new(&[ROOT, "txn"]).assert_same(&want, &got, ep, ep);

    // After the token expires both etcdctls log in again and go on watching. Whether the
    // re-created watch prints `wa` a second time depends on timing (the real etcdctl does
    // either), so the events are compared without that repetition.
    let want = watch_after_token_expiry(REAL, ep);
    let got = watch_after_token_expiry(ours(), ep);
    let events = |out: &[u8]| {
        let text = String::from_utf8_lossy(out).replace("PUT\nwa\n1\nPUT\nwa\n1\n", "PUT\nwa\n1\n");
        assert_eq!(text, "PUT\nwa\n1\nPUT\nwb\n2\n", "{out:?}");
    };
    events(&want.stdout);
    events(&got.stdout);
    assert_eq!(want.code, got.code);
}
