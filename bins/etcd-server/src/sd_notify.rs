//! systemd's readiness protocol (`sd_notify(3)`), as etcd's `daemon.SdNotify`: a unit with
//! `Type=notify` gets `READY=1` in one datagram on the Unix socket named by
//! `$NOTIFY_SOCKET` (a path, or an abstract name written with a leading `@`).

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

/// The state a service sends once it serves.
pub const READY: &str = "READY=1";

/// The env var naming the socket.
const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Sends `state` to the socket named by `$NOTIFY_SOCKET`; `Ok(false)` (nothing sent) when
/// the variable is unset or empty, i.e. when not started by systemd with `Type=notify`.
pub fn notify(state: &str) -> io::Result<bool> {
    match std::env::var_os(NOTIFY_SOCKET) {
        Some(addr) if !addr.is_empty() => notify_to(&addr, state).map(|()| true),
        _ => Ok(false),
    }
}

/// Sends `state` in one datagram to the socket `addr` (`@name` for an abstract socket).
pub fn notify_to(addr: &OsStr, state: &str) -> io::Result<()> {
    let socket = UnixDatagram::unbound()?;
    let sent = match addr.as_bytes().strip_prefix(b"@") {
        Some(name) => send_abstract(&socket, name, state)?,
        None => socket.send_to(state.as_bytes(), Path::new(addr))?,
    };
    if sent != state.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("sent {sent} of {} bytes", state.len()),
        ));
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn send_abstract(socket: &UnixDatagram, name: &[u8], state: &str) -> io::Result<usize> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    socket.send_to_addr(state.as_bytes(), &addr)
}

#[cfg(not(target_os = "linux"))]
fn send_abstract(_: &UnixDatagram, _: &[u8], _: &str) -> io::Result<usize> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract socket names exist only on Linux",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn received(socket: &UnixDatagram) -> String {
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 64];
        let n = socket.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn sends_to_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        notify_to(path.as_os_str(), READY).unwrap();
        assert_eq!(received(&socket), "READY=1");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sends_to_an_abstract_name() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("etcd-server-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let socket = UnixDatagram::bind_addr(&addr).unwrap();
        notify_to(OsStr::new(&format!("@{name}")), READY).unwrap();
        assert_eq!(received(&socket), "READY=1");
    }

    #[test]
    fn a_missing_socket_is_an_error() {
        assert!(notify_to(OsStr::new("/nonexistent/notify"), READY).is_err());
    }
}
