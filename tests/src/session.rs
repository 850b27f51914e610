//! Scripted etcdctl sessions: run the same commands with the real etcdctl against real
//! etcd and against our server, and compare the outputs byte for byte after masking the
//! values that legitimately differ (member/cluster IDs, ports, raft term, db size,
//! timestamps of the client's log lines).

use regex::Regex;

use crate::{etcdctl, stderr, stdout, Server, REAL_ETCDCTL};

/// One command: its arguments, and stdin (for txn).
pub type Step = (&'static [&'static str], Option<&'static str>);

/// One command's outcome: (command, stdout, stderr, exit code), masked.
pub type Outcome = (String, String, String, i32);

pub fn mask(s: &str) -> String {
    let rules = [
        (
            r#""(cluster_id|member_id|raft_term|leader|ID|id|raft_index|raft_applied_index|dbSize|dbSizeInUse|db_size|db_size_in_use)":\s*\d+"#,
            r#""$1":N"#,
        ),
        (r#""(ClusterID|MemberID|RaftTerm)" : \d+"#, r#""$1" : N"#),
        (r#""ts":"[^"]*""#, r#""ts":"TS""#),
        (r"client-[0-9a-f-]+", "client-UUID"),
        (r"\b[0-9a-f]{16}\b", "HEXID"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"),
    ];
    let mut out = s.to_string();
    for (re, rep) in rules {
        out = Regex::new(re).unwrap().replace_all(&out, rep).into_owned();
    }
    out
}

/// Runs `steps` with the real etcdctl against `s`.
pub fn run(s: &Server, steps: &[Step]) -> Vec<Outcome> {
    steps
        .iter()
        .map(|(args, input)| {
            let o = etcdctl(REAL_ETCDCTL, &s.endpoint(), args, *input);
            (
                args.join(" "),
                mask(&stdout(&o)),
                mask(&stderr(&o)),
                o.status.code().unwrap_or(-1),
            )
        })
        .collect()
}

/// Panics listing every command whose outcome differs.
pub fn assert_same(expected: &[Outcome], got: &[Outcome]) {
    let failures: Vec<String> = expected
        .iter()
        .zip(got)
        .filter(|(e, g)| e != g)
        .map(|(e, g)| {
            format!(
                "command `etcdctl {}`\n  etcd: {:?}\n  ours: {:?}",
                e.0,
                (&e.1, &e.2, e.3),
                (&g.1, &g.2, g.3)
            )
        })
        .collect();
    assert_eq!(expected.len(), got.len());
    assert!(
        failures.is_empty(),
        "{} of {} commands differ:\n{}",
        failures.len(),
        expected.len(),
        failures.join("\n")
    );
}
