//! The way a Kubernetes control plane runs etcd outside kubelet: a systemd unit with
//! `Type=notify`, `Environment=` and `EnvironmentFile=` settings and a long `ExecStart=`
//! flag list (TLS for clients and peers, client-certificate auth, tuned raft timers,
//! auto-compaction, an 8 GiB quota, a plain-HTTP metrics listener, zap JSON logging, the
//! corruption checks). The unit below is started as systemd would start it, first with
//! the real etcd 3.4.23 (which proves the unit is valid for etcd), then with our
//! `etcd-server` in its place; both must:
//!
//! - send `READY=1` to `$NOTIFY_SOCKET`;
//! - answer `/health` with `{"health":"true"}` over https to the healthcheck client's
//!   certificate, and refuse a client without a certificate;
//! - serve `/metrics` on the `--listen-metrics-urls` address;
//! - log zap's JSON lines on stderr (`--logger zap`);
//! - and, with an `ETCD_*` variable whose flag is also on the command line, refuse to
//!   start with etcd's message.
//!
//! A minimal unit parser stands in for systemd: `[Service]` settings with line
//! continuations and quoting, `Environment=` assignments, an optional `EnvironmentFile=`
//! (whose values override `Environment=`, as in systemd), and `ExecStart=` with `${VAR}`
//! expanded inside words and a lone `$VAR` split into words. Before parsing, the unit's
//! host paths, node address and ports are relocated to a temporary directory, 127.0.0.1
//! and free ports; the service gets only the unit's environment, as under systemd.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use integration_tests::certs::{path, Ca};
use integration_tests::notify::{notify_socket, wait_notification};
use integration_tests::{free_port, our_bin, REAL_ETCD};

/// Longest wait for `READY=1` (the unit's election timeout is 2.5 s).
const READY_LIMIT: Duration = Duration::from_secs(60);

/// `/etc/systemd/system/etcd.service` of a control-plane node.
const UNIT: &str = r#"# etcd for the Kubernetes control plane (managed by the installer; do not edit)
[Unit]
Description=etcd key-value store for Kubernetes
Documentation=https://github.com/etcd-io/etcd
After=network-online.target local-fs.target
Wants=network-online.target

[Service]
Type=notify
User=root
EnvironmentFile=-/etc/etcd.env
Environment=MEMBER_NAME=cp1
Environment="DATA_DIR=/var/lib/etcd" "WAL_DIR=/var/lib/etcd-wal"
Environment=NODE_IP=10.240.0.11 CLUSTER_STATE=new
Environment=GOMAXPROCS=2
ExecStart=/usr/local/bin/etcd \
  --name=${MEMBER_NAME} \
  --data-dir=${DATA_DIR} \
  --wal-dir=${WAL_DIR} \
  --listen-client-urls=https://${NODE_IP}:2379 \
  --advertise-client-urls=https://${NODE_IP}:2379 \
  --listen-peer-urls=https://${NODE_IP}:2380 \
  --initial-advertise-peer-urls=https://${NODE_IP}:2380 \
  --initial-cluster=${MEMBER_NAME}=https://${NODE_IP}:2380 \
  --initial-cluster-token ${CLUSTER_TOKEN} \
  --initial-cluster-state $CLUSTER_STATE \
  --cert-file=/etc/kubernetes/pki/etcd/server.crt \
  --key-file=/etc/kubernetes/pki/etcd/server.key \
  --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt \
  --client-cert-auth=true \
  --peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt \
  --peer-key-file=/etc/kubernetes/pki/etcd/peer.key \
  --peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt \
  --peer-client-cert-auth \
  --snapshot-count 10000 \
  --heartbeat-interval 250 \
  --election-timeout 2500 \
  --auto-compaction-mode periodic \
  --auto-compaction-retention 1 \
  --quota-backend-bytes 8589934592 \
  --max-request-bytes 10485760 \
  --listen-metrics-urls=http://127.0.0.1:2381 \
  --logger zap \
  --log-level info \
  --log-outputs stderr \
  --experimental-initial-corrupt-check=true \
  --experimental-corrupt-check-time 4h
Restart=on-failure
RestartSec=5
LimitNOFILE=65536
TimeoutStartSec=0

[Install]
WantedBy=multi-user.target
"#;

