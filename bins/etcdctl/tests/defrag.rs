//! `defrag` compared with the real etcdctl: one endpoint, `--cluster`, several endpoints
//! with one of them down, and as a user without the root role; `--data-dir` (offline
//! defragmentation of a bbolt file) is refused with a clear error.

mod support;

use support::ctl::{ours, run, Case};
use support::server::{free_port, EtcdServer};

#[test]
fn defrag_endpoints_and_cluster() {
    let s = EtcdServer::start();
    let ep = s.endpoint.clone();
    for args in [
        &["defrag"][..],
        &["defrag", "--cluster"],
        &["-w", "json", "defrag"],
        &["defrag", "extra-arg"],
    ] {
        let out = Case::new(args).check_on(&ep);
        assert_eq!(out.code, Some(0), "{out:?}");
    }
    let url = s.url();
    Case::new(&["defrag"]).check_on(&format!("{url},{ep}"));
    // A member down: the line for it goes to stderr, and the exit code is 1.
    let dead = format!("127.0.0.1:{}", free_port());
    let out = Case::new(&["--command-timeout=1s", "defrag"]).check_on(&format!("{ep},{dead}"));
    assert_eq!(out.code, Some(1), "{out:?}");
}

#[test]
fn defrag_needs_root_with_auth() {
    let s = EtcdServer::start();
    let ep = s.endpoint.clone();
    for args in [
        &["user", "add", "root:rootpw"][..],
        &["user", "grant-role", "root", "root"],
        &["user", "add", "alice:alicepw"],
        &["auth", "enable"],
    ] {
        let out = Case::new(args).run_on(support::ctl::REAL, &ep);
        assert_eq!(out.code, Some(0), "{out:?}");
    }
    let out = Case::new(&["--user=alice:alicepw", "defrag"]).check_on(&ep);
    assert_eq!(out.code, Some(1), "{out:?}");
    Case::new(&["--user=alice:alicepw", "defrag", "--cluster"]).check_on(&ep);
    let out = Case::new(&["--user=root:rootpw", "defrag", "--cluster"]).check_on(&ep);
    assert_eq!(out.code, Some(0), "{out:?}");
}

#[test]
fn defrag_data_dir_is_not_supported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().display().to_string();
    let args = vec!["defrag".to_string(), format!("--data-dir={path}")];
    let out = run(ours(), &args, &[], b"");
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("Failed to defragment etcd data[{path}] (")),
        "{err}"
    );
    assert!(err.contains("not supported"), "{err}");
}
