//! Running the real etcdctl and ours on the same input and comparing stdout, stderr and
//! the exit code byte for byte (after masking what legitimately differs between two runs:
//! log timestamps, random client IDs and, when asked, measured durations).

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use regex::bytes::Regex;

/// The reference binary.
pub const REAL: &str = "/usr/bin/etcdctl";

/// Hard limit for one etcdctl run.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// Our binary.
pub fn ours() -> &'static str {
    env!("CARGO_BIN_EXE_etcdctl")
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
    /// Exit code (`None` if killed).
    pub code: Option<i32>,
}

/// Runs `bin` with `args`, the given environment (on top of ours, minus any `ETCDCTL_*`),
/// and `stdin`; killed after 30 s.
pub fn run(bin: &str, args: &[String], env: &[(String, String)], stdin: &[u8]) -> Outcome {
    let mut cmd = Command::new(Path::new(bin));
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ETCDCTL_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out_pipe.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err_pipe.read_to_end(&mut b);
        b
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if start.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = writer.join();
    Outcome {
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        code: status.code(),
    }
}

/// One command line to run with both binaries. `{EP}` in arguments and environment values
/// stands for the endpoint of the server each binary talks to.
#[derive(Clone)]
pub struct Case {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Vec<u8>,
    durations: bool,
    unordered: bool,
    masks: Vec<(String, String)>,
}

fn regex(re: &str) -> Regex {
    Regex::new(re).expect("valid regex")
}

impl Case {
    /// `etcdctl --endpoints={EP} <args>`.
    pub fn new(args: &[&str]) -> Case {
        let mut all = vec!["--endpoints={EP}".to_string()];
        all.extend(args.iter().map(|s| s.to_string()));
        Case {
            args: all,
            env: Vec::new(),
            stdin: Vec::new(),
            durations: false,
            unordered: false,
            masks: Vec::new(),
        }
    }

    /// `etcdctl <args>` without an endpoint flag.
    pub fn raw(args: &[&str]) -> Case {
        Case {
            args: args.iter().map(|s| s.to_string()).collect(),
            ..Case::new(&[])
        }
    }

    /// Feeds `s` on stdin.
    pub fn stdin(mut self, s: &str) -> Case {
        self.stdin = s.as_bytes().to_vec();
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, k: &str, v: &str) -> Case {
        self.env.push((k.to_string(), v.to_string()));
        self
    }

    /// Masks Go durations (health check times) and table padding that depends on them.
    pub fn durations(mut self) -> Case {
        self.durations = true;
        self
    }

    /// Compares outputs as multisets of lines, JSON array items counting as lines (for
    /// results printed in completion order, such as `endpoint health` over several
    /// endpoints).
    pub fn unordered(mut self) -> Case {
        self.unordered = true;
        self
    }

    /// Replaces matches of `re` by `with` in both outputs (values that legitimately differ
    /// between two runs, such as freshly granted lease IDs).
    pub fn mask(mut self, re: &str, with: &str) -> Case {
        self.masks.push((re.to_string(), with.to_string()));
        self
    }

