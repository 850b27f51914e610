//! TLS with etcd's flags, checked with the real etcdctl 3.4: an `https://` client URL
//! next to an `http://` one, `--client-cert-auth` (a certificate signed by the trusted CA
//! is required), and a 3-member cluster over `https://` peer URLs where a member whose
//! peer certificate comes from another CA cannot join. The CAs and certificates are
//! generated at test time ([`integration_tests::certs`]).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use integration_tests::certs::{path, Ca, Leaf};
use integration_tests::{free_port, our_bin, REAL_ETCD, REAL_ETCDCTL};

const WAIT: Duration = Duration::from_secs(30);

/// Our server process, killed on drop (no readiness wait: cluster members wait for
/// each other).
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn start(dir: &Path, name: &str, args: &[String]) -> Proc {
        Proc::start_bin(&our_bin("etcd-server"), dir, name, args)
    }

    fn start_bin(bin: &Path, dir: &Path, name: &str, args: &[String]) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .args(["--name", name, "--data-dir", &path(&dir.join(name))])
            .args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start etcd-server");
        Proc { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real etcdctl against `endpoint` with extra global flags, 20 s deadline.
fn ctl(endpoint: &str, flags: &[&str], args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["-s", "KILL", "20", REAL_ETCDCTL])
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoint}"))
        .arg("--dial-timeout=2s")
        .arg("--command-timeout=5s")
        .args(flags)
        .args(args)
        .output()
        .expect("run etcdctl")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Retries `endpoint health` until it succeeds (bounded).
fn wait_healthy(endpoint: &str, flags: &[&str], procs: &[&Proc]) {
    let start = Instant::now();
    loop {
        let out = ctl(endpoint, flags, &["endpoint", "health"]);
        if out.status.success() {
            return;
        }
        let logs: Vec<String> = procs.iter().map(|p| p.log()).collect();
        assert!(
            start.elapsed() < WAIT,
            "{endpoint} not healthy: {}\nlogs:\n{}",
            text(&out),
            logs.join("\n----\n")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Client TLS with `server`'s certificate, requiring client certificates from `ca`.
fn client_cert_auth(server: &Leaf, ca: &Ca) -> Vec<String> {
    vec![
        "--cert-file".into(),
        server.cert.clone(),
        "--key-file".into(),
        server.key.clone(),
        "--trusted-ca-file".into(),
        ca.path(),
        "--client-cert-auth".into(),
    ]
}

fn single_member(dir: &Path, https: u16, http: u16, extra: &[String]) -> Proc {
    single_member_of(&our_bin("etcd-server"), dir, https, http, extra)
}

fn single_member_of(bin: &Path, dir: &Path, https: u16, http: u16, extra: &[String]) -> Proc {
    let peer = format!("http://127.0.0.1:{}", free_port());
    let mut args: Vec<String> = [
        "--listen-client-urls".to_owned(),
        format!("https://127.0.0.1:{https},http://127.0.0.1:{http}"),
        "--advertise-client-urls".to_owned(),
        format!("https://127.0.0.1:{https}"),
        "--listen-peer-urls".to_owned(),
        peer.clone(),
        "--initial-advertise-peer-urls".to_owned(),
        peer.clone(),
        "--initial-cluster".to_owned(),
        format!("m={peer}"),
    ]
    .into();
    args.extend_from_slice(extra);
    Proc::start_bin(bin, dir, "m", &args)
}

#[test]
fn https_and_http_client_urls_serve_etcdctl() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let server = ca.issue("server");
    let (https, http) = (free_port(), free_port());
    let m = single_member(
        dir.path(),
        https,
        http,
        &[
            "--cert-file".into(),
            server.cert.clone(),
            "--key-file".into(),
            server.key.clone(),
        ],
    );
    let secure = format!("https://127.0.0.1:{https}");
    let cacert = format!("--cacert={}", ca.path());
    wait_healthy(&secure, &[&cacert], &[&m]);

    let health = ctl(&secure, &[&cacert], &["endpoint", "health", "-w", "table"]);
    assert!(health.status.success(), "{}", text(&health));
    let table = text(&health);
    assert!(table.contains(&secure) && table.contains("true"), "{table}");

    let put = ctl(&secure, &[&cacert], &["put", "k", "over-tls"]);
    assert!(put.status.success(), "{}", text(&put));
    let get = ctl(&secure, &[&cacert], &["get", "k", "--print-value-only"]);
    assert_eq!(String::from_utf8_lossy(&get.stdout).trim(), "over-tls");

    // The plaintext URL serves the same data.
    let plain = ctl(
        &format!("127.0.0.1:{http}"),
        &[],
        &["get", "k", "--print-value-only"],
    );
    assert_eq!(String::from_utf8_lossy(&plain.stdout).trim(), "over-tls");

    // Without the CA the server certificate is not trusted.
    let untrusted = ctl(&secure, &[], &["get", "k"]);
    assert!(!untrusted.status.success(), "{}", text(&untrusted));
}

#[test]
fn client_cert_auth_requires_a_certificate_from_the_trusted_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "main");
    let other = Ca::new(dir.path(), "other");
    let server = ca.issue("server");
    let (https, http) = (free_port(), free_port());
    let m = single_member(dir.path(), https, http, &client_cert_auth(&server, &ca));
    let secure = format!("https://127.0.0.1:{https}");
    let cacert = format!("--cacert={}", ca.path());
    let client = ca.issue("client");
    let (cert, key) = (
        format!("--cert={}", client.cert),
        format!("--key={}", client.key),
    );
    wait_healthy(&secure, &[&cacert, &cert, &key], &[&m]);
    let put = ctl(&secure, &[&cacert, &cert, &key], &["put", "k", "v"]);
    assert!(put.status.success(), "{}", text(&put));

    let anonymous = ctl(&secure, &[&cacert], &["get", "k"]);
    assert!(!anonymous.status.success(), "{}", text(&anonymous));

    let stranger = other.issue("client");
    let (cert, key) = (
        format!("--cert={}", stranger.cert),
        format!("--key={}", stranger.key),
    );
    let refused = ctl(&secure, &[&cacert, &cert, &key], &["get", "k"]);
    assert!(!refused.status.success(), "{}", text(&refused));
}

