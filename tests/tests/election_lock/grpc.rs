//! The `v3electionpb.Election` and `v3lockpb.Lock` services called directly with tonic
//! clients: the same scenario against our server and real etcd must give the same
//! transcript (lease IDs and member/cluster IDs left out; revisions compared).

use std::future::Future;
use std::time::Duration;

use etcd_proto::etcdserverpb::{
    kv_client::KvClient, lease_client::LeaseClient, LeaseGrantRequest, RangeRequest,
};
use etcd_proto::v3electionpb::{
    election_client::ElectionClient, CampaignRequest, LeaderKey, LeaderRequest, LeaderResponse,
    ProclaimRequest, ResignRequest,
};
use etcd_proto::v3lockpb::{lock_client::LockClient, LockRequest, UnlockRequest};
use integration_tests::Server;
use tonic::transport::Channel;

/// How long a call that should block is given before it counts as blocked.
const BLOCKED: Duration = Duration::from_millis(700);
/// Bound on every call that should return.
const LIMIT: Duration = Duration::from_secs(15);

async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("call timed out")
}

/// The transcript: one line per step.
struct Transcript {
    lines: Vec<String>,
    leases: Vec<i64>,
}

impl Transcript {
    fn lease_name(&self, id: i64) -> String {
        match self.leases.iter().position(|l| *l == id) {
            Some(i) => format!("L{i}"),
            None => format!("lease {id}"),
        }
    }

    /// A key `<name>/<lease hex>` with the lease named.
    fn key(&self, key: &[u8]) -> String {
        let key = String::from_utf8_lossy(key).into_owned();
        match key.rsplit_once('/') {
            Some((name, hex)) => match i64::from_str_radix(hex, 16) {
                Ok(id) => format!("{name}/{}", self.lease_name(id)),
                Err(_) => key,
            },
            None => key,
        }
    }

    fn status(&mut self, step: &str, s: &tonic::Status) {
        self.lines
            .push(format!("{step}: error {:?} {}", s.code(), s.message()));
    }

    fn leader(&mut self, step: &str, r: Result<LeaderResponse, tonic::Status>) {
        match r {
            Ok(r) => {
                let kv = r.kv.unwrap_or_default();
                let line = format!(
                    "{step}: rev {} key {} value {} create {} lease {}",
                    r.header.unwrap_or_default().revision,
                    self.key(&kv.key),
                    String::from_utf8_lossy(&kv.value),
                    kv.create_revision,
                    self.lease_name(kv.lease)
                );
                self.lines.push(line);
            }
            Err(s) => self.status(step, &s),
        }
    }

    fn leader_key(&mut self, step: &str, rev: i64, l: &LeaderKey) {
        let line = format!(
            "{step}: rev {rev} name {} key {} rev {} lease {}",
            String::from_utf8_lossy(&l.name),
            self.key(&l.key),
            l.rev,
            self.lease_name(l.lease)
        );
        self.lines.push(line);
    }
}

