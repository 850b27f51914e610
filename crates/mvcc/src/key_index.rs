//! The revision history of one key (etcd's `key_index.go`).
//!
//! A key's life is a list of generations. A generation starts with the put that creates
//! the key and ends with its tombstone (the delete); the last generation is the open one
//! (empty after a delete). Example: put@1.0, put@2.0, delete@3.0, put@4.0 gives
//! `{1.0, 2.0, 3.0(t)}`, `{4.0}`.

use std::collections::HashSet;

use crate::errors::MvccError;
use crate::revision::Revision;

/// One life of a key, from its creation to its tombstone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Generation {
    /// Number of puts (and the tombstone) in this generation.
    ver: i64,
    /// Revision of the put that created the key.
    created: Revision,
    /// Every revision of the generation, ascending; the last one of a closed generation is
    /// its tombstone.
    revs: Vec<Revision>,
}

impl Generation {
    fn is_empty(&self) -> bool {
        self.revs.is_empty()
    }

    fn last_main(&self) -> i64 {
        self.revs.last().map_or(0, |r| r.main)
    }
}

/// What [`KeyIndex::get`] finds: the revision holding the key's value at the asked revision,
/// the revision that created the key, and the key's version at that point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub modified: Revision,
    pub created: Revision,
    pub version: i64,
}

/// Every revision of one key, by generation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyIndex {
    /// The last revision that modified the key.
    modified: Revision,
    generations: Vec<Generation>,
}

impl KeyIndex {
    /// The last modification.
    pub fn modified(&self) -> Revision {
        self.modified
    }

    /// Records a put at `rev`, which must be greater than every revision seen so far.
    pub fn put(&mut self, rev: Revision) -> Result<(), MvccError> {
        if rev <= self.modified {
            return Err(MvccError::Corrupt(format!(
                "put at revision {rev:?} not after the last modification {:?}",
                self.modified
            )));
        }
        if self.generations.is_empty() {
            self.generations.push(Generation::default());
        }
        let g = self.generations.last_mut().expect("pushed above");
        if g.revs.is_empty() {
            g.created = rev;
        }
        g.revs.push(rev);
        g.ver += 1;
        self.modified = rev;
        Ok(())
    }

    /// Starts the index of a key from its latest stored revision alone (etcd `restore`):
    /// `created` and `version` come from the stored value.
    pub fn restored(created: Revision, modified: Revision, version: i64) -> Self {
        Self {
            modified,
            generations: vec![Generation {
                ver: version,
                created,
                revs: vec![modified],
            }],
        }
    }

    /// Records a delete at `rev`: a tombstone that closes the current generation.
    /// Returns `Ok(false)` and changes nothing when the key has no live generation.
    pub fn tombstone(&mut self, rev: Revision) -> Result<bool, MvccError> {
        match self.generations.last() {
            Some(g) if !g.is_empty() => {}
            _ => return Ok(false),
        }
        self.put(rev)?;
        self.generations.push(Generation::default());
        Ok(true)
    }

    /// Reverts the last [`KeyIndex::put`]; `prev_modified` is what [`KeyIndex::modified`]
    /// returned before it.
    pub fn undo_put(&mut self, prev_modified: Revision) {
        if let Some(g) = self.generations.last_mut() {
            if g.revs.pop().is_some() {
                g.ver -= 1;
            }
        }
        self.modified = prev_modified;
    }

    /// Reverts the last successful [`KeyIndex::tombstone`].
    pub fn undo_tombstone(&mut self, prev_modified: Revision) {
        if self.generations.last().is_some_and(Generation::is_empty) {
            self.generations.pop();
        }
        self.undo_put(prev_modified);
    }

    /// True if the key has no revision left (only one, empty, generation).
    pub fn is_empty(&self) -> bool {
        self.generations.is_empty()
            || (self.generations.len() == 1 && self.generations[0].is_empty())
    }

    /// The key's state at revision `at_rev`, or `None` if it did not exist then.
    pub fn get(&self, at_rev: i64) -> Option<Found> {
        let g = self.find_generation(at_rev)?;
        let n = g.revs.iter().rposition(|r| r.main <= at_rev)?;
        Some(Found {
            modified: g.revs[n],
            created: g.created,
            version: g.ver - (g.revs.len() - n - 1) as i64,
        })
    }

