//! Opening a snapshot file for `snapshot status` and `snapshot verify`, failing the way
//! etcdctl 3.4 fails before bbolt reads any page: clientv3/snapshot's `os.Stat`, then
//! `bolt.Open(path, 0400, ReadOnly)` (which opens with `O_CREATE`, initializes an empty
//! file through a read-only descriptor, and needs a whole first page). Past that point the
//! `snapshot` crate's reader gives bbolt's errors.

use ::snapshot::{Reader, Status};

use crate::commands::errno_text;

/// bbolt reads this much of the first meta page before anything else.
const FIRST_PAGE_READ: u64 = 0x1000;

/// Why a snapshot file could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The operating system refused (Go's `*os.PathError` text).
    #[error("{0}")]
    Os(String),
    /// The file is not a readable bbolt database, or its trailer does not match.
    #[error(transparent)]
    Snapshot(#[from] ::snapshot::Error),
}

/// Go's `*os.PathError` text: `<op> <path>: <errno text>`.
pub fn path_error(op: &str, path: &str, e: &std::io::Error) -> String {
    format!("{op} {path}: {}", errno_text(e))
}

fn os_error(op: &str, path: &str, errno: i32) -> OpenError {
    OpenError::Os(path_error(
        op,
        path,
        &std::io::Error::from_raw_os_error(errno),
    ))
}

/// Opens `path` as etcdctl does; `verify_hash` requires a matching SHA-256 trailer.
pub fn open(path: &str, verify_hash: bool) -> Result<Reader, OpenError> {
    let meta = std::fs::metadata(path).map_err(|e| OpenError::Os(path_error("stat", path, &e)))?;
    if meta.is_dir() {
        // bbolt opens with `O_CREATE`, which a directory refuses.
        return Err(os_error("open", path, libc::EISDIR));
    }
    std::fs::File::open(path).map_err(|e| OpenError::Os(path_error("open", path, &e)))?;
    if meta.len() == 0 {
        // bbolt writes the meta pages of a new database through the read-only descriptor.
        return Err(os_error("write", path, libc::EBADF));
    }
    if meta.len() < FIRST_PAGE_READ {
        return Err(::snapshot::Error::Invalid.into());
    }
    Ok(Reader::open(path, verify_hash)?)
}

/// Most zero bytes [`status`] adds to a file shorter than its database.
const MAX_PADDING: u64 = 64 << 20;

/// etcd's `Status(path)`: the integrity check, then the hash over all buckets.
pub fn status(path: &str) -> Result<Status, OpenError> {
    match open(path, false) {
        Ok(reader) => Ok(reader.status()?),
        Err(OpenError::Snapshot(::snapshot::Error::Truncated { size, need }))
            if need - size <= MAX_PADDING =>
        {
            Ok(zero_padded(path, need)?.status()?)
        }
        Err(e) => Err(e),
    }
}

/// The file read as bbolt reads it when it is shorter than its meta page says: bbolt maps
/// the file, so the missing pages read as zeros (up to the end of the last memory page;
/// past it bbolt crashes). A file that lost only unused pages at its end thus still has a
/// status, as with etcdctl; a lost page in use shows up in the integrity check.
fn zero_padded(path: &str, need: u64) -> Result<Reader, OpenError> {
    let mut bytes = std::fs::read(path).map_err(|e| OpenError::Os(path_error("read", path, &e)))?;
    let need = usize::try_from(need).map_err(|_| ::snapshot::Error::Invalid)?;
    bytes.resize(need, 0);
    Ok(Reader::from_bytes(bytes, false)?)
}
