//! The WAL's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the WAL.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// An I/O failure; the message says which operation on which file failed.
    #[error("wal i/o error: {0}")]
    Io(std::io::Error),
    /// A segment holds bytes that are neither valid records nor a torn tail.
    #[error("corrupt wal segment {}: offset {offset}: {reason}", file.display())]
    Corrupt {
        file: PathBuf,
        offset: u64,
        reason: String,
    },
    /// A record's data is larger than the format allows.
    #[error("wal record of {len} bytes exceeds the maximum of {max} bytes")]
    RecordTooLarge { len: usize, max: usize },
    /// An earlier write or fdatasync failed: what reached the disk is unknown, so the
    /// WAL refuses further work. Reopening it repairs a torn tail.
    #[error("wal is unusable after an earlier failure: {0}")]
    Poisoned(String),
}

impl WalError {
    /// Wraps `err`, prefixing its message with what was being done.
    pub(crate) fn io(err: std::io::Error, context: impl std::fmt::Display) -> Self {
        WalError::Io(std::io::Error::new(err.kind(), format!("{context}: {err}")))
    }
}
