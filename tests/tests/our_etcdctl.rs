//! Our etcdctl against our server: the seed's example, and `get --count-only` (etcdctl
//! 3.5's flag, which etcdctl 3.4 lacks). The full side-by-side comparison with the real
//! etcdctl lives in bins/etcdctl/tests (run against our server by scripts/test.sh).

use integration_tests::{etcdctl, our_bin, stderr, stdout, Server};

#[test]
fn seed_example_and_count_only() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::ours(&dir.path().join("d"));
    let ctl = our_bin("etcdctl");
    let run = |args: &[&str]| etcdctl(&ctl, &s.endpoint(), args, None);
    assert_eq!(stdout(&run(&["put", "/name", "clemente"])), "OK\n");
    assert_eq!(stdout(&run(&["put", "/other", "x"])), "OK\n");
    assert_eq!(
        stdout(&run(&["get", "/", "--prefix", "--keys-only"])),
        "/name\n\n/other\n\n"
    );

    let o = run(&["get", "/", "--prefix", "--count-only", "-w", "fields"]);
    let out = stdout(&o);
    assert!(out.contains("\"Count\" : 2\n"), "{out}");
    assert!(
        !out.contains("\"Key\""),
        "count-only must not return keys: {out}"
    );
    let o = run(&["get", "/", "--prefix", "--count-only"]);
    assert_eq!(o.status.code(), Some(128), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "Error: --count-only is only for `--write-out=fields`\n"
    );

    assert_eq!(stdout(&run(&["del", "/name"])), "1\n");
    assert_eq!(stdout(&run(&["get", "/name"])), "");
}
