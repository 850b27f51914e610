//! etcd's snapshot file format: a bbolt database (etcd's backend, `member/snap/db`)
//! followed, in a Maintenance.Snapshot stream or an `etcdctl snapshot save` file, by the
//! SHA-256 of the database bytes. See docs/snapshot-format.md.
//!
//! * write: [`write`] (a file, atomically), [`write_to`] (a stream), [`Builder`] (push
//!   buckets and keys one at a time into any `Write + Seek`).
//! * read: [`Reader`] (any bbolt file, with or without the trailer, optionally verifying it).
//! * [`status`]: `etcdctl snapshot status` (hash, revision, total keys, total size).

mod check;
mod error;
pub mod etcd;
mod page;
mod reader;
mod source;
mod status;
mod trailer;
mod writer;

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

pub use error::{Error, Result};
pub use reader::{Bucket, Cursor, Reader};
pub use status::{status, Status};
pub use trailer::{has_checksum, sha256_of, Digest, HashingWriter, SHA256_SIZE};
pub use writer::Builder;

/// Writes `buckets` (name, key/values in ascending key order; buckets in any order) as a
/// bbolt database into `out` from its start; returns the database size in bytes.
pub fn write_db<W, N, I, K, V>(out: W, buckets: impl IntoIterator<Item = (N, I)>) -> Result<u64>
where
    W: Write + Seek,
    N: AsRef<[u8]>,
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let mut b = Builder::new(out)?;
    for (name, kvs) in buckets {
        b.bucket(name.as_ref())?;
        for (k, v) in kvs {
            b.put(k.as_ref(), v.as_ref())?;
        }
    }
    Ok(b.finish()?.1)
}

/// Builds the database in an anonymous temporary file next to `dir` (or the system's temp
/// directory), rewound to its start.
fn build_temp<N, I, K, V>(
    dir: Option<&Path>,
    buckets: impl IntoIterator<Item = (N, I)>,
) -> Result<(File, u64)>
where
    N: AsRef<[u8]>,
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let file = match dir {
        Some(d) => tempfile::tempfile_in(d)?,
        None => tempfile::tempfile()?,
    };
    let mut out = BufWriter::new(file);
    let size = write_db(&mut out, buckets)?;
    let mut file = out.into_inner().map_err(|e| e.into_error())?;
    file.seek(SeekFrom::Start(0))?;
    Ok((file, size))
}

/// Streams a snapshot (database + SHA-256 trailer, as etcd's Maintenance.Snapshot sends)
/// into `w`; returns the digest. The database is built in a temporary file first.
pub fn write_to<N, I, K, V>(
    buckets: impl IntoIterator<Item = (N, I)>,
    w: impl Write,
) -> Result<Digest>
where
    N: AsRef<[u8]>,
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let (file, size) = build_temp(None, buckets)?;
    let mut hw = HashingWriter::new(w);
    io::copy(&mut io::Read::take(file, size), &mut hw)?;
    let (mut w, digest) = hw.into_parts();
    w.write_all(&digest)?;
    w.flush()?;
    Ok(digest)
}

/// Writes a snapshot file (database + SHA-256 trailer) at `path` atomically: a temporary
/// file in the same directory, fsync, rename, fsync of the directory. Returns the digest.
pub fn write<N, I, K, V>(
    path: impl AsRef<Path>,
    buckets: impl IntoIterator<Item = (N, I)>,
) -> Result<Digest>
where
    N: AsRef<[u8]>,
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let path = path.as_ref();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    let mut out = BufWriter::new(tmp.as_file_mut());
    let size = write_db(&mut out, buckets)?;
    drop(out);
    let file = tmp.as_file_mut();
    file.seek(SeekFrom::Start(0))?;
    let digest = sha256_of(io::Read::take(&mut *file, size))?;
    file.seek(SeekFrom::Start(size))?;
    file.write_all(&digest)?;
    file.sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    File::open(dir)?.sync_all()?;
    Ok(digest)
}
