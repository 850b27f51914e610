//! `etcdctl snapshot restore`: a new member's data dir from an etcd snapshot file (ours
//! or real etcd's), as etcd's `snapshot.v3Manager.Restore` makes one.
//!
//! The snapshot's buckets become the column families of a fresh RocksDB backend (same
//! names and encodings), keeping every key, revision, lease, user, role and alarm. The old
//! membership is dropped: the member's identity and the new cluster's members come from
//! `--name`, `--initial-cluster`, `--initial-cluster-token` and
//! `--initial-advertise-peer-urls`, so the restored cluster has a new cluster ID. The
//! consistent index starts again from 0, so the new raft log (whose first entries are the
//! founding members) applies from the start, on top of the restored data.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use etcd_proto::etcdserverpb::Member;
use mvcc::{column_family, Engine, RocksEngine, WriteBatch, META_CONSISTENT_INDEX};

use crate::cluster::{CF_MEMBERS, CF_REMOVED};
use crate::config::Config;
use crate::identity::Identity;

/// Entries written to the backend per batch.
const BATCH: usize = 10_000;

/// What `snapshot restore` is asked to do.
#[derive(Debug, Clone)]
pub struct RestoreConfig {
    /// The snapshot file.
    pub snapshot: PathBuf,
    /// `--name`.
    pub name: String,
    /// `--data-dir` (`<name>.etcd` when `None`).
    pub data_dir: Option<PathBuf>,
    /// `--wal-dir` (`<data-dir>/member/wal` when `None`).
    pub wal_dir: Option<PathBuf>,
    /// `--initial-cluster`.
    pub initial_cluster: String,
    /// `--initial-cluster-token`.
    pub initial_cluster_token: String,
    /// `--initial-advertise-peer-urls`.
    pub initial_advertise_peer_urls: Vec<String>,
    /// `--skip-hash-check`: accept a file without (or with a wrong) SHA-256 trailer, such as
    /// a db file copied from a data dir.
    pub skip_hash_check: bool,
}

/// A checked restore, ready to run: where it writes and the new cluster.
#[derive(Debug)]
pub struct Plan {
    cfg: RestoreConfig,
    member: Config,
    /// The data dir to create.
    pub data_dir: PathBuf,
    /// Where the member's WAL will be.
    pub wal_dir: PathBuf,
    /// etcd's snap dir (for etcd's log line; unused by this server).
    pub snap_dir: PathBuf,
    /// The new cluster's ID.
    pub cluster_id: u64,
    /// The new cluster's members.
    pub members: Vec<Member>,
}

/// Checks the flags and the target directories (etcd's order and messages) without
/// touching the disk.
pub fn plan(cfg: RestoreConfig) -> anyhow::Result<Plan> {
    let mut member = Config::with_name(&cfg.name);
    member.initial_cluster = cfg.initial_cluster.clone();
    member.initial_cluster_token = cfg.initial_cluster_token.clone();
    member.initial_advertise_peer_urls = cfg.initial_advertise_peer_urls.clone();
    let identity = Identity::compute(&member)?;
    check_advertised(&member)?;
    let data_dir = cfg
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.etcd", cfg.name)));
    if data_dir.exists() {
        bail!("data-dir {:?} exists", data_dir.display().to_string());
    }
    let wal_dir = match &cfg.wal_dir {
        Some(w) if w.exists() => bail!("wal-dir {:?} exists", w.display().to_string()),
        Some(w) => w.clone(),
        None => data_dir.join("member").join("wal"),
    };
    member.data_dir = data_dir.clone();
    member.wal_dir = cfg.wal_dir.clone();
    Ok(Plan {
        snap_dir: data_dir.join("member").join("snap"),
        cfg,
        member,
        data_dir,
        wal_dir,
        cluster_id: identity.cluster_id,
        members: identity.members,
    })
}

impl Plan {
    /// Writes the data dir. On failure nothing is left behind.
    pub fn run(&self) -> anyhow::Result<()> {
        let result = self.write();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
        result
    }

    fn write(&self) -> anyhow::Result<()> {
        // Read (and verify) the snapshot before creating anything.
        let reader = snapshot::Reader::open(&self.cfg.snapshot, !self.cfg.skip_hash_check)?;
        std::fs::create_dir_all(self.data_dir.join("member"))
            .with_context(|| format!("cannot create {}", self.data_dir.display()))?;
        restrict(&self.data_dir);
        let engine: Arc<dyn Engine> = Arc::new(RocksEngine::open(&self.member.kv_dir())?);
        import(&reader, &*engine)?;
        Identity::bootstrap(&*engine, &self.member, None)?;
        engine.flush()?;
        Ok(())
    }
}

/// Copies every bucket this server keeps into its column family; the old membership and
/// the consistent index are left out (see the module doc).
fn import(reader: &snapshot::Reader, engine: &dyn Engine) -> anyhow::Result<()> {
    let mut batch = WriteBatch::new();
    let mut skipped: Vec<String> = Vec::new();
    reader.for_each(|bucket, k, v| {
        let name = String::from_utf8_lossy(bucket);
        let Some(cf) = column_family(&name) else {
            if !skipped.contains(&name.to_string()) {
                skipped.push(name.to_string());
            }
            return Ok(());
        };
        if cf == CF_MEMBERS || cf == CF_REMOVED || (cf == "meta" && k == META_CONSISTENT_INDEX) {
            return Ok(());
        }
        batch.put(cf, k.to_vec(), v.to_vec());
        if batch.len() >= BATCH {
            engine
                .write(std::mem::take(&mut batch), false)
                .map_err(|e| snapshot::Error::Write(e.to_string()))?;
        }
        Ok(())
    })?;
    engine.write(batch, true)?;
    for name in skipped {
        tracing::warn!(bucket = %name, "snapshot bucket not used by this server; skipped");
    }
    Ok(())
}

/// etcd's `advertiseMatchesCluster`: this member's entry in `--initial-cluster` must list
/// the URLs it advertises.
fn check_advertised(cfg: &Config) -> anyhow::Result<()> {
    let initial = cfg.initial_members()?;
    let mut listed: Vec<String> = initial
        .iter()
        .filter(|(name, _)| *name == cfg.name)
        .flat_map(|(_, urls)| urls.clone())
        .collect();
    let mut advertised = cfg.initial_advertise_peer_urls.clone();
    listed.sort();
    advertised.sort();
    if listed != advertised {
        let has: Vec<String> = listed.iter().map(|u| format!("{}={u}", cfg.name)).collect();
        bail!(
            "--initial-cluster has {} but missing from --initial-advertise-peer-urls={}",
            has.join(","),
            advertised.join(",")
        );
    }
    Ok(())
}

/// etcd's data dirs are private to the member (0700).
fn restrict(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}
