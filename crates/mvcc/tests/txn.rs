//! Transaction semantics, on both engines.

mod common;

use common::*;
use etcd_proto::etcdserverpb::compare::{CompareResult as R, CompareTarget as T, TargetUnion as U};
use etcd_proto::etcdserverpb::request_op::Request;
use etcd_proto::etcdserverpb::response_op::Response;
use etcd_proto::etcdserverpb::{PutRequest, RangeRequest, RequestOp, TxnRequest, TxnResponse};
use mvcc::{MvccError, Store};

engine_tests!(
    compares_on_every_target,
    compare_over_a_range,
    writes_share_one_main_revision,
    reads_see_earlier_writes_of_the_txn,
    nested_txns_follow_precomputed_compares,
    checks_reject_the_whole_txn,
    failure_mid_txn_changes_nothing,
    read_only_txn_outside_apply,
);

fn check(s: &Store, cmps: Vec<etcd_proto::etcdserverpb::Compare>) -> bool {
    let t = TxnRequest {
        compare: cmps,
        ..Default::default()
    };
    txn(s, t).unwrap().succeeded
}

fn compares_on_every_target(env: &Env) {
    let s = env.open();
    put(&s, "k", "b"); // create 2
    try_put(
        &s,
        PutRequest {
            key: "k".into(),
            value: "b".into(),
            lease: 4,
            ..Default::default()
        },
    )
    .unwrap(); // mod 3, version 2
    let cases: Vec<(T, U, [bool; 4])> = vec![
        // [EQUAL, GREATER, LESS, NOT_EQUAL] against the stored value
        (T::Value, U::Value("b".into()), [true, false, false, false]),
        (T::Value, U::Value("a".into()), [false, true, false, true]),
        (T::Value, U::Value("c".into()), [false, false, true, true]),
        (T::Version, U::Version(2), [true, false, false, false]),
        (T::Version, U::Version(1), [false, true, false, true]),
        (T::Create, U::CreateRevision(2), [true, false, false, false]),
        (T::Create, U::CreateRevision(3), [false, false, true, true]),
        (T::Mod, U::ModRevision(3), [true, false, false, false]),
        (T::Mod, U::ModRevision(2), [false, true, false, true]),
        (T::Lease, U::Lease(4), [true, false, false, false]),
        (T::Lease, U::Lease(5), [false, false, true, true]),
    ];
    for (target, u, want) in cases {
        for (result, w) in [R::Equal, R::Greater, R::Less, R::NotEqual]
            .into_iter()
            .zip(want)
        {
            assert_eq!(
                check(&s, vec![cmp("k", target, result, u.clone())]),
                w,
                "{target:?} {result:?} {u:?}"
            );
        }
    }
    // a missing key compares as zeros, but a value compare on it always fails
    assert!(check(
        &s,
        vec![cmp("nope", T::Version, R::Equal, U::Version(0))]
    ));
    assert!(check(
        &s,
        vec![cmp("nope", T::Create, R::Equal, U::CreateRevision(0))]
    ));
    assert!(!check(
        &s,
        vec![cmp("nope", T::Value, R::NotEqual, U::Value("x".into()))]
    ));
    assert!(!check(
        &s,
        vec![cmp("nope", T::Value, R::Equal, U::Value(Vec::new()))]
    ));
    // all compares must hold
    assert!(!check(
        &s,
        vec![
            cmp("k", T::Version, R::Equal, U::Version(2)),
            cmp("k", T::Lease, R::Equal, U::Lease(0)),
        ]
    ));
    // none of this changed the store
    assert_eq!(s.current_revision(), 3);
}

fn compare_over_a_range(env: &Env) {
    let s = env.open();
    put(&s, "p/a", "1");
    put(&s, "p/b", "1");
    put(&s, "q", "2");
    let ranged = |end: &str, result: R, v: &str| {
        let mut c = cmp("p/", T::Value, result, U::Value(v.into()));
        c.range_end = end.into();
        check(&s, vec![c])
    };
    assert!(ranged("p0", R::Equal, "1"));
    assert!(!ranged("\0", R::Equal, "1")); // includes q=2
    assert!(ranged("\0", R::Less, "3"));
    put(&s, "p/c", "0");
    assert!(!ranged("p0", R::Equal, "1"));
    let mut c = cmp("p/", T::Create, R::Greater, U::CreateRevision(0));
    c.range_end = "p0".into();
    assert!(check(&s, vec![c]));
}

