//! Revisions and their byte encoding in the `key` column family (etcd's `revision.go`):
//! 8-byte big-endian main revision, `'_'`, 8-byte big-endian sub revision, and a trailing
//! `'t'` on tombstones.

use crate::errors::MvccError;

/// Length of an encoded revision.
pub const REV_BYTES_LEN: usize = 8 + 1 + 8;
/// Length of an encoded tombstone revision.
pub const MARKED_REV_BYTES_LEN: usize = REV_BYTES_LEN + 1;
const MARK_TOMBSTONE: u8 = b't';

/// A revision: `main` is bumped by every request that changes the store, `sub` counts the
/// changes inside one request (a txn), from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Revision {
    /// Main revision (the store revision clients see).
    pub main: i64,
    /// Index of the change within its main revision.
    pub sub: i64,
}

impl Revision {
    /// A revision.
    pub const fn new(main: i64, sub: i64) -> Self {
        Self { main, sub }
    }

    /// The 17-byte key of this revision.
    pub fn to_bytes(self) -> [u8; REV_BYTES_LEN] {
        let mut b = [0u8; REV_BYTES_LEN];
        b[..8].copy_from_slice(&(self.main as u64).to_be_bytes());
        b[8] = b'_';
        b[9..].copy_from_slice(&(self.sub as u64).to_be_bytes());
        b
    }

    /// The key of this revision in the `key` column family; `tombstone` appends the `'t'` mark.
    pub fn to_key(self, tombstone: bool) -> Vec<u8> {
        let mut k = Vec::with_capacity(MARKED_REV_BYTES_LEN);
        k.extend_from_slice(&self.to_bytes());
        if tombstone {
            k.push(MARK_TOMBSTONE);
        }
        k
    }

    /// Decodes a key of the `key` column family into its revision and tombstone flag.
    pub fn from_key(key: &[u8]) -> Result<(Revision, bool), MvccError> {
        let tombstone = match key.len() {
            REV_BYTES_LEN => false,
            MARKED_REV_BYTES_LEN if key[REV_BYTES_LEN] == MARK_TOMBSTONE => true,
            _ => return Err(MvccError::Corrupt(format!("bad revision key {key:?}"))),
        };
        let mut main = [0u8; 8];
        let mut sub = [0u8; 8];
        main.copy_from_slice(&key[..8]);
        sub.copy_from_slice(&key[9..REV_BYTES_LEN]);
        let rev = Revision::new(
            u64::from_be_bytes(main) as i64,
            u64::from_be_bytes(sub) as i64,
        );
        Ok((rev, tombstone))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_orders_like_revisions() {
        let revs = [
            Revision::new(1, 0),
            Revision::new(1, 1),
            Revision::new(2, 0),
            Revision::new(256, 3),
            Revision::new(i64::MAX, 0),
        ];
        for w in revs.windows(2) {
            assert!(w[0] < w[1]);
            assert!(w[0].to_key(false) < w[1].to_key(false));
            assert!(w[0].to_key(true) < w[1].to_key(false));
        }
        for r in revs {
            assert_eq!(Revision::from_key(&r.to_key(false)).unwrap(), (r, false));
            assert_eq!(Revision::from_key(&r.to_key(true)).unwrap(), (r, true));
        }
        assert_eq!(
            Revision::new(2, 1).to_key(true),
            b"\0\0\0\0\0\0\0\x02_\0\0\0\0\0\0\0\x01t".to_vec()
        );
    }

    #[test]
    fn bad_keys_are_corrupt_not_panics() {
        assert!(Revision::from_key(b"short").is_err());
        let mut k = Revision::new(1, 1).to_key(false);
        k.push(b'x');
        assert!(Revision::from_key(&k).is_err());
    }
}
