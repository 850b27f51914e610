//! [`PeerTransport`]: raft messages between members over gRPC (service `peerpb.Raft` of
//! proto/peerpb/peer.proto), and its server side, [`raft_service`].
//!
//! # Sending
//! [`Transport::send`] runs on the raft thread and never blocks: it puts the message on
//! the peer's bounded queue, or drops it and reports the peer unreachable when the queue
//! is full. One task per peer (`stream.rs`) connects to the peer's first URL, proves the
//! peer accepts us with a one-batch `Stream` call (the handshake: cluster id, not
//! removed), then keeps one long-lived `Stream` call open and sends everything queued
//! meanwhile as one `MessageBatch`. When the stream fails, the peer is reported
//! unreachable, queued messages are dropped, and the task reconnects with a backoff
//! from 100 ms to 1 s. [`PeerTransport::active_since`] tells since when the stream is up.
//!
//! # Snapshots
//! `MsgSnapshot` messages never go on the stream ([`Transport::send_snapshot`]). A task
//! waits until the local state machine has applied the snapshot's index, takes its data
//! from the [`SnapshotSource`] (on a blocking thread), and sends a `Snapshot` call of its
//! own: the raft message first, then the data in 1 MiB chunks. The outcome goes back to
//! raft with [`crate::RaftNode::report_snapshot`].
//!
//! # Receiving
//! [`raft_service`] checks each batch's cluster id and sender, then steps the messages
//! into the node; a snapshot's chunks are reassembled into the message's data first.

mod connect;
mod error;
mod insecure;
mod peer;
mod service;
mod snapshot;
mod stream;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::RwLock;
use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::node::NodeLink;
use crate::{RaftNode, Transport};
use peer::Peer;

pub use connect::{peer_endpoint, PeerEndpoint, PeerTls};
pub use service::{raft_service, RaftService};
pub use snapshot::SnapshotSource;

/// The gRPC transport of one member. Clones share the same peers; `Send + Sync`.
#[derive(Clone)]
pub struct PeerTransport {
    inner: Arc<Inner>,
}

struct Inner {
    local: Arc<Local>,
    runtime: Handle,
    peers: RwLock<HashMap<u64, Peer>>,
    stopped: AtomicBool,
}

/// What the peer tasks and the server side share.
pub(crate) struct Local {
    pub id: u64,
    pub cluster_id: u64,
    pub snapshots: Arc<dyn SnapshotSource>,
    node: RwLock<Option<NodeLink>>,
    removed: RwLock<HashSet<u64>>,
    /// Turns true on [`PeerTransport::stop`]: incoming streams end too.
    closed: watch::Sender<bool>,
    /// Turns true when a peer refuses us as a removed member.
    removed_self: watch::Sender<bool>,
    /// TLS for `https://` peer URLs.
    tls: RwLock<Option<PeerTls>>,
}

impl Local {
    pub(crate) fn tls(&self) -> Option<PeerTls> {
        self.tls.read().clone()
    }

    /// A peer refused us because we were removed from the cluster (etcd's peers answer
    /// 410 Gone; the removed member then stops).
    pub(crate) fn removed_by_peer(&self, peer: u64) {
        if !self.removed_self.send_replace(true) {
            tracing::error!(peer = %format!("{peer:x}"), "a peer reports this member was removed from the cluster");
        }
    }

    /// The local node, once attached.
    pub(crate) fn node(&self) -> Option<NodeLink> {
        self.node.read().clone()
    }

    pub(crate) fn report_unreachable(&self, peer: u64) {
        if let Some(node) = &*self.node.read() {
            node.report_unreachable(peer);
        }
    }

    pub(crate) fn is_removed(&self, id: u64) -> bool {
        self.removed.read().contains(&id)
    }

    pub(crate) fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Resolves once the transport is stopped.
    pub(crate) async fn closed(&self) {
        let mut closed = self.closed.subscribe();
        // The sender lives in `self`.
        let _ = closed.wait_for(|&c| c).await;
    }
}

impl PeerTransport {
    /// A transport for member `local_id` of cluster `cluster_id`; snapshots sent to
    /// lagging followers take their data from `snapshots`. Call inside a tokio runtime
    /// (its tasks run there); panics otherwise, like `tokio::spawn`.
    pub fn new(local_id: u64, cluster_id: u64, snapshots: Arc<dyn SnapshotSource>) -> Self {
        PeerTransport {
            inner: Arc::new(Inner {
                local: Arc::new(Local {
                    id: local_id,
                    cluster_id,
                    snapshots,
                    node: RwLock::new(None),
                    removed: RwLock::new(HashSet::new()),
                    closed: watch::channel(false).0,
                    removed_self: watch::channel(false).0,
                    tls: RwLock::new(None),
                }),
                runtime: Handle::current(),
                peers: RwLock::new(HashMap::new()),
                stopped: AtomicBool::new(false),
            }),
        }
    }

