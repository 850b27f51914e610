//! Helpers shared by the snapshot tests: the real etcdctl's `snapshot status -w json`, and
//! a corruption sweep (truncations and bit flips) that must give errors, never panics.

use std::path::Path;
use std::process::Command;

use integration_tests::REAL_ETCDCTL;
use snapshot::{Reader, Status};

/// `etcdctl snapshot status -w json FILE` (real etcdctl 3.4.23), parsed.
pub fn real_status(path: &Path) -> Status {
    let out = Command::new("timeout")
        .args([
            "-s",
            "KILL",
            "60",
            REAL_ETCDCTL,
            "snapshot",
            "status",
            "-w",
            "json",
        ])
        .arg(path)
        .env("ETCDCTL_API", "3")
        .output()
        .expect("run etcdctl");
    assert!(
        out.status.success(),
        "etcdctl snapshot status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
    Status {
        hash: v["hash"].as_u64().expect("hash") as u32,
        revision: v["revision"].as_i64().expect("revision"),
        total_key: v["totalKey"].as_i64().expect("totalKey"),
        total_size: v["totalSize"].as_i64().expect("totalSize"),
    }
}

/// The last line real `etcdctl snapshot restore FILE` prints on failure, without the
/// `Error: ` prefix (restoring into a fresh temporary directory).
pub fn real_restore_error(path: &Path) -> String {
    let scratch = tempfile::tempdir().expect("tempdir");
    let out = Command::new("timeout")
        .args(["-s", "KILL", "60", REAL_ETCDCTL, "snapshot", "restore"])
        .arg(path)
        .arg(format!(
            "--data-dir={}",
            scratch.path().join("restored").display()
        ))
        .env("ETCDCTL_API", "3")
        .output()
        .expect("run etcdctl");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    last.strip_prefix("Error: ").unwrap_or(last).to_string()
}

/// Reads `bytes` fully (status, which checks and walks everything); returns the outcome.
pub fn read_outcome(bytes: Vec<u8>) -> Result<Status, snapshot::Error> {
    let r = Reader::from_bytes(bytes, false)?;
    r.read_all()?;
    r.status()
}

/// Truncates and bit-flips `good` at `step`-spaced offsets: every variant must be read
/// without panicking; truncations inside the database must be errors. Returns how many
/// variants were refused.
pub fn corruption_sweep(good: &[u8], db_len: usize, step: usize) -> usize {
    let mut refused = 0;
    let mut cut = 1;
    while cut < db_len {
        let r = read_outcome(good[..cut].to_vec());
        assert!(r.is_err(), "truncated to {cut} bytes was accepted");
        refused += 1;
        cut += step;
    }
    let mut at = 0;
    while at < db_len {
        for bit in [0u8, 3, 7] {
            let mut bad = good[..db_len].to_vec();
            bad[at] ^= 1 << bit;
            if read_outcome(bad).is_err() {
                refused += 1;
            }
        }
        at += step;
    }
    refused
}
