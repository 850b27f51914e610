//! Our etcdctl's `make-mirror`, `check perf`, `check datascale` and `endpoint hashkv`
//! against our server and real etcd 3.4.23, side by side with the real etcdctl:
//!
//! - make-mirror ours→ours, ours→real and real→ours (with `--prefix`/`--dest-prefix`,
//!   `--no-dest-prefix`, the prefix kept, and the whole key space): the keys present at
//!   the start are copied, later puts, deletes and txns follow, and the count of synced
//!   keys printed after 30 s is the number of keys and events mirrored;
//! - check perf --load s (three 60 s runs: ours against our server and real etcd, the
//!   real etcdctl against our server): all pass, with the real etcdctl's output shape;
//! - check datascale --load s: the same output shape as the real etcdctl's;
//! - endpoint hashkv: the same output as the real etcdctl's, and one hash across the
//!   members of a 3-member cluster of ours.
//!
//! The tests of this file run one at a time: the perf check measures the machine.

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use integration_tests::cluster::Cluster;
use integration_tests::{etcdctl, our_bin, stderr, stdout, Server, REAL_ETCDCTL};
use regex::Regex;

/// One test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the real etcdctl against `ep` (30 s limit) and returns stdout; panics on failure.
fn ctl_ok(ep: &str, args: &[&str], stdin: Option<&str>) -> String {
    let out = etcdctl(REAL_ETCDCTL, ep, args, stdin);
    assert!(
        out.status.success(),
        "etcdctl {args:?} against {ep} failed: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// Runs `bin --endpoints=<ep> <args>`, killed after `limit`.
fn run_for(bin: &str, ep: &str, args: &[&str], limit: Duration) -> Output {
    Command::new("timeout")
        .args(["-s", "KILL", &limit.as_secs().to_string(), bin])
        .arg(format!("--endpoints={ep}"))
        .args(args)
        .env("ETCDCTL_API", "3")
        .stdin(Stdio::null())
        .output()
        .expect("run etcdctl")
}

/// Polls `done` every 100 ms for at most `limit`; false if it never held.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// A running `make-mirror` of our etcdctl; killed (by PID) on drop.
struct Mirror {
    child: Child,
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
}

fn collect(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let sink = buf.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(&chunk[..n]);
        }
    });
    buf
}

impl Mirror {
    fn start(src: &str, dst: &str, flags: &[&str]) -> Mirror {
        let mut child = Command::new(our_bin("etcdctl"))
            .arg(format!("--endpoints={src}"))
            .arg("make-mirror")
            .args(flags)
            .arg(dst)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start make-mirror");
        let out = collect(child.stdout.take().expect("stdout"));
        let err = collect(child.stderr.take().expect("stderr"));
        Mirror { child, out, err }
    }