/// Runs the scenario against `endpoint`.
async fn scenario(endpoint: &str) -> Vec<String> {
    let channel = Channel::from_shared(format!("http://{endpoint}"))
        .unwrap()
        .connect()
        .await
        .expect("connect");
    let mut election = ElectionClient::new(channel.clone());
    let mut lock = LockClient::new(channel.clone());
    let mut kv = KvClient::new(channel.clone());
    let mut lease = LeaseClient::new(channel);
    let mut t = Transcript {
        lines: Vec::new(),
        leases: Vec::new(),
    };
    for _ in 0..2 {
        let req = LeaseGrantRequest { ttl: 60, id: 0 };
        let id = bounded(lease.lease_grant(req))
            .await
            .unwrap()
            .into_inner()
            .id;
        t.leases.push(id);
    }
    let (l0, l1) = (t.leases[0], t.leases[1]);
    let name = b"e".to_vec();
    let leader_req = || LeaderRequest {
        name: b"e".to_vec(),
    };

    let r = bounded(election.leader(leader_req())).await;
    t.leader("leader before any campaign", r.map(|r| r.into_inner()));

    let campaign = |value: &str, lease: i64| CampaignRequest {
        name: name.clone(),
        lease,
        value: value.as_bytes().to_vec(),
    };
    let first = bounded(election.campaign(campaign("v0", l0)))
        .await
        .expect("campaign")
        .into_inner();
    let first_leader = first.leader.clone().unwrap_or_default();
    let rev = first.header.unwrap_or_default().revision;
    t.leader_key("campaign L0", rev, &first_leader);

    // A second candidate waits while the first leads.
    let mut second_client = election.clone();
    let second_req = campaign("v1", l1);
    let second = tokio::spawn(async move { second_client.campaign(second_req).await });
    tokio::time::sleep(BLOCKED).await;
    t.lines.push(format!(
        "second campaign blocked: {}",
        !second.is_finished()
    ));

    let r = bounded(election.leader(leader_req())).await;
    t.leader("leader", r.map(|r| r.into_inner()));

    let proclaim = |leader: Option<LeaderKey>, value: &str| ProclaimRequest {
        leader,
        value: value.as_bytes().to_vec(),
    };
    match bounded(election.proclaim(proclaim(Some(first_leader.clone()), "v0b"))).await {
        Ok(r) => t.lines.push(format!(
            "proclaim: rev {}",
            r.into_inner().header.unwrap_or_default().revision
        )),
        Err(s) => t.status("proclaim", &s),
    }
    let r = bounded(election.leader(leader_req())).await;
    t.leader("leader after proclaim", r.map(|r| r.into_inner()));

    let mut stale = first_leader.clone();
    stale.rev += 100;
    if let Err(s) = bounded(election.proclaim(proclaim(Some(stale), "x"))).await {
        t.status("proclaim by a non-leader", &s);
    }
    if let Err(s) = bounded(election.proclaim(proclaim(None, "x"))).await {
        t.status("proclaim without leader", &s);
    }

    let mut observe = bounded(election.observe(leader_req()))
        .await
        .expect("observe")
        .into_inner();
    let r = bounded(observe.message())
        .await
        .expect("observe")
        .expect("first");
    t.leader("observe", Ok(r));

    let r = bounded(election.resign(ResignRequest {
        leader: Some(first_leader.clone()),
    }))
    .await;
    match r {
        Ok(r) => t.lines.push(format!(
            "resign: rev {}",
            r.into_inner().header.unwrap_or_default().revision
        )),
        Err(s) => t.status("resign", &s),
    }
    let second = bounded(second)
        .await
        .unwrap()
        .expect("second campaign")
        .into_inner();
    let rev = second.header.unwrap_or_default().revision;
    t.leader_key(
        "second campaign won",
        rev,
        &second.leader.unwrap_or_default(),
    );
    let r = bounded(observe.message())
        .await
        .expect("observe")
        .expect("next");
    t.leader("observe after resign", Ok(r));

    // Resigning again is a no-op txn that does not match.
    let r = bounded(election.resign(ResignRequest {
        leader: Some(first_leader),
    }))
    .await;
    match r {
        Ok(r) => t.lines.push(format!(
            "resign again: rev {}",
            r.into_inner().header.unwrap_or_default().revision
        )),
        Err(s) => t.status("resign again", &s),
    }
    if let Err(s) = bounded(election.campaign(campaign("v", 0x7777))).await {
        t.status("campaign on a missing lease", &s);
    }

    // Locks.
    let lock_req = |lease: i64| LockRequest {
        name: b"l".to_vec(),
        lease,
    };
    let held = bounded(lock.lock(lock_req(l0)))
        .await
        .expect("lock")
        .into_inner();
    t.lines.push(format!(
        "lock L0: rev {} key {}",
        held.header.unwrap_or_default().revision,
        t.key(&held.key)
    ));
    let mut waiter_client = lock.clone();
    let waiter_req = lock_req(l1);
    let waiter = tokio::spawn(async move { waiter_client.lock(waiter_req).await });
    tokio::time::sleep(BLOCKED).await;
    t.lines
        .push(format!("second lock blocked: {}", !waiter.is_finished()));
    let r = bounded(lock.unlock(UnlockRequest { key: held.key })).await;
    let rev = r
        .expect("unlock")
        .into_inner()
        .header
        .unwrap_or_default()
        .revision;
    t.lines.push(format!("unlock: rev {rev}"));
    let got = bounded(waiter)
        .await
        .unwrap()
        .expect("second lock")
        .into_inner();
    t.lines.push(format!(
        "second lock: rev {} key {}",
        got.header.unwrap_or_default().revision,
        t.key(&got.key)
    ));
    // A waiter whose deadline passes leaves the queue (the server deletes its key).
    let mut req = tonic::Request::new(lock_req(l0));
    req.set_timeout(Duration::from_millis(300));
    if let Err(s) = bounded(lock.lock(req)).await {
        t.lines
            .push(format!("lock past its deadline: error {:?}", s.code()));
    }
    tokio::time::sleep(BLOCKED).await;
    let queued = bounded(kv.range(RangeRequest {
        key: b"l/".to_vec(),
        range_end: b"l0".to_vec(),
        keys_only: true,
        ..Default::default()
    }))
    .await
    .expect("range")
    .into_inner();
    let queued: Vec<String> = queued.kvs.iter().map(|kv| t.key(&kv.key)).collect();
    t.lines
        .push(format!("queue after the deadline: {queued:?}"));
    if let Err(s) = bounded(lock.lock(lock_req(0x7777))).await {
        t.status("lock on a missing lease", &s);
    }
    if let Err(s) = bounded(lock.unlock(UnlockRequest { key: Vec::new() })).await {
        t.status("unlock without key", &s);
    }
    t.lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_services_same_as_etcd() {
    let dir = tempfile::tempdir().unwrap();
    let real = Server::real(&dir.path().join("real"));
    let ours = Server::ours(&dir.path().join("ours"));
    let want = scenario(&real.endpoint()).await;
    let got = scenario(&ours.endpoint()).await;
    println!("{}", want.join("\n"));
    assert_eq!(got.join("\n"), want.join("\n"));
    assert!(
        want.iter().any(|l| l == "second campaign blocked: true"),
        "{want:#?}"
    );
}
