//! [`StreamTask`]: the task that carries one peer's raft messages. It connects, checks
//! that the peer accepts us (handshake), keeps one `Stream` call open and sends each
//! burst of queued messages as one batch; on failure it reports the peer unreachable,
//! drops what is queued and reconnects with a backoff.

use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_proto::peerpb::MessageBatch;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use super::connect::connect;
use super::error::TransportError;
use super::peer::Active;
use super::Local;

/// First reconnect delay; doubled per failure up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest reconnect delay, so a restarted peer is reached again within a second.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// The handshake call must answer within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
/// Most messages in one batch.
const MAX_BATCH_MESSAGES: usize = 4096;
/// A batch stops growing once it holds this many bytes (the receiver accepts much
/// larger ones: see `service.rs`).
const MAX_BATCH_BYTES: usize = 4 << 20;

/// The sender task of one peer.
pub(crate) struct StreamTask {
    peer: u64,
    local: Arc<Local>,
    queue: mpsc::Receiver<Vec<u8>>,
    urls: watch::Receiver<Vec<String>>,
    active: Active,
    /// The last attempt failed (failures are logged once until the stream is up again).
    failing: bool,
}

impl StreamTask {
    pub(crate) fn new(
        peer: u64,
        local: Arc<Local>,
        queue: mpsc::Receiver<Vec<u8>>,
        urls: watch::Receiver<Vec<String>>,
        active: Active,
    ) -> StreamTask {
        StreamTask {
            peer,
            local,
            queue,
            urls,
            active,
            failing: false,
        }
    }

    /// Runs until the queue closes (peer removed, transport stopped or dropped).
    pub(crate) async fn run(mut self) {
        let mut backoff = MIN_BACKOFF;
        loop {
            let err = match self.session().await {
                Ok(()) => return,
                Err(err) => err,
            };
            let was_active = self.active.lock().take().is_some();
            self.log_failure(&err, was_active);
            if was_active {
                backoff = MIN_BACKOFF;
            }
            self.local.report_unreachable(self.peer);
            if !self.idle(backoff).await {
                return;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One connection: handshake, then the long-lived stream. `Ok` when the queue closed.
    async fn session(&mut self) -> Result<(), TransportError> {
        let url = self.urls.borrow().first().cloned();
        let url = url.ok_or(TransportError::NoUrl(self.peer))?;
        let tls = self.local.tls();
        let mut client = connect(&url, tls.as_ref()).await?;
        let hello = client.stream(tokio_stream::once(self.batch(Vec::new())));
        tokio::time::timeout(HANDSHAKE_TIMEOUT, hello)
            .await
            .map_err(|_| TransportError::Timeout("waiting for the peer's handshake"))??;

        let (body, batches) = mpsc::channel(1);
        let mut call = std::pin::pin!(client.stream(ReceiverStream::new(batches)));
        self.became_active(&url);
        loop {
            let first = tokio::select! {
                msg = self.queue.recv() => match msg {
                    Some(msg) => msg,
                    None => return Ok(()),
                },
                ended = &mut call => return Err(stream_ended(ended)),
            };
            // Wait for room on the stream; meanwhile more messages queue up.
            let permit = tokio::select! {
                permit = body.reserve() => permit.map_err(|_| TransportError::Closed)?,
                ended = &mut call => return Err(stream_ended(ended)),
            };
            let messages = self.fill(first);
            permit.send(self.batch(messages));
        }
    }

    /// `first` and whatever else is queued, within the batch limits.
    fn fill(&mut self, first: Vec<u8>) -> Vec<Vec<u8>> {
        let mut bytes = first.len();
        let mut messages = vec![first];
        while messages.len() < MAX_BATCH_MESSAGES && bytes < MAX_BATCH_BYTES {
            match self.queue.try_recv() {
                Ok(msg) => {
                    bytes += msg.len();
                    messages.push(msg);
                }
                Err(_) => break,
            }
        }
        messages
    }

    fn batch(&self, messages: Vec<Vec<u8>>) -> MessageBatch {
        MessageBatch {
            cluster_id: self.local.cluster_id,
            from: self.local.id,
            messages,
        }
    }

    fn became_active(&mut self, url: &str) {
        *self.active.lock() = Some(Instant::now());
        self.failing = false;
        tracing::info!(peer = %format!("{:x}", self.peer), url, "peer became active");
    }

    /// Logs once per transition: when the stream goes down, or the first failed attempt.
    fn log_failure(&mut self, err: &TransportError, was_active: bool) {
        if err.is_removal() {
            self.local.removed_by_peer(self.peer);
        }
        let peer = format!("{:x}", self.peer);
        if was_active {
            tracing::warn!(%peer, error = %err, "peer became inactive");
        } else if self.failing {
            tracing::debug!(%peer, error = %err, "peer still unreachable");
        } else if err.is_refusal() {
            tracing::error!(%peer, error = %err, "peer refused our message stream");
        } else {
            tracing::warn!(%peer, error = %err, "cannot reach peer");
        }
        self.failing = true;
    }

    /// Waits `delay`, dropping (and reporting) messages queued meanwhile: raft resends
    /// what matters. False when the queue closed.
    async fn idle(&mut self, delay: Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        let mut dropped = false;
        let open = loop {
            tokio::select! {
                () = &mut sleep => break true,
                msg = self.queue.recv() => match msg {
                    Some(_) => dropped = true,
                    None => break false,
                },
            }
        };
        if dropped {
            self.local.report_unreachable(self.peer);
        }
        open
    }
}

/// The error a finished stream call stands for (it only ends when something failed).
fn stream_ended<T>(ended: Result<T, tonic::Status>) -> TransportError {
    match ended {
        Ok(_) => TransportError::Closed,
        Err(status) => status.into(),
    }
}
