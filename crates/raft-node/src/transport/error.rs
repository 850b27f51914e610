//! [`TransportError`]: why a message, a stream or a snapshot did not reach a peer.

use std::error::Error as _;

/// Errors of the peer transport (logged; raft hears of them as unreachable peers or
/// failed snapshots).
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransportError {
    /// The peer has no URL to connect to.
    #[error("peer {0:x} has no URL")]
    NoUrl(u64),
    /// The peer URL cannot be used.
    #[error("invalid peer URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// Connecting failed (refused, timed out, unreachable).
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    /// The peer answered with an error status.
    #[error("peer refused: {code:?}: {message}")]
    Refused { code: tonic::Code, message: String },
    /// The peer ended the message stream or the connection dropped it.
    #[error("stream closed by the peer")]
    Closed,
    /// A step did not finish in time.
    #[error("timed out {0}")]
    Timeout(&'static str),
    /// The snapshot could not be produced or sent.
    #[error("snapshot: {0}")]
    Snapshot(String),
}

impl TransportError {
    /// A connection error with its causes (tonic's own message is just "transport error").
    pub(crate) fn connect(url: &str, err: &tonic::transport::Error) -> TransportError {
        let mut reason = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            reason.push_str(": ");
            reason.push_str(&cause.to_string());
            source = cause.source();
        }
        TransportError::Connect {
            url: url.to_owned(),
            reason,
        }
    }

    /// Whether the peer refused us as a member removed from the cluster.
    pub(crate) fn is_removal(&self) -> bool {
        matches!(
            self,
            TransportError::Refused {
                code: tonic::Code::PermissionDenied,
                ..
            }
        )
    }

    /// Whether the peer itself refused us (as opposed to a network failure).
    pub(crate) fn is_refusal(&self) -> bool {
        matches!(self, TransportError::Refused { .. })
    }
}

impl From<tonic::Status> for TransportError {
    fn from(status: tonic::Status) -> Self {
        TransportError::Refused {
            code: status.code(),
            message: status.message().to_owned(),
        }
    }
}