/// With --client-cert-auth, the common name of a verified client certificate is the user
/// (no --user needed), on real etcd and ours alike.
#[test]
fn client_certificate_common_name_is_the_user() {
    for (name, bin) in [
        ("real", PathBuf::from(REAL_ETCD)),
        ("ours", our_bin("etcd-server")),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new(dir.path(), "main");
        let server = ca.issue("server");
        let (https, http) = (free_port(), free_port());
        let mut flags = client_cert_auth(&server, &ca);
        flags.push("--bcrypt-cost=4".into());
        let m = single_member_of(&bin, dir.path(), https, http, &flags);
        let plain = format!("http://127.0.0.1:{http}");
        wait_healthy(&plain, &[], &[&m]);
        for args in [
            &["user", "add", "root:rootpw"][..],
            &["user", "grant-role", "root", "root"],
            &["role", "add", "app"],
            &[
                "role",
                "grant-permission",
                "app",
                "read",
                "cfg/",
                "--prefix",
            ],
            &["user", "add", "alice", "--no-password"],
            &["user", "grant-role", "alice", "app"],
            &["put", "cfg/x", "1"],
            &["auth", "enable"],
        ] {
            let out = ctl(&plain, &[], args);
            assert!(out.status.success(), "{name} {args:?}: {}", text(&out));
        }
        let secure = format!("https://127.0.0.1:{https}");
        let cacert = format!("--cacert={}", ca.path());
        let as_cert = |leaf: &Leaf, args: &[&str]| {
            let (cert, key) = (
                format!("--cert={}", leaf.cert),
                format!("--key={}", leaf.key),
            );
            ctl(&secure, &[&cacert, &cert, &key], args)
        };
        let (alice, root) = (ca.issue("alice"), ca.issue("root"));
        let got = as_cert(&alice, &["get", "cfg/x", "--print-value-only"]);
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            "1\n",
            "{name}: {}",
            text(&got)
        );
        let denied = as_cert(&alice, &["put", "cfg/x", "2"]);
        assert!(
            text(&denied).contains("Error: etcdserver: permission denied"),
            "{name}: {}",
            text(&denied)
        );
        let ok = as_cert(&root, &["put", "cfg/x", "3"]);
        assert!(ok.status.success(), "{name}: {}", text(&ok));
        let anonymous = ctl(&plain, &[], &["get", "cfg/x"]);
        assert!(
            text(&anonymous).contains("Error: etcdserver: user name is empty"),
            "{name}: {}",
            text(&anonymous)
        );
        let nopass = ctl(&plain, &["--user=alice:x"], &["get", "cfg/x"]);
        assert!(
            !nopass.status.success(),
            "{name}: a no-password user logged in with a password"
        );
    }
}

