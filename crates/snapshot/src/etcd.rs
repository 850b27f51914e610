//! etcd 3.4's backend layout inside the bbolt file: bucket names and the `key` bucket's key
//! encoding (mvcc/revision.go, mvcc/kvstore.go).
//!
//! * `key`: 17-byte revision `main (u64 BE) '_' sub (u64 BE)`, plus a trailing `'t'` for a
//!   tombstone (18 bytes) -> marshalled `mvccpb.KeyValue`.
//! * `meta`: `consistent_index` (u64 BE), `finishedCompactRev` / `scheduledCompactRev`
//!   (17-byte revisions).
//! * `lease`: lease id (u64 BE) -> marshalled `leasepb.Lease`.
//! * `members`, `members_removed`: member id (hex) -> JSON; `cluster`: `clusterVersion`.
//! * `auth` (`authEnabled`, `authRevision`), `authUsers`, `authRoles`: name -> protobuf.
//! * `alarm`: marshalled `etcdserverpb.AlarmMember` -> empty.

use crate::error::{corrupt, Result};

pub const KEY_BUCKET: &[u8] = b"key";
pub const META_BUCKET: &[u8] = b"meta";
pub const LEASE_BUCKET: &[u8] = b"lease";
pub const ALARM_BUCKET: &[u8] = b"alarm";
pub const CLUSTER_BUCKET: &[u8] = b"cluster";
pub const MEMBERS_BUCKET: &[u8] = b"members";
pub const MEMBERS_REMOVED_BUCKET: &[u8] = b"members_removed";
pub const AUTH_BUCKET: &[u8] = b"auth";
pub const AUTH_USERS_BUCKET: &[u8] = b"authUsers";
pub const AUTH_ROLES_BUCKET: &[u8] = b"authRoles";

pub const CONSISTENT_INDEX_KEY: &[u8] = b"consistent_index";
pub const FINISHED_COMPACT_KEY: &[u8] = b"finishedCompactRev";
pub const SCHEDULED_COMPACT_KEY: &[u8] = b"scheduledCompactRev";

/// Length of an encoded revision (`revBytesLen`).
pub const REV_BYTES_LEN: usize = 17;
/// The byte appended to a tombstone's revision (`markTombstone`).
pub const TOMBSTONE: u8 = b't';

/// An mvcc revision: `main` is the store revision, `sub` the index inside its txn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Revision {
    pub main: i64,
    pub sub: i64,
}

impl Revision {
    /// `revToBytes` (17 bytes).
    pub fn to_bytes(self) -> [u8; REV_BYTES_LEN] {
        let mut b = [0u8; REV_BYTES_LEN];
        b[..8].copy_from_slice(&(self.main as u64).to_be_bytes());
        b[8] = b'_';
        b[9..].copy_from_slice(&(self.sub as u64).to_be_bytes());
        b
    }

    /// `bytesToRev` on the first 17 bytes of a `key` bucket key (a tombstone mark after
    /// them is ignored); an error when the key is shorter.
    pub fn from_key(k: &[u8]) -> Result<Revision> {
        let b = k.get(..REV_BYTES_LEN).ok_or_else(|| {
            corrupt(format!(
                "key bucket key of {} bytes is no revision",
                k.len()
            ))
        })?;
        Ok(Revision {
            main: i64::from_be_bytes(b[..8].try_into().expect("8 bytes")),
            sub: i64::from_be_bytes(b[9..].try_into().expect("8 bytes")),
        })
    }
}

/// Whether a `key` bucket key marks a tombstone (`isTombstone`).
pub fn is_tombstone(k: &[u8]) -> bool {
    k.len() == REV_BYTES_LEN + 1 && k[REV_BYTES_LEN] == TOMBSTONE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_bytes() {
        let r = Revision {
            main: 0x0102,
            sub: 3,
        };
        let mut k = r.to_bytes().to_vec();
        assert_eq!(Revision::from_key(&k).unwrap(), r);
        assert!(!is_tombstone(&k));
        k.push(TOMBSTONE);
        assert!(is_tombstone(&k));
        assert_eq!(Revision::from_key(&k).unwrap(), r);
        assert!(Revision::from_key(&k[..5]).is_err());
    }
}
