//! Distributed locks and elections (issue #6): `etcdctl lock` / `etcdctl elect` and the
//! server's `v3lockpb.Lock` / `v3electionpb.Election` services, which share one recipe
//! (`crates/concurrency`). Each behaviour runs with the real etcdctl 3.4 against our
//! server and with our etcdctl against real etcd 3.4.23 (and ours), and the outputs are
//! compared; the gRPC services are compared response by response with real etcd's.

#[path = "election_lock/auth.rs"]
mod auth;
#[path = "election_lock/grpc.rs"]
mod grpc;
#[path = "election_lock/procs.rs"]
mod procs;

use std::path::Path;
use std::time::Duration;

use integration_tests::{our_bin, Server, REAL_ETCDCTL};
use procs::{normalize_leases, wait_until, Proc};

/// Concurrent holders of one lock per run.
const HOLDERS: usize = 3;

/// The critical section: logs its start and end (nanosecond clock) to the shared file, with
/// the lock key the holder got, and sleeps in between.
const SECTION: &str = r#"echo "start $(date +%s%N) $ID $ETCD_LOCK_KEY $ETCD_LOCK_REV" >> "$LOG"; sleep 0.3; echo "end $(date +%s%N) $ID" >> "$LOG""#;

/// Runs HOLDERS `etcdctl lock mylock -- sh -c SECTION` at once and checks that the critical
/// sections never overlapped and all ran.
fn lock_exclusion(etcdctl: &Path, server: &Server) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("sections.log");
    let mut holders: Vec<Proc> = (0..HOLDERS)
        .map(|i| {
            let script = SECTION
                .replace("$ID", &format!("h{i}"))
                .replace("$LOG", &log.display().to_string());
            Proc::start(
                etcdctl,
                &server.endpoint(),
                &["lock", "mylock", "--", "sh", "-c", &script],
                dir.path(),
                &format!("h{i}"),
            )
        })
        .collect();
    for (i, h) in holders.iter_mut().enumerate() {
        let status = h.wait(Duration::from_secs(30));
        assert!(
            status.is_some_and(|s| s.success()),
            "holder {i}: {status:?}, stderr: {}",
            h.stderr()
        );
    }
    let text = std::fs::read_to_string(&log).expect("sections log");
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(' ').collect()).collect();
    assert_eq!(lines.len(), 2 * HOLDERS, "every holder ran once:\n{text}");
    let mut holders_seen = Vec::new();
    let mut last_end: u128 = 0;
    for pair in lines.chunks(2) {
        let (start, end) = (&pair[0], &pair[1]);
        assert_eq!((start[0], end[0]), ("start", "end"), "overlap:\n{text}");
        assert_eq!(start[2], end[2], "sections interleaved:\n{text}");
        let (t0, t1): (u128, u128) = (start[1].parse().unwrap(), end[1].parse().unwrap());
        assert!(t0 >= last_end && t1 >= t0, "overlapping times:\n{text}");
        last_end = t1;
        assert!(
            start[3].starts_with("mylock/"),
            "ETCD_LOCK_KEY: {}",
            start[3]
        );
        assert!(
            start[4].parse::<i64>().unwrap() > 0,
            "ETCD_LOCK_REV: {}",
            start[4]
        );
        holders_seen.push(start[2].to_string());
    }
    holders_seen.sort();
    holders_seen.dedup();
    assert_eq!(holders_seen.len(), HOLDERS, "{text}");
}

#[test]
fn lock_real_etcdctl_against_ours() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::ours(&dir.path().join("data"));
    lock_exclusion(Path::new(REAL_ETCDCTL), &server);
}

#[test]
fn lock_our_etcdctl_against_ours_and_real() {
    let dir = tempfile::tempdir().unwrap();
    let ours = Server::ours(&dir.path().join("ours"));
    lock_exclusion(&our_bin("etcdctl"), &ours);
    let real = Server::real(&dir.path().join("real"));
    lock_exclusion(&our_bin("etcdctl"), &real);
}

/// `etcdctl lock` without a command: prints the key, holds the lock until SIGINT, then
/// unlocks; a second waiter interrupted while waiting fails with `context canceled`.
/// Answers the normalized transcript.
fn lock_until_signal(etcdctl: &Path, server: &Server) -> String {
    let dir = tempfile::tempdir().unwrap();
    let ep = server.endpoint();
    let mut first = Proc::start(etcdctl, &ep, &["lock", "held"], dir.path(), "first");
    assert!(
        first.wait_stdout("held/", Duration::from_secs(15)),
        "{}",
        first.stderr()
    );
    let mut second = Proc::start(etcdctl, &ep, &["lock", "held"], dir.path(), "second");
    std::thread::sleep(Duration::from_millis(500));
    second.signal(libc::SIGINT);
    let second_status = second.wait(Duration::from_secs(10)).expect("second exits");
    let mut third = Proc::start(etcdctl, &ep, &["lock", "held"], dir.path(), "third");
    std::thread::sleep(Duration::from_millis(500));
    assert!(third.stdout().is_empty(), "third holds the lock too early");
    first.signal(libc::SIGTERM);
    let first_status = first.wait(Duration::from_secs(10)).expect("first exits");
    assert!(
        third.wait_stdout("held/", Duration::from_secs(15)),
        "{}",
        third.stderr()
    );
    third.signal(libc::SIGINT);
    let third_status = third.wait(Duration::from_secs(10)).expect("third exits");
    let keys = integration_tests::etcdctl(
        REAL_ETCDCTL,
        &ep,
        &["get", "--prefix", "held/", "--keys-only"],
        None,
    );
    normalize_leases(
        &format!(
            "first {:?}\n{}{}second {:?}\n{}{}third {:?}\n{}{}left: [{}]",
            first_status.code(),
            first.stdout(),
            first.stderr(),
            second_status.code(),
            second.stdout(),
            second.stderr(),
            third_status.code(),
            third.stdout(),
            third.stderr(),
            integration_tests::stdout(&keys).trim(),
        ),
        &["held"],
    )
}

