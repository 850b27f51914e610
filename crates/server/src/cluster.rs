//! The cluster's membership as the applied raft log defines it (etcd's
//! `membership.RaftCluster`): members with their peer and client URLs and learner flag,
//! and the IDs of removed members (never reusable).
//!
//! Persisted in the backend's `members` (`member/<id hex>` -> `etcdserverpb.Member`) and
//! `members_removed` column families. Changes arrive from the applier in log order (raft
//! conf changes, published attributes, peer URL updates) and are handed on to the peer
//! transport through [`PeerDirectory`], so a member added to the cluster is dialled
//! and a removed one is cut off.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::bail;
use etcd_proto::etcdserverpb::Member;
use mvcc::{Engine, WriteBatch};
use parking_lot::RwLock;
use prost::Message;
use raft_node::{MemberChange, MembershipChange};
use tokio::sync::watch;

pub(crate) const CF_MEMBERS: &str = "members";
pub(crate) const CF_REMOVED: &str = "members_removed";
pub(crate) const MEMBER_PREFIX: &[u8] = b"member/";

/// Where the membership is mirrored for networking (the raft peer transport).
pub trait PeerDirectory: Send + Sync + 'static {
    /// Adds member `id` or changes its peer URLs.
    fn upsert(&self, id: u64, peer_urls: Vec<String>);
    /// Forgets member `id` and refuses its messages from now on.
    fn remove(&self, id: u64);
}

#[derive(Default)]
struct State {
    members: BTreeMap<u64, Member>,
    removed: BTreeSet<u64>,
}

pub struct Cluster {
    pub cluster_id: u64,
    pub local_id: u64,
    engine: Arc<dyn Engine>,
    state: RwLock<State>,
    peers: Arc<dyn PeerDirectory>,
    /// Turns true when this member is removed from the cluster.
    removed_self: watch::Sender<bool>,
}

pub(crate) fn member_key(id: u64) -> Vec<u8> {
    let mut key = MEMBER_PREFIX.to_vec();
    key.extend_from_slice(format!("{id:016x}").as_bytes());
    key
}

impl Cluster {
    /// Loads the membership from the backend and tells `peers` about every other member.
    pub fn load(
        engine: Arc<dyn Engine>,
        cluster_id: u64,
        local_id: u64,
        peers: Arc<dyn PeerDirectory>,
    ) -> anyhow::Result<Cluster> {
        let state = read_state(engine.as_ref())?;
        let (removed_self, _) = watch::channel(state.removed.contains(&local_id));
        let cluster = Cluster {
            cluster_id,
            local_id,
            engine,
            state: RwLock::new(state),
            peers,
            removed_self,
        };
        cluster.sync_peers();
        Ok(cluster)
    }

    /// Re-reads the membership after the backend was replaced by a raft snapshot.
    pub fn reload(&self) -> anyhow::Result<()> {
        let fresh = read_state(self.engine.as_ref())?;
        let old: Vec<u64> = self.state.read().members.keys().copied().collect();
        for id in old.into_iter().filter(|id| !fresh.members.contains_key(id)) {
            self.peers.remove(id);
        }
        *self.state.write() = fresh;
        self.sync_peers();
        Ok(())
    }

    fn sync_peers(&self) {
        let st = self.state.read();
        for m in st.members.values().filter(|m| m.id != self.local_id) {
            self.peers.upsert(m.id, m.peer_ur_ls.clone());
        }
        for id in &st.removed {
            self.peers.remove(*id);
        }
        if st.removed.contains(&self.local_id) {
            self.removed_self.send_replace(true);
        }
    }

    /// Members sorted by ID.
    pub fn members(&self) -> Vec<Member> {
        self.state.read().members.values().cloned().collect()
    }

    pub fn member(&self, id: u64) -> Option<Member> {
        self.state.read().members.get(&id).cloned()
    }

    pub fn is_removed(&self, id: u64) -> bool {
        self.state.read().removed.contains(&id)
    }

    /// Notified (true) once this member has been removed from the cluster.
    pub fn subscribe_removed(&self) -> watch::Receiver<bool> {
        self.removed_self.subscribe()
    }

    /// Applies a committed raft conf change. `member` is the member proposed with it (absent
    /// for the initial members' entries, which the backend already holds).
    pub fn apply_conf_change(&self, change: &MembershipChange, member: Option<Member>) {
        let mut batch = WriteBatch::new();
        {
            let mut st = self.state.write();
            for c in &change.changes {
                match *c {
                    MemberChange::AddVoter(id) | MemberChange::AddLearner(id) => {
                        let learner = matches!(c, MemberChange::AddLearner(_));
                        let m = st.members.entry(id).or_insert_with(|| {
                            let mut m = member.clone().filter(|m| m.id == id).unwrap_or_default();
                            m.id = id;
                            m
                        });
                        m.is_learner = learner;
                        batch.put(CF_MEMBERS, member_key(id), m.encode_to_vec());
                        if id != self.local_id {
                            self.peers.upsert(id, m.peer_ur_ls.clone());
                        }
                    }
                    MemberChange::Remove(id) => {
                        st.members.remove(&id);
                        st.removed.insert(id);
                        batch.delete(CF_MEMBERS, member_key(id));
                        batch.put(CF_REMOVED, format!("{id:016x}").into_bytes(), Vec::new());
                        if id == self.local_id {
                            self.removed_self.send_replace(true);
                        } else {
                            self.peers.remove(id);
                        }
                    }
                }
            }
        }
        self.persist(batch);
    }