#[test]
fn bad_certificate_file_fails_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = path(&dir.path().join("missing.crt"));
    let mut m = single_member(
        dir.path(),
        free_port(),
        free_port(),
        &[
            "--cert-file".into(),
            missing.clone(),
            "--key-file".into(),
            missing.clone(),
        ],
    );
    let start = Instant::now();
    let status = loop {
        if let Some(st) = m.child.try_wait().unwrap() {
            break st;
        }
        assert!(start.elapsed() < WAIT, "server did not exit:\n{}", m.log());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let log = m.log();
    assert!(
        log.contains("--cert-file") && log.contains(&missing),
        "{log}"
    );
}

/// Starts a cluster over https peer URLs (`--peer-client-cert-auth`); member `i` uses the
/// peer certificate `certs[i]`. Client URLs are plain http.
fn peer_tls_cluster(dir: &Path, ca: &Ca, certs: &[Leaf]) -> (Vec<Proc>, Vec<String>) {
    tls_cluster(dir, ca, certs, false)
}

/// Three members with peer TLS (`--peer-client-cert-auth`); with `client_tls` also the
/// seed's client side: an https listener requiring a client certificate
/// (`--client-cert-auth`) next to a plain http one on 127.0.0.1. Returns the members and
/// their client URLs (the https ones when `client_tls`).
fn tls_cluster(dir: &Path, ca: &Ca, certs: &[Leaf], client_tls: bool) -> (Vec<Proc>, Vec<String>) {
    let peers: Vec<String> = certs
        .iter()
        .map(|_| format!("https://127.0.0.1:{}", free_port()))
        .collect();
    let clients: Vec<String> = certs
        .iter()
        .map(|_| format!("http://127.0.0.1:{}", free_port()))
        .collect();
    let secure: Vec<String> = certs
        .iter()
        .map(|_| format!("https://127.0.0.1:{}", free_port()))
        .collect();
    let initial: Vec<String> = peers
        .iter()
        .enumerate()
        .map(|(i, p)| format!("m{i}={p}"))
        .collect();
    let procs = certs
        .iter()
        .enumerate()
        .map(|(i, leaf)| {
            let (listen, advertise) = if client_tls {
                (format!("{},{}", secure[i], clients[i]), secure[i].clone())
            } else {
                (clients[i].clone(), clients[i].clone())
            };
            let mut args: Vec<String> = [
                "--listen-client-urls",
                &listen,
                "--advertise-client-urls",
                &advertise,
                "--listen-peer-urls",
                &peers[i],
                "--initial-advertise-peer-urls",
                &peers[i],
                "--initial-cluster",
                &initial.join(","),
                "--peer-cert-file",
                &leaf.cert,
                "--peer-key-file",
                &leaf.key,
                "--peer-trusted-ca-file",
                &ca.path(),
                "--peer-client-cert-auth",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            if client_tls {
                for a in ["--cert-file", &leaf.cert, "--key-file", &leaf.key] {
                    args.push(a.to_string());
                }
                args.extend([
                    "--trusted-ca-file".into(),
                    ca.path(),
                    "--client-cert-auth".into(),
                ]);
            }
            Proc::start(dir, &format!("m{i}"), &args)
        })
        .collect();
    (procs, if client_tls { secure } else { clients })
}

/// The seed's TLS deployment: 3 members, peer TLS and client TLS with client
/// certificates; the seed's health check (`etcdctl --cacert --cert --key
/// --endpoints=https://... endpoint health -w table`) gives the same table with the real
/// etcdctl and ours (timings masked).
#[test]
fn seed_tls_cluster_health_with_both_etcdctls() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "seed");
    let certs: Vec<Leaf> = (0..3).map(|i| ca.issue(&format!("m{i}"))).collect();
    let (procs, urls) = tls_cluster(dir.path(), &ca, &certs, true);
    let client = ca.issue("client");
    let flags = [
        format!("--cacert={}", ca.path()),
        format!("--cert={}", client.cert),
        format!("--key={}", client.key),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let refs: Vec<&Proc> = procs.iter().collect();
    for u in &urls {
        wait_healthy(u, &flags, &refs);
    }
    let endpoints = urls.join(",");
    // The table's cells, row by row (sorted: rows come in the order the checks finish),
    // with the TOOK column masked (its width follows the longest timing, so borders are
    // compared by shape only).
    let took = regex::Regex::new(r"^\d+(\.\d+)?(ns|µs|ms|s)$").unwrap();
    let health = |bin: &Path| {
        let out = Command::new("timeout")
            .args(["-s", "KILL", "20"])
            .arg(bin)
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoints}"))
            .args(&flags)
            .args(["endpoint", "health", "-w", "table"])
            .output()
            .expect("run etcdctl");
        assert!(out.status.success(), "{}: {}", bin.display(), text(&out));
        let table = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut rows: Vec<Vec<String>> = table
            .lines()
            .map(|l| {
                l.split(['|', '+'])
                    .map(|c| {
                        let c = c.trim();
                        if took.is_match(c) {
                            "T".to_owned()
                        } else if !c.is_empty() && c.chars().all(|ch| ch == '-') {
                            "-".to_owned()
                        } else {
                            c.to_owned()
                        }
                    })
                    .collect()
            })
            .collect();
        rows.sort();
        (rows, table)
    };
    let (real, table) = health(Path::new(REAL_ETCDCTL));
    let healthy = real
        .iter()
        .filter(|r| r.iter().any(|c| c == "true"))
        .count();
    assert_eq!(healthy, 3, "{table}");
    let (ours, our_table) = health(&our_bin("etcdctl"));
    assert_eq!(ours, real, "ours:\n{our_table}\nreal:\n{table}");
    // Without a client certificate the https endpoints refuse etcdctl (ours: bins/etcdctl/tests/tls.rs).
    let anonymous = ctl(&urls[0], &flags[..1], &["get", "k"]);
    assert!(!anonymous.status.success(), "{}", text(&anonymous));
}

