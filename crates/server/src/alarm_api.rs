//! The member's side of alarms: the Alarm RPC (every action, GET included, goes through
//! raft as in etcd, so the answer reflects the applied state), and the quota check that
//! refuses a write before it is proposed and raises NOSPACE for this member.

use etcd_proto::etcdserverpb::{
    alarm_request::AlarmAction, AlarmMember, AlarmRequest, AlarmResponse, AlarmType,
    InternalRaftRequest,
};
use grpc_api::backend::Result;
use grpc_api::EtcdError;

use crate::applier::Applied;
use crate::backend::EtcdBackend;

impl EtcdBackend {
    /// Applies an alarm request through raft.
    pub(crate) async fn alarm_request(&self, req: AlarmRequest) -> Result<AlarmResponse> {
        let r = InternalRaftRequest {
            alarm: Some(req),
            ..Default::default()
        };
        match self.propose(r).await? {
            Applied::Alarm(alarms) => Ok(AlarmResponse {
                header: None,
                alarms,
            }),
            _ => Err(EtcdError::Other(
                "etcdserver: unexpected response to alarm".into(),
            )),
        }
    }

    /// Every active alarm, as this member has applied them.
    pub fn active_alarms(&self) -> Vec<AlarmMember> {
        self.alarms.read().get(AlarmType::None)
    }

    /// etcd's `quotaAlarmer.check`: a request costing `cost` that does not fit the quota
    /// raises NOSPACE (for this member) and fails with `etcdserver: mvcc: database space
    /// exceeded`.
    pub(crate) async fn check_quota(&self, cost: u64) -> Result<()> {
        if self.quota.available(cost, || self.engine.size_bytes()) {
            return Ok(());
        }
        let raise = AlarmRequest {
            action: AlarmAction::Activate as i32,
            member_id: self.member_id,
            alarm: AlarmType::Nospace as i32,
        };
        if let Err(e) = self.alarm_request(raise).await {
            tracing::warn!(error = %e, "cannot raise the NOSPACE alarm");
        }
        Err(EtcdError::NoSpace)
    }
}
