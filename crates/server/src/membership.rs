//! Runtime reconfiguration (etcd's `etcdserver/server.go` AddMember/RemoveMember/
//! UpdateMember/PromoteMember and MoveLeader), with etcd's safety checks under
//! `--strict-reconfig-check` (on by default, as in etcd): a voter is added only when a
//! quorum of the voters has started (published itself) and every voter has been connected
//! for the last 5 s; a voter is removed only when the rest keep a started and connected
//! quorum; at most one learner exists; a learner is promoted only once its log is within
//! 90% of the leader's.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use etcd_proto::etcdserverpb::{
    ConfChangeContext, InternalRaftRequest, Member, MemberAddRequest, MemberAddResponse,
    MemberPromoteRequest, MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse,
    MemberUpdateRequest, MemberUpdateResponse, MoveLeaderResponse,
};
use grpc_api::backend::Result;
use grpc_api::EtcdError;
use prost::Message;
use raft_node::MemberChange;

use crate::applier::Applied;
use crate::backend::EtcdBackend;
use crate::config::parse_url;
use crate::ids;

/// etcd's `maxLearners`.
const MAX_LEARNERS: usize = 1;
/// A learner is ready when its matched index is at least this share of the leader's.
const LEARNER_READY_PERCENT: f64 = 0.9;

/// etcd's `HealthInterval`: how long peers must have been connected before a change.
const HEALTH_INTERVAL: Duration = Duration::from_secs(5);

fn quorum(voters: usize) -> usize {
    voters / 2 + 1
}

fn voters(members: &[Member]) -> impl Iterator<Item = &Member> {
    members.iter().filter(|m| !m.is_learner)
}

/// A member has started once it published its name (etcd's `IsStarted`).
fn started(m: &Member) -> bool {
    !m.name.is_empty()
}

impl EtcdBackend {
    /// Whether member `id` has been connected since `since` (this member always is).
    fn connected_since(&self, id: u64, since: Instant) -> bool {
        id == self.member_id || self.peers.active_since(id).is_some_and(|t| t <= since)
    }

    /// etcd's `IsReadyToAddVotingMember` and `isConnectedFullySince`.
    fn check_add_voter(&self, members: &[Member]) -> Result<()> {
        if !self.strict_reconfig_check {
            return Ok(());
        }
        let n = voters(members).count() + 1;
        let up = voters(members).filter(|m| started(m)).count();
        // Adding a second member to a one-member cluster is allowed (restoring a cluster).
        if !(up == 1 && n == 2) && up < quorum(n) {
            return Err(EtcdError::MemberNotEnoughStarted);
        }
        let since = Instant::now()
            .checked_sub(HEALTH_INTERVAL)
            .unwrap_or_else(Instant::now);
        if !voters(members).all(|m| self.connected_since(m.id, since)) {
            return Err(EtcdError::Unhealthy);
        }
        Ok(())
    }

    /// etcd's `IsReadyToRemoveVotingMember` and the active-quorum check of `mayRemoveMember`.
    fn check_remove_voter(&self, members: &[Member], id: u64) -> Result<()> {
        if !self.strict_reconfig_check {
            return Ok(());
        }
        let rest: Vec<&Member> = voters(members).filter(|m| m.id != id).collect();
        if rest.iter().filter(|m| started(m)).count() < quorum(rest.len()) {
            return Err(EtcdError::MemberNotEnoughStarted);
        }
        // A member that is down is safe to remove: it is not part of the active quorum.
        if id != self.member_id && self.peers.active_since(id).is_none() {
            return Ok(());
        }
        let since = Instant::now()
            .checked_sub(HEALTH_INTERVAL)
            .unwrap_or_else(Instant::now);
        let all = voters(members).count();
        let active = voters(members)
            .filter(|m| self.connected_since(m.id, since))
            .count();
        if active.saturating_sub(1) < 1 + (all - 1) / 2 {
            return Err(EtcdError::Unhealthy);
        }
        Ok(())
    }

    fn check_urls_free(&self, urls: &[String], except: u64) -> Result<()> {
        if urls.is_empty() || urls.iter().any(|u| parse_url(u).is_err()) {
            return Err(EtcdError::MemberBadUrls);
        }
        let taken = self
            .cluster
            .members()
            .iter()
            .filter(|m| m.id != except)
            .any(|m| m.peer_ur_ls.iter().any(|u| urls.contains(u)));
        if taken {
            return Err(EtcdError::PeerUrlExist);
        }
        Ok(())
    }

    /// Proposes a conf change and waits for it to be applied; returns the members after it.
    async fn change_membership(&self, change: MemberChange, member: Member) -> Result<Vec<Member>> {
        let id = self.ids.next();
        let ctx = ConfChangeContext {
            request_id: id,
            member: Some(member),
        };
        let rx = self.wait.register(id);
        let ctx = ctx.encode_to_vec();
        let applied = self
            .submit_and_wait(id, rx, || {
                self.raft.propose_member_change(change, ctx.clone())
            })
            .await?;
        match applied {
            Applied::Members(m) => Ok(m),
            _ => Err(EtcdError::Other(
                "etcdserver: unexpected membership result".into(),
            )),
        }
    }

