//! `move-leader` against a real 3-member etcd cluster, compared with the real etcdctl:
//! leadership goes to a follower and back, each binary doing each move once, so both see
//! the same cluster for the same command; `endpoint status` then shows the new leader.

mod support;

use support::cluster::Cluster;
use support::ctl::{ours, Case, Outcome, REAL};
use support::server::free_port;

/// Runs `move-leader <to>` in format `f` over `eps` with `bin`, and waits until the whole
/// cluster follows the new leader.
fn move_to(c: &Cluster, bin: &str, f: &str, eps: &str, to: u64) -> Outcome {
    let out = Case::new(&["-w", f, "move-leader", &format!("{to:x}")]).run_on(bin, eps);
    assert_eq!(c.leader().1, to, "{}", String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn move_leader_to_a_follower_and_back() {
    let Some(c) = Cluster::start_or_skip("move_leader_to_a_follower_and_back", 3) else {
        return;
    };
    let eps = c.endpoints();
    for f in ["simple", "json", "protobuf", "fields", "table"] {
        let (leader_index, leader) = c.leader();
        let to = c.member_id((leader_index + 1) % 3);
        let there = Case::new(&["-w", f, "move-leader", &format!("{to:x}")]);
        let back = Case::new(&["-w", f, "move-leader", &format!("{leader:x}")]);
        let real_there = move_to(&c, REAL, f, &eps, to);
        for g in ["simple", "table", "json"] {
            Case::new(&["-w", g, "endpoint", "status"]).check_stable(&eps);
        }
        let ours_back = move_to(&c, ours(), f, &eps, leader);
        let ours_there = move_to(&c, ours(), f, &eps, to);
        there.assert_same(&real_there, &ours_there, &eps, &eps);
        Case::new(&["-w", "fields", "endpoint", "status"]).check_stable(&eps);
        let real_back = move_to(&c, REAL, f, &eps, leader);
        back.assert_same(&real_back, &ours_back, &eps, &eps);
    }
}

#[test]
fn move_leader_errors() {
    let Some(c) = Cluster::start_or_skip("move_leader_errors", 3) else {
        return;
    };
    let eps = c.endpoints();
    let (leader_index, leader) = c.leader();
    let leader_hex = format!("{leader:x}");
    let followers: Vec<usize> = (0..3).filter(|&i| i != leader_index).collect();
    let follower_eps = format!("{},{}", c.ep(followers[0]), c.ep(followers[1]));
    let follower_urls = format!(
        "http://{},http://{}",
        c.ep(followers[0]),
        c.ep(followers[1])
    );
    let follower_hex = format!("{:x}", c.member_id(followers[0]));
    let cases: &[(&[&str], &str)] = &[
        (&["move-leader"], &eps),
        (&["move-leader", "zz"], &eps),
        (&["move-leader", "-1"], &eps),
        (&["move-leader", "10000000000000000"], &eps),
        (&["move-leader", "1", "2"], &eps),
        (&["move-leader", "1"], &eps),
        (&["-w", "json", "move-leader", "1"], &eps),
        (&["move-leader", &leader_hex], &eps),
        (&["-w", "json", "move-leader", &leader_hex], &eps),
        (&["-w", "fields", "move-leader", &leader_hex], &eps),
        (&["-w", "xml", "move-leader", &leader_hex], &eps),
        (&["move-leader", &follower_hex], &follower_eps),
        (&["move-leader", &follower_hex], &follower_urls),
        (&["move-leader", &leader_hex], c.ep(leader_index)),
    ];
    for (args, ep) in cases {
        Case::new(args).check_on(ep);
    }
    assert_eq!(c.leader().1, leader);
    // A learner cannot lead.
    c.wait_reconfigurable();
    let peer = Cluster::new_peer_url();
    let peer_flag = format!("--peer-urls={peer}");
    let out = Case::new(&["member", "add", "l", "--learner", &peer_flag]).run_on(REAL, c.ep(0));
    let learner = c
        .find_member(&peer)
        .unwrap_or_else(|| panic!("not added: {}", String::from_utf8_lossy(&out.stderr)));
    Case::new(&["move-leader", &format!("{learner:x}")]).check_on(&eps);
    Case::new(&["member", "remove", &format!("{learner:x}")]).run_on(REAL, c.ep(0));
    // A dead endpoint before the leader: its Status times out.
    let dead = format!("127.0.0.1:{},{eps}", free_port());
    Case::new(&["--command-timeout=1s", "move-leader", &follower_hex]).check_on(&dead);
    assert_eq!(c.leader().1, leader);
}
