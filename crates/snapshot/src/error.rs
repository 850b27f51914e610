//! The crate's error type. Messages follow bbolt's and etcd's wording where they have one
//! (`invalid database`, `checksum error`, `snapshot file integrity check failed. ...`,
//! `snapshot missing hash but --skip-hash-check=false`, `expected sha256 [...], got [...]`).

use std::io;

/// Everything that can go wrong reading or writing a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] io::Error),

    /// Neither meta page carries bbolt's magic number (bbolt's `ErrInvalid`).
    #[error("invalid database")]
    Invalid,

    /// A meta page has another file-format version (bbolt's `ErrVersionMismatch`).
    #[error("version mismatch")]
    VersionMismatch,

    /// Both meta pages fail their FNV-64a checksum (bbolt's `ErrChecksum`).
    #[error("checksum error")]
    Checksum,

    /// The file is shorter than two pages, or than the pages its meta page claims.
    #[error("file size too small")]
    TooSmall,

    /// The file ends before the last page its meta page counts.
    #[error("snapshot file truncated: {size} bytes, its meta page needs {need}")]
    Truncated { size: u64, need: u64 },

    /// A page or element points outside its page, the file, or the tree's shape.
    #[error("corrupt snapshot: {0}")]
    Corrupt(String),

    /// bbolt's `tx.Check()` found problems; text as etcd's `snapshot status`.
    #[error("snapshot file integrity check failed. {} errors found.\n{}", .0.len(), .0.join("\n"))]
    Integrity(Vec<String>),

    /// The file has no SHA-256 trailer but verification was asked for (etcd's restore).
    #[error("snapshot missing hash but --skip-hash-check=false")]
    MissingHash,

    /// The SHA-256 trailer does not match the database bytes (etcd's restore message,
    /// byte slices printed as Go's `%v` does).
    #[error("expected sha256 {}, got {}", go_bytes(.expected), go_bytes(.got))]
    HashMismatch { expected: [u8; 32], got: [u8; 32] },

    /// Bad input given to the writer.
    #[error("{0}")]
    Write(String),
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Formats bytes as Go's `fmt` `%v` formats a `[]byte`: `[1 2 3]`.
fn go_bytes(b: &[u8]) -> String {
    let parts: Vec<String> = b.iter().map(|x| x.to_string()).collect();
    format!("[{}]", parts.join(" "))
}

/// Shorthand for a [`Error::Corrupt`].
pub(crate) fn corrupt(msg: impl Into<String>) -> Error {
    Error::Corrupt(msg.into())
}
