//! Sending a snapshot: the [`SnapshotSource`] that provides the state machine's data,
//! and the task that sends one `MsgSnapshot` with it as a `Snapshot` call.

use std::sync::Arc;
use std::time::Duration;

use etcd_proto::peerpb::SnapshotChunk;
use protobuf::Message as _;
use raft::eraftpb::Message;

use super::connect::connect;
use super::error::TransportError;
use super::Local;

/// State machine data per chunk.
pub(crate) const CHUNK_SIZE: usize = 1 << 20;
/// How long the local state machine may take to apply up to the snapshot's index.
const APPLY_WAIT: Duration = Duration::from_secs(30);

/// Produces the state machine's data for snapshots sent to lagging followers; the
/// follower hands it to [`crate::Applier::restore_snapshot`].
pub trait SnapshotSource: Send + Sync + 'static {
    /// A consistent image of the state machine covering at least raft index `index`
    /// (it has applied `index` when this is called). It may cover more: it carries its
    /// own applied index, which the follower reports once restored. Runs on a blocking
    /// thread, so it may take its time.
    fn snapshot_data(&self, index: u64) -> Result<Vec<u8>, String>;
}

/// Sends snapshot message `msg` to peer `to` at `url` and reports the outcome to raft.
pub(crate) async fn send(local: Arc<Local>, to: u64, url: Option<String>, msg: Vec<u8>) {
    let peer = format!("{to:x}");
    let result = transfer(&local, to, url, msg).await;
    match &result {
        Ok((index, bytes)) => tracing::info!(%peer, index, bytes, "sent snapshot"),
        Err(err) => tracing::warn!(%peer, error = %err, "failed to send snapshot"),
    }
    if let Some(node) = local.node() {
        node.report_snapshot(to, result.is_ok());
    }
}

/// Returns the snapshot's index and data size.
async fn transfer(
    local: &Local,
    to: u64,
    url: Option<String>,
    msg: Vec<u8>,
) -> Result<(u64, usize), TransportError> {
    let parsed = Message::parse_from_bytes(&msg)
        .map_err(|err| TransportError::Snapshot(format!("cannot decode the message: {err}")))?;
    let index = parsed.get_snapshot().get_metadata().index;
    let node = local
        .node()
        .ok_or_else(|| TransportError::Snapshot("no local node".to_owned()))?;
    let mut applied = node.subscribe_applied();
    tokio::time::timeout(APPLY_WAIT, applied.wait_for(|&a| a >= index))
        .await
        .map_err(|_| TransportError::Timeout("waiting for the state machine to apply"))?
        .map_err(|_| TransportError::Snapshot("the local node stopped".to_owned()))?;

    let source = Arc::clone(&local.snapshots);
    let data = tokio::task::spawn_blocking(move || source.snapshot_data(index))
        .await
        .map_err(|err| TransportError::Snapshot(format!("snapshot source panicked: {err}")))?
        .map_err(TransportError::Snapshot)?;
    let size = data.len();

    let url = url.ok_or(TransportError::NoUrl(to))?;
    let mut client = connect(&url, local.tls().as_ref()).await?;
    let chunks = chunks(local.cluster_id, local.id, msg, data);
    client.snapshot(tokio_stream::iter(chunks)).await?;
    Ok((index, size))
}

/// The chunks of one snapshot: the raft message, then the data in [`CHUNK_SIZE`] pieces.
pub(crate) fn chunks(
    cluster_id: u64,
    from: u64,
    message: Vec<u8>,
    data: Vec<u8>,
) -> impl Iterator<Item = SnapshotChunk> + Send + 'static {
    let first = SnapshotChunk {
        cluster_id,
        from,
        message,
        data: Vec::new(),
    };
    let len = data.len();
    let pieces = (0..len)
        .step_by(CHUNK_SIZE)
        .map(move |start| SnapshotChunk {
            cluster_id,
            from,
            message: Vec::new(),
            data: data[start..len.min(start + CHUNK_SIZE)].to_vec(),
        });
    std::iter::once(first).chain(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_carry_the_message_first_then_the_data_in_order() {
        let data: Vec<u8> = (0..(2 * CHUNK_SIZE + 10)).map(|i| i as u8).collect();
        let got: Vec<SnapshotChunk> = chunks(7, 3, b"msg".to_vec(), data.clone()).collect();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].message, b"msg");
        assert!(got[0].data.is_empty());
        assert!(got.iter().all(|c| c.cluster_id == 7 && c.from == 3));
        assert!(got[1..].iter().all(|c| c.message.is_empty()));
        assert_eq!(got[3].data.len(), 10);
        let joined: Vec<u8> = got.into_iter().flat_map(|c| c.data).collect();
        assert_eq!(joined, data);

        let only: Vec<SnapshotChunk> = chunks(7, 3, b"msg".to_vec(), Vec::new()).collect();
        assert_eq!(only.len(), 1);
    }
}