    /// Connects to `https://` peers with `tls` from the next connection on (without it
    /// they are refused). Set it before adding peers.
    pub fn set_tls(&self, tls: PeerTls) {
        *self.inner.local.tls.write() = Some(tls);
    }

    /// The TLS settings for `https://` peers, if any.
    pub fn tls(&self) -> Option<PeerTls> {
        self.inner.local.tls()
    }

    /// Attaches the local node ([`RaftNode::start`] takes the transport, so this comes
    /// after). Messages are dropped until then. The transport does not keep the node
    /// running.
    pub fn set_node(&self, node: RaftNode) {
        if !self.is_stopped() {
            *self.inner.local.node.write() = Some(node.link());
        }
    }

    /// Adds peer `id` with its peer URLs, or replaces the URLs of a known peer (used
    /// from the next connection on). Only the first URL is used (`https://` needs [`PeerTransport::set_tls`]).
    /// Ignored for this member itself, a removed member, or after [`PeerTransport::stop`].
    pub fn add_peer(&self, id: u64, urls: Vec<String>) {
        let local = &self.inner.local;
        if id == local.id || self.is_stopped() {
            return;
        }
        if local.is_removed(id) {
            tracing::warn!(peer = %format!("{id:x}"), "not adding a removed member as peer");
            return;
        }
        let mut peers = self.inner.peers.write();
        if let Some(peer) = peers.get(&id) {
            peer.set_urls(urls);
            return;
        }
        tracing::info!(peer = %format!("{id:x}"), ?urls, "added peer");
        peers.insert(id, Peer::start(id, urls, local, &self.inner.runtime));
    }

    /// Removes peer `id`: stops its sender and, from now on, refuses its messages (a
    /// removed member never comes back under the same id).
    pub fn remove_peer(&self, id: u64) {
        self.inner.local.removed.write().insert(id);
        if self.inner.peers.write().remove(&id).is_some() {
            tracing::info!(peer = %format!("{id:x}"), "removed peer");
        }
    }

    /// Turns true once a peer refused this member as removed from the cluster (it missed
    /// the commit of its own removal): the member should stop, as etcd's does.
    pub fn removed(&self) -> watch::Receiver<bool> {
        self.inner.local.removed_self.subscribe()
    }

    /// Since when the message stream to peer `id` is up; `None` while it is not.
    pub fn active_since(&self, id: u64) -> Option<Instant> {
        self.inner.peers.read().get(&id)?.active_since()
    }

    /// Stops every peer sender, ends the streams [`raft_service`] serves (so a graceful
    /// server shutdown does not wait for peers) and detaches the node; later messages
    /// are dropped. Stopping the node has the same effect on the served streams.
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::Release);
        self.inner.peers.write().clear();
        *self.inner.local.node.write() = None;
        self.inner.local.closed.send_replace(true);
    }

    fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::Acquire)
    }

    pub(crate) fn local(&self) -> Arc<Local> {
        Arc::clone(&self.inner.local)
    }
}

impl Transport for PeerTransport {
    fn send(&self, to: u64, msg: Vec<u8>) {
        let local = &self.inner.local;
        if local.node.read().is_none() {
            return;
        }
        let queued = match self.inner.peers.read().get(&to) {
            Some(peer) => peer.try_send(msg),
            None => {
                tracing::debug!(to = %format!("{to:x}"), "dropping message to unknown peer");
                false
            }
        };
        if !queued {
            local.report_unreachable(to);
        }
    }

    fn send_snapshot(&self, to: u64, msg: Vec<u8>) {
        let local = &self.inner.local;
        let Some(node) = local.node() else { return };
        match self.inner.peers.read().get(&to) {
            Some(peer) => peer.send_snapshot(msg, local, &self.inner.runtime),
            None => {
                tracing::warn!(to = %format!("{to:x}"), "cannot send snapshot to unknown peer");
                node.report_snapshot(to, false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transport_can_be_shared_between_threads() {
        fn shareable<T: Clone + Send + Sync + 'static>() {}
        shareable::<PeerTransport>();
        shareable::<RaftNode>();
    }
}