/// `/etc/etcd.env`: settings etcd reads from `ETCD_*` variables, and one the unit expands.
const ENV_FILE: &str = r#"# etcd settings shared by the control-plane nodes
CLUSTER_TOKEN=k8s-etcd-cluster
ETCD_STRICT_RECONFIG_CHECK=true
ETCD_MAX_SNAPSHOTS=5
ETCD_MAX_WALS=5
ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL=5s
"#;

/// What the test needs of a `[Service]` section.
#[derive(Debug, Default, PartialEq)]
struct Service {
    service_type: String,
    /// The service's whole environment.
    env: Vec<(String, String)>,
    /// `ExecStart=`, expanded: program and arguments.
    exec_start: Vec<String>,
}

/// The unit's lines with continuations joined, comments and blank lines dropped.
fn logical_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if pending.is_empty() && (line.is_empty() || line.starts_with(['#', ';'])) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => {
                pending.push_str(head);
                pending.push(' ');
            }
            None => {
                pending.push_str(line);
                lines.push(std::mem::take(&mut pending));
            }
        }
    }
    if !pending.is_empty() {
        lines.push(pending);
    }
    lines
}

/// Splits `s` into words at unquoted whitespace; double or single quotes group a word.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// `KEY=value` lines of an environment file (comments and blank lines skipped).
fn env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with(['#', ';']))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// `${VAR}` inside `word` replaced by its value; a word that is only `$VAR` becomes the
/// value's words (systemd's rules for `ExecStart=`).
fn expand(word: &str, env: &HashMap<String, String>) -> Vec<String> {
    let value = |name: &str| env.get(name).cloned().unwrap_or_default();
    if let Some(name) = word.strip_prefix('$').filter(|n| !n.starts_with('{')) {
        return words(&value(name));
    }
    let mut out = String::new();
    let mut rest = word;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        out.push_str(&value(&after[..end]));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    vec![out]
}

/// The `[Service]` section of `unit`; `read` reads an `EnvironmentFile=`.
fn parse_service(unit: &str, read: impl Fn(&str) -> Option<String>) -> Service {
    let mut section = String::new();
    let mut service = Service::default();
    let (mut env, mut from_files) = (Vec::new(), Vec::new());
    let mut exec = None;
    for line in logical_lines(unit) {
        if line.starts_with('[') {
            section = line.trim_matches(['[', ']']).to_string();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if section != "Service" {
            continue;
        }
        match key.trim() {
            "Type" => service.service_type = value.trim().to_string(),
            "Environment" => env.extend(
                words(value)
                    .iter()
                    .filter_map(|a| a.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string())),
            ),
            "EnvironmentFile" => {
                let (optional, file) = match value.trim().strip_prefix('-') {
                    Some(f) => (true, f),
                    None => (false, value.trim()),
                };
                match read(file) {
                    Some(text) => from_files.extend(env_file(&text)),
                    None => assert!(optional, "missing EnvironmentFile {file}"),
                }
            }
            "ExecStart" => {
                exec = Some(
                    value
                        .trim_start_matches(['-', '@', ':', '+', '!'])
                        .to_string(),
                )
            }
            _ => {}
        }
    }
    // Values from environment files override Environment= (systemd.exec(5)).
    let mut vars: HashMap<String, String> = HashMap::new();
    for (k, v) in env.into_iter().chain(from_files) {
        vars.insert(k, v);
    }
    let exec = exec.expect("the unit has ExecStart=");
    service.exec_start = words(&exec).iter().flat_map(|w| expand(w, &vars)).collect();
    let mut env: Vec<_> = vars.into_iter().collect();
    env.sort();
    service.env = env;
    service
}

