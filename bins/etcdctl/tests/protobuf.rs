//! `-w protobuf` across etcdctl 3.4.23's commands, byte for byte with the real etcdctl:
//! every command whose printer marshals a response (kv, txn, lease, member list and
//! update, user and role), the ones whose responses have no `Marshal` (lease revoke), and
//! the ones that refuse the format (endpoint health, status and hashkv). Both etcdctls run
//! against identical copies of one server, so that mutating commands answer alike.

mod support;

use client::proto::etcdserverpb::LeaseGrantRequest;
use client::{Client, ClientConfig};
use support::ctl::Case;
use support::server::{EtcdServer, Pair};

/// A lease with a fixed ID, granted before the copies are made.
const LEASE: i64 = 0x2a2a;

/// Keys, a lease with a key attached, a role and a user.
fn seed(ep: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = Client::connect(ClientConfig::new([ep.to_string()]))
            .await
            .expect("connect");
        let req = LeaseGrantRequest {
            ttl: 1000,
            id: LEASE,
        };
        client.lease().lease_grant(req).await.expect("grant");
    });
    for args in [
        &["put", "a", "1"][..],
        &["put", "b", "2"],
        &["put", "leased", "x", &format!("--lease={LEASE:x}")],
        &["role", "add", "seed-role"],
        &["user", "add", "seed-user", "--new-user-password=pw"],
    ] {
        let out = Case::new(args).run_on(support::ctl::REAL, ep);
        assert_eq!(out.code, Some(0), "seeding {args:?}: {out:?}");
    }
}

/// Lease TTLs tick down between the two runs: the protobuf printers of the lease commands
/// write the header alone, so nothing time-dependent is compared.
#[test]
fn protobuf_output_of_every_command_like_real_etcdctl() {
    let pair = Pair::new(seed);
    let check = |args: &[&str]| {
        let mut all = vec!["-w", "protobuf"];
        all.extend_from_slice(args);
        Case::new(&all).check(&pair.real.endpoint, &pair.ours.endpoint)
    };
    let lease = format!("{LEASE:x}");
    let cases: &[&[&str]] = &[
        &["get", "a"],
        &["get", "", "--prefix"],
        &["get", "", "--prefix", "--keys-only", "--limit=1"],
        &["get", "missing"],
        &["put", "c", "3"],
        &["put", "c", "4", "--prev-kv"],
        &["del", "b", "--prev-kv"],
        &["del", "missing"],
        &["lease", "grant", "100"],
        &["lease", "timetolive", &lease, "--keys"],
        &["lease", "list"],
        &["lease", "keep-alive", "--once", &lease],
        &["lease", "revoke", "ffff"],
        &["member", "list"],
        &["role", "add", "r1"],
        &[
            "role",
            "grant-permission",
            "r1",
            "readwrite",
            "k",
            "--prefix",
        ],
        &["role", "get", "r1"],
        &["role", "list"],
        &["role", "revoke-permission", "r1", "k", "--prefix"],
        &["user", "add", "u1", "--new-user-password=pw1"],
        &["user", "grant-role", "u1", "r1"],
        &["user", "get", "u1"],
        &["user", "get", "u1", "--detail"],
        &["user", "list"],
        &["user", "revoke-role", "u1", "r1"],
        &["user", "delete", "u1"],
        &["role", "delete", "r1"],
        &["endpoint", "health"],
        &["endpoint", "status"],
        &["endpoint", "hashkv"],
        &["lease", "revoke", &lease],
    ];
    for args in cases {
        check(args);
    }
    // txn reads its operations from stdin.
    let txn = Case::new(&["-w", "protobuf", "txn"])
        .stdin("value(\"a\") = \"1\"\n\nput t1 v\nget a\ndel c\n\nput t2 v\n\n");
    txn.check(&pair.real.endpoint, &pair.ours.endpoint);
    let passwd = Case::new(&[
        "-w",
        "protobuf",
        "user",
        "passwd",
        "seed-user",
        "--interactive=false",
    ]);
    passwd
        .stdin("newpw\n")
        .check(&pair.real.endpoint, &pair.ours.endpoint);
}

/// Against one server: the member update answer (the member's own peer URLs again).
#[test]
fn protobuf_member_update_like_real_etcdctl() {
    let server = EtcdServer::start();
    let ep = &server.endpoint;
    let out = Case::new(&["-w", "json", "member", "list"]).run_on(support::ctl::REAL, ep);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let id = regex::Regex::new(r#""ID":(\d+)"#)
        .expect("regex")
        .captures(&text)
        .and_then(|c| c[1].parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no member ID in {text}"));
    let peer = regex::Regex::new(r#""peerURLs":\["([^"]+)""#)
        .expect("regex")
        .captures(&text)
        .map(|c| c[1].to_string())
        .unwrap_or_else(|| panic!("no peer URL in {text}"));
    let id = format!("{id:x}");
    let peers = format!("--peer-urls={peer}");
    Case::new(&["-w", "protobuf", "member", "update", &id, &peers]).check_on(ep);
    Case::new(&["-w", "protobuf", "member", "list"]).check_on(ep);
}
