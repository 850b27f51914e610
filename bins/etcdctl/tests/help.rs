//! Command lookup, help pages, flag errors and argument validation: everything etcdctl
//! decides before talking to a server. No server is started; commands that would connect
//! fail validation first (or point at a closed port).

mod support;

use support::ctl::{run, Case, REAL};

/// A loopback port nothing listens on.
fn dead_endpoint() -> String {
    format!("127.0.0.1:{}", support::server::free_port())
}

/// Every command path, read from the real etcdctl's root help page.
fn all_commands() -> Vec<String> {
    let out = run(REAL, &["--help".to_string()], &[], b"");
    let text = String::from_utf8(out.stdout).expect("utf8 help");
    let section = text.split("COMMANDS:\n").nth(1).expect("commands section");
    let mut cmds: Vec<String> = Vec::new();
    for line in section.lines().take_while(|l| !l.is_empty()) {
        let path = line
            .trim_start_matches('\t')
            .split('\t')
            .next()
            .unwrap_or("")
            .to_string();
        let group = path.split(' ').next().unwrap_or("").to_string();
        if path.contains(' ') && !cmds.contains(&group) {
            cmds.push(group);
        }
        cmds.push(path);
    }
    assert!(cmds.len() > 60, "too few commands found: {cmds:?}");
    cmds
}

#[test]
fn help_pages_of_every_command() {
    Case::raw(&[]).check_on("");
    Case::raw(&["--help"]).check_on("");
    Case::raw(&["help"]).check_on("");
    for cmd in all_commands() {
        if cmd == "get" {
            continue; // one deliberate extra flag: see get_help_adds_only_count_only
        }
        let mut args: Vec<&str> = cmd.split(' ').collect();
        args.push("--help");
        Case::raw(&args).check_on("");
        args.pop();
        args.push("-h");
        Case::raw(&args).check_on("");
        args.pop();
        args.insert(0, "help");
        Case::raw(&args).check_on("");
    }
}

#[test]
fn unknown_commands_prefixes_and_help_topics() {
    for args in [
        &["e"][..],
        &["de"],
        &["gte"],
        &["xyz"],
        &["c"],
        &["le"],
        &["ver"],
        &["member"],
        &["member", "xyz"],
        &["endpoint"],
        &["help", "xyz"],
        &["help", "member", "list"],
        &["help", "mem", "li"],
        &["--help", "get"],
        &["--hex", "version"],
        &["-w", "json", "version"],
        &["--endpoints", "version", "version"],
        &["completion", "bash", "extra"],
        &["completion", "--no-descriptions=maybe"],
    ] {
        Case::raw(args).check_on("");
    }
}

#[test]
fn flag_errors_print_usage() {
    for args in [
        &["get", "--foo"][..],
        &["get", "-x"],
        &["get", "--limit"],
        &["get", "--limit", "x", "k"],
        &["get", "--limit=99999999999999999999", "k"],
        &["get", "--rev=0x", "k"],
        &["get", "---prefix"],
        &["get", "--prefix=maybe", "k"],
        &["get", "-w"],
        &["--dial-timeout=5", "get", "k"],
        &["--dial-timeout=5x", "get", "k"],
        &["--command-timeout=", "get", "k"],
        &["--endpoints=a\"b", "get", "k"],
        &["put", "--count-only", "k", "v"],
        &["get", "--min-mod-revision=1", "k"],
        &["txn", "-i=x"],
        &["endpoint", "status", "--rev=1"],
        &["endpoint", "hashkv", "--rev=x"],
    ] {
        Case::raw(args).check_on("");
    }
}

#[test]
fn argument_validation_before_connecting() {
    let ep = dead_endpoint();
    for args in [
        &["get"][..],
        &["get", "a", "b", "--prefix"],
        &["get", "a", "--prefix", "--from-key"],
        &["get", "a", "--consistency=x"],
        &["get", "a", "--order=up"],
        &["get", "a", "--sort-by=size"],
        &["put"],
        &["put", "k", "v", "--ignore-value"],
        &["put", "k", "v", "--lease=xyz"],
        &["put", "k", "v", "--lease=0x10"],
        &["del"],
        &["del", "a", "b", "c"],
        &["del", "a", "b", "--prefix"],
        &["del", "a", "--prefix", "--from-key"],
        &["compaction"],
        &["compaction", "1", "2"],
        &["compaction", "abc"],
        &["compaction", "99999999999999999999"],
        &["txn", "extra"],
        &["-w", "xyz", "get", "a"],
        &["-w", "xyz", "endpoint", "health"],
        &["--cert=", "get", "a"],
        &["--key=", "get", "a"],
        &["--cacert=", "get", "a"],
        &["--cacert=/nonexistent/ca.pem", "get", "a"],
        &["--cert=/nonexistent/c.pem", "get", "a"],
        &[
            "--cert=/nonexistent/c.pem",
            "--key=/nonexistent/k.pem",
            "get",
            "a",
        ],
        &["--endpoints=", "get", "a"],
    ] {
        Case::new(args).check_on(&ep);
    }
    // `put k` without a value reads stdin; empty stdin is an error.
    Case::new(&["put", "k"]).check_on(&ep);
}

#[test]
fn version_and_api_selection() {
    Case::raw(&["version"]).check_on("");
    Case::raw(&["version"]).env("ETCDCTL_API", "3").check_on("");
    Case::raw(&["version"]).env("ETCDCTL_API", "4").check_on("");
    Case::raw(&["version", "extra", "args"]).check_on("");
}

/// `get` carries etcdctl 3.5's `--count-only`; otherwise its help page is etcdctl 3.4's.
#[test]
fn get_help_adds_only_count_only() {
    let args = ["get".to_string(), "--help".to_string()];
    let real = String::from_utf8(run(REAL, &args, &[], b"").stdout).unwrap();
    let ours = String::from_utf8(run(support::ctl::ours(), &args, &[], b"").stdout).unwrap();
    let extra: Vec<&str> = ours
        .lines()
        .filter(|l| !real.lines().any(|r| r == *l))
        .collect();
    assert_eq!(extra.len(), 1, "{extra:?}");
    assert!(extra[0].contains("--count-only[=false]") && extra[0].contains("Get only the count"));
    assert_eq!(ours.lines().count(), real.lines().count() + 1);
}
