//! `lease grant|revoke|timetolive|list|keep-alive` against real etcd in every output
//! format, compared byte for byte with the real etcdctl.

mod support;

use std::time::Duration;

use client::proto::etcdserverpb::{LeaseGrantRequest, PutRequest};
use client::{Client, ClientConfig};
use support::ctl::{Background, Case, REAL};
use support::server::{EtcdServer, Pair};

const FORMATS: [&str; 5] = ["simple", "json", "fields", "protobuf", "table"];

/// Leases with fixed IDs (so that both copies of a [`Pair`] hold the same ones).
const LEASES: [i64; 4] = [0x1000, 0x1001, 0x1002, 0x7fff_0000_0000_abcd];

/// Grants leases with the given IDs and TTL, and attaches one key to each of the first two
/// (etcd lists several attached keys in random order).
fn grant(ep: &str, ids: &[i64], ttl: i64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = Client::connect(ClientConfig::new([ep.to_string()]))
            .await
            .expect("connect");
        for &id in ids {
            let req = LeaseGrantRequest { ttl, id };
            client.lease().lease_grant(req).await.expect("grant");
        }
        for (key, &lease) in ["k1", "k2\u{e9}"].iter().zip(ids) {
            let req = PutRequest {
                key: key.as_bytes().to_vec(),
                value: b"v".to_vec(),
                lease,
                ..Default::default()
            };
            client.kv().put(req).await.expect("put");
        }
    });
}

fn seed(ep: &str) {
    grant(ep, &LEASES, 1000);
}

/// A run a second apart may see one second less remaining.
fn remaining(c: Case) -> Case {
    c.mask(r"remaining\(\d+s\)", "remaining(<TTL>s)")
        .mask(r#""ttl":\d+"#, r#""ttl":<TTL>"#)
        .mask(r#"(?m)^"TTL" : \d+$"#, r#""TTL" : <TTL>"#)
}

#[test]
fn grant_in_every_format() {
    let server = EtcdServer::start();
    let ep = &server.endpoint;
    for f in FORMATS {
        // Each run grants a new lease: only its ID differs.
        Case::new(&["-w", f, "lease", "grant", "100"])
            .mask(r"lease [0-9a-f]{16} granted", "lease <ID> granted")
            .mask(r#""ID":\d+"#, r#""ID":<ID>"#)
            .mask(r#"(?m)^"ID" : \d+$"#, r#""ID" : <ID>"#)
            .check_on(ep);
    }
    for args in [
        &["lease", "grant"][..],
        &["lease", "grant", "1", "2"],
        &["lease", "grant", "abc"],
        &["lease", "grant", "99999999999"],
        &["lease", "grant", "--", "-5"],
    ] {
        Case::new(args)
            .mask(r"lease [0-9a-f]{16} granted", "lease <ID> granted")
            .check_on(ep);
    }
}

#[test]
fn timetolive_list_and_keep_alive_once() {
    let server = EtcdServer::start();
    seed(&server.endpoint);
    let ep = &server.endpoint;
    for f in FORMATS {
        for id in ["1000", "1001", "7fff00000000abcd", "123"] {
            remaining(Case::new(&["-w", f, "lease", "timetolive", id])).check_on(ep);
            remaining(Case::new(&["-w", f, "lease", "timetolive", "--keys", id])).check_on(ep);
        }
        Case::new(&["-w", f, "lease", "list"]).check_on(ep);
        Case::new(&["-w", f, "lease", "keep-alive", "--once", "1001"]).check_on(ep);
        Case::new(&["-w", f, "lease", "keep-alive", "--once", "123"]).check_on(ep);
    }
    for args in [
        &["lease", "timetolive"][..],
        &["lease", "timetolive", "xyz"],
        &["lease", "keep-alive"],
        &["lease", "keep-alive", "--once", "-1"],
        &["lease", "list", "extra"],
        &["lease", "revoke"],
        &["lease", "revoke", "zz"],
        &["lease", "revoke", "123"],
        &["--hex", "lease", "timetolive", "--keys", "1000"],
    ] {
        remaining(Case::new(args)).check_on(ep);
    }
}

#[test]
fn revoke_in_every_format() {
    let pair = Pair::new(seed);
    let check = |c: Case| {
        c.check(&pair.real.endpoint, &pair.ours.endpoint);
    };
    for (f, id) in FORMATS
        .iter()
        .zip(["1000", "1001", "1002", "7fff00000000abcd", "1000"])
    {
        check(Case::new(&["-w", f, "lease", "revoke", id]));
    }
    check(Case::new(&["lease", "revoke", "1001"]));
    check(Case::new(&["-w", "json", "get", "", "--prefix"]));
    check(remaining(Case::new(&["lease", "timetolive", "1000"])));
    check(Case::new(&["lease", "list"]));
}

#[test]
fn keep_alive_until_revoked() {
    let server = EtcdServer::start();
    seed(&server.endpoint);
    let ep = &server.endpoint;
    let args = |f: &'static str, id: &'static str| {
        vec!["--endpoints={EP}", "-w", f, "lease", "keep-alive", id]
    };
    // A lease that does not exist ends at the first answer.
    for f in FORMATS {
        Case::new(&args(f, "123")[1..]).check_on(ep);
    }
    // A live lease is renewed (every TTL/3) until another client revokes it.
    let mut outs = Vec::new();
    for (bin, id, n) in [
        (REAL, "2000", 0x2000),
        (support::ctl::ours(), "2001", 0x2001),
    ] {
        grant(ep, &[n], 4);
        let bg = Background::start(bin, &args("simple", id), ep);
        let first = format!("lease 000000000000{id} keepalived with TTL(4)\n");
        // Two renewals, then the revocation.
        let twice = first.repeat(2);
        assert!(
            bg.wait_for(Duration::from_secs(10), |o| o.starts_with(twice.as_bytes())),
            "{bin}: no keep-alive answers: {:?}",
            String::from_utf8_lossy(&bg.stdout())
        );
        support::ctl::run(REAL, &revoke_args(ep, id), &[], b"");
        let out = bg.finish(Duration::from_secs(10));
        outs.push(out);
    }
    // Renewals are counted up to the revocation; only the first two are compared.
    let normalize = |b: &[u8]| {
        let text = String::from_utf8_lossy(b).replace("2001", "2000");
        let lines: Vec<&str> = text.lines().collect();
        format!("{}\n{}\n{}", lines[0], lines[1], lines[lines.len() - 1])
    };
    assert_eq!(normalize(&outs[1].stdout), normalize(&outs[0].stdout));
    assert_eq!(outs[1].stderr, outs[0].stderr);
    assert_eq!(outs[1].code, outs[0].code);
    assert!(String::from_utf8_lossy(&outs[0].stdout).ends_with("expired or revoked.\n"));
}

fn revoke_args(ep: &str, id: &str) -> Vec<String> {
    vec![
        format!("--endpoints={ep}"),
        "lease".into(),
        "revoke".into(),
        id.into(),
    ]
}
