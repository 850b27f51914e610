//! Compaction, on both engines.

mod common;

use common::*;
use etcd_proto::etcdserverpb::request_op::Request;
use etcd_proto::etcdserverpb::RequestOp;
use etcd_proto::etcdserverpb::{CompactionRequest, RangeRequest, TxnRequest};
use mvcc::{
    MvccError, Revision, Store, WriteBatch, WriteRequest, CF_KEY, CF_META, META_FINISHED_COMPACT,
    META_SCHEDULED_COMPACT,
};

engine_tests!(
    compaction_bounds,
    compaction_keeps_latest_live_revisions,
    compaction_survives_restart,
    compaction_inside_a_batch,
    interrupted_compaction_finishes_on_open,
);

fn stored_revisions(s: &Store) -> Vec<(i64, i64, bool)> {
    let mut out = Vec::new();
    s.engine()
        .scan(CF_KEY, b"", b"", &mut |k, _| {
            let (r, t) = Revision::from_key(k).unwrap();
            out.push((r.main, r.sub, t));
            true
        })
        .unwrap();
    out
}

fn compaction_bounds(env: &Env) {
    let s = env.open();
    put(&s, "a", "1");
    put(&s, "a", "2"); // rev 3
    assert_eq!(compact(&s, 4), Err(MvccError::FutureRevision));
    compact(&s, 2).unwrap();
    assert_eq!(s.compact_revision(), 2);
    assert_eq!(compact(&s, 2), Err(MvccError::Compacted));
    assert_eq!(compact(&s, 1), Err(MvccError::Compacted));
    compact(&s, 3).unwrap();
    // compaction does not bump the revision
    assert_eq!(s.current_revision(), 3);
    let out = s
        .apply(
            s.consistent_index() + 1,
            vec![WriteRequest::Compaction(CompactionRequest {
                revision: 3,
                physical: true,
            })],
        )
        .unwrap();
    assert_eq!(out.results[0], Err(MvccError::Compacted));
}

fn compaction_keeps_latest_live_revisions(env: &Env) {
    let s = env.open();
    put(&s, "a", "1"); // 2
    put(&s, "a", "2"); // 3
    put(&s, "b", "1"); // 4
    delete(&s, "b", "", false); // 5
    put(&s, "c", "1"); // 6
    put(&s, "a", "3"); // 7
    delete(&s, "c", "", false); // 8
    let before_6 = dump(&s, 6).unwrap();
    let before_7 = dump(&s, 7).unwrap();
    compact(&s, 6).unwrap();
    assert_eq!(s.compact_revision(), 6);
    // a@3 (latest of a at 6), c@6, and everything after 6; b's generation ended at 5
    assert_eq!(
        stored_revisions(&s),
        [(3, 0, false), (6, 0, false), (7, 0, false), (8, 0, true)]
    );
    assert_eq!(dump(&s, 6).unwrap(), before_6);
    assert_eq!(dump(&s, 7).unwrap(), before_7);
    assert_eq!(dump(&s, 5), Err(MvccError::Compacted));
    let a = get(&s, "a").unwrap();
    assert_eq!((a.create_revision, a.version), (2, 3));

    compact(&s, 8).unwrap();
    assert_eq!(stored_revisions(&s), [(7, 0, false)]);
    assert_eq!(keys(&dump(&s, 0).unwrap()), ["a"]);
    // re-creating a compacted-away key starts a new generation
    put(&s, "b", "again");
    let b = get(&s, "b").unwrap();
    assert_eq!((b.create_revision, b.version), (9, 1));
}

fn compaction_survives_restart(env: &Env) {
    let s = env.open();
    for i in 0..5 {
        put(&s, "k", &i.to_string());
    }
    compact(&s, 4).unwrap();
    let want = dump(&s, 0).unwrap();
    let s = env.restart(s, true);
    assert_eq!(s.compact_revision(), 4);
    assert_eq!(s.current_revision(), 6);
    assert_eq!(dump(&s, 3), Err(MvccError::Compacted));
    assert_eq!(dump(&s, 0).unwrap(), want);
    assert_eq!(compact(&s, 4), Err(MvccError::Compacted));
    let k = get(&s, "k").unwrap();
    assert_eq!((k.version, k.create_revision), (5, 2));
}

fn compaction_inside_a_batch(env: &Env) {
    let s = env.open();
    put(&s, "a", "1"); // 2
    let old_read = RequestOp {
        request: Some(Request::RequestRange(RangeRequest {
            key: "a".into(),
            revision: 2,
            ..Default::default()
        })),
    };
    let out = s
        .apply(
            s.consistent_index() + 1,
            vec![
                WriteRequest::Put(put_req("a", "2")), // 3
                WriteRequest::Compaction(CompactionRequest {
                    revision: 3,
                    physical: false,
                }),
                WriteRequest::Txn(TxnRequest {
                    success: vec![old_read],
                    ..Default::default()
                }),
                WriteRequest::Put(put_req("a", "3")), // 4
            ],
        )
        .unwrap();
    assert!(out.results[0].is_ok());
    match &out.results[1] {
        Ok(mvcc::WriteResponse::Compaction(c)) => assert_eq!(c.header.unwrap().revision, 3),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(out.results[2], Err(MvccError::Compacted));
    assert!(out.results[3].is_ok());
    assert_eq!((s.current_revision(), s.compact_revision()), (4, 3));
    assert_eq!(stored_revisions(&s), [(3, 0, false), (4, 0, false)]);
}

fn interrupted_compaction_finishes_on_open(env: &Env) {
    let s = env.open();
    put(&s, "a", "1");
    put(&s, "a", "2");
    put(&s, "a", "3"); // 4
                       // as if the process died after persisting the scheduled compaction, before compacting
    let mut wb = WriteBatch::new();
    wb.put(
        CF_META,
        META_SCHEDULED_COMPACT,
        Revision::new(3, 0).to_bytes(),
    );
    s.engine().write(wb, false).unwrap();
    let s = env.restart(s, true);
    assert_eq!(s.compact_revision(), 3);
    assert_eq!(stored_revisions(&s), [(3, 0, false), (4, 0, false)]);
    assert_eq!(
        s.engine().get(CF_META, META_FINISHED_COMPACT).unwrap(),
        Some(Revision::new(3, 0).to_bytes().to_vec())
    );
    assert_eq!(dump(&s, 2), Err(MvccError::Compacted));
}
