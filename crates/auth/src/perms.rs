//! A user's permissions merged into two interval sets (read, write), as etcd's
//! `rangePermCache`: every permission of every role of the user becomes an interval
//! (`[key, range_end)`, a single key when `range_end` is empty, open-ended when it is
//! `"\0"`); READWRITE goes into both sets. A request over `[key, range_end)` is allowed
//! when the union of the user's intervals covers it entirely.

use etcd_proto::authpb::{permission::Type, Permission};

/// Half-open byte intervals, sorted and merged (no two overlap or touch). `None` as the
/// end means "to the end of the key space".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntervalSet {
    intervals: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// The end of the single-key interval `[key, key + "\0")`.
fn point_end(key: &[u8]) -> Vec<u8> {
    let mut end = key.to_vec();
    end.push(0);
    end
}

/// `a <= b` for interval ends, `None` being infinity.
fn end_le(a: &Option<Vec<u8>>, b: &Option<Vec<u8>>) -> bool {
    match (a, b) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(a), Some(b)) => a <= b,
    }
}

impl IntervalSet {
    /// The union of `intervals`.
    pub fn new(mut intervals: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> IntervalSet {
        intervals.sort_by(|a, b| a.0.cmp(&b.0));
        let mut merged: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::with_capacity(intervals.len());
        for (start, end) in intervals {
            if let Some(last) = merged.last_mut() {
                // Overlapping or touching: extend the last one.
                if last.1.as_ref().is_none_or(|e| start <= *e) {
                    if !end_le(&end, &last.1) {
                        last.1 = end;
                    }
                    continue;
                }
            }
            merged.push((start, end));
        }
        IntervalSet { intervals: merged }
    }

    /// Whether `[start, end)` (`None`: open-ended) lies entirely inside the set.
    pub fn covers(&self, start: &[u8], end: Option<&[u8]>) -> bool {
        // The last interval starting at or before `start` is the only candidate.
        let i = self
            .intervals
            .partition_point(|(s, _)| s.as_slice() <= start);
        let Some((_, ivl_end)) = i.checked_sub(1).map(|i| &self.intervals[i]) else {
            return false;
        };
        match (end, ivl_end) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(end), Some(ivl_end)) => end <= ivl_end.as_slice() && start < ivl_end.as_slice(),
        }
    }

    /// Whether the single key `key` is inside the set.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.covers(key, Some(&point_end(key)))
    }

    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }
}

/// What a user may read and write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserPerms {
    pub read: IntervalSet,
    pub write: IntervalSet,
}

impl UserPerms {
    /// Merges the permissions of all of a user's roles.
    pub fn merge<'a>(perms: impl IntoIterator<Item = &'a Permission>) -> UserPerms {
        let (mut read, mut write) = (Vec::new(), Vec::new());
        for p in perms {
            let end = match p.range_end.as_slice() {
                [] => Some(point_end(&p.key)),
                [0] => None,
                end => Some(end.to_vec()),
            };
            let ivl = (p.key.clone(), end);
            match Type::try_from(p.perm_type) {
                Ok(Type::Read) => read.push(ivl),
                Ok(Type::Write) => write.push(ivl),
                Ok(Type::Readwrite) => {
                    read.push(ivl.clone());
                    write.push(ivl);
                }
                Err(_) => {}
            }
        }
        UserPerms {
            read: IntervalSet::new(read),
            write: IntervalSet::new(write),
        }
    }

    /// Whether `[key, range_end)` may be read (`write`: written). An empty `range_end` is
    /// the single key, `"\0"` everything from `key` on: etcd's request conventions.
    pub fn allows(&self, key: &[u8], range_end: &[u8], write: bool) -> bool {
        let set = if write { &self.write } else { &self.read };
        match range_end {
            [] => set.contains_key(key),
            [0] => set.covers(key, None),
            end => set.covers(key, Some(end)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(t: Type, key: &str, end: &[u8]) -> Permission {
        Permission {
            perm_type: t as i32,
            key: key.as_bytes().to_vec(),
            range_end: end.to_vec(),
        }
    }

    #[test]
    fn single_keys_ranges_and_open_ended() {
        let p = UserPerms::merge(&[
            perm(Type::Read, "a", b""),
            perm(Type::Readwrite, "foo/", b"foo0"),
            perm(Type::Write, "z", b"\0"),
        ]);
        assert!(p.allows(b"a", b"", false));
        assert!(!p.allows(b"a", b"", true), "read only");
        assert!(!p.allows(b"ab", b"", false));
        assert!(
            !p.allows(b"a", b"b", false),
            "a range beyond the single key"
        );
        assert!(p.allows(b"foo/x", b"", true));
        assert!(p.allows(b"foo/", b"foo0", false), "the whole prefix");
        assert!(p.allows(b"foo/a", b"foo/b", true));
        assert!(
            !p.allows(b"foo/", b"foo1", false),
            "beyond the granted range"
        );
        assert!(
            !p.allows(b"fo", b"foo0", false),
            "starts before the granted range"
        );
        assert!(
            !p.allows(b"foo/", b"\0", false),
            "open-ended beyond the range"
        );
        assert!(p.allows(b"zz", b"", true));
        assert!(p.allows(b"z", b"\0", true), "open-ended inside open-ended");
        assert!(!p.allows(b"z", b"", false), "write only");
        assert!(!p.allows(b"y", b"\0", true));
    }

    #[test]
    fn touching_and_overlapping_grants_merge() {
        let p = UserPerms::merge(&[
            perm(Type::Read, "a", b"c"),
            perm(Type::Read, "c", b"e"),
            perm(Type::Read, "d", b"f"),
            perm(Type::Read, "x", b"y"),
        ]);
        assert!(p.allows(b"a", b"f", false), "a..c + c..e + d..f cover a..f");
        assert!(!p.allows(b"a", b"g", false));
        assert!(!p.allows(b"e", b"y", false), "gap between f and x");
        assert!(p.write.is_empty());
    }

    #[test]
    fn nothing_granted_allows_nothing() {
        let p = UserPerms::default();
        assert!(!p.allows(b"", b"\0", false));
        assert!(!p.allows(b"k", b"", true));
    }
}
