//! [`RaftError`]: everything the raft node reports to its callers.

/// Errors of the raft node.
#[derive(Debug, thiserror::Error)]
pub enum RaftError {
    /// No leader is known, so a proposal cannot be accepted (or forwarded) right now.
    #[error("no leader")]
    NotLeader,
    /// The node has stopped (after [`crate::RaftNode::stop`] or a fatal error).
    #[error("raft node stopped")]
    Stopped,
    /// Empty proposals are reserved for raft's own use.
    #[error("empty proposal")]
    EmptyProposal,
    /// A linearizable read did not get a read index in time (no quorum or no leader).
    #[error("read index timed out")]
    Timeout,
    /// The configuration is invalid.
    #[error("invalid raft config: {0}")]
    Config(String),
    /// Reading or writing the WAL failed.
    #[error(transparent)]
    Wal(#[from] wal::WalError),
    /// The WAL holds something raft cannot start from.
    #[error("corrupt raft log: {0}")]
    Corrupt(String),
    /// The state machine could not restore a snapshot from the leader (fatal).
    #[error("cannot restore snapshot: {0}")]
    Snapshot(String),
    /// A peer message could not be decoded.
    #[error("invalid raft message: {0}")]
    InvalidMessage(String),
    /// raft-rs refused an operation.
    #[error("raft: {0}")]
    Raft(String),
    /// The node thread could not be started.
    #[error("cannot start raft thread: {0}")]
    Spawn(std::io::Error),
}

impl From<raft::Error> for RaftError {
    fn from(err: raft::Error) -> Self {
        RaftError::Raft(err.to_string())
    }
}

impl From<protobuf::ProtobufError> for RaftError {
    fn from(err: protobuf::ProtobufError) -> Self {
        RaftError::Corrupt(format!("protobuf: {err}"))
    }
}
