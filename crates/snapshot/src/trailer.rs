//! The SHA-256 trailer: etcd's Maintenance.Snapshot stream (and so `etcdctl snapshot save`)
//! is the bbolt database followed by the 32-byte SHA-256 of the database bytes. etcd tells a
//! file with a trailer from a bare db file by its size: `size % 512 == 32` (clientv3
//! snapshot `hasChecksum`; bbolt files are whole pages, so multiples of 512).

use std::io::{self, Read, Write};

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// Size of the trailer.
pub const SHA256_SIZE: usize = 32;

/// A SHA-256 digest.
pub type Digest = [u8; SHA256_SIZE];

/// etcd's `hasChecksum`: whether a file of `size` bytes ends in a SHA-256 trailer.
pub fn has_checksum(size: u64) -> bool {
    size % 512 == SHA256_SIZE as u64
}

/// SHA-256 of everything `r` yields.
pub fn sha256_of(mut r: impl Read) -> Result<Digest> {
    let mut w = HashingWriter::new(io::sink());
    io::copy(&mut r, &mut w)?;
    Ok(w.finish())
}

/// Checks a snapshot's trailer as `etcdctl snapshot restore` does: `expected` is the
/// trailer (None when the file has none), `db` yields the database bytes.
pub(crate) fn verify(expected: Option<Digest>, db: impl Read) -> Result<()> {
    let expected = expected.ok_or(Error::MissingHash)?;
    let got = sha256_of(db)?;
    if got != expected {
        return Err(Error::HashMismatch { expected, got });
    }
    Ok(())
}

/// A writer that hashes everything written through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// The digest of the bytes written so far.
    pub fn finish(self) -> Digest {
        self.into_parts().1
    }

    /// The inner writer and the digest of the bytes written so far.
    pub fn into_parts(self) -> (W, Digest) {
        (self.inner, self.hasher.finalize().into())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
