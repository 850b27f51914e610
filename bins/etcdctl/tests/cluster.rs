//! `member list`, `endpoint status`, `endpoint health` and `compaction`, plus the errors a
//! missing server or a compacted revision produce.

mod support;

use support::ctl::Case;
use support::server::{free_port, EtcdServer, Pair};

const FORMATS: [&str; 5] = ["simple", "json", "fields", "protobuf", "table"];

#[test]
fn member_list_and_endpoint_status_in_every_format() {
    let server = EtcdServer::start();
    let ep = &server.endpoint;
    for f in FORMATS {
        Case::new(&["-w", f, "member", "list"]).check_on(ep);
        Case::new(&["-w", f, "endpoint", "status"]).check_on(ep);
        Case::new(&["-w", f, "endpoint", "status", "--cluster"]).check_on(ep);
    }
    Case::new(&["--hex", "member", "list"]).check_on(ep);
    Case::raw(&["--endpoints", &server.url(), "member", "list"]).check_on(ep);
}

#[test]
fn endpoint_health_in_every_format() {
    let server = EtcdServer::start();
    let ep = &server.endpoint;
    for f in FORMATS {
        Case::new(&["-w", f, "endpoint", "health"])
            .durations()
            .check_on(ep);
        Case::new(&["-w", f, "endpoint", "health", "--cluster"])
            .durations()
            .check_on(ep);
    }
}

#[test]
fn compaction_and_compacted_revisions() {
    let pair = Pair::new(|ep| {
        for v in ["1", "2", "3", "4"] {
            let args = [
                format!("--endpoints={ep}"),
                "put".into(),
                "k".into(),
                v.into(),
            ];
            assert_eq!(
                support::ctl::run(support::ctl::REAL, &args, &[], b"").code,
                Some(0)
            );
        }
    });
    let check = |c: Case| {
        c.check(&pair.real.endpoint, &pair.ours.endpoint);
    };
    check(Case::new(&["compaction", "3"]));
    check(Case::new(&["compaction", "2"]));
    check(Case::new(&["compaction", "--physical", "4"]));
    check(Case::new(&["compaction", "100"]));
    for f in FORMATS {
        check(Case::new(&["-w", f, "get", "k", "--rev=2"]));
    }
    check(Case::new(&["get", "k", "--rev=4"]));
    check(Case::new(&["get", "k", "--rev=5"]));
    check(Case::new(&["get", "k", "--rev=6"]));
    check(Case::new(&["txn"]).stdin("\nget k --rev=2\n\n\n"));
}

#[test]
fn unreachable_endpoints() {
    let dead = format!("127.0.0.1:{}", free_port());
    let quick = ["--command-timeout=1s"];
    for args in [
        &["get", "k"][..],
        &["put", "k", "v"],
        &["del", "k"],
        &["compaction", "1"],
        &["member", "list"],
        &["endpoint", "status"],
        &["-w", "json", "endpoint", "status"],
    ] {
        let mut all = quick.to_vec();
        all.extend_from_slice(args);
        Case::new(&all).check_on(&dead);
    }
    Case::new(&["--command-timeout=1s", "endpoint", "health"])
        .durations()
        .check_on(&dead);
    Case::new(&["--command-timeout=1s", "-w", "table", "endpoint", "health"])
        .durations()
        .check_on(&dead);
    // One live endpoint among dead ones: reads go to the live one; status reports each.
    let server = EtcdServer::start();
    let both = format!("{dead},{}", server.endpoint);
    Case::raw(&["--endpoints", &both, "--command-timeout=1s", "get", "k"])
        .check_on(&server.endpoint);
    Case::raw(&[
        "--endpoints",
        &both,
        "--command-timeout=1s",
        "-w",
        "table",
        "endpoint",
        "status",
    ])
    .check_on(&server.endpoint);
}