#[test]
fn lock_hold_until_signal_same_as_etcd() {
    let dir = tempfile::tempdir().unwrap();
    let real = Server::real(&dir.path().join("real"));
    let ours = Server::ours(&dir.path().join("ours"));
    let reference = lock_until_signal(Path::new(REAL_ETCDCTL), &real);
    assert_eq!(
        reference,
        "first Some(0)\nheld/<lease 0>\n\nsecond Some(1)\nError: context canceled\n\
         third Some(0)\nheld/<lease 1>\n\nleft: []\n"
    );
    assert_eq!(lock_until_signal(Path::new(REAL_ETCDCTL), &ours), reference);
    assert_eq!(lock_until_signal(&our_bin("etcdctl"), &real), reference);
    assert_eq!(lock_until_signal(&our_bin("etcdctl"), &ours), reference);
}

/// Exec form failures: the command's exit status and a missing command, as etcdctl reports
/// them (exit 1 with Go's error text).
#[test]
fn lock_exec_errors_same_as_etcd() {
    let dir = tempfile::tempdir().unwrap();
    let real = Server::real(&dir.path().join("real"));
    let ours = Server::ours(&dir.path().join("ours"));
    let cases: &[&[&str]] = &[
        &[
            "lock",
            "x",
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
        &["lock", "x", "--", "sh", "-c", "kill -9 $$"],
        &["lock", "x", "no-such-command-here"],
        &["lock", "x", "sh", "-c", "true"],
        &["lock"],
        &["elect"],
        &["elect", "e"],
        &["elect", "-l", "e", "p"],
    ];
    for args in cases {
        let want = integration_tests::etcdctl(REAL_ETCDCTL, &real.endpoint(), args, None);
        for (bin, server) in [
            (Path::new(REAL_ETCDCTL).to_path_buf(), &ours),
            (our_bin("etcdctl"), &real),
            (our_bin("etcdctl"), &ours),
        ] {
            let got = integration_tests::etcdctl(&bin, &server.endpoint(), args, None);
            assert_eq!(
                (got.status.code(), got.stdout.clone(), got.stderr.clone()),
                (want.status.code(), want.stdout.clone(), want.stderr.clone()),
                "{args:?} with {} against {}",
                bin.display(),
                server.bin.display()
            );
        }
    }
}

/// The election handover an observer sees: the first leader resigns on SIGINT, the second
/// is killed with SIGKILL and its session lease (60 s) runs out, the third takes over.
/// Answers the observer's normalized output.
fn election_handover(etcdctl: &Path, server: &Server) -> String {
    let dir = tempfile::tempdir().unwrap();
    let ep = server.endpoint();
    let start = |args: &[&str], tag: &str| Proc::start(etcdctl, &ep, args, dir.path(), tag);
    let mut observer = start(&["elect", "-l", "el"], "observer");
    std::thread::sleep(Duration::from_millis(300));
    let mut c1 = start(&["elect", "el", "p1"], "c1");
    assert!(
        c1.wait_stdout("p1", Duration::from_secs(15)),
        "{}",
        c1.stderr()
    );
    let c2 = start(&["elect", "el", "p2"], "c2");
    std::thread::sleep(Duration::from_millis(500));
    assert!(c2.stdout().is_empty(), "two leaders");
    c1.signal(libc::SIGINT);
    assert_eq!(
        c1.wait(Duration::from_secs(10)).and_then(|s| s.code()),
        Some(0)
    );
    assert!(
        c2.wait_stdout("p2", Duration::from_secs(15)),
        "{}",
        c2.stderr()
    );
    let mut c3 = start(&["elect", "el", "p3"], "c3");
    std::thread::sleep(Duration::from_millis(500));
    c2.signal(libc::SIGKILL);
    // The lease of c2's session (60 s) has to expire first.
    assert!(
        c3.wait_stdout("p3", Duration::from_secs(90)),
        "c3: {}",
        c3.stderr()
    );
    assert!(wait_until(Duration::from_secs(10), || observer
        .stdout()
        .contains("p3")));
    c3.signal(libc::SIGINT);
    assert_eq!(
        c3.wait(Duration::from_secs(10)).and_then(|s| s.code()),
        Some(0)
    );
    observer.signal(libc::SIGINT);
    let status = observer
        .wait(Duration::from_secs(10))
        .expect("observer exits");
    assert_eq!(status.code(), Some(0), "{}", observer.stderr());
    assert_eq!(observer.stderr(), "");
    normalize_leases(&observer.stdout(), &["el"])
}

const HANDOVER: &str = "el/<lease 0>\np1\nel/<lease 1>\np2\nel/<lease 2>\np3\n";

#[test]
fn election_handover_real_etcdctl_against_ours() {
    let dir = tempfile::tempdir().unwrap();
    let ours = Server::ours(&dir.path().join("ours"));
    assert_eq!(election_handover(Path::new(REAL_ETCDCTL), &ours), HANDOVER);
}

#[test]
fn election_handover_our_etcdctl_against_real() {
    let dir = tempfile::tempdir().unwrap();
    let real = Server::real(&dir.path().join("real"));
    assert_eq!(election_handover(&our_bin("etcdctl"), &real), HANDOVER);
}
