//! Put, DeleteRange and Range semantics, on both engines.

mod common;

use common::*;
use etcd_proto::etcdserverpb::range_request::{SortOrder, SortTarget};
use etcd_proto::etcdserverpb::{PutRequest, RangeRequest};
use etcd_proto::mvccpb::event::EventType;
use mvcc::{MvccError, WriteRequest, CF_KEY};

engine_tests!(
    revisions_versions_and_generations,
    requests_that_change_nothing_keep_the_revision,
    put_options,
    lease_checker_rejects_unknown_leases,
    delete_range_counts_and_returns_prev_kvs,
    range_key_ranges,
    range_limit_count_and_flags,
    range_at_revisions,
    range_sorting,
    range_revision_filters,
    events_and_stored_layout,
    batch_requests_see_each_other,
);

fn revisions_versions_and_generations(env: &Env) {
    let s = env.open();
    assert_eq!(s.current_revision(), 1);
    assert_eq!(s.compact_revision(), -1);

    assert_eq!(put(&s, "a", "1").header.unwrap().revision, 2);
    let kv = get(&s, "a").unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (2, 2, 1));
    assert_eq!(kv.value, b"1");

    assert_eq!(put(&s, "a", "2").header.unwrap().revision, 3);
    let kv = get(&s, "a").unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (2, 3, 2));

    let d = delete(&s, "a", "", false);
    assert_eq!((d.deleted, d.header.unwrap().revision), (1, 4));
    assert!(get(&s, "a").is_none());

    // a new generation: version restarts at 1 with a new create revision
    put(&s, "a", "3");
    let kv = get(&s, "a").unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (5, 5, 1));

    // history
    let at = |rev| {
        let mut r = range_req("a", "");
        r.revision = rev;
        s.range(&r).unwrap().kvs
    };
    assert_eq!(at(2)[0].value, b"1");
    assert_eq!(at(3)[0].version, 2);
    assert!(at(4).is_empty());
    assert_eq!(at(5)[0].value, b"3");
    assert_eq!(s.current_revision(), 5);
}