/// A node's files (certificates, environment file, data dirs) in a temporary directory,
/// and its ports: where the unit's host paths and addresses are relocated to.
struct Node {
    dir: tempfile::TempDir,
    client: u16,
    peer: u16,
    metrics: u16,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path().join("pki");
        std::fs::create_dir(&pki).unwrap();
        let ca = Ca::new(&pki, "etcd");
        std::fs::copy(ca.path(), pki.join("ca.crt")).unwrap();
        for (name, file) in [
            ("cp1", "server"),
            ("cp1-peer", "peer"),
            ("kube-etcd-healthcheck-client", "healthcheck-client"),
        ] {
            ca.issue_to(
                name,
                &pki.join(format!("{file}.crt")),
                &pki.join(format!("{file}.key")),
            );
        }
        std::fs::write(dir.path().join("etcd.env"), ENV_FILE).unwrap();
        Node {
            dir,
            client: free_port(),
            peer: free_port(),
            metrics: free_port(),
        }
    }

    fn path(&self, name: &str) -> String {
        path(&self.dir.path().join(name))
    }

    /// `unit` with its binary replaced by `bin`, and its paths, address and ports by the
    /// node's.
    fn relocate(&self, unit: &str, bin: &Path, run: &str) -> String {
        let moves = [
            ("/usr/local/bin/etcd".to_string(), path(bin)),
            ("/etc/kubernetes/pki/etcd".into(), self.path("pki")),
            ("/etc/etcd.env".into(), self.path("etcd.env")),
            ("/var/lib/etcd-wal".into(), self.path(&format!("{run}-wal"))),
            ("/var/lib/etcd".into(), self.path(&format!("{run}-data"))),
            ("10.240.0.11".into(), "127.0.0.1".into()),
            (":2379".into(), format!(":{}", self.client)),
            (":2380".into(), format!(":{}", self.peer)),
            (":2381".into(), format!(":{}", self.metrics)),
        ];
        moves
            .iter()
            .fold(unit.to_string(), |text, (from, to)| text.replace(from, to))
    }

    /// `curl` of `url` with `--cacert` and, if `client_cert`, the healthcheck client's
    /// certificate; 20 s deadline.
    fn curl(&self, url: &str, client_cert: bool) -> Output {
        let mut cmd = Command::new("timeout");
        cmd.args(["-s", "KILL", "20", "curl", "-sS", "--max-time", "10"])
            .args(["--cacert", &self.path("pki/ca.crt")]);
        if client_cert {
            cmd.args(["--cert", &self.path("pki/healthcheck-client.crt")])
                .args(["--key", &self.path("pki/healthcheck-client.key")]);
        }
        cmd.arg(url).output().expect("run curl")
    }
}

/// The service's process, killed on drop; stdout and stderr go to separate files.
struct Running {
    child: Child,
    stderr: PathBuf,
}

