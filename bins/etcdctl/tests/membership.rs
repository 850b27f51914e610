//! `member add|remove|update|promote` against a real 3-member etcd cluster, compared with
//! the real etcdctl in every output format, with their error cases.
//!
//! Adding a member changes the cluster, so the two binaries cannot both add the same member:
//! the real etcdctl adds it, ours removes it, ours adds it again, the real etcdctl removes
//! it, and the outputs of the two adds and of the two removes are compared. Only the new
//! member's ID differs between the two (it is derived from the time); it is masked, and
//! the member order that follows from it is checked on its own.

mod support;

use etcd_proto::etcdserverpb::MemberAddResponse;
use prost::Message;
use regex::bytes::Regex;
use support::cluster::{next_second, Cluster};
use support::ctl::{ours, Case, Outcome, REAL};

const FORMATS: [&str; 5] = ["simple", "json", "fields", "protobuf", "table"];

/// `Case::new(args)` with every ID in `ids` masked: hex (with the padding `%16x` puts
/// before it) and decimal.
fn masked(args: &[&str], ids: &[u64]) -> Case {
    ids.iter().fold(Case::new(args), |c, id| {
        c.mask(&format!(" *\\b{id:x}\\b"), " <ID>")
            .mask(&format!("\\b{id}\\b"), "<ID>")
    })
}

/// The `ETCD_INITIAL_CLUSTER` line `member add <name>` must print for the members the
/// cluster has now (in the server's order, the new member under its given name).
fn initial_cluster_line(c: &Cluster, new_id: u64, name: &str) -> String {
    let conf: Vec<String> = c
        .member_list()
        .iter()
        .flat_map(|m| {
            let n = if m.id == new_id { name } else { &m.name };
            m.peer_ur_ls.iter().map(move |u| format!("{n}={u}"))
        })
        .collect();
    format!("ETCD_INITIAL_CLUSTER=\"{}\"", conf.join(","))
}

/// Checks the `ETCD_INITIAL_CLUSTER` line of a simple `member add` output against the
/// cluster, then blanks it (its member order depends on the new ID).
fn check_initial_cluster(out: &Outcome, expected: &str) -> Outcome {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.starts_with("ETCD_INITIAL_CLUSTER="))
        .unwrap_or_else(|| panic!("no ETCD_INITIAL_CLUSTER line in {text:?}"));
    assert_eq!(line, expected);
    Outcome {
        stdout: text
            .replace(line, "ETCD_INITIAL_CLUSTER=<checked>")
            .into_bytes(),
        ..out.clone()
    }
}

