//! systemd `Type=notify`: like etcd, our `etcd-server` sends `READY=1` on the socket named
//! by `$NOTIFY_SOCKET` (a path or an `@abstract` name) once it serves clients, and not
//! before; real etcd is held to the same checks.

use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use integration_tests::cluster::status;
use integration_tests::notify::{notify_socket, wait_notification};
use integration_tests::{free_port, our_bin, Server, REAL_ETCD};

/// Longest wait for a notification from a member that can become ready.
const READY_LIMIT: Duration = Duration::from_secs(30);

/// A member process on free ports, killed on drop.
struct Member {
    child: Child,
    endpoint: String,
    log: PathBuf,
}

impl Member {
    /// Starts `bin` in `dir` with `NOTIFY_SOCKET=notify`; `absent_peer` adds a second,
    /// never started, member to the initial cluster, so that it has no quorum.
    fn start(bin: &Path, dir: &Path, notify: &str, absent_peer: bool) -> Member {
        let client = format!("http://127.0.0.1:{}", free_port());
        let peer = format!("http://127.0.0.1:{}", free_port());
        let mut initial = format!("m1={peer}");
        if absent_peer {
            initial.push_str(&format!(",m2=http://127.0.0.1:{}", free_port()));
        }
        let log = dir.join("member.log");
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(bin);
        cmd.args(["--name", "m1", "--data-dir"])
            .arg(dir.join("data"))
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &initial])
            .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
            .env("NOTIFY_SOCKET", notify)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        // SAFETY: prctl is async-signal-safe; the closure allocates nothing.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        Member {
            child: cmd.spawn().expect("start the member"),
            endpoint: client.trim_start_matches("http://").to_string(),
            log,
        }
    }

    /// The first datagram on `socket` within `limit`, `None` if none came; panics if the
    /// process exits meanwhile.
    fn notification(&mut self, socket: &UnixDatagram, limit: Duration) -> Option<String> {
        wait_notification(socket, &mut self.child, &self.log, limit)
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `READY=1` arrives, and the client port answers Status at that very moment.
async fn ready_once_serving(bin: &Path, abstract_name: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (socket, addr) = notify_socket(dir.path(), abstract_name);
    let mut member = Member::start(bin, dir.path(), &addr, false);
    let message = member.notification(&socket, READY_LIMIT);
    assert_eq!(
        message.as_deref(),
        Some("READY=1"),
        "{} sent no readiness notification",
        bin.display()
    );
    let answered = status(&member.endpoint).await;
    assert!(
        answered.is_some(),
        "{} notified readiness before serving clients",
        bin.display()
    );
}

#[tokio::test]
async fn ready_is_sent_to_a_socket_path_once_serving() {
    ready_once_serving(&our_bin("etcd-server"), false).await;
}

#[tokio::test]
async fn ready_is_sent_to_an_abstract_socket_once_serving() {
    ready_once_serving(&our_bin("etcd-server"), true).await;
}

#[tokio::test]
async fn real_etcd_sends_the_same_message() {
    ready_once_serving(Path::new(REAL_ETCD), false).await;
    ready_once_serving(Path::new(REAL_ETCD), true).await;
}

#[test]
fn no_ready_without_quorum() {
    for bin in [our_bin("etcd-server"), PathBuf::from(REAL_ETCD)] {
        let dir = tempfile::tempdir().unwrap();
        let (socket, addr) = notify_socket(dir.path(), false);
        let mut member = Member::start(&bin, dir.path(), &addr, true);
        let message = member.notification(&socket, Duration::from_secs(3));
        assert_eq!(message, None, "{} is not serving yet", bin.display());
    }
}

#[test]
fn an_unreachable_notify_socket_does_not_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let client = format!("http://127.0.0.1:{port}");
    let peer = format!("http://127.0.0.1:{}", free_port());
    let notify = dir.path().join("nobody-listens.sock");
    let s = Server::start_configured(
        &our_bin("etcd-server"),
        dir.path(),
        port,
        &[
            "--listen-client-urls",
            &client,
            "--advertise-client-urls",
            &client,
            "--listen-peer-urls",
            &peer,
            "--initial-advertise-peer-urls",
            &peer,
        ],
        &[("NOTIFY_SOCKET", notify.to_str().unwrap())],
    );
    let start = Instant::now();
    while !s
        .log_text()
        .contains("failed to notify systemd for readiness")
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the failure is not logged:\n{}",
            s.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
