//! An append-only, segmented, checksummed write-ahead log with group commit.
//!
//! raft-node persists raft entries and hard state here before acknowledging them. The
//! WAL treats a [`Record`]'s `kind` and `data` as opaque; `index` is the caller's ordering
//! tag (the raft index), used only by [`Wal::purge`].
//!
//! # On-disk format
//! A WAL is a directory of segment files named `{seq:016x}-{first_index:016x}.wal`:
//! `seq` numbers the segments 0, 1, 2, ... without gaps, `first_index` is the index of the
//! first record written to the segment (0 for the very first one). Each segment starts
//! with an 8-byte header (magic `EWAL`, format version u16 LE, two reserved zero bytes),
//! followed by records:
//!
//! ```text
//! len u32 LE | crc32 u32 LE | kind u8 | index u64 LE | data (len bytes)
//! ```
//!
//! The CRC (crc32fast) covers kind, index and data. Lengths above 256 MiB are rejected
//! without being allocated. A segment is closed and a new one started when the next record
//! would push it past [`WalOptions::segment_size`]; a record never spans segments. Creating
//! a segment fsyncs the directory; closing one fdatasyncs it.
//!
//! # Torn tail versus corruption
//! A crash during an append can leave the end of the *last* segment incomplete: a record
//! cut short, or a record whose checksum fails with only zeros (or nothing) after it.
//! [`Wal::open`] truncates such a torn tail at the start of that record, logs a warning
//! naming file and offset, and returns the records before it. Anything else (a bad record
//! in an earlier segment, a bad record followed by non-zero data, a bad header, a gap in
//! the segment sequence) is corruption: `open` returns [`WalError::Corrupt`] with file,
//! offset and reason, and modifies nothing. [`decode_segment`] is the pure decoder behind
//! this classification; it never panics, whatever its input (it is fuzzed, see
//! docs/fuzzing.md).
//!
//! # Group commit
//! [`Wal::append`] writes the records to the file in one `write` and returns a ticket;
//! [`Wal::sync`] waits until that ticket is durable. The first waiter becomes the leader
//! and issues one fdatasync covering every append made so far; threads arriving meanwhile
//! keep appending and wait, and the next leader covers all of them. So N concurrent
//! [`Wal::append_sync`] callers share far fewer than N fdatasyncs ([`Wal::sync_count`]).
//! After a failed write or fdatasync the WAL is poisoned ([`WalError::Poisoned`]): what
//! reached the disk is unknown, and reopening the WAL is the way to recover.
//!
//! # Observing fsyncs
//! [`Wal::observe_syncs`] installs a [`SyncObserver`], called with the duration of every
//! fdatasync of segment data (group commits and the final sync of a rotated segment), so
//! that a caller can keep etcd's `etcd_disk_wal_fsync_duration_seconds` histogram without
//! this crate depending on a metrics library.

mod commit;
mod error;
mod format;
mod segment;
mod wal;

pub use error::WalError;
pub use format::{
    decode_segment, DecodeEnd, DecodeOutcome, MAX_RECORD_DATA_LEN, RECORD_HEADER_LEN,
    SEGMENT_HEADER_LEN,
};
pub use wal::{SyncObserver, Wal};

/// Options for [`Wal::open`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalOptions {
    /// A segment is closed once the next record would take it past this size (bytes).
    pub segment_size: u64,
    /// fdatasync on [`Wal::sync`] (and fsync directories). `false` never syncs: for tests
    /// and benchmarks only.
    pub sync: bool,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_size: 64 << 20,
            sync: true,
        }
    }
}

/// One log record. `kind` and `data` are opaque to the WAL; `index` is the caller's
/// ordering tag (the raft index), used by [`Wal::purge`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub kind: u8,
    pub index: u64,
    pub data: Vec<u8>,
}
