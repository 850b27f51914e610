//! Locks and elections with auth enabled: a user without permission on the lock's or the
//! election's prefix gets `etcdserver: permission denied`, from the etcdctl commands and
//! from the gRPC services, exactly as from real etcd; a user with permission locks.

use std::path::Path;

use etcd_proto::etcdserverpb::{auth_client::AuthClient, AuthenticateRequest};
use etcd_proto::v3electionpb::{election_client::ElectionClient, CampaignRequest, LeaderRequest};
use etcd_proto::v3lockpb::{lock_client::LockClient, LockRequest};
use integration_tests::session::mask;
use integration_tests::{etcdctl, our_bin, stderr, stdout, Server, REAL_ETCDCTL};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

const ROOT: &str = "--user=root:rootpw";
const ALICE: &str = "--user=alice:alicepw";

/// root, and alice with readwrite on `ok/` only.
fn enable_auth(s: &Server) {
    let steps: &[&[&str]] = &[
        &["user", "add", "root:rootpw"],
        &["user", "grant-role", "root", "root"],
        &["user", "add", "alice:alicepw"],
        &["role", "add", "app"],
        &[
            "role",
            "grant-permission",
            "app",
            "readwrite",
            "ok/",
            "--prefix",
        ],
        &["user", "grant-role", "alice", "app"],
        &["auth", "enable"],
    ];
    for args in steps {
        let o = etcdctl(REAL_ETCDCTL, &s.endpoint(), args, None);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
}

/// (exit code, stdout, stderr) masked, of one command.
fn outcome(bin: &Path, s: &Server, args: &[&str]) -> (Option<i32>, String, String) {
    let o = etcdctl(bin, &s.endpoint(), args, None);
    (o.status.code(), mask(&stdout(&o)), mask(&stderr(&o)))
}

/// The gRPC answers to alice: (code, message) of Lock and Campaign on `denied`, and of Leader.
async fn grpc_denials(s: &Server) -> Vec<String> {
    let channel = Channel::from_shared(s.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let token = AuthClient::new(channel.clone())
        .authenticate(AuthenticateRequest {
            name: "alice".into(),
            password: "alicepw".into(),
        })
        .await
        .expect("authenticate")
        .into_inner()
        .token;
    let token: MetadataValue<_> = token.parse().unwrap();
    let with_token = |mut req: tonic::metadata::MetadataMap| {
        req.insert("token", token.clone());
        req
    };
    let mut lock = LockClient::new(channel.clone());
    let mut election = ElectionClient::new(channel);
    let mut answers = Vec::new();
    let mut req = tonic::Request::new(LockRequest {
        name: b"denied".to_vec(),
        lease: 0,
    });
    *req.metadata_mut() = with_token(req.metadata().clone());
    let r = lock.lock(req).await;
    answers.push(format!(
        "lock: {:?}",
        r.map(|_| ())
            .map_err(|e| (e.code(), e.message().to_string()))
    ));
    let mut req = tonic::Request::new(CampaignRequest {
        name: b"denied".to_vec(),
        lease: 0,
        value: b"v".to_vec(),
    });
    *req.metadata_mut() = with_token(req.metadata().clone());
    let r = election.campaign(req).await;
    answers.push(format!(
        "campaign: {:?}",
        r.map(|_| ())
            .map_err(|e| (e.code(), e.message().to_string()))
    ));
    let mut req = tonic::Request::new(LeaderRequest {
        name: b"denied".to_vec(),
    });
    *req.metadata_mut() = with_token(req.metadata().clone());
    let r = election.leader(req).await;
    answers.push(format!(
        "leader: {:?}",
        r.map(|_| ())
            .map_err(|e| (e.code(), e.message().to_string()))
    ));
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_denied_same_as_etcd() {
    let dir = tempfile::tempdir().unwrap();
    let real = Server::start(
        Path::new(integration_tests::REAL_ETCD),
        &dir.path().join("real"),
        &["--bcrypt-cost", "4"],
    );
    let ours = Server::start(
        &our_bin("etcd-server"),
        &dir.path().join("ours"),
        &["--bcrypt-cost", "4"],
    );
    enable_auth(&real);
    enable_auth(&ours);
    let cases: &[&[&str]] = &[
        &[ALICE, "lock", "denied"],
        &[ALICE, "lock", "denied", "true"],
        &[ALICE, "elect", "denied", "p"],
        &[
            ALICE,
            "lock",
            "ok",
            "sh",
            "-c",
            "echo \"$ETCD_LOCK_KEY\" | cut -c1-3",
        ],
        &[ROOT, "lock", "denied", "true"],
    ];
    for args in cases {
        let want = outcome(Path::new(REAL_ETCDCTL), &real, args);
        assert_eq!(
            outcome(Path::new(REAL_ETCDCTL), &ours, args),
            want,
            "{args:?}: real etcdctl, our server"
        );
        assert_eq!(
            outcome(&our_bin("etcdctl"), &real, args),
            want,
            "{args:?}: our etcdctl, real etcd"
        );
        assert_eq!(
            outcome(&our_bin("etcdctl"), &ours, args),
            want,
            "{args:?}: our etcdctl, our server"
        );
    }
    let first = outcome(Path::new(REAL_ETCDCTL), &real, cases[0]);
    assert!(
        first.2.contains("Error: etcdserver: permission denied"),
        "{first:?}"
    );
    let want = grpc_denials(&real).await;
    assert_eq!(grpc_denials(&ours).await, want);
    assert!(want[0].contains("permission denied"), "{want:?}");
}