#[test]
fn three_members_talk_over_peer_tls() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "peer");
    let certs: Vec<Leaf> = (0..3).map(|i| ca.issue(&format!("m{i}"))).collect();
    let (procs, clients) = peer_tls_cluster(dir.path(), &ca, &certs);
    let refs: Vec<&Proc> = procs.iter().collect();
    for c in &clients {
        wait_healthy(c, &[], &refs);
    }
    let put = ctl(&clients[0], &[], &["put", "k", "via-peer-tls"]);
    assert!(put.status.success(), "{}", text(&put));
    let get = ctl(&clients[2], &[], &["get", "k", "--print-value-only"]);
    assert_eq!(String::from_utf8_lossy(&get.stdout).trim(), "via-peer-tls");
}

#[test]
fn member_with_a_peer_certificate_from_another_ca_cannot_join() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "peer");
    let other = Ca::new(dir.path(), "other");
    let certs = vec![ca.issue("m0"), ca.issue("m1"), other.issue("m2")];
    let (procs, clients) = peer_tls_cluster(dir.path(), &ca, &certs);
    let refs: Vec<&Proc> = procs.iter().collect();
    // The two trusted members form a quorum and serve.
    wait_healthy(&clients[0], &[], &refs);
    wait_healthy(&clients[1], &[], &refs);
    let put = ctl(&clients[0], &[], &["put", "k", "v"]);
    assert!(put.status.success(), "{}", text(&put));
    let get = ctl(&clients[1], &[], &["get", "k", "--print-value-only"]);
    assert_eq!(String::from_utf8_lossy(&get.stdout).trim(), "v");
    // The stranger never hears from a leader, so it never serves clients.
    std::thread::sleep(Duration::from_secs(3));
    let stranger = ctl(&clients[2], &[], &["get", "--consistency=s", "k"]);
    assert!(!stranger.status.success(), "{}", text(&stranger));
    let put = ctl(&clients[1], &[], &["put", "k", "still"]);
    assert!(put.status.success(), "{}", text(&put));
}