    /// A member published its name and client URLs.
    pub fn set_attributes(&self, id: u64, name: String, client_urls: Vec<String>) {
        self.modify(id, |m| {
            m.name = name;
            m.client_ur_ls = client_urls;
        });
    }

    /// MemberUpdate: new peer URLs for member `id`.
    pub fn update_peer_urls(&self, id: u64, peer_urls: Vec<String>) {
        if self.modify(id, |m| m.peer_ur_ls = peer_urls.clone()) && id != self.local_id {
            self.peers.upsert(id, peer_urls);
        }
    }

    fn modify(&self, id: u64, f: impl FnOnce(&mut Member)) -> bool {
        let mut batch = WriteBatch::new();
        {
            let mut st = self.state.write();
            let Some(m) = st.members.get_mut(&id) else {
                return false;
            };
            f(m);
            batch.put(CF_MEMBERS, member_key(id), m.encode_to_vec());
        }
        self.persist(batch);
        true
    }

    fn persist(&self, batch: WriteBatch) {
        if batch.is_empty() {
            return;
        }
        // Membership is re-applied from the WAL after a crash (the applier repeats conf
        // changes), so a lost write is repaired on restart; a failing disk is fatal later.
        if let Err(e) = self.engine.write(batch, false) {
            tracing::error!(error = %e, "cannot persist membership change");
        }
    }
}

/// The members stored in the backend, sorted by ID.
pub(crate) fn read_members(engine: &dyn Engine) -> anyhow::Result<Vec<Member>> {
    let mut members = Vec::new();
    let mut bad = None;
    let mut end = MEMBER_PREFIX.to_vec();
    *end.last_mut().expect("non-empty prefix") += 1;
    engine.scan(CF_MEMBERS, MEMBER_PREFIX, &end, &mut |_, v| {
        match Member::decode(v) {
            Ok(m) => members.push(m),
            Err(e) => bad = Some(e),
        }
        bad.is_none()
    })?;
    if let Some(e) = bad {
        bail!("corrupt member record in the backend: {e}");
    }
    members.sort_by_key(|m| m.id);
    Ok(members)
}

fn read_state(engine: &dyn Engine) -> anyhow::Result<State> {
    let mut st = State {
        members: read_members(engine)?
            .into_iter()
            .map(|m| (m.id, m))
            .collect(),
        ..State::default()
    };
    engine.scan(CF_REMOVED, &[], &[], &mut |k, _| {
        if let Some(id) = std::str::from_utf8(k)
            .ok()
            .and_then(|s| u64::from_str_radix(s, 16).ok())
        {
            st.removed.insert(id);
        }
        true
    })?;
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mvcc::MemEngine;
    use parking_lot::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);
    impl PeerDirectory for Recorder {
        fn upsert(&self, id: u64, urls: Vec<String>) {
            self.0.lock().push(format!("+{id:x} {}", urls.join(",")));
        }
        fn remove(&self, id: u64) {
            self.0.lock().push(format!("-{id:x}"));
        }
    }

    fn change(changes: Vec<MemberChange>) -> MembershipChange {
        MembershipChange {
            index: 9,
            term: 2,
            changes,
            context: vec![],
            voters: vec![],
            learners: vec![],
        }
    }

    fn member(id: u64, url: &str) -> Member {
        Member {
            id,
            peer_ur_ls: vec![url.into()],
            ..Default::default()
        }
    }

    #[test]
    fn changes_persist_and_reach_the_transport() {
        let engine: Arc<dyn Engine> = Arc::new(MemEngine::new());
        let peers = Arc::new(Recorder::default());
        let c = Cluster::load(engine.clone(), 7, 1, peers.clone()).unwrap();
        c.apply_conf_change(
            &change(vec![MemberChange::AddLearner(2)]),
            Some(member(2, "http://b")),
        );
        c.apply_conf_change(&change(vec![MemberChange::AddVoter(2)]), None);
        c.set_attributes(2, "b".into(), vec!["http://b:2379".into()]);
        c.update_peer_urls(2, vec!["http://b2".into()]);
        c.apply_conf_change(
            &change(vec![MemberChange::AddVoter(3)]),
            Some(member(3, "u")),
        );
        c.apply_conf_change(&change(vec![MemberChange::Remove(3)]), None);
        let m = c.member(2).unwrap();
        assert!(!m.is_learner);
        assert_eq!(
            (m.name.as_str(), m.peer_ur_ls[0].as_str()),
            ("b", "http://b2")
        );
        assert!(c.is_removed(3) && c.member(3).is_none());
        assert_eq!(
            *peers.0.lock(),
            ["+2 http://b", "+2 http://b", "+2 http://b2", "+3 u", "-3"]
        );

        // Reloaded from the backend: same state.
        let again = Cluster::load(engine, 7, 1, Arc::new(Recorder::default())).unwrap();
        assert_eq!(again.members(), c.members());
        assert!(again.is_removed(3));
        assert!(!*again.subscribe_removed().borrow());
    }

    #[test]
    fn removing_the_local_member_is_signalled() {
        let c = Cluster::load(
            Arc::new(MemEngine::new()),
            7,
            1,
            Arc::new(Recorder::default()),
        )
        .unwrap();
        let rx = c.subscribe_removed();
        c.apply_conf_change(&change(vec![MemberChange::Remove(1)]), None);
        assert!(*rx.borrow());
    }
}
