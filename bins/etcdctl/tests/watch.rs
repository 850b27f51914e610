//! `watch` against real etcd: both etcdctls watch the same server (from a fixed revision,
//! so they see the same history whenever they connect), their output is collected for a
//! bounded time, then they are killed and the outputs compared byte for byte.

mod support;

use std::time::{Duration, Instant};

use support::ctl::{ours, run, Background, Case, Outcome, REAL};
use support::server::EtcdServer;

const FORMATS: [&str; 5] = ["simple", "json", "fields", "protobuf", "table"];
const WAIT: Duration = Duration::from_secs(15);

fn ctl(ep: &str, args: &[&str], stdin: &str) {
    let mut all = vec![format!("--endpoints={ep}")];
    all.extend(args.iter().map(|s| s.to_string()));
    let out = run(REAL, &all, &[], stdin.as_bytes());
    assert_eq!(
        out.code,
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Puts, an overwrite, a delete, a multi-key txn and odd bytes under `w`.
fn mutate(ep: &str) {
    ctl(ep, &["put", "w1", "a"], "");
    ctl(ep, &["put", "w1", "b"], "");
    ctl(ep, &["del", "w1"], "");
    ctl(ep, &["txn"], "\nput w2 x\nput w3 y\n\n\n");
    ctl(ep, &["put", "w\"q\u{e9}"], "<v>\n\t\u{1}");
    ctl(ep, &["put", "other", "ignored"], "");
}

/// Waits until the output of both has not changed for half a second (bounded).
fn settle(a: &Background, b: &Background) {
    let start = Instant::now();
    let mut last = (Vec::new(), Vec::new());
    let mut stable_since = Instant::now();
    while start.elapsed() < WAIT {
        let now = (a.stdout(), b.stdout());
        if now != last {
            last = now;
            stable_since = Instant::now();
        } else if !last.0.is_empty() && stable_since.elapsed() > Duration::from_millis(500) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn same(want: &Outcome, got: &Outcome, what: &str) {
    let show = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert_eq!(
        show(&got.stdout),
        show(&want.stdout),
        "stdout differs for {what}"
    );
    assert_eq!(got.stdout, want.stdout, "stdout bytes differ for {what}");
    assert_eq!(
        show(&got.stderr),
        show(&want.stderr),
        "stderr differs for {what}"
    );
    assert_eq!(got.code, want.code, "exit code differs for {what}");
}

/// Runs `args` with both binaries at once, lets `during` mutate, and compares.
fn watch_both(ep: &str, args: &[&str], during: impl FnOnce()) {
    let mut all = vec!["--endpoints={EP}"];
    all.extend_from_slice(args);
    let real = Background::start(REAL, &all, ep);
    let ours_bg = Background::start(ours(), &all, ep);
    during();
    settle(&real, &ours_bg);
    let want = real.finish(Duration::ZERO);
    let got = ours_bg.finish(Duration::ZERO);
    same(&want, &got, &format!("etcdctl {}", args.join(" ")));
}

#[test]
fn events_in_every_format() {
    let server = EtcdServer::start();
    let ep = &server.endpoint;
    mutate(ep);
    for f in FORMATS {
        for flags in [
            &["w", "--prefix", "--rev=2"][..],
            &["w", "--prefix", "--prev-kv", "--rev=2"],
            &["w1", "w3", "--rev=2"],
            &["--rev", "2", "", "--prefix"],
            &["w1", "--rev=3"],
        ] {
            let mut args = vec!["-w", f, "watch"];
            args.extend_from_slice(flags);
            watch_both(ep, &args, || {});
        }
    }
    watch_both(
        ep,
        &["--hex", "watch", "w", "--prefix", "--prev-kv", "--rev=2"],
        || {},
    );
    // Live events, after both have connected (they replay from revision 2 first).
    watch_both(
        ep,
        &["watch", "w", "--prefix", "--prev-kv", "--rev=2"],
        || {
            std::thread::sleep(Duration::from_millis(500));
            mutate(ep);
        },
    );
}

#[test]
fn exec_command_per_event() {
    let server = EtcdServer::start();
    let ep = &server.endpoint;
    mutate(ep);
    let script = "echo \"rev=$ETCD_WATCH_REVISION type=$ETCD_WATCH_EVENT_TYPE key=$ETCD_WATCH_KEY value=$ETCD_WATCH_VALUE\"";
    watch_both(
        ep,
        &[
            "watch", "--prefix", "w", "--rev=2", "--", "sh", "-c", script,
        ],
        || {},
    );
    // A failing command ends the watch.
    watch_both(ep, &["watch", "w1", "--rev=2", "--", "false"], || {});
    watch_both(
        ep,
        &["watch", "w1", "--rev=2", "--", "/nonexistent/cmd", "a"],
        || {},
    );
}

#[test]
fn interactive_mode() {
    let server = EtcdServer::start();
    let ep = &server.endpoint;
    mutate(ep);
    let mut outs = Vec::new();
    for bin in [REAL, ours()] {
        let mut bg = Background::start(bin, &["--endpoints={EP}", "watch", "-i"], ep);
        bg.write("\nfoo bar\nwatch\nwatch a b --prefix\nwatch --rev 2 --prefix w --prev-kv\n");
        assert!(
            bg.wait_for(WAIT, |o| o.windows(2).any(|w| w == b"\x01\n")),
            "{bin}: no events"
        );
        bg.write("progress\n");
        assert!(
            bg.wait_for(WAIT, |o| o.windows(9).any(|w| w == b"progress ")),
            "{bin}: no progress notification"
        );
        bg.close_stdin();
        outs.push(bg.finish(WAIT));
    }
    same(&outs[0], &outs[1], "etcdctl watch -i");
    assert_eq!(outs[0].code, Some(3));
}

#[test]
fn argument_errors_and_canceled_watches() {
    let server = EtcdServer::start();
    let ep = &server.endpoint;
    mutate(ep);
    ctl(ep, &["compaction", "4"], "");
    for args in [
        &["watch"][..],
        &["watch", "a", "--"],
        &["watch", "a", "b", "--prefix"],
        &["watch", "k", "--rev=2"],
        &["-w", "json", "watch", "k", "--rev=2"],
        &["-w", "protobuf", "watch", "w", "--prefix", "--rev=1"],
        &["watch", "--rev=x", "k"],
    ] {
        Case::new(args).check_on(ep);
    }
    Case::new(&["watch"])
        .env("ETCDCTL_WATCH_RANGE_END", "z")
        .check_on(ep);
    Case::new(&["watch", "k"])
        .env("ETCDCTL_WATCH_KEY", "k")
        .check_on(ep);
    Case::new(&["watch", "--rev=2"])
        .env("ETCDCTL_WATCH_KEY", "k")
        .check_on(ep);
}
