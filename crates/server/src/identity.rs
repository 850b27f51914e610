//! The member's identity: member ID, cluster ID and the initial membership. Fixed at
//! bootstrap and persisted in the backend's `members` column family; on every later start
//! the `--initial-cluster*` flags are ignored, as etcd ignores them once a data dir exists.
//! The local member's name and client URLs are taken from the current flags each start
//! (etcd republishes them).

use anyhow::{bail, Context};
use etcd_proto::etcdserverpb::Member;
use mvcc::{Engine, WriteBatch};
use prost::Message;

use crate::config::Config;
use crate::ids;

const CF_MEMBERS: &str = "members";
const LOCAL: &[u8] = b"local";
const MEMBER_PREFIX: &[u8] = b"member/";

#[derive(Debug, Clone)]
pub struct Identity {
    pub member_id: u64,
    pub cluster_id: u64,
    pub members: Vec<Member>,
}

impl Identity {
    /// Loads the persisted identity, or computes it from the flags and persists it.
    pub fn load_or_bootstrap(engine: &dyn Engine, cfg: &Config) -> anyhow::Result<Identity> {
        let mut id = match load(engine)? {
            Some(id) => {
                tracing::info!("data dir already initialized: ignoring --initial-cluster flags");
                id
            }
            None => {
                let id = bootstrap(cfg)?;
                persist(engine, &id)?;
                id
            }
        };
        if let Some(me) = id.members.iter_mut().find(|m| m.id == id.member_id) {
            me.name = cfg.name.clone();
            me.client_ur_ls = cfg.advertise_client_urls.clone();
        }
        Ok(id)
    }
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
        .context("--name is not in --initial-cluster")?;
    Ok(Identity {
        member_id,
        cluster_id: ids::cluster_id(&all),
        members,
    })
}

fn load(engine: &dyn Engine) -> anyhow::Result<Option<Identity>> {
    let Some(local) = engine.get(CF_MEMBERS, LOCAL)? else {
        return Ok(None);
    };
    if local.len() != 16 {
        bail!(
            "corrupt member identity in the backend ({} bytes)",
            local.len()
        );
    }
    let member_id = u64::from_be_bytes(local[..8].try_into()?);
    let cluster_id = u64::from_be_bytes(local[8..].try_into()?);
    let mut members = Vec::new();
    let mut err = None;
    let mut end = MEMBER_PREFIX.to_vec();
    *end.last_mut().expect("non-empty prefix") += 1;
    engine.scan(
        CF_MEMBERS,
        MEMBER_PREFIX,
        &end,
        &mut |_, v| match Member::decode(v) {
            Ok(m) => {
                members.push(m);
                true
            }
            Err(e) => {
                err = Some(e);
                false
            }
        },
    )?;
    if let Some(e) = err {
        bail!("corrupt member record in the backend: {e}");
    }
    Ok(Some(Identity {
        member_id,
        cluster_id,
        members,
    }))
}

fn persist(engine: &dyn Engine, id: &Identity) -> anyhow::Result<()> {
    let mut batch = WriteBatch::new();
    let mut local = id.member_id.to_be_bytes().to_vec();
    local.extend_from_slice(&id.cluster_id.to_be_bytes());
    batch.put(CF_MEMBERS, LOCAL, local);
    for m in &id.members {
        let mut key = MEMBER_PREFIX.to_vec();
        key.extend_from_slice(format!("{:016x}", m.id).as_bytes());
        batch.put(CF_MEMBERS, key, m.encode_to_vec());
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
        assert_eq!(again.members[0].client_ur_ls, vec!["http://10.0.0.1:2379"]);
    }
}