    /// The generation that holds the key at `rev`, if the key was alive at `rev`.
    fn find_generation(&self, rev: i64) -> Option<&Generation> {
        let last = self.generations.len().checked_sub(1)?;
        for (i, g) in self.generations.iter().enumerate().rev() {
            if g.is_empty() {
                continue;
            }
            if i != last && g.last_main() <= rev {
                // the key was deleted at or before `rev`
                return None;
            }
            if g.revs[0].main <= rev {
                return Some(g);
            }
        }
        None
    }

    /// Drops every revision older than `at_rev` except the one holding the key's value at
    /// `at_rev`; that one goes in `available` (the revisions compaction keeps). Generations
    /// that ended (tombstone) at or before `at_rev` are dropped whole.
    pub fn compact(&mut self, at_rev: i64, available: &mut HashSet<Revision>) {
        if self.is_empty() {
            return;
        }
        let (mut gen_idx, rev_index) = self.do_compact(at_rev, available);
        let last = self.generations.len() - 1;
        let g = &mut self.generations[gen_idx];
        if !g.is_empty() {
            if let Some(ri) = rev_index {
                g.revs.drain(..ri);
            }
            if g.revs.len() == 1 && gen_idx != last {
                available.remove(&g.revs[0]);
                gen_idx += 1;
            }
        }
        self.generations.drain(..gen_idx);
    }

    /// Adds to `available` the revision holding the key's value at `at_rev`, if the key is
    /// alive there: what [`KeyIndex::compact`] would keep, without changing anything
    /// (etcd `keep`, used by HashKV).
    pub fn keep(&self, at_rev: i64, available: &mut HashSet<Revision>) {
        if self.is_empty() {
            return;
        }
        let (gen_idx, rev_index) = self.do_compact(at_rev, available);
        let g = &self.generations[gen_idx];
        if !g.is_empty()
            && rev_index == Some(g.revs.len() - 1)
            && gen_idx != self.generations.len() - 1
        {
            available.remove(&g.revs[g.revs.len() - 1]);
        }
    }