/// Sorts the items of the JSON `"members":[...]` array (flat objects), whose order
/// follows the new member's ID (masked before).
fn sort_json_members(b: &[u8]) -> Vec<u8> {
    let array = Regex::new(r#""members":\[(\{[^{}]*\},?)*\]"#).expect("regex");
    let item = Regex::new(r"\{[^{}]*\}").expect("regex");
    array
        .replace_all(b, |caps: &regex::bytes::Captures| {
            let mut items: Vec<&[u8]> = item.find_iter(&caps[0]).map(|m| m.as_bytes()).collect();
            items.sort();
            let mut out = b"\"members\":[".to_vec();
            out.extend_from_slice(&items.join(&b','));
            out.push(b']');
            out
        })
        .into_owned()
}

/// A protobuf MemberAdd answer with the new member's ID zeroed and the members sorted.
fn canonical_add_pb(b: &[u8], new_id: u64) -> Vec<u8> {
    let mut r = MemberAddResponse::decode(b).expect("a MemberAddResponse");
    for m in r.member.iter_mut().chain(r.members.iter_mut()) {
        if m.id == new_id {
            m.id = 0;
        }
    }
    r.members.sort_by(|a, b| a.peer_ur_ls.cmp(&b.peer_ur_ls));
    r.encode_to_vec()
}

/// What a `member add` output is compared on: ID-dependent member order made canonical.
fn comparable_add(f: &str, out: &Outcome, c: &Cluster, new_id: u64) -> Outcome {
    match f {
        "simple" if out.code == Some(0) => {
            check_initial_cluster(out, &initial_cluster_line(c, new_id, "new1"))
        }
        "json" => {
            let id = Regex::new(&format!(r"\b{new_id}\b")).expect("regex");
            Outcome {
                stdout: sort_json_members(&id.replace_all(&out.stdout, &b"0"[..])),
                ..out.clone()
            }
        }
        "protobuf" if out.code == Some(0) => Outcome {
            stdout: canonical_add_pb(&out.stdout, new_id),
            ..out.clone()
        },
        _ => out.clone(),
    }
}

/// The new member's ID, after an add that must have happened.
fn added(c: &Cluster, peer: &str, out: &Outcome) -> u64 {
    c.find_member(peer).unwrap_or_else(|| {
        panic!(
            "member {peer} was not added: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Real add, ours remove, ours add, real remove, in format `f`; compares the adds and the
/// removes, and the views of the cluster while the new member is in it.
fn add_remove_cycle(c: &Cluster, f: &str, learner: bool) {
    let ep = c.ep(0);
    let peer = Cluster::new_peer_url();
    let peer_flag = format!("--peer-urls={peer}");
    let mut add_args = vec!["-w", f, "member", "add", "new1", &peer_flag];
    if learner {
        add_args.push("--learner");
    }
    next_second();
    let real_add = Case::new(&add_args).run_on(REAL, ep);
    let id_r = added(c, &peer, &real_add);
    let real_add = comparable_add(f, &real_add, c, id_r);
    let hex_r = format!("{id_r:x}");
    Case::new(&["-w", f, "member", "list"]).check_stable(ep);
    Case::new(&["member", "promote", &hex_r]).check_on(ep);
    let ours_rm = Case::new(&["-w", f, "member", "remove", &hex_r]).run_on(ours(), ep);
    assert_eq!(c.find_member(&peer), None, "ours did not remove {hex_r}");

    next_second();
    let ours_add = Case::new(&add_args).run_on(ours(), ep);
    let id_o = added(c, &peer, &ours_add);
    let ours_add = comparable_add(f, &ours_add, c, id_o);
    let hex_o = format!("{id_o:x}");
    masked(&add_args, &[id_r, id_o]).assert_same(&real_add, &ours_add, ep, ep);
    let real_rm = Case::new(&["-w", f, "member", "remove", &hex_o]).run_on(REAL, ep);
    assert_eq!(c.find_member(&peer), None, "etcdctl did not remove {hex_o}");
    masked(&["-w", f, "member", "remove", "<ID>"], &[id_r, id_o])
        .assert_same(&real_rm, &ours_rm, ep, ep);
}

#[test]
fn member_add_and_remove_in_every_format() {
    let Some(c) = Cluster::start_or_skip("member_add_and_remove_in_every_format", 3) else {
        return;
    };
    c.wait_reconfigurable();
    for f in FORMATS {
        add_remove_cycle(&c, f, true);
    }
    for f in ["simple", "json"] {
        add_remove_cycle(&c, f, false);
    }
    // Back to the three members it started with.
    Case::new(&["member", "list"]).check_stable(&c.endpoints());
}

#[test]
fn member_update_and_promote() {
    let Some(c) = Cluster::start_or_skip("member_update_and_promote", 3) else {
        return;
    };
    c.wait_reconfigurable();
    let ep = c.ep(0);
    // Updating a started member to its own peer URL changes nothing.
    let m1 = format!("{:x}", c.member_id(1));
    let own = format!("--peer-urls={}", c.members[1].peer_url);
    for f in FORMATS {
        Case::new(&["-w", f, "member", "update", &m1, &own]).check_stable(ep);
    }
    // A learner that never started: promotion is refused until it is in sync.
    let peer = Cluster::new_peer_url();
    let add = Case::new(&[
        "member",
        "add",
        "l1",
        "--learner",
        &format!("--peer-urls={peer}"),
    ]);
    let out = add.run_on(REAL, ep);
    let id = format!("{:x}", added(&c, &peer, &out));
    for f in FORMATS {
        Case::new(&["-w", f, "member", "promote", &id]).check_on(ep);
    }
    // Moving it to other peer URLs: the first run moves it, the others find it there.
    let (p2, p3) = (Cluster::new_peer_url(), Cluster::new_peer_url());
    for urls in [format!("{p2},{p3}"), p2.clone()] {
        for f in FORMATS {
            let flag = format!("--peer-urls={urls}");
            Case::new(&["-w", f, "member", "update", &id, &flag]).check_on(ep);
            Case::new(&["-w", f, "member", "list"]).check_stable(ep);
        }
    }
    // etcd 3.4's update drops the learner flag: it is a voting member now.
    Case::new(&["member", "promote", &id]).check_on(ep);
    Case::new(&["member", "remove", &id]).run_on(REAL, ep);
    assert_eq!(c.find_member(&p2), None);
}

#[test]
fn member_promote_of_a_started_learner() {
    let Some(mut c) = Cluster::start_or_skip("member_promote_of_a_started_learner", 3) else {
        return;
    };
    c.wait_reconfigurable();
    let ep = c.ep(0).to_string();
    let peer = Cluster::new_peer_url();
    let peer_flag = format!("--peer-urls={peer}");
    let add = ["member", "add", "l1", "--learner", peer_flag.as_str()];
    let mut promote = |bin: &str| -> (u64, Outcome) {
        next_second();
        let out = Case::new(&add).run_on(bin, &ep);
        let id = added(&c, &peer, &out);
        let i = c.join("l1", &peer);
        c.wait_caught_up(i);
        let hex = format!("{id:x}");
        let out = Case::new(&["member", "promote", &hex]).run_on(bin, &ep);
        assert_eq!(
            out.code,
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        c.leader();
        for f in FORMATS {
            Case::new(&["-w", f, "member", "list"]).check_stable(&ep);
        }
        let rm = Case::new(&["member", "remove", &hex]).run_on(REAL, &ep);
        assert_eq!(rm.code, Some(0), "{}", String::from_utf8_lossy(&rm.stderr));
        c.kill(i);
        c.leader();
        (id, out)
    };
    let (id_r, real) = promote(REAL);
    let (id_o, got) = promote(ours());
    masked(&["member", "promote", "<ID>"], &[id_r, id_o]).assert_same(&real, &got, &ep, &ep);
}

#[test]
fn member_command_errors() {
    let Some(c) = Cluster::start_or_skip("member_command_errors", 3) else {
        return;
    };
    c.wait_reconfigurable();
    let ep = c.ep(0);
    let taken = format!("--peer-urls={}", c.members[1].peer_url);
    let m2 = format!("{:x}", c.member_id(2));
    let new = Cluster::new_peer_url();
    let new_flag = format!("--peer-urls={new}");
    let cases: &[&[&str]] = &[
        &["member", "add"],
        &["member", "add", "x"],
        &["member", "add", "x", "y"],
        &["member", "add", "x", "http://a:1", "HTTPS://b:2"],
        &["member", "add", "x", "--peer-urls=foo"],
        &["member", "add", "x", "--peer-urls=http://127.0.0.1"],
        &["member", "add", "x", "--peer-urls=http://127.0.0.1:1/p"],
        &["member", "add", "x", "--peer-urls=:foo"],
        &["member", "add", "x", "--peer-urls=http://a b:1"],
        &["member", "add", "x", "--peer-urls=http://a:1,"],
        &["member", "add", "x", "--peer-urls=http://a:1, ftp://b:2"],
        &["member", "add", "x", "--peer-urls=http://[::1:2"],
        &["member", "add", "x", "--peer-urls=http://a:1/%zz"],
        &["member", "add", "x", &taken],
        &["member", "add", "x", &taken, "--learner"],
        &["-w", "json", "member", "add", "x", &taken],
        &["-w", "xml", "member", "add", "x", &new_flag],
        &["member", "remove"],
        &["member", "remove", "zz"],
        &["member", "remove", "1", "2"],
        &["member", "remove", "0x12"],
        &["member", "remove", "10000000000000000"],
        &["member", "remove", ""],
        &["member", "remove", "--", "-1"],
        &["member", "remove", "12345"],
        &["-w", "table", "member", "remove", "12345"],
        &["member", "update"],
        &["member", "update", "1"],
        &["member", "update", "zz", "--peer-urls=http://a:1"],
        &["member", "update", "1", "--peer-urls=http://a"],
        &["member", "update", "1", "--peer-urls=http://a:1"],
        &["member", "update", &m2, &taken],
        &["member", "promote"],
        &["member", "promote", "g"],
        &["member", "promote", "1"],
        &["member", "promote", &m2],
        &["-w", "fields", "member", "promote", &m2],
    ];
    for args in cases {
        Case::new(args).check_on(ep);
    }
    // One learner at most; no further voting member while one has not started.
    let learner = Cluster::new_peer_url();
    let out = Case::new(&[
        "member",
        "add",
        "l",
        "--learner",
        &format!("--peer-urls={learner}"),
    ])
    .run_on(REAL, ep);
    let learner_id = format!("{:x}", added(&c, &learner, &out));
    Case::new(&["member", "add", "l2", "--learner", &new_flag]).check_on(ep);
    let voter = Cluster::new_peer_url();
    let out = Case::new(&["member", "add", "v", &format!("--peer-urls={voter}")]).run_on(REAL, ep);
    let voter_id = format!("{:x}", added(&c, &voter, &out));
    Case::new(&["member", "add", "v2", &new_flag]).check_on(ep);
    Case::new(&["member", "list"]).check_stable(ep);
    for id in [learner_id, voter_id] {
        Case::new(&["member", "remove", &id]).run_on(REAL, ep);
    }
    assert_eq!(c.member_list().len(), 3);
    // No server at all.
    let dead = format!("127.0.0.1:{}", support::server::free_port());
    for args in [
        &[
            "--command-timeout=1s",
            "member",
            "add",
            "x",
            "--peer-urls=http://a:1",
        ][..],
        &["--command-timeout=1s", "member", "remove", "1"],
        &["--command-timeout=1s", "member", "promote", "1"],
    ] {
        Case::new(args).check_on(&dead);
    }
}
