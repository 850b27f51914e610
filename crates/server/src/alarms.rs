//! The cluster's alarms (etcd's `v3alarm.AlarmStore`): which member raised which alarm,
//! changed only by applied raft entries so every member agrees, kept in the `alarm`
//! column family (key: the marshalled `AlarmMember`, empty value, as etcd's bucket) and
//! reloaded at start and after a raft snapshot.
//!
//! While an alarm is active the applier refuses what etcd's capped and corrupt appliers
//! refuse: under NOSPACE every request that could grow the backend (puts, txns with a
//! put, lease grants); under CORRUPT every write.

use std::collections::BTreeSet;

use etcd_proto::etcdserverpb::{
    alarm_request::AlarmAction, request_op, AlarmMember, AlarmRequest, AlarmType,
    InternalRaftRequest,
};
use grpc_api::EtcdError;
use mvcc::{Engine, EngineError, WriteBatch};
use prost::Message;

/// etcd's `alarm` bucket.
const CF_ALARM: &str = "alarm";

/// The active alarms, ordered by type then member.
#[derive(Debug, Default)]
pub struct Alarms {
    active: BTreeSet<(i32, u64)>,
}

fn member(alarm: i32, member_id: u64) -> AlarmMember {
    AlarmMember { member_id, alarm }
}

impl Alarms {
    /// The alarms stored in `engine`. Undecodable entries are skipped with a warning.
    pub fn load(engine: &dyn Engine) -> Result<Alarms, EngineError> {
        let mut active = BTreeSet::new();
        engine.scan(CF_ALARM, &[], &[], &mut |k, _| {
            match AlarmMember::decode(k) {
                Ok(m) => {
                    active.insert((m.alarm, m.member_id));
                }
                Err(e) => tracing::warn!(error = %e, "skipping an undecodable alarm"),
            }
            true
        })?;
        Ok(Alarms { active })
    }

    /// Every active alarm of type `alarm` (all of them for `NONE`).
    pub fn get(&self, alarm: AlarmType) -> Vec<AlarmMember> {
        self.active
            .iter()
            .filter(|(t, _)| alarm == AlarmType::None || *t == alarm as i32)
            .map(|&(t, id)| member(t, id))
            .collect()
    }

    pub fn is_active(&self, alarm: AlarmType) -> bool {
        self.active.iter().any(|(t, _)| *t == alarm as i32)
    }

    /// Applies an alarm request (etcd's `applierV3backend.Alarm`): GET lists, ACTIVATE
    /// raises (answering the alarm, also when it was already raised), DEACTIVATE clears
    /// (answering the alarm it cleared, nothing if it was not raised).
    pub fn apply(&mut self, wb: &mut WriteBatch, req: &AlarmRequest) -> Vec<AlarmMember> {
        let alarm = AlarmType::try_from(req.alarm).unwrap_or(AlarmType::None);
        let m = member(req.alarm, req.member_id);
        match AlarmAction::try_from(req.action) {
            Ok(AlarmAction::Get) | Err(_) => self.get(alarm),
            Ok(AlarmAction::Activate) => {
                if alarm == AlarmType::None {
                    return vec![];
                }
                if self.active.insert((req.alarm, req.member_id)) {
                    tracing::warn!(member = %format!("{:x}", req.member_id), alarm = alarm.as_str_name(), "alarm raised");
                    wb.put(CF_ALARM, m.encode_to_vec(), Vec::new());
                }
                vec![m]
            }
            Ok(AlarmAction::Deactivate) => {
                if !self.active.remove(&(req.alarm, req.member_id)) {
                    return vec![];
                }
                tracing::info!(member = %format!("{:x}", req.member_id), alarm = alarm.as_str_name(), "alarm cleared");
                wb.delete(CF_ALARM, m.encode_to_vec());
                vec![m]
            }
        }
    }