    /// Finds the first generation still alive after `at_rev` and, in it, the position of the
    /// latest revision `<= at_rev` (added to `available`).
    fn do_compact(&self, at_rev: i64, available: &mut HashSet<Revision>) -> (usize, Option<usize>) {
        let mut gen_idx = 0;
        while gen_idx < self.generations.len() - 1 {
            if self.generations[gen_idx].last_main() > at_rev {
                break;
            }
            gen_idx += 1;
        }
        let g = &self.generations[gen_idx];
        let rev_index = g.revs.iter().rposition(|r| r.main <= at_rev);
        if let Some(i) = rev_index {
            available.insert(g.revs[i]);
        }
        (gen_idx, rev_index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(main: i64, sub: i64) -> Revision {
        Revision::new(main, sub)
    }

    /// The history of etcd's key_index_test: puts at 2, 4, tombstone 6; puts 8, 10,
    /// tombstone 12; puts 14, 14.1, tombstone 16.
    fn sample() -> KeyIndex {
        let mut ki = KeyIndex::default();
        ki.put(r(2, 0)).unwrap();
        ki.put(r(4, 0)).unwrap();
        assert!(ki.tombstone(r(6, 0)).unwrap());
        ki.put(r(8, 0)).unwrap();
        ki.put(r(10, 0)).unwrap();
        assert!(ki.tombstone(r(12, 0)).unwrap());
        ki.put(r(14, 0)).unwrap();
        ki.put(r(14, 1)).unwrap();
        assert!(ki.tombstone(r(16, 0)).unwrap());
        ki
    }

    #[test]
    fn get_follows_generations() {
        let ki = sample();
        type Case = (i64, Option<(Revision, Revision, i64)>);
        let cases: &[Case] = &[
            (17, None),
            (16, None),
            (15, Some((r(14, 1), r(14, 0), 2))),
            (14, Some((r(14, 1), r(14, 0), 2))),
            (13, None),
            (12, None),
            (11, Some((r(10, 0), r(8, 0), 2))),
            (10, Some((r(10, 0), r(8, 0), 2))),
            (9, Some((r(8, 0), r(8, 0), 1))),
            (8, Some((r(8, 0), r(8, 0), 1))),
            (7, None),
            (6, None),
            (5, Some((r(4, 0), r(2, 0), 2))),
            (4, Some((r(4, 0), r(2, 0), 2))),
            (3, Some((r(2, 0), r(2, 0), 1))),
            (2, Some((r(2, 0), r(2, 0), 1))),
            (1, None),
            (0, None),
        ];
        for &(at, want) in cases {
            let got = ki.get(at).map(|f| (f.modified, f.created, f.version));
            assert_eq!(got, want, "get at {at}");
        }
    }

    #[test]
    fn put_must_increase_and_tombstone_needs_live_key() {
        let mut ki = KeyIndex::default();
        ki.put(r(5, 0)).unwrap();
        assert!(ki.put(r(5, 0)).is_err());
        assert!(ki.put(r(4, 9)).is_err());
        assert!(ki.tombstone(r(6, 0)).unwrap());
        assert!(!ki.tombstone(r(7, 0)).unwrap());
    }

    #[test]
    fn undo_restores_previous_state() {
        let mut ki = KeyIndex::default();
        ki.put(r(2, 0)).unwrap();
        let before = ki.clone();
        let m = ki.modified();
        ki.put(r(3, 0)).unwrap();
        ki.undo_put(m);
        assert_eq!(ki, before);
        ki.tombstone(r(3, 0)).unwrap();
        ki.undo_tombstone(m);
        assert_eq!(ki, before);
    }

    /// Compaction results from etcd's TestKeyIndexCompactAndKeep.
    #[test]
    fn compact_matches_etcd() {
        type Case = (i64, Vec<Vec<i64>>, Vec<Revision>);
        let cases: &[Case] = &[
            (
                1,
                vec![vec![2, 4, 6], vec![8, 10, 12], vec![14, 14, 16], vec![]],
                vec![],
            ),
            (
                2,
                vec![vec![2, 4, 6], vec![8, 10, 12], vec![14, 14, 16], vec![]],
                vec![r(2, 0)],
            ),
            (
                3,
                vec![vec![2, 4, 6], vec![8, 10, 12], vec![14, 14, 16], vec![]],
                vec![r(2, 0)],
            ),
            (
                4,
                vec![vec![4, 6], vec![8, 10, 12], vec![14, 14, 16], vec![]],
                vec![r(4, 0)],
            ),
            (
                5,
                vec![vec![4, 6], vec![8, 10, 12], vec![14, 14, 16], vec![]],
                vec![r(4, 0)],
            ),
            (6, vec![vec![8, 10, 12], vec![14, 14, 16], vec![]], vec![]),
            (7, vec![vec![8, 10, 12], vec![14, 14, 16], vec![]], vec![]),
            (
                8,
                vec![vec![8, 10, 12], vec![14, 14, 16], vec![]],
                vec![r(8, 0)],
            ),
            (
                10,
                vec![vec![10, 12], vec![14, 14, 16], vec![]],
                vec![r(10, 0)],
            ),
            (12, vec![vec![14, 14, 16], vec![]], vec![]),
            (14, vec![vec![14, 16], vec![]], vec![r(14, 1)]),
            (15, vec![vec![14, 16], vec![]], vec![r(14, 1)]),
            (16, vec![vec![]], vec![]),
        ];
        for (at, want_gens, want_avail) in cases {
            let mut ki = sample();
            let mut kept = HashSet::new();
            ki.keep(*at, &mut kept);
            let mut avail = HashSet::new();
            ki.compact(*at, &mut avail);
            assert_eq!(kept, avail, "keep at {at}");
            let gens: Vec<Vec<i64>> = ki
                .generations
                .iter()
                .map(|g| g.revs.iter().map(|r| r.main).collect())
                .collect();
            assert_eq!(&gens, want_gens, "compact at {at}");
            let want: HashSet<Revision> = want_avail.iter().copied().collect();
            assert_eq!(avail, want, "available at {at}");
        }
        let mut ki = sample();
        ki.compact(16, &mut HashSet::new());
        assert!(ki.is_empty());
    }
}
