//! The third-party Rust `etcd-client` crate against our server: every KV RPC, Status and
//! MemberList, with the values etcd would return.

use etcd_client::{
    Client, CompactionOptions, Compare, CompareOp, DeleteOptions, GetOptions, PutOptions,
    SortOrder, SortTarget, Txn, TxnOp, TxnOpResponse,
};
use integration_tests::Server;

fn code_and_message(e: etcd_client::Error) -> (tonic::Code, String) {
    match e {
        etcd_client::Error::GRpcStatus(s) => (s.code(), s.message().to_string()),
        other => panic!("expected a gRPC status, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_txn_compact_status_members() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::ours(&dir.path().join("d"));
    let mut c = Client::connect([s.url()], None).await.unwrap();

    let r = c.put("k1", "v1", None).await.unwrap();
    let rev1 = r.header().unwrap().revision();
    assert!(rev1 >= 2);
    let r = c
        .put("k1", "v2", Some(PutOptions::new().with_prev_key()))
        .await
        .unwrap();
    assert_eq!(r.header().unwrap().revision(), rev1 + 1);
    assert_eq!(r.prev_key().unwrap().value_str().unwrap(), "v1");
    c.put("k2", "v3", None).await.unwrap();
    c.put("other", "x", None).await.unwrap();

    let r = c.get("k1", None).await.unwrap();
    let kv = &r.kvs()[0];
    assert_eq!(
        (
            kv.value_str().unwrap(),
            kv.version(),
            kv.create_revision(),
            kv.mod_revision()
        ),
        ("v2", 2, rev1, rev1 + 1)
    );

    let r = c
        .get(
            "k",
            Some(
                GetOptions::new()
                    .with_prefix()
                    .with_sort(SortTarget::Value, SortOrder::Descend)
                    .with_limit(1),
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.kvs().len(), 1);
    assert_eq!(r.kvs()[0].value_str().unwrap(), "v3");
    assert!(r.more());
    assert_eq!(r.count(), 2);

    let r = c
        .get("k1", Some(GetOptions::new().with_revision(rev1)))
        .await
        .unwrap();
    assert_eq!(r.kvs()[0].value_str().unwrap(), "v1");
    let r = c
        .get("k", Some(GetOptions::new().with_prefix().with_count_only()))
        .await
        .unwrap();
    assert_eq!((r.count(), r.kvs().len()), (2, 0));
    let r = c
        .get("k1", Some(GetOptions::new().with_serializable()))
        .await
        .unwrap();
    assert_eq!(r.kvs()[0].value_str().unwrap(), "v2");

    // Txn: compare on value, both branches, nested responses.
    let txn = Txn::new()
        .when([Compare::value("k1", CompareOp::Equal, "v2")])
        .and_then([TxnOp::put("k3", "v4", None), TxnOp::get("k1", None)])
        .or_else([TxnOp::put("never", "x", None)]);
    let r = c.txn(txn).await.unwrap();
    assert!(r.succeeded());
    assert_eq!(r.op_responses().len(), 2);
    match &r.op_responses()[1] {
        TxnOpResponse::Get(g) => assert_eq!(g.kvs()[0].value_str().unwrap(), "v2"),
        other => panic!("unexpected {other:?}"),
    }
    let txn = Txn::new()
        .when([Compare::version("k1", CompareOp::Greater, 5)])
        .and_then([TxnOp::put("never", "x", None)])
        .or_else([TxnOp::delete("k3", None)]);
    let r = c.txn(txn).await.unwrap();
    assert!(!r.succeeded());
    match &r.op_responses()[0] {
        TxnOpResponse::Delete(d) => assert_eq!(d.deleted(), 1),
        other => panic!("unexpected {other:?}"),
    }
    let (code, msg) = code_and_message(
        c.txn(Txn::new().and_then([TxnOp::put("d", "1", None), TxnOp::put("d", "2", None)]))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code, msg.as_str()),
        (
            tonic::Code::InvalidArgument,
            "etcdserver: duplicate key given in txn request"
        )
    );

    // Delete with prev_kv.
    let r = c
        .delete(
            "k",
            Some(DeleteOptions::new().with_prefix().with_prev_key()),
        )
        .await
        .unwrap();
    assert_eq!(r.deleted(), 2);
    assert_eq!(r.prev_kvs().len(), 2);
    let head = r.header().unwrap().revision();

    // Compaction and its errors.
    c.compact(head - 1, Some(CompactionOptions::new().with_physical()))
        .await
        .unwrap();
    let (code, msg) = code_and_message(
        c.get("k1", Some(GetOptions::new().with_revision(rev1)))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code, msg.as_str()),
        (
            tonic::Code::OutOfRange,
            "etcdserver: mvcc: required revision has been compacted"
        )
    );
    let (code, msg) = code_and_message(
        c.get("k1", Some(GetOptions::new().with_revision(head + 100)))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code, msg.as_str()),
        (
            tonic::Code::OutOfRange,
            "etcdserver: mvcc: required revision is a future revision"
        )
    );
    let (code, msg) = code_and_message(c.put("", "x", None).await.unwrap_err());
    assert_eq!(
        (code, msg.as_str()),
        (
            tonic::Code::InvalidArgument,
            "etcdserver: key is not provided"
        )
    );
    let (code, msg) = code_and_message(
        c.put("leased", "x", Some(PutOptions::new().with_lease(99)))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code, msg.as_str()),
        (
            tonic::Code::NotFound,
            "etcdserver: requested lease not found"
        )
    );

    let st = c.status().await.unwrap();
    assert_eq!(st.version(), "3.4.23");
    let header = st.header().unwrap();
    assert_eq!(st.leader(), header.member_id());
    assert!(st.raft_index() >= head as u64);

    let ml = c.member_list().await.unwrap();
    assert_eq!(ml.members().len(), 1);
    assert_eq!(ml.members()[0].id(), header.member_id());
    assert_eq!(ml.members()[0].client_urls(), &[s.url()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_graceful_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::ours(&dir.path().join("d"));
    let mut c = Client::connect([s.url()], None).await.unwrap();
    for i in 0..50 {
        c.put(format!("key{i:02}"), format!("value{i}"), None)
            .await
            .unwrap();
    }
    c.compact(10, None).await.unwrap();
    let before = c
        .get("key", Some(GetOptions::new().with_prefix()))
        .await
        .unwrap();
    assert!(s.terminate(), "SIGTERM must stop the server cleanly");
    s.spawn();
    let mut c = Client::connect([s.url()], None).await.unwrap();
    let after = c
        .get("key", Some(GetOptions::new().with_prefix()))
        .await
        .unwrap();
    let flat = |r: &etcd_client::GetResponse| -> Vec<(Vec<u8>, Vec<u8>, i64, i64, i64)> {
        r.kvs()
            .iter()
            .map(|kv| {
                (
                    kv.key().to_vec(),
                    kv.value().to_vec(),
                    kv.create_revision(),
                    kv.mod_revision(),
                    kv.version(),
                )
            })
            .collect()
    };
    assert_eq!(flat(&before), flat(&after));
    assert_eq!(flat(&before).len(), 50);
    assert_eq!(
        before.header().unwrap().revision(),
        after.header().unwrap().revision()
    );
    let (code, _) = code_and_message(
        c.get("key01", Some(GetOptions::new().with_revision(5)))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        code,
        tonic::Code::OutOfRange,
        "compaction must survive restart"
    );
    let r = c.put("next", "v", None).await.unwrap();
    assert_eq!(
        r.header().unwrap().revision(),
        after.header().unwrap().revision() + 1
    );
}
