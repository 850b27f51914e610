//! `get`, `put` and `del` against real etcd: every output format and flag combination,
//! compared byte for byte with the real etcdctl.

mod support;

use support::ctl::{run, Case, REAL};
use support::server::{EtcdServer, Pair};

const FORMATS: [&str; 5] = ["simple", "json", "fields", "protobuf", "table"];

/// Writes the test data with the real etcdctl (values from stdin may hold any byte).
fn seed(ep: &str) {
    let put = |k: &str, v: &str| {
        let args = vec![format!("--endpoints={ep}"), "put".into(), k.to_string()];
        let out = run(REAL, &args, &[], v.as_bytes());
        assert_eq!(
            out.code,
            Some(0),
            "seeding {k}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    put("a", "1");
    put("b", "2");
    put("c", "3");
    put("foo1", "bar1");
    put("foo2", "bar2");
    put("a", "1-again");
    put("quote\"key", "<tag> & \"quoted\"\n\t\u{1}\u{7f} ünïcødé ✓");
    put("empty-after", "x");
    put("zz\u{e9}", "\u{2028}line sep");
}

#[test]
fn get_in_every_format_and_flag_combination() {
    let server = EtcdServer::start();
    seed(&server.endpoint);
    let ep = &server.endpoint;
    let flag_sets: &[&[&str]] = &[
        &["a"],
        &["a", "c"],
        &["missing"],
        &["foo", "--prefix"],
        &["", "--prefix"],
        &["", "--from-key"],
        &["b", "--from-key"],
        &["", "--prefix", "--keys-only"],
        &["", "--prefix", "--limit=2"],
        &["", "--prefix", "--limit", "0x2"],
        &["a", "--rev=2"],
        &["a", "--rev=-1"],
        &["", "--prefix", "--sort-by=value", "--order=descend"],
        &["", "--prefix", "--sort-by=create", "--order=ASCEND"],
        &["", "--prefix", "--sort-by=MODIFY"],
        &["", "--prefix", "--sort-by=version", "--order=DESCEND"],
        &["", "--prefix", "--sort-by=key", "--order=descend"],
        &["a", "--consistency=s"],
        &["quote\"key"],
        &["zz\u{e9}"],
        &["", "--from-key", "--hex"],
    ];
    for flags in flag_sets {
        for f in FORMATS {
            let mut args = vec!["-w", f, "get"];
            args.extend_from_slice(flags);
            Case::new(&args).check_on(ep);
        }
    }
    Case::new(&["get", "a", "--print-value-only"]).check_on(ep);
    Case::new(&["get", "", "--prefix", "--print-value-only", "--hex"]).check_on(ep);
    Case::new(&["get", "a", "--print-value-only", "-w", "json"]).check_on(ep);
    Case::new(&["--hex", "-w", "json", "get", "a"]).check_on(ep);
    Case::new(&["get", "a", "--rev=1000"]).check_on(ep);
}

#[test]
fn put_in_every_format_and_flag_combination() {
    let pair = Pair::new(seed);
    let check = |c: Case| {
        c.check(&pair.real.endpoint, &pair.ours.endpoint);
    };
    for f in FORMATS {
        check(Case::new(&["-w", f, "put", "k1", "v1"]));
        check(Case::new(&["-w", f, "put", "k1", "v2", "--prev-kv"]));
        check(Case::new(&[
            "-w",
            f,
            "put",
            "k1",
            "--ignore-value",
            "--prev-kv",
        ]));
        check(Case::new(&["-w", f, "put", "k1", "v3", "--ignore-lease"]));
        check(Case::new(&["-w", f, "put", "new-key", "--ignore-value"]));
        check(Case::new(&[
            "-w",
            f,
            "--hex",
            "put",
            "k1",
            "v4",
            "--prev-kv",
        ]));
    }
    check(Case::new(&["put", "k2", "--", "-dash-value"]));
    check(Case::new(&["put", "--", "-k3", "v"]));
    check(Case::new(&["put", "k4", ""]));
    check(Case::new(&["put", "k5"]).stdin("from stdin\nwith newline\n"));
    check(Case::new(&["put", "k6", "v", "--lease=1234abcd"]));
    check(Case::new(&["put", "k6", "v", "--lease=0"]));
    check(Case::new(&["get", "", "--prefix", "-w", "json"]));
}

#[test]
fn del_in_every_format_and_flag_combination() {
    let pair = Pair::new(seed);
    let check = |c: Case| {
        c.check(&pair.real.endpoint, &pair.ours.endpoint);
    };
    for f in FORMATS {
        check(Case::new(&["-w", f, "del", "missing"]));
    }
    check(Case::new(&["-w", "simple", "del", "a", "--prev-kv"]));
    check(Case::new(&["-w", "json", "del", "b", "c", "--prev-kv"]));
    check(Case::new(&[
        "-w",
        "fields",
        "del",
        "foo",
        "--prefix",
        "--prev-kv",
    ]));
    check(Case::new(&[
        "-w",
        "protobuf",
        "del",
        "quote",
        "--from-key",
        "--prev-kv",
    ]));
    check(Case::new(&["--hex", "del", "", "--prefix", "--prev-kv"]));
    check(Case::new(&["-w", "table", "del", "", "--from-key"]));
    check(Case::new(&["-w", "json", "get", "", "--from-key"]));
}