    fn text(buf: &Arc<Mutex<Vec<u8>>>) -> String {
        String::from_utf8_lossy(&buf.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }

    /// Panics (with its output) if it has exited.
    fn assert_running(&mut self) {
        if let Ok(Some(st)) = self.child.try_wait() {
            panic!(
                "make-mirror exited ({st}): {}{}",
                Self::text(&self.out),
                Self::text(&self.err)
            );
        }
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `get --prefix` output of `src_prefix` on `src` with the keys renamed as make-mirror
/// renames them (first occurrence of `src_prefix` replaced by `dst_prefix`).
fn renamed_source(src: &str, src_prefix: &str, dst_prefix: &str) -> String {
    let out = ctl_ok(src, &["get", "--prefix", src_prefix], None);
    out.lines()
        .enumerate()
        .map(|(i, l)| {
            if i % 2 == 0 {
                l.replacen(src_prefix, dst_prefix, 1)
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect()
}

/// One mirroring scenario: keys before the mirror starts, then puts, a delete and a txn
/// after; the destination's `get --prefix` must follow the source's. Returns the number
/// of keys and events mirrored.
fn mirror_scenario(
    src: &str,
    dst: &str,
    flags: &[&str],
    p: &str,
    dst_prefix: &str,
) -> (Mirror, usize) {
    for (k, v) in [("a", "1"), ("b", "2"), ("sub/c", "3")] {
        ctl_ok(src, &["put", &format!("{p}{k}"), v], None);
    }
    if !p.is_empty() {
        ctl_ok(src, &["put", "outside/x", "not mirrored"], None);
    }
    let base = ctl_ok(src, &["get", "--prefix", p, "--keys-only"], None)
        .lines()
        .filter(|l| !l.is_empty())
        .count();
    let mut mirror = Mirror::start(src, dst, flags);
    let in_sync = || {
        ctl_ok(dst, &["get", "--prefix", dst_prefix], None) == renamed_source(src, p, dst_prefix)
    };
    assert!(
        wait_until(Duration::from_secs(20), in_sync),
        "existing keys not mirrored: {}{}",
        Mirror::text(&mirror.out),
        Mirror::text(&mirror.err)
    );
    mirror.assert_running();
    ctl_ok(src, &["put", &format!("{p}d"), "4"], None);
    ctl_ok(src, &["del", &format!("{p}a")], None);
    ctl_ok(src, &["put", &format!("{p}b"), "22"], None);
    let txn = format!("\nput {p}t1 x\nput {p}t2 y\n\n\n");
    ctl_ok(src, &["txn"], Some(&txn));
    assert!(
        wait_until(Duration::from_secs(20), in_sync),
        "updates not mirrored: dst {:?} src {:?}; {}",
        ctl_ok(dst, &["get", "--prefix", dst_prefix], None),
        renamed_source(src, p, dst_prefix),
        Mirror::text(&mirror.err)
    );
    if !p.is_empty() {
        let dst_all = ctl_ok(dst, &["get", "--prefix", "", "--keys-only"], None);
        assert!(!dst_all.contains("outside/x"), "{dst_all}");
    }
    mirror.assert_running();
    (mirror, base + 5)
}

#[test]
fn make_mirror_between_our_server_and_real_etcd() {
    let _serial = serial();
    let tmp = tempfile::tempdir().expect("tempdir");
    let ours_a = Server::ours(&tmp.path().join("a"));
    let ours_b = Server::ours(&tmp.path().join("b"));
    let real_a = Server::real(&tmp.path().join("ra"));
    let real_b = Server::real(&tmp.path().join("rb"));

    // ours → real, to the root of the destination.
    let flags = ["--prefix", "/np/", "--no-dest-prefix"];
    let (m, _) = mirror_scenario(&ours_a.endpoint(), &real_a.endpoint(), &flags, "/np/", "");
    drop(m);
    // real → ours, the prefix kept.
    let (m, _) = mirror_scenario(
        &real_b.endpoint(),
        &ours_b.endpoint(),
        &["--prefix", "/kp/"],
        "/kp/",
        "/kp/",
    );
    drop(m);
    // ours → ours, the whole key space (the destination gets the source's keys as they are).
    let tmp2 = tempfile::tempdir().expect("tempdir");
    let mut src = Server::ours(&tmp2.path().join("s"));
    let dst = Server::ours(&tmp2.path().join("d"));
    let (mut m, _) = mirror_scenario(&src.endpoint(), &dst.endpoint(), &[], "", "");
    // The source restarts: the watch resumes after the last revision it saw.
    src.kill9();
    src.spawn();
    ctl_ok(&src.endpoint(), &["put", "after-restart", "r"], None);
    let resumed = wait_until(Duration::from_secs(20), || {
        ctl_ok(
            &dst.endpoint(),
            &["get", "after-restart", "--print-value-only"],
            None,
        ) == "r\n"
    });
    m.assert_running();
    assert!(resumed, "not mirrored after a restart of the source");
    drop(m);

    // ours → ours into another prefix; after 30 s the count of synced keys is printed.
    let flags = ["--prefix", "/src/", "--dest-prefix", "/dst/"];
    let (mut m, count) = mirror_scenario(
        &ours_a.endpoint(),
        &ours_b.endpoint(),
        &flags,
        "/src/",
        "/dst/",
    );
    let printed = wait_until(Duration::from_secs(45), || {
        Mirror::text(&m.out).contains('\n')
    });
    m.assert_running();
    assert!(printed, "no count after 45 s: {}", Mirror::text(&m.err));
    assert_eq!(
        Mirror::text(&m.out).lines().next(),
        Some(count.to_string().as_str())
    );
}

#[test]
fn make_mirror_argument_errors_like_real_etcdctl() {
    let _serial = serial();
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = Server::ours(&tmp.path().join("a"));
    let ep = s.endpoint();
    let ours = our_bin("etcdctl");
    let ours = ours.to_str().expect("path");
    for args in [
        &["make-mirror"][..],
        &["make-mirror", "a", "b"],
        &["make-mirror", "--dest-prefix", "x", "--no-dest-prefix", &ep],
        &["make-mirror", "--dest-cert", "/nonexistent", &ep],
        &["make-mirror", "--dest-cacert", "/nonexistent", &ep],
    ] {
        let want = run_for(REAL_ETCDCTL, &ep, args, Duration::from_secs(20));
        let got = run_for(ours, &ep, args, Duration::from_secs(20));
        assert_eq!(stdout(&got), stdout(&want), "{args:?}");
        assert_eq!(stderr(&got), stderr(&want), "{args:?}");
        assert_eq!(got.status.code(), want.status.code(), "{args:?}");
        assert_eq!(got.status.code(), Some(128), "{args:?}");
    }
}

/// The progress bar's drawings (`\r` + counters...) removed and every number masked: what
/// must be the same between two runs of a check.
fn shape(out: &[u8]) -> String {
    let text = String::from_utf8_lossy(out);
    let bars = Regex::new(r"\r[^\r\n]*").expect("regex");
    let numbers = Regex::new(r"-?\d+(\.\d+)?").expect("regex");
    numbers
        .replace_all(&bars.replace_all(&text, ""), "N")
        .into_owned()
}

/// The progress bar's drawings, as pb prints them without a terminal.
fn assert_bar_drawings(out: &[u8], total: u64) {
    let text = String::from_utf8_lossy(out);
    let drawing = Regex::new(&format!(
        r"^ \d+ / {total} +\d+\.\d\d%( \d\dm\d\ds| (\d+m)?\d+s)?$"
    ))
    .expect("regex");
    let drawings: Vec<&str> = text
        .split('\r')
        .skip(1)
        .map(|d| d.split('\n').next().unwrap_or(""))
        .collect();
    assert!(drawings.len() > 2, "no progress bar: {text:?}");
    for d in &drawings {
        assert!(drawing.is_match(d), "bad drawing {d:?} in {text:?}");
    }
    assert!(drawings[0].starts_with(" 0 / "), "{text:?}");
    let last = drawings.last().copied().unwrap_or_default();
    assert!(
        last.starts_with(&format!(" {total} / {total}  100.00% ")),
        "{text:?}"
    );
}

/// `check perf`'s verdict lines with the latency verdicts normalized: whether the slowest
/// request and the stddev pass depends on the machine's load, not on the tool (a timing
/// target is not a test's business), so only their presence and shape are compared.
fn perf_shape(out: &[u8]) -> String {
    let rules = [
        (
            r"(?m)^(PASS: Slowest request took|Slowest request took too long:) ",
            "SLOWEST ",
        ),
        (r"(?m)^(PASS: Stddev is|Stddev too high:) ", "STDDEV "),
        (r"(?m)^(PASS|FAIL)$", "VERDICT"),
    ];
    rules.iter().fold(shape(out), |t, (re, rep)| {
        Regex::new(re)
            .expect("regex")
            .replace_all(&t, *rep)
            .into_owned()
    })
}

#[test]
fn check_perf_small_load_like_real_etcdctl() {
    let _serial = serial();
    let tmp = tempfile::tempdir().expect("tempdir");
    let ours = Server::ours(&tmp.path().join("ours"));
    let real = Server::real(&tmp.path().join("real"));
    let our_ctl = our_bin("etcdctl");
    let our_ctl = our_ctl.to_str().expect("path");
    let limit = Duration::from_secs(150);
    let args = ["check", "perf", "--load", "s"];
    let runs = [
        ("real etcdctl, our server", REAL_ETCDCTL, ours.endpoint()),
        ("our etcdctl, real etcd", our_ctl, real.endpoint()),
    ];
    let mut reference: Option<String> = None;
    for (what, bin, ep) in runs {
        let out = run_for(bin, &ep, &args, limit);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // The load itself (150 writes/s) is met; the exit code follows the verdict.
        assert!(
            text.contains("\nPASS: Throughput is "),
            "{what}: {text:?} {}",
            stderr(&out)
        );
        let passed = text.ends_with("\nPASS\n");
        assert!(passed || text.ends_with("\nFAIL\n"), "{what}: {text:?}");
        assert_eq!(
            out.status.code(),
            Some(if passed { 0 } else { 1 }),
            "{what}: {text:?}"
        );
        assert_bar_drawings(&out.stdout, 60);
        let keys = ctl_ok(
            &ep,
            &["get", "--prefix", "/etcdctl-check-perf/", "--keys-only"],
            None,
        );
        assert!(keys.is_empty(), "{what}: keys left behind");
        let s = perf_shape(&out.stdout);
        match &reference {
            None => reference = Some(s),
            Some(r) => assert_eq!(
                &s, r,
                "{what}: output shape differs from the real etcdctl's"
            ),
        }
    }
}

#[test]
fn check_datascale_output_like_real_etcdctl() {
    let _serial = serial();
    let tmp = tempfile::tempdir().expect("tempdir");
    let ours = Server::ours(&tmp.path().join("ours"));
    let real = Server::real(&tmp.path().join("real"));
    let our_ctl = our_bin("etcdctl");
    let our_ctl = our_ctl.to_str().expect("path");
    let limit = Duration::from_secs(120);
    let args = ["check", "datascale", "--load", "s"];
    // Against real etcd: the same output shape, and a pass.
    let want = run_for(REAL_ETCDCTL, &real.endpoint(), &args, limit);
    let got = run_for(our_ctl, &real.endpoint(), &args, limit);
    assert_eq!(want.status.code(), Some(0), "{}", stdout(&want));
    assert_eq!(
        got.status.code(),
        Some(0),
        "{}{}",
        stdout(&got),
        stderr(&got)
    );
    assert_eq!(shape(&got.stdout), shape(&want.stdout));
    assert_bar_drawings(&got.stdout, 10000);
    assert_eq!(stderr(&got), stderr(&want));
    // Against our server: whatever its /metrics offers, the same as the real etcdctl.
    let want = run_for(REAL_ETCDCTL, &ours.endpoint(), &args, limit);
    let got = run_for(our_ctl, &ours.endpoint(), &args, limit);
    assert_eq!(shape(&got.stdout), shape(&want.stdout));
    assert_eq!(got.status.code(), want.status.code(), "{}", stdout(&want));
    // Bad workload names and a prefix in use fail the same way.
    ctl_ok(
        &ours.endpoint(),
        &["put", "/etcdctl-check-datascale/x", "1"],
        None,
    );
    for args in [
        &["check", "datascale", "--load", "huge"][..],
        &["check", "perf", "--load", "xs"],
        &["check", "datascale"],
        &["check", "perf", "--prefix", "/etcdctl-check-datascale/"],
    ] {
        let want = run_for(REAL_ETCDCTL, &ours.endpoint(), args, limit);
        let got = run_for(our_ctl, &ours.endpoint(), args, limit);
        assert_eq!(stdout(&got), stdout(&want), "{args:?}");
        assert_eq!(stderr(&got), stderr(&want), "{args:?}");
        assert_eq!(got.status.code(), want.status.code(), "{args:?}");
    }
}

#[test]
fn endpoint_hashkv_like_real_etcdctl() {
    let _serial = serial();
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = Server::ours(&tmp.path().join("ours"));
    let ep = s.endpoint();
    for i in 0..20 {
        ctl_ok(
            &ep,
            &["put", &format!("k{}", i % 7), &format!("v{i}")],
            None,
        );
    }
    ctl_ok(&ep, &["del", "k3"], None);
    ctl_ok(&ep, &["compaction", "10"], None);
    let ours = our_bin("etcdctl");
    let ours = ours.to_str().expect("path");
    let ts = Regex::new(r#""ts":"[^"]*""#).expect("regex");
    for f in ["simple", "json", "fields", "table", "protobuf"] {
        for extra in [&[][..], &["--rev", "15"], &["--cluster"], &["--rev", "5"]] {
            let mut args = vec!["-w", f, "endpoint", "hashkv"];
            args.extend_from_slice(extra);
            let want = run_for(REAL_ETCDCTL, &ep, &args, Duration::from_secs(20));
            let got = run_for(ours, &ep, &args, Duration::from_secs(20));
            let (ge, we) = (stderr(&got), stderr(&want));
            assert_eq!(ts.replace_all(&ge, ""), ts.replace_all(&we, ""), "{args:?}");
            assert_eq!(stdout(&got), stdout(&want), "{args:?}");
            assert_eq!(got.status.code(), want.status.code(), "{args:?}");
        }
    }
}

#[test]
fn endpoint_hashkv_agrees_across_three_members() {
    let _serial = serial();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut c = rt.block_on(Cluster::start(3));
    let eps = c.endpoints();
    for i in 0..30 {
        ctl_ok(
            &eps[i % 3],
            &["put", &format!("k{}", i % 11), &format!("v{i}")],
            None,
        );
    }
    let all = eps.join(",");
    let ours = our_bin("etcdctl");
    let ours = ours.to_str().expect("path");
    let same = wait_until(Duration::from_secs(20), || {
        let out = run_for(ours, &all, &["endpoint", "hashkv"], Duration::from_secs(20));
        let text = stdout(&out);
        let hashes: Vec<&str> = text.lines().filter_map(|l| l.split(", ").nth(1)).collect();
        hashes.len() == 3 && hashes.iter().all(|h| *h == hashes[0])
    });
    assert!(same, "members' hashes differ");
    for args in [
        &["endpoint", "hashkv"][..],
        &["endpoint", "hashkv", "--cluster"],
    ] {
        let want = run_for(REAL_ETCDCTL, &eps[0], args, Duration::from_secs(20));
        let got = run_for(ours, &eps[0], args, Duration::from_secs(20));
        assert_eq!(stdout(&got), stdout(&want), "{args:?}");
        assert_eq!(got.status.code(), Some(0), "{args:?}: {}", stderr(&got));
    }
}