fn writes_share_one_main_revision(env: &Env) {
    let s = env.open();
    put(&s, "x", "0");
    let resp = txn(
        &s,
        TxnRequest {
            compare: vec![cmp("x", T::Value, R::Equal, U::Value("0".into()))],
            success: vec![
                op_put("a", "1"),
                op_put("b", "2"),
                op_delete("x"),
                op_put("a", "3"),
            ],
            failure: vec![op_put("never", "1")],
        },
    )
    .unwrap();
    assert!(resp.succeeded);
    assert_eq!(resp.header.unwrap().revision, 3);
    assert_eq!(s.current_revision(), 3);
    let a = get(&s, "a").unwrap();
    // two puts of `a` in one txn: one revision, version counts both
    assert_eq!(
        (
            a.value.as_slice(),
            a.mod_revision,
            a.create_revision,
            a.version
        ),
        (&b"3"[..], 3, 3, 2)
    );
    assert_eq!(get(&s, "b").unwrap().mod_revision, 3);
    assert!(get(&s, "x").is_none());
    assert!(get(&s, "never").is_none());
    for r in &resp.responses {
        match r.response.as_ref().unwrap() {
            Response::ResponsePut(p) => assert_eq!(p.header.unwrap().revision, 3),
            Response::ResponseDeleteRange(d) => {
                assert_eq!((d.deleted, d.header.unwrap().revision), (1, 3))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // the failure branch
    let resp = txn(
        &s,
        TxnRequest {
            compare: vec![cmp("x", T::Version, R::Greater, U::Version(0))],
            success: vec![op_put("never", "1")],
            failure: vec![op_put("f", "1")],
        },
    )
    .unwrap();
    assert!(!resp.succeeded);
    assert_eq!(resp.responses.len(), 1);
    assert_eq!(get(&s, "f").unwrap().mod_revision, 4);
}

fn range_of(r: &etcd_proto::etcdserverpb::ResponseOp) -> &etcd_proto::etcdserverpb::RangeResponse {
    match r.response.as_ref().unwrap() {
        Response::ResponseRange(rr) => rr,
        other => panic!("unexpected {other:?}"),
    }
}

fn reads_see_earlier_writes_of_the_txn(env: &Env) {
    let s = env.open();
    put(&s, "a", "old");
    let resp = txn(
        &s,
        TxnRequest {
            success: vec![
                op_get("a"),
                op_put("a", "new"),
                op_get("a"),
                op_delete("a"),
                op_get("a"),
                RequestOp {
                    request: Some(Request::RequestPut(PutRequest {
                        key: "a".into(),
                        value: "again".into(),
                        prev_kv: true,
                        ..Default::default()
                    })),
                },
            ],
            ..Default::default()
        },
    )
    .unwrap();
    let r0 = range_of(&resp.responses[0]);
    assert_eq!(r0.kvs[0].value, b"old");
    assert_eq!(r0.header.unwrap().revision, 2);
    let r2 = range_of(&resp.responses[2]);
    assert_eq!(r2.kvs[0].value, b"new");
    assert_eq!(r2.header.unwrap().revision, 3);
    assert!(range_of(&resp.responses[4]).kvs.is_empty());
    match resp.responses[5].response.as_ref().unwrap() {
        Response::ResponsePut(p) => assert!(p.prev_kv.is_none()),
        other => panic!("unexpected {other:?}"),
    }
    let a = get(&s, "a").unwrap();
    // deleted and re-created in the same txn: a new generation at the same main revision
    assert_eq!(
        (a.value.as_slice(), a.create_revision, a.version),
        (&b"again"[..], 3, 1)
    );
}

fn nested_txns_follow_precomputed_compares(env: &Env) {
    let s = env.open();
    put(&s, "flag", "1");
    // the outer txn sets flag=2 before the nested txn runs, but the nested compare was
    // evaluated on the state before the txn (flag=1)
    let nested = TxnRequest {
        compare: vec![cmp("flag", T::Value, R::Equal, U::Value("1".into()))],
        success: vec![op_put("inner", "saw-1"), op_get("flag")],
        failure: vec![op_put("inner", "saw-2")],
    };
    let resp = txn(
        &s,
        TxnRequest {
            compare: vec![],
            success: vec![
                op_put("flag", "2"),
                op_txn(nested.clone()),
                op_put("after", "x"),
            ],
            failure: vec![],
        },
    )
    .unwrap();
    assert!(resp.succeeded);
    assert_eq!(get(&s, "inner").unwrap().value, b"saw-1");
    let inner: &TxnResponse = match resp.responses[1].response.as_ref().unwrap() {
        Response::ResponseTxn(t) => t,
        other => panic!("unexpected {other:?}"),
    };
    assert!(inner.succeeded);
    // nested txn headers are empty, as in etcd
    assert_eq!(inner.header.unwrap().revision, 0);
    assert_eq!(range_of(&inner.responses[1]).kvs[0].value, b"2");
    assert_eq!(get(&s, "after").unwrap().mod_revision, 3);
    assert_eq!(s.current_revision(), 3);

    // nested txn in the failure branch, two levels deep
    let deep = TxnRequest {
        compare: vec![cmp("flag", T::Value, R::Equal, U::Value("9".into()))],
        success: vec![],
        failure: vec![op_put("deep", "1")],
    };
    let mid = TxnRequest {
        compare: vec![],
        success: vec![op_txn(deep)],
        failure: vec![],
    };
    let resp = txn(
        &s,
        TxnRequest {
            compare: vec![cmp("flag", T::Value, R::Equal, U::Value("1".into()))],
            success: vec![],
            failure: vec![op_txn(mid), op_txn(nested)],
        },
    )
    .unwrap();
    assert!(!resp.succeeded);
    assert_eq!(get(&s, "deep").unwrap().mod_revision, 4);
    assert_eq!(get(&s, "inner").unwrap().value, b"saw-2");
}

fn checks_reject_the_whole_txn(env: &Env) {
    let s = env.open();
    put(&s, "a", "1");
    let future = RequestOp {
        request: Some(Request::RequestRange(RangeRequest {
            key: "a".into(),
            revision: 99,
            ..Default::default()
        })),
    };
    let err = txn(
        &s,
        TxnRequest {
            success: vec![op_put("b", "1"), future.clone()],
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err, MvccError::FutureRevision);
    let ignore = RequestOp {
        request: Some(Request::RequestPut(PutRequest {
            key: "missing".into(),
            ignore_value: true,
            ..Default::default()
        })),
    };
    // put checks come before range checks, through nested txns
    let err = txn(
        &s,
        TxnRequest {
            success: vec![
                future,
                op_txn(TxnRequest {
                    success: vec![ignore],
                    ..Default::default()
                }),
            ],
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err, MvccError::KeyNotFound);
    // leases are checked too
    let leased = RequestOp {
        request: Some(Request::RequestPut(PutRequest {
            key: "b".into(),
            lease: 42,
            ..Default::default()
        })),
    };
    let out = s
        .apply_with_leases(
            s.consistent_index() + 1,
            vec![mvcc::WriteRequest::Txn(TxnRequest {
                success: vec![leased],
                ..Default::default()
            })],
            &|_| false,
        )
        .unwrap();
    assert_eq!(out.results[0], Err(MvccError::LeaseNotFound));
    assert!(get(&s, "b").is_none());
    assert_eq!(s.current_revision(), 2);

    compact(&s, 2).unwrap();
    put(&s, "a", "2");
    let old = RequestOp {
        request: Some(Request::RequestRange(RangeRequest {
            key: "a".into(),
            revision: 1,
            ..Default::default()
        })),
    };
    let err = txn(
        &s,
        TxnRequest {
            success: vec![old],
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err, MvccError::Compacted);
}

fn failure_mid_txn_changes_nothing(env: &Env) {
    let s = env.open();
    put(&s, "a", "1");
    // passes the pre-txn check (a exists) but fails after the txn deleted `a`
    let resp = txn(
        &s,
        TxnRequest {
            success: vec![
                op_put("b", "1"),
                op_delete("a"),
                RequestOp {
                    request: Some(Request::RequestPut(PutRequest {
                        key: "a".into(),
                        ignore_value: true,
                        ..Default::default()
                    })),
                },
            ],
            ..Default::default()
        },
    );
    assert_eq!(resp.unwrap_err(), MvccError::KeyNotFound);
    assert_eq!(s.current_revision(), 2);
    assert_eq!(get(&s, "a").unwrap().value, b"1");
    assert!(get(&s, "b").is_none());
    // the store still works, and the failed txn left no trace in the index
    put(&s, "b", "2");
    let b = get(&s, "b").unwrap();
    assert_eq!((b.create_revision, b.version), (3, 1));
    let a = get(&s, "a").unwrap();
    assert_eq!((a.mod_revision, a.version), (2, 1));
}

fn read_only_txn_outside_apply(env: &Env) {
    let s = env.open();
    put(&s, "a", "1");
    let t = TxnRequest {
        compare: vec![cmp("a", T::Value, R::Equal, U::Value("1".into()))],
        success: vec![op_get("a")],
        failure: vec![op_get("zzz")],
    };
    assert!(mvcc::is_txn_read_only(&t));
    let resp = s.txn_read(&t).unwrap();
    assert!(resp.succeeded);
    assert_eq!(resp.header.unwrap().revision, 2);
    assert_eq!(range_of(&resp.responses[0]).kvs[0].value, b"1");
    let w = TxnRequest {
        success: vec![op_put("a", "2")],
        ..Default::default()
    };
    assert!(!mvcc::is_txn_read_only(&w));
    assert!(matches!(s.txn_read(&w), Err(MvccError::InvalidRequest(_))));
    assert_eq!(get(&s, "a").unwrap().value, b"1");
}