    pub(crate) async fn add_member(&self, req: MemberAddRequest) -> Result<MemberAddResponse> {
        self.check_urls_free(&req.peer_ur_ls, 0)?;
        let members = self.cluster.members();
        if req.is_learner {
            if members.iter().filter(|m| m.is_learner).count() >= MAX_LEARNERS {
                return Err(EtcdError::TooManyLearners);
            }
        } else {
            self.check_add_voter(&members)?;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let member = Member {
            id: ids::member_id(&req.peer_ur_ls, &now.to_string()),
            name: String::new(),
            peer_ur_ls: req.peer_ur_ls,
            client_ur_ls: vec![],
            is_learner: req.is_learner,
        };
        // etcd: a removed ID is "not found" (ErrIDRemoved), an existing one "exists".
        if self.cluster.is_removed(member.id) {
            return Err(EtcdError::MemberNotFound);
        }
        if self.cluster.member(member.id).is_some() {
            return Err(EtcdError::MemberExist);
        }
        let change = if req.is_learner {
            MemberChange::AddLearner(member.id)
        } else {
            MemberChange::AddVoter(member.id)
        };
        let members = self.change_membership(change, member.clone()).await?;
        Ok(MemberAddResponse {
            header: None,
            member: Some(member),
            members,
        })
    }

    pub(crate) async fn remove_member(
        &self,
        req: MemberRemoveRequest,
    ) -> Result<MemberRemoveResponse> {
        let members = self.cluster.members();
        let Some(target) = members.iter().find(|m| m.id == req.id).cloned() else {
            return Err(EtcdError::MemberNotFound);
        };
        if !target.is_learner {
            self.check_remove_voter(&members, req.id)?;
        }
        let members = self
            .change_membership(MemberChange::Remove(req.id), target)
            .await?;
        Ok(MemberRemoveResponse {
            header: None,
            members,
        })
    }

    pub(crate) async fn update_member(
        &self,
        req: MemberUpdateRequest,
    ) -> Result<MemberUpdateResponse> {
        if self.cluster.member(req.id).is_none() {
            return Err(EtcdError::MemberNotFound);
        }
        self.check_urls_free(&req.peer_ur_ls, req.id)?;
        let r = InternalRaftRequest {
            member_update: Some(req),
            ..Default::default()
        };
        match self.propose(r).await? {
            Applied::Members(members) => Ok(MemberUpdateResponse {
                header: None,
                members,
            }),
            _ => Err(EtcdError::Other(
                "etcdserver: unexpected membership result".into(),
            )),
        }
    }

    /// Promotes a learner; only the leader can tell whether it is in sync, so followers
    /// forward the request to it.
    pub(crate) async fn promote_member(
        &self,
        req: MemberPromoteRequest,
    ) -> Result<MemberPromoteResponse> {
        let status = self.raft.status();
        if !status.is_leader {
            return crate::peer::forward_promote(self, status.leader_id, req).await;
        }
        let Some(target) = self.cluster.member(req.id) else {
            return Err(EtcdError::MemberNotFound);
        };
        if !target.is_learner {
            return Err(EtcdError::MemberNotLearner);
        }
        let leader_match = status
            .progress
            .iter()
            .find(|p| p.id == self.member_id)
            .map(|p| p.matched)
            .unwrap_or(status.commit_index);
        let learner_match = status
            .progress
            .iter()
            .find(|p| p.id == req.id)
            .map(|p| p.matched)
            .unwrap_or(0);
        if (learner_match as f64) < (leader_match as f64) * LEARNER_READY_PERCENT {
            return Err(EtcdError::LearnerNotReady);
        }
        // etcd's IsReadyToPromoteMember: the learner counts as a started voter.
        let members = self.cluster.members();
        let n = voters(&members).count() + 1;
        if voters(&members).filter(|m| started(m)).count() + 1 < quorum(n) {
            return Err(EtcdError::MemberNotEnoughStarted);
        }
        let members = self
            .change_membership(MemberChange::AddVoter(req.id), target)
            .await?;
        Ok(MemberPromoteResponse {
            header: None,
            members,
        })
    }

    pub(crate) async fn transfer_leadership(&self, target: u64) -> Result<MoveLeaderResponse> {
        let status = self.raft.status();
        if !status.is_leader {
            return Err(EtcdError::NotLeader);
        }
        match self.cluster.member(target) {
            Some(m) if !m.is_learner => {}
            _ => return Err(EtcdError::BadLeaderTransferee),
        }
        if target == self.member_id {
            return Ok(MoveLeaderResponse { header: None });
        }
        self.raft
            .transfer_leader(target)
            .map_err(crate::backend::raft_err)?;
        let deadline = Instant::now() + self.request_timeout;
        while self.raft.status().leader_id != target {
            if Instant::now() > deadline {
                return Err(EtcdError::Timeout);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(MoveLeaderResponse { header: None })
    }
}
