//! systemd's `Type=notify` protocol from the service manager's side: a datagram socket
//! whose name goes in the service's `NOTIFY_SOCKET`, and a bounded wait for the
//! service's first message (`READY=1`).

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

/// A datagram socket bound in `dir` (`abstract_name`: in the abstract namespace instead),
/// and the `NOTIFY_SOCKET` value naming it.
pub fn notify_socket(dir: &Path, abstract_name: bool) -> (UnixDatagram, String) {
    if abstract_name {
        use std::os::linux::net::SocketAddrExt;
        let name = format!(
            "etcd-rs-notify-{}-{}",
            std::process::id(),
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
            .expect("abstract socket name");
        let socket = UnixDatagram::bind_addr(&addr).expect("bind the notify socket");
        (socket, format!("@{name}"))
    } else {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        (socket, path.display().to_string())
    }
}

/// The first datagram on `socket` within `limit`, `None` if none came; panics, showing
/// the service's `log`, if `child` exits meanwhile.
pub fn wait_notification(
    socket: &UnixDatagram,
    child: &mut Child,
    log: &Path,
    limit: Duration,
) -> Option<String> {
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("socket timeout");
    let start = Instant::now();
    let mut buf = [0u8; 256];
    while start.elapsed() < limit {
        if let Ok(n) = socket.recv(&mut buf) {
            return Some(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!(
                "the service exited ({st}); log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
    }
    None
}