impl Running {
    fn start(service: &Service, notify: &str, dir: &Path, run: &str) -> Running {
        let stderr = dir.join(format!("{run}.stderr"));
        let stdout = std::fs::File::create(dir.join(format!("{run}.stdout"))).unwrap();
        let mut cmd = Command::new(&service.exec_start[0]);
        cmd.args(&service.exec_start[1..])
            .env_clear()
            .envs(service.env.iter().map(|(k, v)| (k, v)))
            .env("NOTIFY_SOCKET", notify)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(std::fs::File::create(&stderr).unwrap());
        // SAFETY: prctl is async-signal-safe; the closure allocates nothing.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", service.exec_start[0]));
        Running { child, stderr }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Checks that `line` is one of zap's JSON log lines; returns its `msg`.
fn zap_line(line: &str, ts: &regex::Regex) -> String {
    let v: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let field = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .unwrap_or_else(|| panic!("no string {k:?} in {line}"))
            .to_string()
    };
    assert!(
        ["debug", "info", "warn", "error"].contains(&field("level").as_str()),
        "{line}"
    );
    assert!(ts.is_match(&field("ts")), "ts of {line}");
    assert!(field("caller").contains(':'), "caller of {line}");
    field("msg")
}

/// Waits (bounded) until the service's stderr has logged that it published itself.
fn wait_published(run: &Running) -> String {
    let start = Instant::now();
    loop {
        let log = run.stderr();
        if log.contains("published local member to cluster through raft") {
            return log;
        }
        assert!(
            start.elapsed() < READY_LIMIT,
            "never published; stderr:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs the unit with `bin` as its etcd and checks what systemd and its operators see.
fn run_unit(bin: &Path, run: &str) {
    let node = Node::new();
    let unit = node.relocate(UNIT, bin, run);
    let service = parse_service(&unit, |f| std::fs::read_to_string(f).ok());
    assert_eq!(service.service_type, "notify");
    assert_eq!(service.exec_start[0], path(bin));

    let (socket, notify) = notify_socket(node.dir.path(), false);
    let mut running = Running::start(&service, &notify, node.dir.path(), run);
    let ready = wait_notification(&socket, &mut running.child, &running.stderr, READY_LIMIT);
    assert_eq!(ready.as_deref(), Some("READY=1"), "{}", running.stderr());

    let health_url = format!("https://127.0.0.1:{}/health", node.client);
    let health = node.curl(&health_url, true);
    assert_eq!(
        String::from_utf8_lossy(&health.stdout).trim(),
        r#"{"health":"true"}"#,
        "{health:?}"
    );
    let anonymous = node.curl(&health_url, false);
    assert!(
        !anonymous.status.success() || anonymous.stdout.is_empty(),
        "a client without a certificate was answered: {anonymous:?}"
    );
    let metrics = node.curl(&format!("http://127.0.0.1:{}/metrics", node.metrics), false);
    let metrics = String::from_utf8_lossy(&metrics.stdout);
    assert!(
        metrics.lines().any(|l| l == "etcd_server_has_leader 1"),
        "{metrics}"
    );

    let log = wait_published(&running);
    let ts = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").unwrap();
    // etcd reports the environment variables it used before its logger exists (in
    // capnslog's format); from the first JSON line on, every line is zap's.
    let zap: Vec<&str> = log
        .lines()
        .skip_while(|l| !l.starts_with('{'))
        .filter(|l| !l.is_empty())
        .collect();
    let messages: Vec<String> = zap.iter().map(|l| zap_line(l, &ts)).collect();
    assert!(messages.len() >= 5, "{log}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("published local member")),
        "{log}"
    );
}

/// Runs the unit with `bin`, plus `Environment=ETCD_SNAPSHOT_COUNT=5000`, which its
/// `--snapshot-count` flag shadows; returns the exit status and stderr.
fn run_conflicting_unit(bin: &Path) -> (std::process::ExitStatus, String) {
    let node = Node::new();
    let unit = node.relocate(UNIT, bin, "conflict").replace(
        "Environment=GOMAXPROCS=2\n",
        "Environment=GOMAXPROCS=2\nEnvironment=ETCD_SNAPSHOT_COUNT=5000\n",
    );
    let service = parse_service(&unit, |f| std::fs::read_to_string(f).ok());
    assert!(service
        .env
        .contains(&("ETCD_SNAPSHOT_COUNT".into(), "5000".into())));
    let (_socket, notify) = notify_socket(node.dir.path(), false);
    let mut running = Running::start(&service, &notify, node.dir.path(), "conflict");
    let start = Instant::now();
    loop {
        if let Some(status) = running.child.try_wait().expect("wait") {
            return (status, running.stderr());
        }
        assert!(
            start.elapsed() < READY_LIMIT,
            "{} did not refuse; stderr:\n{}",
            bin.display(),
            running.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_env_var_shadowed_by_a_flag_is_refused_as_etcd_refuses_it() {
    let conflict = "conflicting environment variable \"ETCD_SNAPSHOT_COUNT\" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)";
    for bin in [PathBuf::from(REAL_ETCD), our_bin("etcd-server")] {
        let (status, stderr) = run_conflicting_unit(&bin);
        assert_eq!(status.code(), Some(1), "{}: {stderr}", bin.display());
        assert!(stderr.contains(conflict), "{}: {stderr}", bin.display());
    }
}

#[test]
fn the_unit_is_valid_for_real_etcd() {
    run_unit(Path::new(REAL_ETCD), "real");
}

#[test]
fn our_server_runs_from_the_same_unit() {
    run_unit(&our_bin("etcd-server"), "ours");
}

#[test]
fn the_parser_reads_continuations_quotes_and_variables() {
    let unit = "[Unit]\nDescription=x\nEnvironment=IGNORED=1\n[Service]\nType=notify\n\
                EnvironmentFile=-/nowhere\nEnvironmentFile=/f\n\
                Environment=\"A=one two\" B=b\nEnvironment=C=from-unit\n\
                ExecStart=-/bin/x \\\n  --a=${A} \\\n  $A --c ${C} --d=${MISSING}x\n";
    let service = parse_service(unit, |f| (f == "/f").then(|| "# c\nC=from-file\n".into()));
    assert_eq!(
        service,
        Service {
            service_type: "notify".into(),
            env: vec![
                ("A".into(), "one two".into()),
                ("B".into(), "b".into()),
                ("C".into(), "from-file".into()),
            ],
            exec_start: [
                "/bin/x",
                "--a=one two",
                "one",
                "two",
                "--c",
                "from-file",
                "--d=x"
            ]
            .map(String::from)
            .to_vec(),
        }
    );
}
