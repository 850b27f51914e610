//! The `client` library against a real etcd: eager and lazy connections, the typed
//! service clients, per-call deadlines and authentication on a cluster without auth.

mod support;

use std::time::Duration;

use client::proto::etcdserverpb::{
    compare, request_op, Compare, MemberListRequest, PutRequest, RangeRequest, RequestOp,
    StatusRequest, TxnRequest,
};
use client::{call_with_retry, Client, ClientConfig, Credentials, Error, RetryPolicy};
use support::server::{free_port, EtcdServer};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn eager_connections_serve_all_services() {
    let server = EtcdServer::start();
    runtime().block_on(async {
        let mut cfg = ClientConfig::new([server.endpoint.clone()]);
        cfg.request_timeout = Some(Duration::from_secs(5));
        cfg.credentials = Some(Credentials {
            user: "root".into(),
            password: "x".into(),
        });
        // Several independent connections, as the benchmark opens them.
        let mut clients: Vec<Client> = Vec::new();
        for _ in 0..3 {
            clients.push(Client::connect(cfg.clone()).await.expect("connect"));
        }
        let put = PutRequest {
            key: b"k".to_vec(),
            value: b"v".to_vec(),
            ..Default::default()
        };
        let resp = clients[0]
            .kv()
            .put(clients[0].request(put))
            .await
            .expect("put")
            .into_inner();
        let rev = resp.header.expect("header").revision;
        let got = clients[1]
            .kv()
            .range(clients[1].request(RangeRequest {
                key: b"k".to_vec(),
                ..Default::default()
            }))
            .await
            .expect("range")
            .into_inner();
        assert_eq!(got.kvs.len(), 1);
        assert_eq!(got.kvs[0].value, b"v");
        assert_eq!(got.kvs[0].mod_revision, rev);
        let txn = TxnRequest {
            compare: vec![Compare {
                key: b"k".to_vec(),
                target: compare::CompareTarget::Value as i32,
                result: compare::CompareResult::Equal as i32,
                target_union: Some(compare::TargetUnion::Value(b"v".to_vec())),
                ..Default::default()
            }],
            success: vec![RequestOp {
                request: Some(request_op::Request::RequestPut(PutRequest {
                    key: b"k".to_vec(),
                    value: b"w".to_vec(),
                    ..Default::default()
                })),
            }],
            failure: vec![],
        };
        assert!(
            clients[2]
                .kv()
                .txn(txn)
                .await
                .expect("txn")
                .into_inner()
                .succeeded
        );
        let members = clients[2]
            .cluster()
            .member_list(MemberListRequest {})
            .await
            .expect("members")
            .into_inner();
        assert_eq!(members.members.len(), 1);
        let status = clients[0]
            .maintenance()
            .status(StatusRequest {})
            .await
            .expect("status")
            .into_inner();
        assert_eq!(
            status.header.expect("header").member_id,
            members.members[0].id
        );
    });
}

#[test]
fn lazy_clients_report_server_errors_and_deadlines() {
    let server = EtcdServer::start();
    let rt = runtime();
    rt.block_on(async {
        let client = Client::connect_lazy(&ClientConfig::new([server.endpoint.clone()])).expect("client");
        let kv = client.kv();
        let deadline = Some(tokio::time::Instant::now() + Duration::from_secs(5));
        let mut failures = Vec::new();
        let err = call_with_retry(deadline, RetryPolicy::Repeatable, |a, e| failures.push((a, e.grpc_text())), |left| {
            let mut kv = kv.clone();
            let mut req = tonic::Request::new(RangeRequest { key: b"k".to_vec(), revision: 100, ..Default::default() });
            if let Some(left) = left {
                req.set_timeout(left);
            }
            async move { kv.range(req).await }
        })
        .await
        .expect_err("future revision");
        assert_eq!(err.to_string(), "etcdserver: mvcc: required revision is a future revision");
        assert_eq!(
            failures,
            vec![(0, "rpc error: code = OutOfRange desc = etcdserver: mvcc: required revision is a future revision".to_string())]
        );

        // Nothing listens on this port: the call waits for the connection until its deadline.
        let dead = Client::connect_lazy(&ClientConfig::new([format!("127.0.0.1:{}", free_port())])).expect("client");
        let kv = dead.kv();
        let start = std::time::Instant::now();
        let deadline = Some(tokio::time::Instant::now() + Duration::from_millis(700));
        let err = call_with_retry(deadline, RetryPolicy::NonRepeatable, |_, _| {}, |_| {
            let mut kv = kv.clone();
            async move { kv.range(RangeRequest::default()).await }
        })
        .await
        .expect_err("dead endpoint");
        assert!(matches!(err, Error::DeadlineExceeded(Some(_))), "{err:?}");
        assert_eq!(err.to_string(), "context deadline exceeded");
        assert!(start.elapsed() >= Duration::from_millis(600) && start.elapsed() < Duration::from_secs(5));
    });
}
