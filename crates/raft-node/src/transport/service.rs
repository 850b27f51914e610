//! [`RaftService`]: the server side of `peerpb.Raft`. Every call is checked (cluster id,
//! sender not removed) before its messages are stepped into the local node; bad input
//! is answered with an error status, never a panic.

use std::sync::Arc;

use etcd_proto::peerpb::raft_server::{Raft, RaftServer};
use etcd_proto::peerpb::{MessageBatch, SnapshotChunk, SnapshotDone, StreamDone};
use protobuf::Message as _;
use raft::eraftpb::{Message, MessageType};
use tonic::{Request, Response, Status, Streaming};

use super::{Local, PeerTransport};
use crate::{RaftError, RaftNode};

/// Largest incoming gRPC message: a batch holds up to ~4 MiB plus one message, and one
/// raft message holds at least one entry, however large the server let it be.
const MAX_INCOMING_MESSAGE: usize = 256 << 20;

/// Serves `peerpb.Raft` for `node`; `transport` is the node's own transport (for the
/// cluster id and the removed members). Add the result to the peer-port tonic server.
pub fn raft_service(node: RaftNode, transport: PeerTransport) -> RaftServer<RaftService> {
    RaftServer::new(RaftService {
        node,
        local: transport.local(),
    })
    .max_decoding_message_size(MAX_INCOMING_MESSAGE)
}

/// The `peerpb.Raft` implementation (built by [`raft_service`]).
pub struct RaftService {
    node: RaftNode,
    local: Arc<Local>,
}

#[tonic::async_trait]
impl Raft for RaftService {
    async fn stream(
        &self,
        request: Request<Streaming<MessageBatch>>,
    ) -> Result<Response<StreamDone>, Status> {
        let mut incoming = request.into_inner();
        while let Some(batch) = self.next(&mut incoming).await? {
            self.check_sender(batch.cluster_id, batch.from)?;
            for bytes in &batch.messages {
                let msg = decode(bytes)?;
                if msg.get_msg_type() == MessageType::MsgSnapshot {
                    return Err(Status::invalid_argument(
                        "snapshot messages go through the Snapshot call",
                    ));
                }
                self.node.step_message(msg).map_err(status)?;
            }
        }
        Ok(Response::new(StreamDone {}))
    }

    async fn snapshot(
        &self,
        request: Request<Streaming<SnapshotChunk>>,
    ) -> Result<Response<SnapshotDone>, Status> {
        let mut incoming = request.into_inner();
        let first = self
            .next(&mut incoming)
            .await?
            .ok_or_else(|| Status::invalid_argument("empty snapshot stream"))?;
        self.check_sender(first.cluster_id, first.from)?;
        let mut msg = decode(&first.message)?;
        if msg.get_msg_type() != MessageType::MsgSnapshot {
            return Err(Status::invalid_argument(format!(
                "expected a snapshot message, got {:?}",
                msg.get_msg_type()
            )));
        }
        let mut data = first.data;
        while let Some(chunk) = self.next(&mut incoming).await? {
            data.extend_from_slice(&chunk.data);
        }
        let (index, bytes) = (msg.get_snapshot().get_metadata().index, data.len());
        msg.mut_snapshot().data = data.into();
        self.node.step_message(msg).map_err(status)?;
        tracing::info!(from = %format!("{:x}", first.from), index, bytes, "received snapshot");
        Ok(Response::new(SnapshotDone {}))
    }
}

impl RaftService {
    /// The next item of `incoming`; fails once the local node or transport stops, so
    /// long-lived streams end and a graceful server shutdown can finish.
    async fn next<T>(&self, incoming: &mut Streaming<T>) -> Result<Option<T>, Status> {
        tokio::select! {
            item = incoming.message() => item,
            () = self.node.stopped() => Err(Status::unavailable("raft node stopped")),
            () = self.local.closed() => Err(Status::unavailable("peer transport stopped")),
        }
    }

    /// Refuses a stopped node or transport, another cluster, and removed members.
    fn check_sender(&self, cluster_id: u64, from: u64) -> Result<(), Status> {
        let local = &self.local;
        if self.node.is_stopped() {
            return Err(Status::unavailable("raft node stopped"));
        }
        if local.is_closed() {
            return Err(Status::unavailable("peer transport stopped"));
        }
        if cluster_id != local.cluster_id {
            let msg = format!(
                "cluster ID mismatch: member {:x} belongs to cluster {:x}, \
                 member {from:x} sent cluster {cluster_id:x}",
                local.id, local.cluster_id
            );
            tracing::warn!(remote = %format!("{from:x}"), "{msg}");
            return Err(Status::failed_precondition(msg));
        }
        if from == 0 {
            return Err(Status::invalid_argument("sender id must not be 0"));
        }
        if local.is_removed(from) {
            return Err(Status::permission_denied(format!(
                "member {from:x} has been removed from the cluster"
            )));
        }
        Ok(())
    }
}

/// Decodes a raft message. Its `from` may differ from the sender's id: raft forwards
/// some messages (a leadership transfer names the transferee).
fn decode(bytes: &[u8]) -> Result<Message, Status> {
    Message::parse_from_bytes(bytes)
        .map_err(|err| Status::invalid_argument(format!("invalid raft message: {err}")))
}

fn status(err: RaftError) -> Status {
    match err {
        RaftError::Stopped => Status::unavailable(err.to_string()),
        RaftError::InvalidMessage(_) => Status::invalid_argument(err.to_string()),
        err => Status::internal(err.to_string()),
    }
}
