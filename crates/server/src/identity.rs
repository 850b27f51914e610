//! The member's identity: member ID, cluster ID and the initial membership. Fixed at
//! bootstrap and persisted in the backend's `members` column family; on every later start
//! the `--initial-cluster*` flags are ignored, as etcd ignores them once a data dir exists.
//! A new cluster's identity comes from the flags (`--initial-cluster-state new`); a member
//! joining an existing cluster takes the cluster ID and members from a running member and
//! finds itself among them by its peer URLs. The membership then lives in
//! [`crate::cluster::Cluster`].

use anyhow::{bail, Context};
use etcd_proto::etcdserverpb::Member;
use mvcc::{Engine, WriteBatch};
use prost::Message;

use crate::config::Config;
use crate::ids;

use crate::cluster::{member_key, read_members};

const CF_MEMBERS: &str = "members";
const LOCAL: &[u8] = b"local";

#[derive(Debug, Clone)]
pub struct Identity {
    pub member_id: u64,
    pub cluster_id: u64,
    pub members: Vec<Member>,
    /// Bootstrapped by joining a running cluster (`--initial-cluster-state existing`):
    /// raft must not write an initial membership of its own.
    pub joined: bool,
}

impl Identity {
    /// The persisted identity, if the data dir was bootstrapped before.
    pub fn load(engine: &dyn Engine) -> anyhow::Result<Option<Identity>> {
        load(engine)
    }

    /// First start: computes the identity (from the flags, or from `existing` = the
    /// cluster ID and members a running member reported) and persists it.
    pub fn bootstrap(
        engine: &dyn Engine,
        cfg: &Config,
        existing: Option<(u64, Vec<Member>)>,
    ) -> anyhow::Result<Identity> {
        let id = match existing {
            None => bootstrap(cfg)?,
            Some((cluster_id, members)) => join(cfg, cluster_id, members)?,
        };
        persist(engine, &id)?;
        Ok(id)
    }

    /// A new cluster's identity from the flags alone, not persisted.
    pub fn compute(cfg: &Config) -> anyhow::Result<Identity> {
        bootstrap(cfg)
    }

    /// Loads the persisted identity, or computes it from the flags and persists it.
    pub fn load_or_bootstrap(engine: &dyn Engine, cfg: &Config) -> anyhow::Result<Identity> {
        match load(engine)? {
            Some(id) => {
                tracing::info!("data dir already initialized: ignoring --initial-cluster flags");
                Ok(id)
            }
            None => Identity::bootstrap(engine, cfg, None),
        }
    }

    /// Rewrites this member's own IDs (a raft snapshot from another member carries that
    /// member's).
    pub fn persist_local(&self, engine: &dyn Engine) -> anyhow::Result<()> {
        let mut batch = WriteBatch::new();
        batch.put(CF_MEMBERS, LOCAL, self.local_bytes());
        engine.write(batch, true)?;
        Ok(())
    }

    fn local_bytes(&self) -> Vec<u8> {
        let mut local = self.member_id.to_be_bytes().to_vec();
        local.extend_from_slice(&self.cluster_id.to_be_bytes());
        local.push(u8::from(self.joined));
        local
    }
}

/// `--initial-cluster-state existing`: this member was added with `member add`; find it
/// among the running cluster's members by its advertised peer URLs.
fn join(cfg: &Config, cluster_id: u64, members: Vec<Member>) -> anyhow::Result<Identity> {
    let mut mine = cfg.initial_advertise_peer_urls.clone();
    mine.sort();
    let me = members.iter().find(|m| {
        let mut urls = m.peer_ur_ls.clone();
        urls.sort();
        urls == mine
    });
    let Some(me) = me else {
        bail!(
            "error validating peerURLs: no member of the existing cluster {cluster_id:x} has peer URLs {mine:?} (add it with `etcdctl member add` first)"
        );
    };
    Ok(Identity {
        member_id: me.id,
        cluster_id,
        members,
        joined: true,
    })
}

