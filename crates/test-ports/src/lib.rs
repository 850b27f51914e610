//! Free TCP ports on 127.0.0.1 for tests that start servers on fixed ports (etcd's flags
//! name a port; the server cannot be told to pick one).
//!
//! The usual trick, binding port 0 and closing the socket, is racy in two ways that
//! made multi-member tests fail: the kernel may hand the same port out again on the
//! next bind (two members of one cluster got the same client port: one exited and the
//! test talked to the other), and the port comes from the ephemeral range, so any
//! outgoing connection on the machine may take it before the server binds it.
//!
//! [`free_port`] avoids both: it picks ports *below* the ephemeral range (outgoing
//! connections never use them), never hands out a port twice in one process, and
//! takes an exclusive `flock` on `$TMPDIR/etcd-rs-test-ports/<port>.lock` that it holds
//! until the process exits (the kernel releases it even on kill -9), so concurrently
//! running test processes never share a port either. A port is only handed out if it
//! can be bound at that moment.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Mutex;

/// Ports handed out by this process, with the lock files that reserve them.
static HELD: Mutex<Vec<(u16, File)>> = Mutex::new(Vec::new());

/// Lowest port used (below: well-known services and common defaults such as 2379).
const LOWEST: u16 = 10_000;

/// A port on 127.0.0.1 that nothing listens on, never handed out before by this process
/// nor, while this process lives, to another one using this crate. Panics when none is
/// found after many attempts.
pub fn free_port() -> u16 {
    let (low, high) = candidate_range();
    let dir = lock_dir();
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    let taken: HashSet<u16> = held.iter().map(|(p, _)| *p).collect();
    for _ in 0..10_000 {
        let port = low + (random() % u64::from(high - low)) as u16;
        if taken.contains(&port) {
            continue;
        }
        let Some(lock) = reserve(&dir, port) else {
            continue;
        };
        if TcpListener::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        held.push((port, lock));
        return port;
    }
    panic!("no free port on 127.0.0.1 in {low}..{high}");
}

/// Ports to pick from: from [`LOWEST`] up to the start of the kernel's ephemeral range
/// (Linux's default 32768..60999 gives 10000..32768).
fn candidate_range() -> (u16, u16) {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    if ephemeral_low > LOWEST + 1_000 {
        (LOWEST, ephemeral_low)
    } else {
        // An unusual ephemeral range: fall back to the ports above it.
        (ephemeral_low.max(LOWEST), u16::MAX)
    }
}

fn lock_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("etcd-rs-test-ports");
    // Another process may create it at the same time; `reserve` fails if it is unusable.
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// An exclusive lock on `port`'s lock file, or `None` when another process holds it.
fn reserve(dir: &std::path::Path, port: u16) -> Option<File> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(format!("{port}.lock")))
        .ok()?;
    // SAFETY: flock on a file descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    (rc == 0).then_some(file)
}

fn random() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_bindable_and_outside_the_ephemeral_range() {
        let (low, high) = candidate_range();
        let ports: Vec<u16> = (0..200).map(|_| free_port()).collect();
        let distinct: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len(), "a port was handed out twice");
        for &p in &ports {
            assert!((low..high).contains(&p), "{p} outside {low}..{high}");
            TcpListener::bind(("127.0.0.1", p)).expect("handed-out port is bindable");
        }
    }

    #[test]
    fn a_port_locked_by_another_holder_is_not_handed_out() {
        let port = free_port();
        // This process holds the lock: a second lock on the same file (another open file
        // description, as another process would have) must fail.
        assert!(reserve(&lock_dir(), port).is_none());
    }
}