fn requests_that_change_nothing_keep_the_revision(env: &Env) {
    let s = env.open();
    put(&s, "a", "1");
    let d = delete(&s, "missing", "", true);
    assert_eq!((d.deleted, d.header.unwrap().revision), (0, 2));
    assert!(d.prev_kvs.is_empty());
    assert_eq!(s.current_revision(), 2);

    let t = txn(
        &s,
        etcd_proto::etcdserverpb::TxnRequest {
            success: vec![op_get("a")],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(t.header.unwrap().revision, 2);

    let err = try_put(
        &s,
        PutRequest {
            key: "missing".into(),
            ignore_value: true,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err, MvccError::KeyNotFound);
    assert_eq!(err.to_string(), "etcdserver: key not found");
    assert_eq!(s.current_revision(), 2);
    assert!(get(&s, "missing").is_none());
}

fn put_options(env: &Env) {
    let s = env.open();
    let r = try_put(
        &s,
        PutRequest {
            key: "k".into(),
            value: "v1".into(),
            lease: 7,
            prev_kv: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(r.prev_kv.is_none());
    assert_eq!(get(&s, "k").unwrap().lease, 7);

    // ignore_value keeps the value, takes the new lease
    let r = try_put(
        &s,
        PutRequest {
            key: "k".into(),
            value: "ignored".into(),
            lease: 9,
            prev_kv: true,
            ignore_value: true,
            ..Default::default()
        },
    )
    .unwrap();
    let prev = r.prev_kv.unwrap();
    assert_eq!(
        (prev.value.as_slice(), prev.lease, prev.version),
        (&b"v1"[..], 7, 1)
    );
    let kv = get(&s, "k").unwrap();
    assert_eq!(
        (kv.value.as_slice(), kv.lease, kv.version),
        (&b"v1"[..], 9, 2)
    );

    // ignore_lease keeps the lease, takes the new value
    try_put(
        &s,
        PutRequest {
            key: "k".into(),
            value: "v3".into(),
            ignore_lease: true,
            ..Default::default()
        },
    )
    .unwrap();
    let kv = get(&s, "k").unwrap();
    assert_eq!((kv.value.as_slice(), kv.lease), (&b"v3"[..], 9));

    // a plain put drops the lease
    put(&s, "k", "v4");
    assert_eq!(get(&s, "k").unwrap().lease, 0);

    for (iv, il) in [(true, false), (false, true)] {
        let err = try_put(
            &s,
            PutRequest {
                key: "nope".into(),
                ignore_value: iv,
                ignore_lease: il,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(err, MvccError::KeyNotFound);
    }
}

fn lease_checker_rejects_unknown_leases(env: &Env) {
    let s = env.open();
    let req = |lease| {
        WriteRequest::Put(PutRequest {
            key: "k".into(),
            value: "v".into(),
            lease,
            ..Default::default()
        })
    };
    let out = s
        .apply_with_leases(1, vec![req(5), req(6), req(0)], &|id| id == 5)
        .unwrap();
    assert!(out.results[0].is_ok());
    assert_eq!(out.results[1], Err(MvccError::LeaseNotFound));
    assert!(out.results[2].is_ok());
    assert_eq!(out.revision, 3);
    assert_eq!(out.events.len(), 2);
    assert_eq!(get(&s, "k").unwrap().version, 2);
}

fn delete_range_counts_and_returns_prev_kvs(env: &Env) {
    let s = env.open();
    for k in ["a", "b", "c", "d"] {
        put(&s, k, k);
    }
    let d = delete(&s, "b", "d", true);
    assert_eq!(d.deleted, 2);
    assert_eq!(keys(&d.prev_kvs), ["b", "c"]);
    assert_eq!(d.prev_kvs[0].value, b"b");
    assert_eq!(d.header.unwrap().revision, 6);
    assert_eq!(keys(&dump(&s, 0).unwrap()), ["a", "d"]);
    // all deletes share one revision
    assert_eq!(s.current_revision(), 6);

    let d = delete(&s, "\0", "\0", false);
    assert_eq!(d.deleted, 2);
    assert!(d.prev_kvs.is_empty());
    assert!(dump(&s, 0).unwrap().is_empty());
}

fn range_key_ranges(env: &Env) {
    let s = env.open();
    for k in ["a", "ab", "abc", "b", "c"] {
        put(&s, k, "v");
    }
    let r = |k: &str, e: &str| keys(&s.range(&range_req(k, e)).unwrap().kvs);
    assert_eq!(r("ab", ""), ["ab"]);
    assert_eq!(r("zz", ""), Vec::<String>::new());
    assert_eq!(r("ab", "ac"), ["ab", "abc"]); // prefix "ab"
    assert_eq!(r("ab", "\0"), ["ab", "abc", "b", "c"]);
    assert_eq!(r("\0", "\0"), ["a", "ab", "abc", "b", "c"]);
    assert_eq!(r("b", "a"), Vec::<String>::new());
    assert_eq!(r("a", "b"), ["a", "ab", "abc"]);
}

fn range_limit_count_and_flags(env: &Env) {
    let s = env.open();
    for (k, v) in [("a", "1"), ("b", "2"), ("c", "3")] {
        put(&s, k, v);
    }
    let mut r = range_req("a", "\0");
    r.limit = 2;
    let resp = s.range(&r).unwrap();
    assert_eq!(keys(&resp.kvs), ["a", "b"]);
    assert!(resp.more);
    assert_eq!(resp.count, 3);
    assert_eq!(resp.header.unwrap().revision, 4);

    r.limit = 3;
    let resp = s.range(&r).unwrap();
    assert!(!resp.more);
    assert_eq!(resp.kvs.len(), 3);

    r.limit = 0;
    r.keys_only = true;
    let resp = s.range(&r).unwrap();
    assert!(resp.kvs.iter().all(|kv| kv.value.is_empty()));
    assert_eq!(resp.kvs[2].mod_revision, 4);

    r.keys_only = false;
    r.count_only = true;
    r.limit = 1;
    let resp = s.range(&r).unwrap();
    assert!(resp.kvs.is_empty());
    assert_eq!(resp.count, 3);
    assert!(!resp.more);
}

fn range_at_revisions(env: &Env) {
    let s = env.open();
    put(&s, "a", "1");
    put(&s, "b", "2");
    put(&s, "a", "3");
    let at = |rev| {
        let mut r = range_req("a", "c");
        r.revision = rev;
        s.range(&r)
    };
    assert_eq!(keys(&at(2).unwrap().kvs), ["a"]);
    let r3 = at(3).unwrap();
    assert_eq!(r3.kvs[0].value, b"1");
    // the header revision is the store's, not the one read at
    assert_eq!(r3.header.unwrap().revision, 4);
    assert_eq!(at(4).unwrap().kvs[0].value, b"3");
    assert_eq!(at(1).unwrap().kvs.len(), 0);
    let err = at(5).unwrap_err();
    assert_eq!(err, MvccError::FutureRevision);
    assert_eq!(
        err.to_string(),
        "mvcc: required revision is a future revision"
    );
    compact(&s, 3).unwrap();
    let err = at(2).unwrap_err();
    assert_eq!(err, MvccError::Compacted);
    assert_eq!(
        err.to_string(),
        "mvcc: required revision has been compacted"
    );
    assert_eq!(at(3).unwrap().kvs[0].value, b"1");
}

fn sorted(s: &mvcc::Store, order: SortOrder, target: SortTarget) -> Vec<String> {
    let mut r = range_req("\0", "\0");
    r.sort_order = order as i32;
    r.sort_target = target as i32;
    r.limit = 2;
    keys(&s.range(&r).unwrap().kvs)
}

fn range_sorting(env: &Env) {
    let s = env.open();
    // create order: c, a, b, d; versions: a=3, b=1, c=2, d=1; values: a=z, b=y, c=x, d=w
    put(&s, "c", "x0"); // 2
    put(&s, "a", "z0"); // 3
    put(&s, "b", "y"); // 4
    put(&s, "c", "x"); // 5
    put(&s, "a", "z1"); // 6
    put(&s, "a", "z"); // 7
    put(&s, "d", "w"); // 8
    use SortOrder::*;
    use SortTarget::*;
    assert_eq!(sorted(&s, None, Key), ["a", "b"]);
    assert_eq!(sorted(&s, Ascend, Key), ["a", "b"]);
    assert_eq!(sorted(&s, Descend, Key), ["d", "c"]);
    assert_eq!(sorted(&s, Ascend, Create), ["c", "a"]);
    assert_eq!(sorted(&s, Descend, Create), ["d", "b"]);
    // no order with a non-key target sorts ascending
    assert_eq!(sorted(&s, None, Create), ["c", "a"]);
    assert_eq!(sorted(&s, Ascend, Mod), ["b", "c"]);
    assert_eq!(sorted(&s, Descend, Mod), ["d", "a"]);
    assert_eq!(sorted(&s, Ascend, Value), ["d", "c"]);
    assert_eq!(sorted(&s, Descend, Value), ["a", "b"]);
    // ties keep key order
    assert_eq!(sorted(&s, Ascend, Version), ["b", "d"]);
    assert_eq!(sorted(&s, Descend, Version), ["a", "c"]);

    let mut r = range_req("\0", "\0");
    r.sort_order = Descend as i32;
    r.limit = 2;
    let resp = s.range(&r).unwrap();
    assert!(resp.more);
    assert_eq!(resp.count, 4);
}

fn range_revision_filters(env: &Env) {
    let s = env.open();
    put(&s, "a", "1"); // 2
    put(&s, "b", "1"); // 3
    put(&s, "c", "1"); // 4
    put(&s, "a", "2"); // 5: a create 2 mod 5
    let f = |set: &dyn Fn(&mut RangeRequest)| {
        let mut r = range_req("\0", "\0");
        set(&mut r);
        let resp = s.range(&r).unwrap();
        (keys(&resp.kvs), resp.count, resp.more)
    };
    assert_eq!(f(&|r| r.min_mod_revision = 4).0, ["a", "c"]);
    assert_eq!(f(&|r| r.max_mod_revision = 4).0, ["b", "c"]);
    assert_eq!(f(&|r| r.min_create_revision = 3).0, ["b", "c"]);
    assert_eq!(f(&|r| r.max_create_revision = 3).0, ["a", "b"]);
    assert_eq!(
        f(&|r| {
            r.min_create_revision = 3;
            r.max_mod_revision = 3;
        })
        .0,
        ["b"]
    );
    // count is taken before filtering; limit after
    let (k, count, more) = f(&|r| {
        r.min_mod_revision = 4;
        r.limit = 1;
    });
    assert_eq!((k, count, more), (vec!["a".to_string()], 3, true));
}

fn events_and_stored_layout(env: &Env) {
    let s = env.open();
    let out = s
        .apply(
            10,
            vec![
                WriteRequest::Put(put_req("a", "1")),
                WriteRequest::Put(put_req("b", "2")),
                WriteRequest::DeleteRange(etcd_proto::etcdserverpb::DeleteRangeRequest {
                    key: "a".into(),
                    ..Default::default()
                }),
            ],
        )
        .unwrap();
    assert_eq!(out.revision, 4);
    let ev: Vec<(i32, String, i64)> = out
        .events
        .iter()
        .map(|e| {
            let kv = e.kv.as_ref().unwrap();
            (
                e.r#type,
                String::from_utf8_lossy(&kv.key).into_owned(),
                kv.mod_revision,
            )
        })
        .collect();
    let (p, d) = (EventType::Put as i32, EventType::Delete as i32);
    assert_eq!(
        ev,
        [(p, "a".into(), 2), (p, "b".into(), 3), (d, "a".into(), 4)]
    );
    assert_eq!(s.consistent_index(), 10);

    // the engine holds etcd's bbolt layout: revision keys, tombstones marked 't'
    let mut stored = Vec::new();
    s.engine()
        .scan(CF_KEY, b"", b"", &mut |k, v| {
            stored.push((k.to_vec(), v.to_vec()));
            true
        })
        .unwrap();
    let want_keys: Vec<Vec<u8>> = vec![
        mvcc::Revision::new(2, 0).to_key(false),
        mvcc::Revision::new(3, 0).to_key(false),
        mvcc::Revision::new(4, 0).to_key(true),
    ];
    assert_eq!(
        stored.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        want_keys
    );
    let tomb = <etcd_proto::mvccpb::KeyValue as prost::Message>::decode(&stored[2].1[..]).unwrap();
    assert_eq!(tomb.key, b"a");
    assert_eq!(tomb.mod_revision, 0);
}

fn batch_requests_see_each_other(env: &Env) {
    let s = env.open();
    put(&s, "k", "old");
    let out = s
        .apply(
            5,
            vec![
                WriteRequest::Put(put_req("k", "v1")),
                WriteRequest::Put(PutRequest {
                    key: "k".into(),
                    value: "v2".into(),
                    prev_kv: true,
                    ..Default::default()
                }),
                WriteRequest::Put(PutRequest {
                    key: "new".into(),
                    ignore_value: true,
                    ..Default::default()
                }),
                WriteRequest::Put(put_req("new", "n")),
                WriteRequest::Put(PutRequest {
                    key: "new".into(),
                    value: "x".into(),
                    ignore_value: true,
                    prev_kv: true,
                    ..Default::default()
                }),
            ],
        )
        .unwrap();
    let put_resp = |i: usize| match &out.results[i] {
        Ok(mvcc::WriteResponse::Put(p)) => p.clone(),
        other => panic!("unexpected {other:?}"),
    };
    let prev = put_resp(1).prev_kv.unwrap();
    assert_eq!(
        (prev.value.as_slice(), prev.mod_revision, prev.version),
        (&b"v1"[..], 3, 2)
    );
    assert_eq!(out.results[2], Err(MvccError::KeyNotFound));
    assert_eq!(put_resp(4).prev_kv.unwrap().value, b"n");
    assert_eq!(put_resp(4).header.unwrap().revision, 6);
    assert_eq!(out.revision, 6);
    let kv = get(&s, "new").unwrap();
    assert_eq!(
        (kv.value.as_slice(), kv.version, kv.create_revision),
        (&b"n"[..], 2, 5)
    );
}
