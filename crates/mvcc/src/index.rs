//! The in-memory index: key -> [`KeyIndex`], ordered by key (etcd's `index.go`).
//!
//! Range end conventions (after etcd's `mkGteRange`): `None` = the single key, `Some(b"")` =
//! every key from `key` on, `Some(end)` = keys in `[key, end)`.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;

use crate::errors::MvccError;
use crate::key_index::{Found, KeyIndex};
use crate::revision::Revision;

/// Ordered map of every key that has a revision in the store.
#[derive(Debug, Default)]
pub(crate) struct Index {
    tree: BTreeMap<Vec<u8>, KeyIndex>,
}

impl Index {
    /// The state of `key` at `at_rev`.
    pub fn get(&self, key: &[u8], at_rev: i64) -> Option<Found> {
        self.tree.get(key).and_then(|ki| ki.get(at_rev))
    }

    /// Calls `f` with every key (and its index) in the range, in key order.
    fn visit<'a>(
        &'a self,
        key: &[u8],
        end: Option<&[u8]>,
        mut f: impl FnMut(&'a [u8], &'a KeyIndex),
    ) {
        let Some(end) = end else {
            if let Some((k, ki)) = self.tree.get_key_value(key) {
                f(k, ki);
            }
            return;
        };
        let upper = if end.is_empty() {
            Bound::Unbounded
        } else if end <= key {
            return;
        } else {
            Bound::Excluded(end)
        };
        for (k, ki) in self.tree.range::<[u8], _>((Bound::Included(key), upper)) {
            f(k, ki);
        }
    }

    /// Revisions holding the value of every key in the range alive at `at_rev`, in key order.
    pub fn revisions(&self, key: &[u8], end: Option<&[u8]>, at_rev: i64) -> Vec<Revision> {
        let mut revs = Vec::new();
        self.visit(key, end, |_, ki| {
            if let Some(found) = ki.get(at_rev) {
                revs.push(found.modified);
            }
        });
        revs
    }

    /// Number of keys in the range alive at `at_rev`.
    pub fn count(&self, key: &[u8], end: Option<&[u8]>, at_rev: i64) -> usize {
        let mut n = 0;
        self.visit(key, end, |_, ki| {
            if ki.get(at_rev).is_some() {
                n += 1;
            }
        });
        n
    }

    /// Keys in the range alive at `at_rev`, in key order.
    pub fn keys(&self, key: &[u8], end: Option<&[u8]>, at_rev: i64) -> Vec<Vec<u8>> {
        let mut keys = Vec::new();
        self.visit(key, end, |k, ki| {
            if ki.get(at_rev).is_some() {
                keys.push(k.to_vec());
            }
        });
        keys
    }

    /// Records a put of `key` at `rev`. Returns the key's previous last modification
    /// (`None` if the key was not in the index) for [`Index::undo_put`].
    pub fn put(&mut self, key: &[u8], rev: Revision) -> Result<Option<Revision>, MvccError> {
        match self.tree.get_mut(key) {
            Some(ki) => {
                let prev = ki.modified();
                ki.put(rev)?;
                Ok(Some(prev))
            }
            None => {
                let mut ki = KeyIndex::default();
                ki.put(rev)?;
                self.tree.insert(key.to_vec(), ki);
                Ok(None)
            }
        }
    }

    /// Records a delete of `key` at `rev`. Returns the key's previous last modification for
    /// [`Index::undo_tombstone`], or `None` (nothing changed) if the key is not alive.
    pub fn tombstone(&mut self, key: &[u8], rev: Revision) -> Result<Option<Revision>, MvccError> {
        let Some(ki) = self.tree.get_mut(key) else {
            return Ok(None);
        };
        let prev = ki.modified();
        Ok(ki.tombstone(rev)?.then_some(prev))
    }

    /// Reverts a put that returned `prev`.
    pub fn undo_put(&mut self, key: &[u8], prev: Option<Revision>) {
        match prev {
            None => {
                self.tree.remove(key);
            }
            Some(prev) => {
                if let Some(ki) = self.tree.get_mut(key) {
                    ki.undo_put(prev);
                }
            }
        }
    }

    /// Reverts a tombstone that returned `Some(prev)`.
    pub fn undo_tombstone(&mut self, key: &[u8], prev: Revision) {
        if let Some(ki) = self.tree.get_mut(key) {
            ki.undo_tombstone(prev);
        }
    }

    /// Adds one stored revision while rebuilding the index from the engine, in revision
    /// order (etcd's `restoreIntoIndex`): a key's first surviving revision starts its index
    /// from the stored value's create revision and version.
    pub fn restore(
        &mut self,
        key: &[u8],
        rev: Revision,
        tombstone: bool,
        created: i64,
        version: i64,
    ) -> Result<(), MvccError> {
        match self.tree.get_mut(key) {
            Some(ki) if tombstone => ki.tombstone(rev).map(|_| ()),
            Some(ki) => ki.put(rev),
            None if tombstone => Ok(()),
            None => {
                let ki = KeyIndex::restored(Revision::new(created, 0), rev, version);
                self.tree.insert(key.to_vec(), ki);
                Ok(())
            }
        }
    }

    /// Compacts every key at `at_rev` (see [`KeyIndex::compact`]) and drops keys left
    /// without revisions. Returns the revisions at or below `at_rev` that must be kept.
    pub fn compact(&mut self, at_rev: i64) -> HashSet<Revision> {
        let mut available = HashSet::new();
        self.tree.retain(|_, ki| {
            ki.compact(at_rev, &mut available);
            !ki.is_empty()
        });
        available
    }

    /// The revisions at or below `at_rev` a compaction at `at_rev` would keep.
    pub fn keep(&self, at_rev: i64) -> HashSet<Revision> {
        let mut available = HashSet::new();
        for ki in self.tree.values() {
            ki.keep(at_rev, &mut available);
        }
        available
    }

    /// Number of keys in the index (live or with history).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.tree.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(main: i64) -> Revision {
        Revision::new(main, 0)
    }

    #[test]
    fn ranges_follow_etcd_conventions() {
        let mut idx = Index::default();
        idx.put(b"a", r(2)).unwrap();
        idx.put(b"b", r(3)).unwrap();
        idx.put(b"c", r(4)).unwrap();
        idx.tombstone(b"b", r(5)).unwrap();
        assert_eq!(idx.revisions(b"a", None, 5), vec![r(2)]);
        assert_eq!(idx.revisions(b"a", Some(b""), 5), vec![r(2), r(4)]);
        assert_eq!(idx.revisions(b"a", Some(b""), 4), vec![r(2), r(3), r(4)]);
        assert_eq!(idx.revisions(b"a", Some(b"c"), 4), vec![r(2), r(3)]);
        assert_eq!(idx.revisions(b"c", Some(b"a"), 4), vec![]);
        assert_eq!(
            idx.keys(b"a", Some(b""), 5),
            vec![b"a".to_vec(), b"c".to_vec()]
        );
        assert_eq!(idx.count(b"", Some(b""), 3), 2);
        assert_eq!(idx.tombstone(b"b", r(6)).unwrap(), None);
        assert_eq!(idx.tombstone(b"zz", r(6)).unwrap(), None);
    }

    #[test]
    fn undo_reverts_new_and_existing_keys() {
        let mut idx = Index::default();
        idx.put(b"a", r(2)).unwrap();
        let prev_new = idx.put(b"n", r(3)).unwrap();
        assert_eq!(prev_new, None);
        let prev_a = idx.tombstone(b"a", Revision::new(3, 1)).unwrap().unwrap();
        idx.undo_tombstone(b"a", prev_a);
        idx.undo_put(b"n", prev_new);
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.get(b"a", 10).map(|f| f.modified), Some(r(2)));
        assert!(idx.get(b"n", 10).is_none());
    }

    #[test]
    fn compact_drops_dead_keys() {
        let mut idx = Index::default();
        idx.put(b"a", r(2)).unwrap();
        idx.put(b"b", r(3)).unwrap();
        idx.tombstone(b"a", r(4)).unwrap();
        idx.put(b"b", r(5)).unwrap();
        let keep = idx.compact(4);
        assert_eq!(keep, [r(3)].into_iter().collect());
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.get(b"b", 4).map(|f| f.modified), Some(r(3)));
    }
}