    /// Runs `bin` (either etcdctl) against `ep`.
    pub fn run_on(&self, bin: &str, ep: &str) -> Outcome {
        let args: Vec<String> = self.args.iter().map(|a| a.replace("{EP}", ep)).collect();
        let env: Vec<(String, String)> = self
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.replace("{EP}", ep)))
            .collect();
        run(bin, &args, &env, &self.stdin)
    }

    fn normalize(&self, b: &[u8], ep: &str) -> Vec<u8> {
        let mut b = b.to_vec();
        if !ep.is_empty() {
            b = b.replace_all_bytes(ep.as_bytes(), b"<EP>");
        }
        b = regex(r#""ts":"[^"]*""#)
            .replace_all(&b, &b"\"ts\":\"<TS>\""[..])
            .into_owned();
        b = regex(r"client-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
            .replace_all(&b, &b"client-<UUID>"[..])
            .into_owned();
        b = regex(r"(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} ")
            .replace_all(&b, &b"<TIME> "[..])
            .into_owned();
        for (re, with) in &self.masks {
            b = regex(re).replace_all(&b, with.as_bytes()).into_owned();
        }
        if self.durations {
            b = regex(r"\b(\d+h)?(\d+m)?\d+(\.\d+)?(ns|µs|ms|s)\b")
                .replace_all(&b, &b"<DUR>"[..])
                .into_owned();
            b = regex(r"-+").replace_all(&b, &b"-"[..]).into_owned();
            b = regex(r" +").replace_all(&b, &b" "[..]).into_owned();
        }
        if self.unordered {
            b = sorted_lines(&b);
        }
        b
    }

    /// Runs the real etcdctl against `real_ep` and ours against `ours_ep` and asserts the
    /// same (normalized) stdout, stderr and exit code.
    pub fn check(&self, real_ep: &str, ours_ep: &str) -> Outcome {
        let want = self.run_on(REAL, real_ep);
        let got = self.run_on(ours(), ours_ep);
        self.assert_same(&want, &got, real_ep, ours_ep);
        want
    }

    /// True if the two outcomes are the same after normalization.
    fn same(&self, want: &Outcome, got: &Outcome, real_ep: &str, ours_ep: &str) -> bool {
        let got = without_count_only(got);
        self.normalize(&got.stdout, ours_ep) == self.normalize(&want.stdout, real_ep)
            && self.normalize(&got.stderr, ours_ep) == self.normalize(&want.stderr, real_ep)
            && got.code == want.code
    }

    /// Like [`Case::check_on`], for state that may change on its own between two runs
    /// (raft terms and indexes of a multi-member cluster): when the outputs differ and the
    /// real etcdctl's own output has changed since, the comparison is run again (at most
    /// three times). A difference on stable state fails at once.
    pub fn check_stable(&self, ep: &str) -> Outcome {
        for _ in 0..3 {
            let want = self.run_on(REAL, ep);
            let got = self.run_on(ours(), ep);
            if self.same(&want, &got, ep, ep) {
                return want;
            }
            let again = self.run_on(REAL, ep);
            if self.same(&want, &again, ep, ep) {
                self.assert_same(&want, &got, ep, ep);
            }
        }
        self.check_on(ep)
    }

    /// Asserts that `got` (ours, run against `ours_ep`) matches `want` (the real etcdctl's,
    /// run against `real_ep`) after normalization.
    pub fn assert_same(&self, want: &Outcome, got: &Outcome, real_ep: &str, ours_ep: &str) {
        let got = without_count_only(got);
        let show = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let what = format!("etcdctl {}", self.args.join(" "));
        assert_eq!(
            show(&self.normalize(&got.stdout, ours_ep)),
            show(&self.normalize(&want.stdout, real_ep)),
            "stdout differs for `{what}`"
        );
        assert_eq!(
            self.normalize(&got.stdout, ours_ep),
            self.normalize(&want.stdout, real_ep),
            "stdout bytes differ for `{what}`"
        );
        assert_eq!(
            show(&self.normalize(&got.stderr, ours_ep)),
            show(&self.normalize(&want.stderr, real_ep)),
            "stderr differs for `{what}`"
        );
        assert_eq!(got.code, want.code, "exit code differs for `{what}`");
    }

    /// Both binaries against the same server.
    pub fn check_on(&self, ep: &str) -> Outcome {
        self.check(ep, ep)
    }
}

/// Byte-string replacement.
trait ReplaceBytes {
    fn replace_all_bytes(&self, from: &[u8], to: &[u8]) -> Vec<u8>;
}

impl ReplaceBytes for Vec<u8> {
    fn replace_all_bytes(&self, from: &[u8], to: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        let mut i = 0;
        while i < self.len() {
            if self[i..].starts_with(from) {
                out.extend_from_slice(to);
                i += from.len();
            } else {
                out.push(self[i]);
                i += 1;
            }
        }
        out
    }
}

/// Our deliberate additions to etcdctl 3.4: `get --count-only` (etcdctl 3.5) and
/// `snapshot verify`. Usage texts list them; nothing else may differ.
fn without_count_only(o: &Outcome) -> Outcome {
    Outcome {
        stdout: without_count_only_usage(&o.stdout),
        stderr: without_count_only_usage(&o.stderr),
        code: o.code,
    }
}

/// The lines of `b` in sorted order, JSON array items (`[{..},{..}]`) split into lines.
fn sorted_lines(b: &[u8]) -> Vec<u8> {
    let b = regex(r"\},\{").replace_all(b, &b"}\n{"[..]);
    let b = regex(r"\[\{").replace_all(&b, &b"[\n{"[..]);
    let b = regex(r"\}\]").replace_all(&b, &b"}\n]"[..]).into_owned();
    let mut lines: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
    lines.sort();
    lines.join(&b'\n')
}

/// Drops the usage lines of `get --count-only` (etcdctl 3.5's flag, which 3.4 lacks) and
/// of `snapshot verify` (ours).
fn without_count_only_usage(b: &[u8]) -> Vec<u8> {
    let b = regex(r"(?m)^ +--count-only\b.*\n").replace_all(b, &b""[..]);
    regex(r"(?m)^\t(snapshot )?verify\t.*\n")
        .replace_all(&b, &b""[..])
        .into_owned()
}

/// A long-running etcdctl (watch, keep-alive) whose output is collected while it runs;
/// killed (by PID) on drop.
pub struct Background {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

fn collect(mut pipe: impl Read + Send + 'static) -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = buf.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock()
                .expect("output lock")
                .extend_from_slice(&chunk[..n]);
        }
    });
    buf
}

impl Background {
    /// Starts `bin` with `args` (`{EP}` replaced by `ep`), stdin left open.
    pub fn start(bin: &str, args: &[&str], ep: &str) -> Background {
        let mut cmd = Command::new(bin);
        cmd.args(args.iter().map(|a| a.replace("{EP}", ep)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCDCTL_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
        let stdin = child.stdin.take();
        let stdout = collect(child.stdout.take().expect("stdout"));
        let stderr = collect(child.stderr.take().expect("stderr"));
        Background {
            child,
            stdin,
            stdout,
            stderr,
        }
    }

    /// Writes to its stdin.
    pub fn write(&mut self, s: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            stdin.write_all(s.as_bytes()).expect("write stdin");
            stdin.flush().expect("flush stdin");
        }
    }

    /// Closes its stdin.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Standard output so far.
    pub fn stdout(&self) -> Vec<u8> {
        self.stdout.lock().expect("output lock").clone()
    }

    /// Waits (bounded) until `done(stdout)` holds; false on timeout.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&[u8]) -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if done(&self.stdout()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        done(&self.stdout())
    }

    /// Waits (bounded) for the process to exit; kills it otherwise. Returns the outcome.
    pub fn finish(mut self, timeout: Duration) -> Outcome {
        let start = Instant::now();
        let code = loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                break st.code();
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                break self.child.wait().ok().and_then(|s| s.code());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        // Let the reader threads drain the pipes.
        std::thread::sleep(Duration::from_millis(100));
        Outcome {
            stdout: self.stdout(),
            stderr: self.stderr.lock().expect("output lock").clone(),
            code,
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