fn bootstrap(cfg: &Config) -> anyhow::Result<Identity> {
    let initial = cfg.initial_members()?;
    let members: Vec<Member> = initial
        .into_iter()
        .map(|(name, peer_urls)| Member {
            id: ids::member_id(&peer_urls, &cfg.initial_cluster_token),
            name,
            peer_ur_ls: peer_urls,
            client_ur_ls: vec![],
            is_learner: false,
        })
        .collect();
    let all: Vec<u64> = members.iter().map(|m| m.id).collect();
    let member_id = members
        .iter()
        .find(|m| m.name == cfg.name)
        .map(|m| m.id)
        .with_context(|| {
            format!(
                "couldn't find local name {:?} in the initial cluster configuration",
                cfg.name
            )
        })?;
    Ok(Identity {
        member_id,
        cluster_id: ids::cluster_id(&all),
        members,
        joined: false,
    })
}

fn load(engine: &dyn Engine) -> anyhow::Result<Option<Identity>> {
    let Some(local) = engine.get(CF_MEMBERS, LOCAL)? else {
        return Ok(None);
    };
    if local.len() != 16 && local.len() != 17 {
        bail!(
            "corrupt member identity in the backend ({} bytes)",
            local.len()
        );
    }
    let member_id = u64::from_be_bytes(local[..8].try_into()?);
    let cluster_id = u64::from_be_bytes(local[8..16].try_into()?);
    let joined = local.get(16) == Some(&1);
    let members = read_members(engine)?;
    Ok(Some(Identity {
        member_id,
        cluster_id,
        members,
        joined,
    }))
}

fn persist(engine: &dyn Engine, id: &Identity) -> anyhow::Result<()> {
    let mut batch = WriteBatch::new();
    batch.put(CF_MEMBERS, LOCAL, id.local_bytes());
    for m in &id.members {
        batch.put(CF_MEMBERS, member_key(m.id), m.encode_to_vec());
    }
    engine.write(batch, true)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mvcc::MemEngine;

    #[test]
    fn flags_are_ignored_once_bootstrapped() {
        let engine = MemEngine::new();
        let mut cfg = Config::with_name("a");
        cfg.initial_cluster = "a=http://10.0.0.1:2380".into();
        let first = Identity::load_or_bootstrap(&engine, &cfg).unwrap();
        cfg.initial_cluster = "a=http://10.9.9.9:2380".into();
        cfg.advertise_client_urls = vec!["http://10.0.0.1:2379".into()];
        let again = Identity::load_or_bootstrap(&engine, &cfg).unwrap();
        assert_eq!(first.member_id, again.member_id);
        assert_eq!(first.cluster_id, again.cluster_id);
        assert_eq!(again.members[0].peer_ur_ls, vec!["http://10.0.0.1:2380"]);
    }

    #[test]
    fn a_joining_member_finds_itself_by_peer_urls() {
        let mut cfg = Config::with_name("c");
        cfg.initial_advertise_peer_urls = vec!["http://h3:2380".into()];
        let member = |id, url: &str| Member {
            id,
            peer_ur_ls: vec![url.into()],
            ..Default::default()
        };
        let members = vec![member(1, "http://h1:2380"), member(3, "http://h3:2380")];
        let engine = MemEngine::new();
        let id = Identity::bootstrap(&engine, &cfg, Some((42, members.clone()))).unwrap();
        assert_eq!((id.member_id, id.cluster_id), (3, 42));
        assert_eq!(Identity::load(&engine).unwrap().unwrap().member_id, 3);
        cfg.initial_advertise_peer_urls = vec!["http://elsewhere:2380".into()];
        let err = Identity::bootstrap(&MemEngine::new(), &cfg, Some((42, members))).unwrap_err();
        assert!(
            err.to_string().contains("add it with `etcdctl member add`"),
            "{err}"
        );
    }
}
