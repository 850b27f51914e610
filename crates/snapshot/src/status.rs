//! `etcdctl snapshot status`: after bbolt's integrity check, a CRC-32C (Castagnoli) over
//! every bucket name followed by its keys and values, the main revision of the last key
//! of the `key` bucket, the number of entries over all buckets and bbolt's `tx.Size()`
//! (clientv3/snapshot/v3_snapshot.go `Status`).

use std::path::Path;

use crc::{Crc, CRC_32_ISCSI};

use crate::error::Result;
use crate::etcd::{Revision, KEY_BUCKET};
use crate::reader::Reader;

/// etcd's snapshot `Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub hash: u32,
    pub revision: i64,
    pub total_key: i64,
    pub total_size: i64,
}

/// The status of the snapshot (or bare db) file at `path`; the SHA-256 trailer is not
/// checked, as etcd does not.
pub fn status(path: impl AsRef<Path>) -> Result<Status> {
    Reader::open(path, false)?.status()
}

impl Reader {
    /// This snapshot's [`Status`].
    pub fn status(&self) -> Result<Status> {
        self.check()?;
        let crc = Crc::<u32>::new(&CRC_32_ISCSI);
        let mut digest = crc.digest();
        let mut st = Status {
            hash: 0,
            revision: 0,
            total_key: 0,
            total_size: self.size(),
        };
        for name in self.bucket_names()? {
            digest.update(&name);
            let Some(cursor) = self.bucket(&name)? else {
                continue;
            };
            let is_key = name == KEY_BUCKET;
            for kv in cursor {
                let (k, v) = kv?;
                digest.update(&k);
                digest.update(&v);
                if is_key {
                    st.revision = Revision::from_key(&k)?.main;
                }
                st.total_key += 1;
            }
        }
        st.hash = digest.finalize();
        Ok(st)
    }
}
