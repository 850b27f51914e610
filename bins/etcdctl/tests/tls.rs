//! TLS flags (`--cacert --cert --key --insecure-skip-tls-verify --insecure-transport` and
//! their `ETCDCTL_*` variables) against a real etcd serving `https://` with
//! `--client-cert-auth`, compared byte for byte with the real etcdctl: working
//! connections, refused ones (no client certificate, a certificate from another CA, an
//! untrusted server, plaintext to a TLS port) and unusable TLS files. The certificates are
//! made at test time (`integration_tests::certs`).

mod support;

use client::TlsConfig;
use integration_tests::certs::{path, Ca, Leaf};
use support::ctl::Case;
use support::server::{EtcdServer, Setup};

/// Short timeouts: refused connections wait for them.
const FAST: [&str; 2] = ["--dial-timeout=1s", "--command-timeout=1s"];

/// The certificates of one test: the trusted CA with a server and a client certificate,
/// and a client certificate from another CA.
struct Pki {
    _dir: tempfile::TempDir,
    ca: String,
    server: Leaf,
    client: Leaf,
    stranger: Leaf,
    garbage: String,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = Ca::new(dir.path(), "main");
        let other = Ca::new(dir.path(), "other");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a PEM file\n").expect("write garbage");
        Pki {
            ca: ca.path(),
            server: ca.issue("server"),
            client: ca.issue("client"),
            stranger: other.issue("client"),
            garbage: path(&garbage),
            _dir: dir,
        }
    }

    /// A real etcd serving clients on `https://` only, requiring client certificates when
    /// `client_cert_auth`.
    fn server(&self, client_cert_auth: bool) -> EtcdServer {
        let mut args = vec![
            "--cert-file".to_string(),
            self.server.cert.clone(),
            "--key-file".to_string(),
            self.server.key.clone(),
        ];
        if client_cert_auth {
            args.extend([
                "--trusted-ca-file".to_string(),
                self.ca.clone(),
                "--client-cert-auth".to_string(),
            ]);
        }
        EtcdServer::start_setup(&Setup {
            args,
            tls: Some(TlsConfig {
                ca_file: Some(self.ca.clone()),
                cert_file: Some(self.client.cert.clone()),
                key_file: Some(self.client.key.clone()),
                ..TlsConfig::default()
            }),
            ..Setup::default()
        })
    }
}

/// `etcdctl --endpoints=<scheme>{EP} <FAST> <args>`.
fn case(scheme: &str, args: &[&str]) -> Case {
    let endpoints = format!("--endpoints={scheme}{{EP}}");
    let mut all = vec![endpoints.as_str()];
    all.extend_from_slice(&FAST);
    all.extend_from_slice(args);
    Case::raw(&all)
}