    /// What an active alarm refuses of `req`, if anything (etcd's `applierV3Corrupt` and
    /// `applierV3Capped`).
    pub fn refuse(&self, req: &InternalRaftRequest) -> Option<EtcdError> {
        if self.active.is_empty() {
            return None;
        }
        if self.is_active(AlarmType::Corrupt)
            && (req.put.is_some()
                || req.delete_range.is_some()
                || req.txn.is_some()
                || req.compaction.is_some()
                || req.lease_grant.is_some()
                || req.lease_revoke.is_some())
        {
            return Some(EtcdError::Corrupt);
        }
        let grows = req.put.is_some()
            || req.lease_grant.is_some()
            || req.txn.as_ref().is_some_and(|t| {
                t.success
                    .iter()
                    .chain(&t.failure)
                    .any(|op| matches!(op.request, Some(request_op::Request::RequestPut(_))))
            });
        (grows && self.is_active(AlarmType::Nospace)).then_some(EtcdError::NoSpace)
    }
}

pub use etcd_proto::text::alarm_member as describe;

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_proto::etcdserverpb::{LeaseGrantRequest, PutRequest, RequestOp, TxnRequest};
    use mvcc::MemEngine;

    fn req(action: AlarmAction, id: u64, alarm: AlarmType) -> AlarmRequest {
        AlarmRequest {
            action: action as i32,
            member_id: id,
            alarm: alarm as i32,
        }
    }

    #[test]
    fn activate_persist_reload_deactivate() {
        let engine = MemEngine::default();
        let mut alarms = Alarms::default();
        let mut wb = WriteBatch::new();
        let raised = alarms.apply(&mut wb, &req(AlarmAction::Activate, 7, AlarmType::Nospace));
        assert_eq!(raised, vec![member(1, 7)]);
        // Raising it again answers it again and writes nothing.
        let mut again = WriteBatch::new();
        assert_eq!(
            alarms.apply(
                &mut again,
                &req(AlarmAction::Activate, 7, AlarmType::Nospace)
            ),
            raised
        );
        assert!(again.is_empty());
        engine.write(wb, true).unwrap();
        let mut loaded = Alarms::load(&engine).unwrap();
        assert_eq!(loaded.get(AlarmType::None), raised);
        assert!(loaded.get(AlarmType::Corrupt).is_empty());
        let mut wb = WriteBatch::new();
        assert!(loaded
            .apply(
                &mut wb,
                &req(AlarmAction::Deactivate, 8, AlarmType::Nospace)
            )
            .is_empty());
        assert_eq!(
            loaded.apply(
                &mut wb,
                &req(AlarmAction::Deactivate, 7, AlarmType::Nospace)
            ),
            raised
        );
        engine.write(wb, true).unwrap();
        assert!(Alarms::load(&engine)
            .unwrap()
            .get(AlarmType::None)
            .is_empty());
    }

    #[test]
    fn nospace_refuses_only_growth_and_corrupt_every_write() {
        let mut alarms = Alarms::default();
        let put = InternalRaftRequest {
            put: Some(PutRequest::default()),
            ..Default::default()
        };
        let txn = |op| InternalRaftRequest {
            txn: Some(TxnRequest {
                failure: vec![RequestOp { request: Some(op) }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let delete = InternalRaftRequest {
            delete_range: Some(Default::default()),
            ..Default::default()
        };
        let grant = InternalRaftRequest {
            lease_grant: Some(LeaseGrantRequest::default()),
            ..Default::default()
        };
        assert!(alarms.refuse(&put).is_none());
        alarms.apply(
            &mut WriteBatch::new(),
            &req(AlarmAction::Activate, 1, AlarmType::Nospace),
        );
        assert!(matches!(alarms.refuse(&put), Some(EtcdError::NoSpace)));
        assert!(matches!(alarms.refuse(&grant), Some(EtcdError::NoSpace)));
        assert!(matches!(
            alarms.refuse(&txn(request_op::Request::RequestPut(PutRequest::default()))),
            Some(EtcdError::NoSpace)
        ));
        assert!(alarms
            .refuse(&txn(request_op::Request::RequestDeleteRange(
                Default::default()
            )))
            .is_none());
        assert!(alarms.refuse(&delete).is_none());
        alarms.apply(
            &mut WriteBatch::new(),
            &req(AlarmAction::Activate, 2, AlarmType::Corrupt),
        );
        assert!(matches!(alarms.refuse(&delete), Some(EtcdError::Corrupt)));
    }
}
