//! Background etcdctl processes for the lock and election tests: output to files, signals,
//! bounded waits, SIGKILL on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A long-running etcdctl (`lock`, `elect`), killed on drop.
pub struct Proc {
    child: Option<Child>,
    pub out: PathBuf,
    pub err: PathBuf,
}

impl Proc {
    /// Starts `bin --endpoints=<endpoint> args...` with stdout/stderr in `dir/<tag>.out|err`.
    pub fn start(bin: &Path, endpoint: &str, args: &[&str], dir: &Path, tag: &str) -> Proc {
        let out = dir.join(format!("{tag}.out"));
        let err = dir.join(format!("{tag}.err"));
        let child = Command::new(bin)
            .arg(format!("--endpoints={endpoint}"))
            .args(args)
            .env("ETCDCTL_API", "3")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        Proc {
            child: Some(child),
            out,
            err,
        }
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Sends `sig` (SIGINT, SIGTERM, SIGKILL).
    pub fn signal(&self, sig: i32) {
        if let Some(c) = &self.child {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe {
                libc::kill(c.id() as i32, sig);
            }
        }
    }

    /// Waits up to `limit` for the exit; `None` if still running.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        let child = self.child.as_mut()?;
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                return Some(st);
            }
            if start.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `limit` until stdout contains `text`.
    pub fn wait_stdout(&self, text: &str, limit: Duration) -> bool {
        wait_until(limit, || self.stdout().contains(text))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Polls `cond` every 50 ms for at most `limit`.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// Replaces the lease part of election/lock keys (`<name>/<hex>`) by `<lease N>`, numbered
/// in order of appearance, so outputs of different servers compare.
pub fn normalize_leases(text: &str, names: &[&str]) -> String {
    let mut seen: Vec<String> = Vec::new();
    let mut out = String::new();
    for line in text.lines() {
        let mut line = line.to_string();
        for name in names {
            if let Some(hex) = line.strip_prefix(&format!("{name}/")) {
                let hex = hex.to_string();
                let n = match seen.iter().position(|s| *s == hex) {
                    Some(n) => n,
                    None => {
                        seen.push(hex.clone());
                        seen.len() - 1
                    }
                };
                line = format!("{name}/<lease {n}>");
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}
