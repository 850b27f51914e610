//! `lock` and `elect` output formats compared with the real etcdctl: both run against two
//! copies of the same member (same IDs and revisions), are stopped with SIGINT once they
//! printed, and their outputs must be equal once the lease IDs (which each server picks
//! itself) are masked. The server is `$ETCD_TEST_SERVER_BIN` (real etcd by default), as in
//! the other tests of this directory.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use regex::Regex;
use support::ctl::{ours, REAL};
use support::server::Pair;

/// A running etcdctl whose output is collected after SIGINT; killed on drop.
struct Running(Option<Child>);

impl Running {
    fn start(bin: &str, ep: &str, args: &[&str]) -> Running {
        let child = Command::new(bin)
            .arg(format!("--endpoints={ep}"))
            .args(args)
            .env_remove("ETCDCTL_API")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn etcdctl");
        Running(Some(child))
    }

    /// SIGINT, then (exit code, stdout, stderr), waiting at most 10 s.
    fn interrupt(mut self) -> (Option<i32>, String, String) {
        let child = self.0.take().expect("running");
        // SAFETY: kill(2) on our own child.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGINT);
        }
        let pid = child.id();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(10));
            // SAFETY: as above; harmless if it already exited and was reaped long ago.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        });
        let out = child.wait_with_output().expect("output");
        drop(killer);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Masks lease IDs: hex in keys, decimal in `lease` fields, base64 keys in JSON.
fn mask(s: &str) -> String {
    let rules = [
        (r"/[0-9a-f]{6,16}\b", "/<LEASE>"),
        (r#"("lease"|"Lease") ?: ?\d+"#, "$1:<LEASE>"),
        (r#""key":"[^"]*""#, r#""key":"<KEY>""#),
    ];
    let mut out = s.to_string();
    for (re, with) in rules {
        out = Regex::new(re).unwrap().replace_all(&out, with).into_owned();
    }
    out
}

/// Runs `args` with one binary against `ep`, gives it time to print, interrupts it.
fn hold(bin: &str, ep: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let r = Running::start(bin, ep, args);
    std::thread::sleep(Duration::from_millis(1500));
    let (code, out, err) = r.interrupt();
    (code, mask(&out), mask(&err))
}

#[test]
fn lock_and_elect_formats() {
    let pair = Pair::new(|ep| {
        let o = Command::new(REAL)
            .args([&format!("--endpoints={ep}"), "put", "seed", "v"])
            .output()
            .expect("seed");
        assert!(o.status.success());
    });
    let (real, ours_ep) = (pair.real.endpoint.clone(), pair.ours.endpoint.clone());
    for format in ["simple", "json", "fields"] {
        for args in [
            vec!["-w", format, "lock", "mylock"],
            vec!["-w", format, "elect", "myelection", "proposal"],
        ] {
            let want = hold(REAL, &real, &args);
            let got = hold(ours(), &ours_ep, &args);
            assert_eq!(got, want, "{args:?}");
            assert_eq!(want.0, Some(0), "{want:?}");
            assert!(!want.1.is_empty(), "{args:?} printed nothing");
        }
        // An observer prints the current leader.
        let leader_real = Running::start(REAL, &real, &["elect", "obs", "p"]);
        let leader_ours = Running::start(REAL, &ours_ep, &["elect", "obs", "p"]);
        let start = Instant::now();
        let args = ["-w", format, "elect", "-l", "obs"];
        let want = hold(REAL, &real, &args);
        let got = hold(ours(), &ours_ep, &args);
        assert!(start.elapsed() < Duration::from_secs(20));
        assert_eq!(got, want, "{args:?}");
        assert!(!want.1.is_empty(), "{args:?} printed nothing");
        drop((leader_real.interrupt(), leader_ours.interrupt()));
    }
}
