//! Reading history: watch catch-up events and etcd's HashKV, on both engines.

mod common;

use common::*;
use etcd_proto::etcdserverpb::TxnRequest;
use etcd_proto::mvccpb::event::EventType;
use mvcc::{HashKv, MvccError};

engine_tests!(hash_kv_matches_etcd, events_by_revision);

/// Expected hashes were read from etcd 3.4.23 (`etcdctl endpoint hashkv`) after the same
/// requests on a fresh member.
fn hash_kv_matches_etcd(env: &Env) {
    let s = env.open();
    put(&s, "a", "1");
    put(&s, "b", "2");
    put(&s, "a", "3");
    delete(&s, "b", "", false);
    put(&s, "c", "4");
    let h = |rev| s.hash_kv(rev).unwrap();
    assert_eq!(
        h(0),
        HashKv {
            hash: 2750537463,
            current_revision: 6,
            compact_revision: -1
        }
    );
    compact(&s, 4).unwrap();
    assert_eq!(h(0).hash, 2450235489);
    assert_eq!(h(5).hash, 1468967122);
    assert_eq!(h(5).compact_revision, 4);
    assert_eq!(s.hash_kv(4), Err(MvccError::Compacted));
    assert_eq!(s.hash_kv(7), Err(MvccError::FutureRevision));
    put(&s, "b", "5");
    txn(
        &s,
        TxnRequest {
            success: vec![op_put("d", "1"), op_delete("c")],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(h(0).hash, 331635211);
    assert_eq!(h(0).current_revision, 8);
    let s = env.restart(s, true);
    assert_eq!(s.hash_kv(0).unwrap().hash, 331635211);
}

fn events_by_revision(env: &Env) {
    let s = env.open();
    put(&s, "a", "1"); // 2
    txn(
        &s,
        TxnRequest {
            success: vec![op_put("b", "1"), op_delete("a")],
            ..Default::default()
        },
    )
    .unwrap(); // 3
    put(&s, "c", "1"); // 4
    let summary = |evs: Vec<etcd_proto::mvccpb::Event>| {
        evs.into_iter()
            .map(|e| {
                let kv = e.kv.unwrap();
                (
                    e.r#type,
                    String::from_utf8(kv.key).unwrap(),
                    kv.mod_revision,
                )
            })
            .collect::<Vec<_>>()
    };
    let (p, d) = (EventType::Put as i32, EventType::Delete as i32);
    assert_eq!(
        summary(s.events(2, 0, 0).unwrap()),
        [
            (p, "a".into(), 2),
            (p, "b".into(), 3),
            (d, "a".into(), 3),
            (p, "c".into(), 4)
        ]
    );
    assert_eq!(summary(s.events(3, 3, 0).unwrap()).len(), 2);
    // a limit never splits a revision
    assert_eq!(summary(s.events(2, 0, 2).unwrap()).len(), 3);
    assert!(s.events(5, 0, 0).unwrap().is_empty());
    compact(&s, 3).unwrap();
    assert_eq!(s.events(2, 0, 0), Err(MvccError::Compacted));
    assert_eq!(summary(s.events(4, 0, 0).unwrap()), [(p, "c".into(), 4)]);
}
