//! A client-side watch stream: one `Watch` RPC carrying many watchers, created one after
//! the other (as clientv3 does: a create is sent once the previous one is acknowledged).
//!
//! The RPC is started together with the first create request, because a server may send
//! the response headers only with its first response (etcd does).

use std::time::Duration;

use crate::conn::Conn;
use etcd_proto::etcdserverpb::{
    watch_client::WatchClient, watch_request::RequestUnion, WatchCreateRequest, WatchRequest,
    WatchResponse,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

use crate::runner::{format_status, TIMEOUT_ERROR};

/// One watch stream on a connection.
pub struct WatchStream {
    client: WatchClient<Conn>,
    requests: mpsc::Sender<WatchRequest>,
    /// The request side, until the RPC is started by the first create.
    pending: Option<ReceiverStream<WatchRequest>>,
    responses: Option<Streaming<WatchResponse>>,
}

impl WatchStream {
    /// A stream on `channel`; nothing is sent before the first [`WatchStream::create`].
    pub fn new(channel: Conn) -> Self {
        let (requests, rx) = mpsc::channel(64);
        WatchStream {
            client: WatchClient::new(channel).max_decoding_message_size(usize::MAX),
            requests,
            pending: Some(ReceiverStream::new(rx)),
            responses: None,
        }
    }

    /// Creates a watcher on the single key `key` and waits (at most `timeout`) for it to be
    /// acknowledged; returns its watch ID.
    pub async fn create(&mut self, key: Vec<u8>, timeout: Duration) -> Result<i64, String> {
        let req = WatchRequest {
            request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
                key,
                ..Default::default()
            })),
        };
        tokio::time::timeout(timeout, self.create_inner(req))
            .await
            .unwrap_or_else(|_| Err(TIMEOUT_ERROR.to_string()))
    }

    async fn create_inner(&mut self, req: WatchRequest) -> Result<i64, String> {
        self.requests
            .send(req)
            .await
            .map_err(|_| "watch stream closed".to_string())?;
        if let Some(pending) = self.pending.take() {
            let started = self
                .client
                .watch(pending)
                .await
                .map_err(|s| format_status(&s))?;
            self.responses = Some(started.into_inner());
        }
        loop {
            let resp = self.message().await?;
            if resp.created {
                if resp.canceled {
                    return Err(format!("watch canceled: {}", resp.cancel_reason));
                }
                return Ok(resp.watch_id);
            }
        }
    }

    /// The next response (no timeout: callers bound it).
    pub async fn message(&mut self) -> Result<WatchResponse, String> {
        let responses = self
            .responses
            .as_mut()
            .ok_or_else(|| "no watcher was created on this stream".to_string())?;
        match responses.message().await {
            Ok(Some(resp)) => Ok(resp),
            Ok(None) => Err("watch stream closed by the server".to_string()),
            Err(status) => Err(format_status(&status)),
        }
    }
}
