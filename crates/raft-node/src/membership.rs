//! Conversions between [`MemberChange`] and raft's conf change messages, and the
//! bootstrap log of a new cluster.

use protobuf::Message as _;
use raft::eraftpb::{ConfChange, ConfChangeType, ConfChangeV2, Entry, EntryType};

use crate::{MemberChange, RaftError};

/// The raft conf change (v1, as etcd 3.4 proposes) for `change`.
pub(crate) fn to_conf_change(change: MemberChange, context: Vec<u8>) -> ConfChange {
    let (kind, node_id) = match change {
        MemberChange::AddVoter(id) => (ConfChangeType::AddNode, id),
        MemberChange::AddLearner(id) => (ConfChangeType::AddLearnerNode, id),
        MemberChange::Remove(id) => (ConfChangeType::RemoveNode, id),
    };
    ConfChange {
        change_type: kind,
        node_id,
        context: context.into(),
        ..ConfChange::default()
    }
}

fn member_change(kind: ConfChangeType, node_id: u64) -> MemberChange {
    match kind {
        ConfChangeType::AddNode => MemberChange::AddVoter(node_id),
        ConfChangeType::AddLearnerNode => MemberChange::AddLearner(node_id),
        ConfChangeType::RemoveNode => MemberChange::Remove(node_id),
    }
}

/// The changes and context carried by a v1 conf change.
pub(crate) fn describe_v1(cc: &ConfChange) -> (Vec<MemberChange>, Vec<u8>) {
    (
        vec![member_change(cc.get_change_type(), cc.node_id)],
        cc.context.to_vec(),
    )
}

/// The changes and context carried by a v2 conf change.
pub(crate) fn describe_v2(cc: &ConfChangeV2) -> (Vec<MemberChange>, Vec<u8>) {
    let changes = cc
        .changes
        .iter()
        .map(|c| member_change(c.get_change_type(), c.node_id))
        .collect();
    (changes, cc.context.to_vec())
}

/// The first entries of a new cluster's log, as etcd writes them: one committed
/// "add voter" conf change per initial member (sorted), term 1, indexes 1..=n. Every
/// member writes the same entries, and a member added later learns the initial
/// membership by replaying them.
pub(crate) fn bootstrap_entries(voters: &[u64]) -> Result<Vec<Entry>, RaftError> {
    voters
        .iter()
        .zip(1u64..)
        .map(|(&id, index)| {
            let cc = to_conf_change(MemberChange::AddVoter(id), Vec::new());
            Ok(Entry {
                entry_type: EntryType::EntryConfChange,
                term: 1,
                index,
                data: cc.write_to_bytes()?.into(),
                ..Entry::default()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_changes_round_trip_through_conf_changes() {
        for change in [
            MemberChange::AddVoter(4),
            MemberChange::AddLearner(5),
            MemberChange::Remove(6),
        ] {
            let cc = to_conf_change(change, b"ctx".to_vec());
            assert_eq!(describe_v1(&cc), (vec![change], b"ctx".to_vec()));
        }
    }

    #[test]
    fn bootstrap_log_adds_each_voter_in_order() {
        let entries = bootstrap_entries(&[1, 2, 3]).unwrap();
        let got: Vec<(u64, MemberChange)> = entries
            .iter()
            .map(|e| {
                assert_eq!(e.term, 1);
                let cc = ConfChange::parse_from_bytes(&e.data).unwrap();
                (e.index, describe_v1(&cc).0[0])
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1, MemberChange::AddVoter(1)),
                (2, MemberChange::AddVoter(2)),
                (3, MemberChange::AddVoter(3)),
            ]
        );
    }
}
