//! `snapshot save`, `snapshot status` and `snapshot verify` against a real etcd 3.4.23
//! (or `$ETCD_TEST_SERVER_BIN`), compared with the real etcdctl: `save` logs and prints the
//! same (timestamps and durations masked) and fetches the same database, `status` prints
//! byte for byte the same in every format and for damaged files, failures of `save`
//! (arguments, endpoints, missing directories, no server, a stream cut or a server killed
//! midway) exit as etcdctl does and leave no file behind. `verify` is ours: it accepts
//! good files and names what is wrong with damaged ones. One test runs `save` against our
//! own server.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use support::ctl::{ours, run, Background, Case, Outcome, REAL};
use support::server::{free_port, EtcdServer};

/// `snapshot save <target>` with the global flags `extra`, masking what differs between
/// two runs: the production logger's epoch timestamps and the download's duration.
fn save_case(target: &Path, extra: &[&str]) -> Case {
    let mut args = extra.to_vec();
    args.extend(["snapshot", "save", path_str(target)]);
    Case::new(&args)
        .mask(r#""ts":[0-9.]+"#, r#""ts":<TS>"#)
        .mask(r#""took":[0-9.e-]+"#, r#""took":<DUR>"#)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn part_of(target: &Path) -> PathBuf {
    PathBuf::from(format!("{}.part", target.display()))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs etcdctl `args` against `ep`; panics unless it succeeds. Returns stdout.
fn must(bin: &str, ep: &str, args: &[&str]) -> String {
    let out = Case::new(args).run_on(bin, ep);
    assert_eq!(out.code, Some(0), "etcdctl {args:?} failed: {out:?}");
    text(&out.stdout)
}

/// Keys, overwrites, a deletion, a lease with a key, a compaction, more keys after it.
fn seed(ep: &str) {
    for i in 0..12 {
        must(
            REAL,
            ep,
            &["put", &format!("key{i:02}"), &format!("value{i:02}")],
        );
    }
    must(REAL, ep, &["put", "key00", "overwritten"]);
    must(REAL, ep, &["del", "key01"]);
    let grant = must(REAL, ep, &["lease", "grant", "600"]);
    let id = grant.split_whitespace().nth(1).expect("lease id");
    must(
        REAL,
        ep,
        &["put", "leased", "value-with-lease", "--lease", id],
    );
    must(REAL, ep, &["compaction", "8"]);
    must(REAL, ep, &["put", "after-compaction", "v"]);
}

/// Puts `n` values of 1 MB (`big00`, ...), for a database that takes a while to stream.
fn seed_big(ep: &str, n: usize) {
    let value: String = (0..1_000_000)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    for i in 0..n {
        let out = Case::new(&["put", &format!("big{i:02}")])
            .stdin(&value)
            .run_on(REAL, ep);
        assert_eq!(out.code, Some(0), "{out:?}");
    }
}

/// Saves a snapshot of `ep` to `target` with `bin`; panics unless it succeeds.
fn saved(bin: &str, ep: &str, target: &Path) -> PathBuf {
    let out = save_case(target, &[]).run_on(bin, ep);
    assert_eq!(out.code, Some(0), "snapshot save failed: {out:?}");
    assert!(target.exists() && !part_of(target).exists());
    target.to_path_buf()
}

/// `etcdctl snapshot status -w json <file>` with the real etcdctl.
fn real_status_json(file: &Path) -> String {
    let out = run(
        REAL,
        &args(&["snapshot", "status", "-w", "json", path_str(file)]),
        &[],
        b"",
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    text(&out.stdout)
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// A number field of a `snapshot status -w json` line.
fn json_field(json: &str, name: &str) -> u64 {
    let re = regex::Regex::new(&format!(r#""{name}":(\d+)"#)).expect("regex");
    re.captures(json)
        .and_then(|c| c[1].parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {json}"))
}

/// Runs a save with the real etcdctl and then ours to the same `target` against `ep`,
/// asserts the same output, and moves the files aside: returns (real's, ours) when the
/// saves succeeded.
fn compare_save(case: &Case, ep: &str, target: &Path) -> Option<(PathBuf, PathBuf)> {
    let keep = |who: &str| {
        let to = target.with_extension(format!("{who}.db"));
        std::fs::rename(target, &to).ok().map(|_| to)
    };
    let want = case.run_on(REAL, ep);
    let real_file = keep("real");
    assert!(!part_of(target).exists(), "real etcdctl left a .part file");
    let got = case.run_on(ours(), ep);
    let ours_file = keep("ours");
    assert!(!part_of(target).exists(), "our etcdctl left a .part file");
    case.assert_same(&want, &got, ep, ep);
    assert_eq!(real_file.is_some(), ours_file.is_some());
    real_file.zip(ours_file)
}

#[test]
fn save_matches_real_etcdctl() {
    let s = EtcdServer::start();
    let ep = s.endpoint.clone();
    seed(&ep);
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("snap.db");
    let (real_db, ours_db) =
        compare_save(&save_case(&target, &[]), &ep, &target).expect("both saved");
    // Both fetched the server's database: same hash, revision, keys and size.
    let want = real_status_json(&real_db);
    assert_eq!(real_status_json(&ours_db), want);
    assert!(json_field(&want, "revision") >= 17, "{want}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&ours_db)
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The progress line is for terminals only.
    let out = save_case(&target, &[]).run_on(ours(), &ep);
    assert!(!text(&out.stderr).contains("Fetching snapshot"), "{out:?}");
    // An explicit --command-timeout long enough changes nothing.
    compare_save(
        &save_case(&target, &["--command-timeout=20s"]),
        &ep,
        &target,
    )
    .expect("saved within the timeout");
}

#[test]
fn status_matches_real_etcdctl_in_every_format() {
    let s = EtcdServer::start();
    let ep = s.endpoint.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    // A fresh member's database has no key yet: revision 0 is printed, not omitted.
    let fresh = saved(REAL, &ep, &dir.path().join("fresh.db"));
    seed(&ep);
    let full = saved(REAL, &ep, &dir.path().join("full.db"));
    // The database without its SHA-256 trailer, as copied from a data directory.
    let bytes = std::fs::read(&full).expect("read");
    let bare = dir.path().join("bare.db");
    std::fs::write(&bare, &bytes[..bytes.len() - 32]).expect("write");
    for file in [&fresh, &full, &bare] {
        let f = path_str(file);
        for w in ["simple", "table", "json", "fields", "protobuf", "bogus"] {
            Case::raw(&["snapshot", "status", f, "-w", w]).check_on("");
        }
        Case::raw(&["--hex", "snapshot", "status", f]).check_on("");
        // `snapshot status` reads no environment variable.
        Case::raw(&["snapshot", "status", f])
            .env("ETCDCTL_WRITE_OUT", "json")
            .check_on("");
    }
    let out = Case::raw(&["snapshot", "status", "-w", "json", path_str(&fresh)]).check_on("");
    assert!(text(&out.stdout).contains(r#""revision":0,"#), "{out:?}");
    Case::raw(&["snapshot", "status"]).check_on("");
    let f = path_str(&full);
    Case::raw(&["snapshot", "status", f, f]).check_on("");
    Case::raw(&["-w", "protobuf", "snapshot", "status", "missing.db"]).check_on("");
}

/// A copy of `file` named `name` in `dir`, changed by `edit`.
fn damaged(file: &Path, dir: &Path, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(file).expect("read");
    edit(&mut bytes);
    let to = dir.join(name);
    std::fs::write(&to, bytes).expect("write");
    to
}

/// Offset of the first occurrence of `needle`.
fn find(bytes: &[u8], needle: &[u8]) -> usize {
    bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle in file")
}

/// Damaged copies of a saved snapshot, each with the name of what was done to it.
fn damaged_copies(full: &Path, dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let flip_value = |b: &mut Vec<u8>| {
        let at = find(b, b"value07");
        b[at] ^= 0x20;
    };
    vec![
        (
            "truncated by 100 bytes",
            damaged(full, dir, "short.db", |b| b.truncate(b.len() - 100)),
        ),
        (
            "a value's byte flipped",
            damaged(full, dir, "flipped.db", flip_value),
        ),
        (
            "a trailer byte flipped",
            damaged(full, dir, "trailer.db", |b| {
                let at = b.len() - 5;
                b[at] ^= 1;
            }),
        ),
        (
            "cut to one page",
            damaged(full, dir, "page.db", |b| b.truncate(4096)),
        ),
        (
            "cut to 100 bytes",
            damaged(full, dir, "tiny.db", |b| b.truncate(100)),
        ),
        ("empty", damaged(full, dir, "empty.db", |b| b.clear())),
    ]
}

#[test]
fn status_of_damaged_files_matches_real_etcdctl() {
    let s = EtcdServer::start();
    let ep = s.endpoint.clone();
    seed(&ep);
    let dir = tempfile::tempdir().expect("tempdir");
    let full = saved(REAL, &ep, &dir.path().join("full.db"));
    for (what, file) in damaged_copies(&full, dir.path()) {
        let out = Case::raw(&["snapshot", "status", path_str(&file)]).check_on("");
        eprintln!("{what}: exit {:?}", out.code);
    }
    let missing = dir.path().join("missing.db");
    let out = Case::raw(&["snapshot", "status", path_str(&missing)]).check_on("");
    assert_eq!(out.code, Some(1));
    let out = Case::raw(&["snapshot", "status", path_str(dir.path())]).check_on("");
    assert_eq!(out.code, Some(1));
    // Pages in use cut off: bbolt reads its memory map past the file's end and the real
    // etcdctl dies of SIGBUS (exit 2); ours reports the damage.
    let cut = damaged(&full, dir.path(), "cut.db", |b| b.truncate(8192));
    let real = run(
        REAL,
        &args(&["snapshot", "status", path_str(&cut)]),
        &[],
        b"",
    );
    assert_eq!(real.code, Some(2), "{real:?}");
    let got = run(
        ours(),
        &args(&["snapshot", "status", path_str(&cut)]),
        &[],
        b"",
    );
    assert_eq!(got.code, Some(1), "{got:?}");
    assert!(
        text(&got.stderr).starts_with("Error: snapshot file integrity check failed."),
        "{got:?}"
    );
}

/// `snapshot verify <file>` with ours, plus `extra` flags.
fn verify(file: &Path, extra: &[&str]) -> Outcome {
    let mut a = args(&["snapshot", "verify", path_str(file)]);
    a.extend(args(extra));
    run(ours(), &a, &[], b"")
}

/// Asserts that verify refused `file` with exit 1, naming the file and saying `why`.
fn assert_refused(out: &Outcome, file: &Path, why: &str) {
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = text(&out.stderr);
    let want = format!("Error: snapshot {} is not valid: ", file.display());
    assert!(
        err.starts_with(&want) && err.contains(why),
        "{why:?} not in {err:?}"
    );
}

#[test]
fn verify_accepts_good_files_and_refuses_damaged_ones() {
    let s = EtcdServer::start();
    let ep = s.endpoint.clone();
    seed(&ep);
    let dir = tempfile::tempdir().expect("tempdir");
    let full = saved(ours(), &ep, &dir.path().join("full.db"));
    let json = real_status_json(&full);
    let (hash, rev) = (json_field(&json, "hash"), json_field(&json, "revision"));
    let (keys, size) = (
        json_field(&json, "totalKey"),
        json_field(&json, "totalSize"),
    );
    let good = format!(
        "Snapshot {} is valid: hash {hash:x}, revision {rev}, {keys} keys, {size} bytes\n",
        full.display()
    );
    let out = verify(&full, &[]);
    assert_eq!((out.code, text(&out.stdout)), (Some(0), good), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");

    let bytes = std::fs::read(&full).expect("read");
    let bare = dir.path().join("bare.db");
    std::fs::write(&bare, &bytes[..bytes.len() - 32]).expect("write");
    assert_refused(&verify(&bare, &[]), &bare, "no SHA-256 trailer");
    let out = verify(&bare, &["--skip-hash-check"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(text(&out.stdout).contains(&format!("hash {hash:x}, revision {rev}")));
    let short_bare = damaged(&bare, dir.path(), "short-bare.db", |b| {
        b.truncate(b.len() - 4096)
    });
    assert_refused(
        &verify(&short_bare, &["--skip-hash-check"]),
        &short_bare,
        "truncated",
    );

    for (what, file) in damaged_copies(&full, dir.path()) {
        let why = match what {
            "truncated by 100 bytes" => "no SHA-256 trailer",
            "a value's byte flipped" | "a trailer byte flipped" => {
                "does not match its SHA-256 trailer"
            }
            "cut to one page" => "no SHA-256 trailer",
            "cut to 100 bytes" => "too small for a bbolt database",
            "empty" => "the file is empty",
            other => panic!("unexpected case {other}"),
        };
        assert_refused(&verify(&file, &[]), &file, why);
    }
    // --skip-hash-check does not skip a trailer that is there.
    let flipped = dir.path().join("flipped.db");
    assert_refused(
        &verify(&flipped, &["--skip-hash-check"]),
        &flipped,
        "does not match its SHA-256 trailer",
    );
    let missing = dir.path().join("missing.db");
    assert_refused(
        &verify(&missing, &[]),
        &missing,
        "no such file or directory",
    );
    let out = run(ours(), &args(&["snapshot", "verify"]), &[], b"");
    assert_eq!(out.code, Some(128), "{out:?}");
}

#[test]
fn save_errors_match_real_etcdctl() {
    let s = EtcdServer::start();
    let ep = s.endpoint.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("x.db");
    let no_file = |t: &Path| assert!(!t.exists() && !part_of(t).exists(), "{t:?} left behind");
    let in_missing_dir = dir.path().join("missing").join("x.db");
    let out = save_case(&in_missing_dir, &[]).check_on(&ep);
    assert_eq!(out.code, Some(5), "{out:?}");
    no_file(&in_missing_dir);
    // The target is a directory: fetched, then the rename fails; the .part file goes.
    let out = save_case(dir.path(), &[]).check_on(&ep);
    assert_eq!(out.code, Some(5), "{out:?}");
    no_file(&part_of(dir.path()));
    let out = save_case(&target, &[]).check_on(&format!("{ep},{ep}"));
    assert_eq!(out.code, Some(5), "{out:?}");
    save_case(&target, &[]).check_on(&format!(" {ep}, http://{ep}"));
    no_file(&target);
    Case::new(&["snapshot", "save"]).check_on(&ep);
    Case::new(&["snapshot", "save", "a.db", "b.db"]).check_on(&ep);
    Case::new(&["-w", "bogus", "snapshot", "save", path_str(&target)]).check_on(&ep);
    no_file(&target);
    // Nothing listens: the stream waits for a connection until --command-timeout.
    let dead = format!("127.0.0.1:{}", free_port());
    let out = save_case(&target, &["--command-timeout=1s"]).check_on(&dead);
    assert_eq!(out.code, Some(5), "{out:?}");
    let out = save_case(&target, &[])
        .env("ETCDCTL_COMMAND_TIMEOUT", "1s")
        .check_on(&dead);
    assert_eq!(out.code, Some(5), "{out:?}");
    no_file(&target);
}

#[test]
fn save_with_auth_matches_real_etcdctl() {
    let s = EtcdServer::start();
    let ep = s.endpoint.clone();
    seed(&ep);
    for a in [
        &["user", "add", "root:rootpw"][..],
        &["user", "grant-role", "root", "root"],
        &["user", "add", "alice:alicepw"],
        &["auth", "enable"],
    ] {
        must(REAL, &ep, a);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("auth.db");
    let (real_db, ours_db) =
        compare_save(&save_case(&target, &["--user=root:rootpw"]), &ep, &target)
            .expect("root may save");
    assert_eq!(real_status_json(&real_db), real_status_json(&ours_db));
    for user in ["--user=alice:alicepw", "--user=root:wrong"] {
        let saved = compare_save(&save_case(&target, &[user]), &ep, &target);
        assert!(saved.is_none(), "{user} saved a snapshot");
    }
    // Without credentials.
    assert!(compare_save(&save_case(&target, &[]), &ep, &target).is_none());
}

/// A TCP proxy that passes everything from clients to the server, but only the first
/// `budget` bytes of each connection from the server back: then it closes both sides.
struct CutProxy {
    port: u16,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl CutProxy {
    fn start(server: &str, budget: usize) -> CutProxy {
        let port = free_port();
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let server = server.to_string();
        let accept = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        if let Ok(upstream) = TcpStream::connect(&server) {
                            forward(client, upstream, budget);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        CutProxy {
            port,
            stop,
            accept: Some(accept),
        }
    }

    fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// Copies `from` into `to` until `limit` bytes (or the end), then shuts both down.
fn pipe(mut from: TcpStream, mut to: TcpStream, limit: usize) {
    let _ = from.set_read_timeout(Some(Duration::from_secs(30)));
    let mut left = limit;
    let mut buf = [0u8; 16 * 1024];
    while left > 0 {
        let n = match from.read(&mut buf[..left.min(16 * 1024)]) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        left -= n;
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

fn forward(client: TcpStream, upstream: TcpStream, budget: usize) {
    let (c2, u2) = match (client.try_clone(), upstream.try_clone()) {
        (Ok(c), Ok(u)) => (c, u),
        _ => return,
    };
    std::thread::spawn(move || pipe(client, upstream, usize::MAX));
    std::thread::spawn(move || pipe(u2, c2, budget));
}

#[test]
fn a_cut_stream_leaves_no_file() {
    let s = EtcdServer::start();
    let ep = s.endpoint.clone();
    seed_big(&ep, 4);
    let proxy = CutProxy::start(&ep, 1 << 20);
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("cut.db");
    let case = save_case(&target, &["--command-timeout=20s"]);
    let want = case.run_on(REAL, &proxy.endpoint());
    assert_eq!(want.code, Some(5), "{want:?}");
    assert!(!target.exists() && !part_of(&target).exists());
    let got = case.run_on(ours(), &proxy.endpoint());
    assert_eq!(got.code, Some(5), "{got:?}");
    assert!(!target.exists() && !part_of(&target).exists());
    case.assert_same(&want, &got, &proxy.endpoint(), &proxy.endpoint());
}

#[test]
fn killing_the_server_midway_leaves_no_file() {
    let mut s = EtcdServer::start();
    let ep = s.endpoint.clone();
    seed_big(&ep, 24);
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("killed.db");
    let part = part_of(&target);
    let save = Background::start(
        ours(),
        &["--endpoints={EP}", "snapshot", "save", path_str(&target)],
        &ep,
    );
    let start = Instant::now();
    while std::fs::metadata(&part).map_or(0, |m| m.len()) < 256 * 1024 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "download did not start"
        );
        assert!(
            !target.exists(),
            "download finished before the server could be killed"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    s.kill();
    let out = save.finish(Duration::from_secs(20));
    assert_eq!(out.code, Some(5), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = text(&out.stderr);
    assert!(
        err.ends_with("Error: rpc error: code = Unavailable desc = transport is closing\n"),
        "{err}"
    );
    assert!(!target.exists() && !part.exists());
}

#[test]
fn progress_is_shown_on_a_terminal() {
    let script = Path::new("/usr/bin/script");
    if !script.exists() {
        eprintln!("skipped: no /usr/bin/script to run etcdctl on a pseudo-terminal");
        return;
    }
    let s = EtcdServer::start();
    let ep = s.endpoint.clone();
    seed_big(&ep, 2);
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("tty.db");
    let cmd = format!(
        "{} --endpoints={ep} snapshot save {}",
        ours(),
        target.display()
    );
    let out = run(
        path_str(script),
        &args(&["-qfec", &cmd, "/dev/null"]),
        &[],
        b"",
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let all = text(&out.stdout);
    assert!(all.contains("\r\x1b[2KFetching snapshot: "), "{all:?}");
    assert!(all.contains("MB received"), "{all:?}");
    assert!(all.contains("Snapshot saved at "), "{all:?}");
    // The line is erased before the next log line.
    assert!(all.contains("\r\x1b[2K{\"level\":\"info\""), "{all:?}");
    assert!(target.exists());
}

#[test]
fn snapshot_help_adds_only_verify() {
    for page in [&["snapshot", "--help"][..], &["--help"]] {
        let real = text(&run(REAL, &args(page), &[], b"").stdout);
        let got = text(&run(ours(), &args(page), &[], b"").stdout);
        let extra: Vec<&str> = got
            .lines()
            .filter(|l| !real.lines().any(|r| r == *l))
            .collect();
        assert_eq!(extra.len(), 1, "{page:?}: {extra:?}");
        assert!(extra[0].contains("verify\t") && extra[0].contains("SHA-256"));
        assert_eq!(got.lines().count(), real.lines().count() + 1);
    }
}

/// Our server: `save` with both etcdctls fetches the same database, which the real
/// etcdctl reads like ours.
#[test]
fn save_from_our_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = integration_tests::our_bin("etcd-server");
    let server = integration_tests::Server::start(&bin, &dir.path().join("data"), &[]);
    let ep = server.endpoint();
    seed(&ep);
    let target = dir.path().join("ours-server.db");
    let (real_db, ours_db) =
        compare_save(&save_case(&target, &[]), &ep, &target).expect("both saved");
    let json = real_status_json(&real_db);
    assert_eq!(real_status_json(&ours_db), json);
    assert!(json_field(&json, "totalKey") > 0, "{json}");
    for w in ["simple", "table", "json", "fields"] {
        Case::raw(&["snapshot", "status", path_str(&ours_db), "-w", w]).check_on("");
    }
    assert_eq!(verify(&ours_db, &[]).code, Some(0));
}
