//! `endpoint hashkv` in every output format, with `--rev`, `--cluster`, a compacted or
//! future revision and an endpoint that is down, compared byte for byte with the real
//! etcdctl.

mod support;

use support::ctl::{Case, REAL};
use support::server::{free_port, EtcdServer};

const FORMATS: [&str; 5] = ["simple", "json", "fields", "protobuf", "table"];

#[test]
fn hashkv_in_every_format_and_flag_combination() {
    let server = EtcdServer::start();
    let ep = server.endpoint.clone();
    for i in 0..12 {
        let args = ["put", &format!("k{}", i % 5), &format!("v{i}")];
        assert_eq!(Case::new(&args).run_on(REAL, &ep).code, Some(0));
    }
    assert_eq!(
        Case::new(&["compaction", "6"]).run_on(REAL, &ep).code,
        Some(0)
    );
    let flag_sets: &[&[&str]] = &[
        &[],
        &["--rev=10"],
        &["--rev", "3"],
        &["--rev=1000"],
        &["--cluster"],
        &["--cluster", "--rev=8"],
    ];
    for flags in flag_sets {
        for f in FORMATS {
            let mut args = vec!["-w", f, "endpoint", "hashkv"];
            args.extend_from_slice(flags);
            Case::new(&args).check_on(&ep);
        }
    }
    // A member down: its failure on stderr, the others printed, then the error (exit 1).
    let dead = format!("127.0.0.1:{}", free_port());
    let both = format!("{ep},{dead}");
    for f in ["simple", "json"] {
        let out =
            Case::new(&["--command-timeout=1s", "-w", f, "endpoint", "hashkv"]).check_on(&both);
        assert_eq!(out.code, Some(1), "{out:?}");
    }
    Case::new(&["endpoint", "hashkv", "extra"]).check_on(&ep);
}
