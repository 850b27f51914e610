//! Client keepalive pings against real etcd: a long `watch` must survive idle periods.
//!
//! etcd's gRPC server (`--grpc-keepalive-min-time`, 5 s by default) answers pings that come
//! more often than that, while no data flows, with GOAWAY `ENHANCE_YOUR_CALM` and drops the
//! connection. Go's gRPC client never pings more often than every 10 s whatever
//! `--keepalive-time` says (etcdctl's default is 2 s), so the real etcdctl's watch stays
//! up; ours must too. Both etcdctls watch the same key through bursts of writes separated
//! by idle periods longer than etcd's tolerance; every event must arrive, neither may
//! exit, and their outputs must be byte-identical.

mod support;

use std::time::Duration;

use support::ctl::{ours, run, Background, Outcome, REAL};
use support::server::EtcdServer;

/// Writes per burst, one a second.
const BURST: usize = 3;
/// Quiet time between bursts: etcd tolerates two too-early pings, so at 2 s a ping the
/// connection would be dropped after about 6 s without data.
const IDLE: Duration = Duration::from_secs(12);
/// How long to wait for the last event to show up.
const WAIT: Duration = Duration::from_secs(15);

/// `etcdctl put KEY VALUE` with the real etcdctl.
fn put(ep: &str, key: &str, value: &str) {
    let args = [
        format!("--endpoints={ep}"),
        "put".into(),
        key.into(),
        value.into(),
    ];
    let out = run(REAL, &args, &[], b"");
    assert_eq!(
        out.code,
        Some(0),
        "put: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The simple-format output of a watch on `k` seeing `values` in order.
fn expected(values: &[String]) -> String {
    values.iter().map(|v| format!("PUT\nk\n{v}\n")).collect()
}

/// Shows a watcher's outcome for assertion messages.
fn show(what: &str, o: &Outcome) -> String {
    format!(
        "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.code,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn watch_survives_idle_periods() {
    let server = EtcdServer::start();
    let ep = &server.endpoint;
    let args = ["--endpoints={EP}", "watch", "k"];
    let real = Background::start(REAL, &args, ep);
    let ours_bg = Background::start(ours(), &args, ep);
    std::thread::sleep(Duration::from_secs(1));

    let mut values = Vec::new();
    for round in 0..3 {
        if round > 0 {
            std::thread::sleep(IDLE);
        }
        for i in 0..BURST {
            let v = format!("v{round}.{i}");
            put(ep, "k", &v);
            values.push(v);
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    let want = expected(&values);
    for bg in [&real, &ours_bg] {
        bg.wait_for(WAIT, |o| o.len() >= want.len());
    }
    let (real, got) = (real.finish(Duration::ZERO), ours_bg.finish(Duration::ZERO));
    // Killed by `finish`, not exited on its own.
    assert_eq!(real.code, None, "{}", show("real etcdctl", &real));
    assert_eq!(got.code, None, "{}", show("our etcdctl", &got));
    assert_eq!(String::from_utf8_lossy(&real.stdout), want, "real etcdctl");
    assert_eq!(String::from_utf8_lossy(&got.stdout), want, "our etcdctl");
    assert_eq!(got.stderr, real.stderr, "{}", show("our etcdctl", &got));
}
