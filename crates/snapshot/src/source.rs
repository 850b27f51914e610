//! Where a reader gets its bytes: a file read with positioned reads (nothing is mapped, so
//! a file that shrinks under us gives an error, not a crash) or a buffer in memory (fuzzing,
//! tests). `len` is the length of the bbolt database part, the SHA-256 trailer excluded.

use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::error::{Error, Result};

pub(crate) enum Source {
    File { file: File, len: u64 },
    Memory(Vec<u8>),
}

impl Source {
    /// Length of the database bytes.
    pub fn len(&self) -> u64 {
        match self {
            Source::File { len, .. } => *len,
            Source::Memory(b) => b.len() as u64,
        }
    }

    /// Reads `len` bytes at `off`; an error when they are not all inside the database.
    pub fn read(&self, off: u64, len: usize) -> Result<Vec<u8>> {
        let end = off.checked_add(len as u64).ok_or(Error::TooSmall)?;
        if end > self.len() {
            return Err(Error::TooSmall);
        }
        match self {
            Source::File { file, .. } => {
                let mut buf = vec![0u8; len];
                file.read_exact_at(&mut buf, off)?;
                Ok(buf)
            }
            Source::Memory(b) => Ok(b[off as usize..end as usize].to_vec()),
        }
    }
}
