//! Scheduled backups (ours; etcd has none): with `--backup-dir DIR`, every
//! `--backup-interval` the member writes a snapshot in etcd's format (the same bytes as
//! Maintenance.Snapshot: database + SHA-256) to `DIR/etcd-backup-<UTC time>.db`, and keeps
//! the newest `--backup-keep`.
//!
//! A backup is written to a hidden `.part` file, fsynced, read back and verified (hash and
//! bbolt integrity check) before it is renamed into place, then the directory is fsynced:
//! a crash (kill -9) at any point leaves either a complete, verified backup or a `.part`
//! file, never a file that looks complete. Leftover `.part` files are removed when the task
//! starts. Success time and failures are in the metrics and in `endpoint status`.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use tokio::sync::watch;

use crate::backend::EtcdBackend;

/// Names of finished backups: `etcd-backup-<timestamp>.db`.
const PREFIX: &str = "etcd-backup-";
const SUFFIX: &str = ".db";
/// In-progress files: hidden, and never with the finished suffix.
const PART_PREFIX: &str = ".etcd-backup-";
const PART_SUFFIX: &str = ".db.part";

/// `--backup-dir`, `--backup-interval`, `--backup-keep`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupPolicy {
    pub dir: PathBuf,
    pub interval: Duration,
    pub keep: usize,
}

/// When the last backup succeeded (Unix seconds; 0: never), shared with Status.
#[derive(Debug, Default)]
pub struct LastBackup(AtomicI64);

impl LastBackup {
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// `20261125T235000.123Z`: sortable, unique per millisecond, safe in file names.
fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// The finished backups in `dir`, oldest first.
pub fn list(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Removes what a crash mid-backup left behind.
fn remove_parts(dir: &Path) -> io::Result<()> {
    for e in std::fs::read_dir(dir)?.filter_map(Result::ok) {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(PART_PREFIX) && name.ends_with(PART_SUFFIX) {
            tracing::warn!(file = %e.path().display(), "removing an unfinished backup");
            std::fs::remove_file(e.path())?;
        }
    }
    Ok(())
}

/// Writes one verified backup of `b` into `policy.dir`, then drops the oldest beyond
/// `policy.keep`. Returns the new backup's path.
pub fn run_once(b: &EtcdBackend, policy: &BackupPolicy) -> anyhow::Result<PathBuf> {
    let stamp = timestamp(SystemTime::now());
    let part = policy
        .dir
        .join(format!("{PART_PREFIX}{stamp}{PART_SUFFIX}"));
    let done = policy.dir.join(format!("{PREFIX}{stamp}{SUFFIX}"));
    let (db, size) = crate::db_snapshot::build(&*b.engine, &b.snap_dir)?;
    let result = write_verified(db, size, &part).and_then(|()| {
        std::fs::rename(&part, &done).context("renaming the backup into place")?;
        File::open(&policy.dir)?.sync_all()?;
        Ok(())
    });
    if let Err(e) = result {
        let _ = std::fs::remove_file(&part);
        return Err(e);
    }
    let all = list(&policy.dir)?;
    for old in all.iter().take(all.len().saturating_sub(policy.keep)) {
        std::fs::remove_file(old).with_context(|| format!("removing {}", old.display()))?;
        tracing::info!(file = %old.display(), "removed an old backup");
    }
    Ok(done)
}

/// The database and its SHA-256 into `part`, fsynced, then read back and checked.
fn write_verified(db: File, size: u64, part: &Path) -> anyhow::Result<()> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(part)
        .with_context(|| format!("creating {}", part.display()))?;
    let mut hw = snapshot::HashingWriter::new(BufWriter::new(file));
    io::copy(&mut db.take(size), &mut hw)?;
    let (mut out, digest) = hw.into_parts();
    out.write_all(&digest)?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    let reader = snapshot::Reader::open(part, true).context("verifying the backup")?;
    reader.check().context("verifying the backup")?;
    Ok(())
}

/// Runs backups every `policy.interval` until `shutdown`.
pub fn spawn(b: Arc<EtcdBackend>, policy: BackupPolicy, mut shutdown: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let setup = std::fs::create_dir_all(&policy.dir).and_then(|()| remove_parts(&policy.dir));
        if let Err(e) = setup {
            tracing::error!(dir = %policy.dir.display(), error = %e, "backup directory unusable");
        }
        tracing::info!(dir = %policy.dir.display(), interval = ?policy.interval, keep = policy.keep, "scheduled backups enabled");
        loop {
            tokio::select! {
                _ = tokio::time::sleep(policy.interval) => {}
                _ = shutdown.changed() => return,
            }
            let started = std::time::Instant::now();
            let (backend, p) = (b.clone(), policy.clone());
            let done = tokio::task::spawn_blocking(move || run_once(&backend, &p)).await;
            match done {
                Ok(Ok(path)) => {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs() as i64);
                    b.last_backup.0.store(now, Ordering::Relaxed);
                    b.metrics.backup_last_success.set(now);
                    tracing::info!(file = %path.display(), took = ?started.elapsed(), "backup written and verified");
                }
                Ok(Err(e)) => {
                    b.metrics.backup_failures.inc();
                    tracing::error!(error = %format!("{e:#}"), "backup failed");
                }
                Err(e) => {
                    b.metrics.backup_failures.inc();
                    tracing::error!(error = %e, "backup task failed");
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_sort_and_read_as_utc() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_650_600_123);
        assert_eq!(timestamp(t), "20261125T235000.123Z");
        assert_eq!(timestamp(UNIX_EPOCH), "19700101T000000.000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(timestamp(leap), "20000229T000000.000Z");
    }

    #[test]
    fn only_finished_backups_are_listed_and_parts_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "etcd-backup-20261126T010000.000Z.db",
            "etcd-backup-20261126T000000.000Z.db",
            ".etcd-backup-20261126T020000.000Z.db.part",
            "other.db",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let names = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            names(list(dir.path()).unwrap()),
            vec![
                "etcd-backup-20261126T000000.000Z.db",
                "etcd-backup-20261126T010000.000Z.db"
            ]
        );
        remove_parts(dir.path()).unwrap();
        assert!(!dir
            .path()
            .join(".etcd-backup-20261126T020000.000Z.db.part")
            .exists());
        assert!(dir.path().join("other.db").exists());
    }
}