#[test]
fn client_certificates_against_client_cert_auth() {
    let pki = Pki::new();
    let server = pki.server(true);
    let ep = &server.endpoint;
    let ca = format!("--cacert={}", pki.ca);
    let (cert, key) = (
        format!("--cert={}", pki.client.cert),
        format!("--key={}", pki.client.key),
    );
    let (stranger_cert, stranger_key) = (
        format!("--cert={}", pki.stranger.cert),
        format!("--key={}", pki.stranger.key),
    );
    let https = "https://";
    // Working: https:// or no scheme with TLS flags, skip-verify instead of the CA.
    case(https, &[&ca, &cert, &key, "put", "k", "v"]).check_on(ep);
    case(https, &[&ca, &cert, &key, "-w", "json", "get", "k"]).check_on(ep);
    case("", &[&ca, &cert, &key, "get", "k"]).check_on(ep);
    case(
        https,
        &["--insecure-skip-tls-verify", &cert, &key, "get", "k"],
    )
    .check_on(ep);
    let no_scheme = ["--insecure-transport=false", "--insecure-skip-tls-verify"];
    case("", &[no_scheme[0], no_scheme[1], &cert, &key, "get", "k"]).check_on(ep);
    case(https, &[&ca, &cert, &key, "member", "list"]).check_on(ep);
    case(https, &[&ca, &cert, &key, "endpoint", "health"])
        .durations()
        .check_on(ep);
    case(
        https,
        &[&ca, &cert, &key, "-w", "table", "endpoint", "status"],
    )
    .mask(r"\d+ kB", "<SIZE>")
    .check_on(ep);
    // The same through the environment.
    case(https, &["get", "k"])
        .env("ETCDCTL_CACERT", &pki.ca)
        .env("ETCDCTL_CERT", &pki.client.cert)
        .env("ETCDCTL_KEY", &pki.client.key)
        .check_on(ep);
    case("", &["get", "k"])
        .env("ETCDCTL_INSECURE_TRANSPORT", "false")
        .env("ETCDCTL_INSECURE_SKIP_TLS_VERIFY", "true")
        .env("ETCDCTL_CERT", &pki.client.cert)
        .env("ETCDCTL_KEY", &pki.client.key)
        .check_on(ep);
    // A user on a cluster without auth: the refusal is logged, the command runs.
    case(https, &[&ca, &cert, &key, "--user=root:pw", "get", "k"]).check_on(ep);
    // Refused: no client certificate, another CA's, an untrusted server, plaintext.
    case(https, &[&ca, "get", "k"]).check_on(ep);
    case(https, &[&ca, "--user=root:pw", "get", "k"]).check_on(ep);
    case(https, &[&ca, &stranger_cert, &stranger_key, "get", "k"]).check_on(ep);
    case(https, &[&cert, &key, "get", "k"]).check_on(ep);
    case(https, &["--insecure-skip-tls-verify", "get", "k"]).check_on(ep);
    case("", &["get", "k"]).check_on(ep);
    case("http://", &[&ca, &cert, &key, "get", "k"]).check_on(ep);
}

#[test]
fn server_certificate_checks_without_client_cert_auth() {
    let pki = Pki::new();
    let server = pki.server(false);
    let ep = &server.endpoint;
    let ca = format!("--cacert={}", pki.ca);
    let https = "https://";
    case(https, &[&ca, "put", "k", "v"]).check_on(ep);
    case(https, &["--cacert", &pki.ca, "get", "k"]).check_on(ep);
    case(
        "",
        &[
            "--insecure-transport=false",
            "--insecure-skip-tls-verify",
            "get",
            "k",
        ],
    )
    .check_on(ep);
    // etcdctl applies --insecure-skip-tls-verify only to a TLS setup of its own flags.
    case(https, &["--insecure-skip-tls-verify", "get", "k"]).check_on(ep);
    case(https, &["get", "k"]).check_on(ep);
    case("", &["--insecure-transport=false", "get", "k"]).check_on(ep);
    // A CA file without any certificate trusts nothing.
    case(https, &["--cacert", &pki.garbage, "get", "k"]).check_on(ep);
    // localhost is in the certificate too.
    let localhost = format!(
        "--endpoints=https://localhost:{}",
        server.endpoint.split(':').nth(1).unwrap_or_default()
    );
    Case::raw(&[&localhost, &ca, "get", "k"]).check_on(ep);
}

#[test]
fn unusable_tls_files_are_refused_before_connecting() {
    let pki = Pki::new();
    let ep = "127.0.0.1:1";
    let (cert, key) = (pki.client.cert.as_str(), pki.client.key.as_str());
    let missing = "/nonexistent/ca.pem";
    for args in [
        &["--cert", cert][..],
        &["--key", key],
        &["--cert", &pki.garbage, "--key", key],
        &["--cert", cert, "--key", &pki.garbage],
        &["--cert", cert, "--key", &pki.stranger.key],
        &["--cert", cert, "--key", cert],
        &["--cacert", key],
        &["--cacert", missing],
        &["--cert", missing, "--key", key],
        &["--cacert="],
        &["--cert=", "--key", key],
    ] {
        let mut all = args.to_vec();
        all.extend(["get", "k"]);
        case("https://", &all).check_on(ep);
    }
}
