//! The gRPC peer service refuses what does not belong: another cluster, removed
//! members, malformed or misaddressed messages; and a failed snapshot restore stops
//! the member that got it.

mod common;

use std::time::Duration;

use common::grpc::{Cluster, CLUSTER_ID, WAIT};
use common::kv::KvMachine;
use common::wait_until;
use etcd_proto::peerpb::raft_client::RaftClient;
use etcd_proto::peerpb::{MessageBatch, SnapshotChunk};
use protobuf::Message as _;
use raft::eraftpb::{Message, MessageType};
use raft_node::{PeerTransport, RaftConfig};
use tonic::Code;

const OTHER_CLUSTER: u64 = 0xbad0;

fn single(_: &mut RaftConfig) {}

fn msg(kind: MessageType, from: u64, to: u64) -> Vec<u8> {
    Message {
        msg_type: kind,
        from,
        to,
        ..Message::default()
    }
    .write_to_bytes()
    .unwrap()
}

async fn client(url: &str) -> RaftClient<tonic::transport::Channel> {
    RaftClient::connect(url.to_owned()).await.expect("connect")
}

/// One `Stream` call carrying `batches`; the status code it ends with.
async fn stream(url: &str, batches: Vec<MessageBatch>) -> Code {
    match client(url).await.stream(tokio_stream::iter(batches)).await {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

async fn snapshot(url: &str, chunks: Vec<SnapshotChunk>) -> Code {
    match client(url).await.snapshot(tokio_stream::iter(chunks)).await {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

fn batch(cluster_id: u64, from: u64, messages: Vec<Vec<u8>>) -> MessageBatch {
    MessageBatch {
        cluster_id,
        from,
        messages,
    }
}

#[test]
fn a_peer_of_another_cluster_is_refused() {
    let cluster = Cluster::start(1, single);
    cluster.wait_leader(&[1]);
    let url = cluster.url(1);

    let status = cluster
        .block_on(1, async {
            client(&url)
                .await
                .stream(tokio_stream::iter(vec![batch(OTHER_CLUSTER, 9, vec![])]))
                .await
        })
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    for id in [format!("{CLUSTER_ID:x}"), format!("{OTHER_CLUSTER:x}")] {
        assert!(status.message().contains(&id), "{}", status.message());
    }

    // A transport of another cluster never gets its stream up; one of ours does.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let stranger = PeerTransport::new(9, OTHER_CLUSTER, KvMachine::default().source());
    let friend = PeerTransport::new(8, CLUSTER_ID, KvMachine::default().source());
    stranger.add_peer(1, vec![url.clone()]);
    friend.add_peer(1, vec![url.clone()]);
    wait_until(WAIT, "friend's stream up", || {
        friend.active_since(1).is_some()
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(stranger.active_since(1).is_none());

    // Stopping member 1's transport ends the streams it serves (its node keeps
    // running), and it accepts no new ones.
    cluster.transport(1).stop();
    wait_until(WAIT, "friend's stream ended", || {
        friend.active_since(1).is_none()
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(friend.active_since(1).is_none());
    assert!(!cluster.node(1).is_stopped());

    // Removing the peer stops its sender.
    friend.remove_peer(1);
    assert!(friend.active_since(1).is_none());
    stranger.stop();
    friend.stop();
}

#[test]
fn removed_members_and_bad_input_are_refused_and_the_node_carries_on() {
    let cluster = Cluster::start(1, single);
    cluster.wait_leader(&[1]);
    let url = cluster.url(1);
    cluster.transport(1).remove_peer(8);
    let heartbeat = |from| msg(MessageType::MsgHeartbeatResponse, from, 1);
    let snap_msg = |from| msg(MessageType::MsgSnapshot, from, 1);
    let first_chunk = |cluster_id, from, message| SnapshotChunk {
        cluster_id,
        from,
        message,
        data: Vec::new(),
    };

    cluster.block_on(1, async {
        // A valid peer is accepted.
        assert_eq!(
            stream(&url, vec![batch(CLUSTER_ID, 9, vec![heartbeat(9)])]).await,
            Code::Ok
        );
        // A removed member.
        assert_eq!(
            stream(&url, vec![batch(CLUSTER_ID, 8, vec![heartbeat(8)])]).await,
            Code::PermissionDenied
        );
        // Garbage, a message for another member, a snapshot on the stream.
        for messages in [
            vec![vec![0xff, 0xff, 0xff]],
            vec![msg(MessageType::MsgHeartbeatResponse, 9, 5)],
            vec![snap_msg(9)],
        ] {
            assert_eq!(
                stream(&url, vec![batch(CLUSTER_ID, 9, messages)]).await,
                Code::InvalidArgument
            );
        }
        assert_eq!(
            stream(&url, vec![batch(CLUSTER_ID, 0, vec![])]).await,
            Code::InvalidArgument
        );

        // Snapshot calls: empty, garbage, not a snapshot, other cluster, removed member.
        assert_eq!(snapshot(&url, vec![]).await, Code::InvalidArgument);
        for first in [
            first_chunk(CLUSTER_ID, 9, vec![1, 2, 3]),
            first_chunk(CLUSTER_ID, 9, heartbeat(9)),
        ] {
            assert_eq!(snapshot(&url, vec![first]).await, Code::InvalidArgument);
        }
        assert_eq!(
            snapshot(&url, vec![first_chunk(OTHER_CLUSTER, 9, snap_msg(9))]).await,
            Code::FailedPrecondition
        );
        assert_eq!(
            snapshot(&url, vec![first_chunk(CLUSTER_ID, 8, snap_msg(8))]).await,
            Code::PermissionDenied
        );
    });

    // The node is unharmed.
    assert!(!cluster.node(1).is_stopped());
    cluster.put(1, "still", "working");
    cluster.wait_converged(&[1], 1);
}
