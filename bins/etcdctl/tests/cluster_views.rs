//! `member list`, `endpoint status` and `endpoint health` over a real 3-member etcd
//! cluster (several endpoints, `--cluster`, a member down), compared with the real etcdctl
//! in every output format.

mod support;

use support::cluster::Cluster;
use support::ctl::Case;

const FORMATS: [&str; 5] = ["simple", "json", "fields", "protobuf", "table"];

#[test]
fn three_members_in_every_format() {
    let Some(mut c) = Cluster::start_or_skip("three_members_in_every_format", 3) else {
        return;
    };
    let eps = c.endpoints();
    let urls: Vec<String> = (0..3).map(|i| format!("http://{}", c.ep(i))).collect();
    let urls = urls.join(",");
    for f in FORMATS {
        // One endpoint: the answering member (in the header) is known.
        Case::new(&["-w", f, "member", "list"]).check_stable(c.ep(1));
        Case::new(&["-w", f, "endpoint", "status"]).check_stable(&eps);
        Case::new(&["-w", f, "endpoint", "status"]).check_stable(&urls);
        Case::new(&["-w", f, "endpoint", "status", "--cluster"]).check_stable(c.ep(2));
        // Health results come in completion order.
        for ep in [eps.as_str(), urls.as_str()] {
            Case::new(&["-w", f, "endpoint", "health"])
                .durations()
                .unordered()
                .check_on(ep);
        }
        Case::new(&["-w", f, "endpoint", "health", "--cluster"])
            .durations()
            .unordered()
            .check_on(c.ep(0));
    }
    // Several endpoints: any member may answer, which only the headers show.
    for f in ["simple", "table"] {
        Case::new(&["-w", f, "member", "list"]).check_stable(&eps);
    }
    Case::new(&["--hex", "member", "list"]).check_stable(&eps);

    // One member down.
    c.kill(2);
    c.leader();
    let quick = "--command-timeout=1s";
    for f in ["simple", "json", "table"] {
        Case::new(&[quick, "-w", f, "endpoint", "health", "--cluster"])
            .durations()
            .unordered()
            .check_on(c.ep(0));
        Case::new(&[quick, "-w", f, "endpoint", "status", "--cluster"]).check_stable(c.ep(0));
    }
    Case::new(&[quick, "-w", "table", "endpoint", "status"]).check_stable(&eps);
    Case::new(&[quick, "endpoint", "health"])
        .durations()
        .unordered()
        .check_on(&eps);
    Case::new(&["member", "list"]).check_stable(c.ep(0));
}
