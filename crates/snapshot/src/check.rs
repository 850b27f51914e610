//! bbolt's `tx.Check()`, which etcd's `snapshot status` runs before anything else: the
//! freelist has no duplicates, every page of every bucket tree is referenced once, is a
//! leaf or branch page and is not free, and every page below the high water mark is either
//! reachable or free. Problems are collected with bbolt's wording. A database without a
//! freelist page (etcd's backend runs bbolt with `NoFreelistSync`) has, as in bbolt, every
//! unreachable page as its free list.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::page::{
    branch_element, u64_at, PageHeader, BRANCH_PAGE, BUCKET_LEAF_FLAG, FREELIST_PAGE, LEAF_PAGE,
    NO_FREELIST, PAGE_HEADER_SIZE,
};
use crate::reader::Reader;

/// Depth limit for nested buckets and b+trees while checking.
const MAX_DEPTH: usize = 64;

struct Checker<'a> {
    reader: &'a Reader,
    freed: HashSet<u64>,
    reachable: HashSet<u64>,
    errors: Vec<String>,
}

impl Reader {
    /// Runs bbolt's consistency check; [`Error::Integrity`] lists what it found.
    pub fn check(&self) -> Result<()> {
        let mut c = Checker {
            reader: self,
            freed: HashSet::new(),
            reachable: HashSet::new(),
            errors: Vec::new(),
        };
        c.run();
        if c.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Integrity(c.errors))
        }
    }
}

impl Checker<'_> {
    fn run(&mut self) {
        let meta = *self.reader.meta();
        for id in self.freelist(meta.freelist) {
            if !self.freed.insert(id) {
                self.errors.push(format!("page {id}: already freed"));
            }
        }
        self.reachable.extend([0, 1]);
        if meta.freelist != NO_FREELIST {
            if let Ok((head, _)) = self.reader.page(meta.freelist) {
                self.reachable
                    .extend((0..=head.overflow as u64).map(|i| meta.freelist + i));
            }
        }
        self.check_bucket(meta.root, 0);
        if meta.freelist == NO_FREELIST {
            // etcd's bbolt runs with NoFreelistSync: bbolt then rebuilds the freelist as
            // every page from 2 up that no bucket reaches (`db.freepages`).
            let unreached: Vec<u64> = (2..meta.pgid)
                .filter(|id| !self.reachable.contains(id))
                .collect();
            self.freed.extend(unreached);
        }
        for id in 0..meta.pgid {
            if !self.reachable.contains(&id) && !self.freed.contains(&id) {
                self.errors.push(format!("page {id}: unreachable unfreed"));
            }
        }
    }

    /// The page ids listed on the freelist page (none, with an error, if it is unreadable).
    fn freelist(&mut self, id: u64) -> Vec<u64> {
        if id == NO_FREELIST {
            return Vec::new();
        }
        let (head, bytes) = match self.reader.page(id) {
            Ok(p) => p,
            Err(e) => {
                self.errors.push(format!("freelist: {e}"));
                return Vec::new();
            }
        };
        if head.flags & FREELIST_PAGE == 0 {
            self.errors.push(format!(
                "invalid freelist page: {id}, page type is {}",
                head.typ()
            ));
            return Vec::new();
        }
        let (mut at, mut count) = (PAGE_HEADER_SIZE, head.count as u64);
        if count == 0xFFFF {
            count = u64_at(&bytes, at).unwrap_or(u64::MAX);
            at += 8;
        }
        let fits = (bytes.len() - at) as u64 / 8;
        if count > fits {
            self.errors.push(format!(
                "freelist page {id}: {count} ids do not fit in the page"
            ));
            return Vec::new();
        }
        (0..count as usize)
            .filter_map(|i| u64_at(&bytes, at + 8 * i).ok())
            .collect()
    }

    /// Checks the bucket rooted at `root` (0: inline, nothing to check) and its children.
    fn check_bucket(&mut self, root: u64, depth: usize) {
        if root == 0 {
            return;
        }
        if depth > MAX_DEPTH {
            self.errors.push(format!(
                "page {root}: buckets nested deeper than {MAX_DEPTH}"
            ));
            return;
        }
        let mut leaves = Vec::new();
        self.check_pages(root, 0, &mut leaves);
        for id in leaves {
            let Ok((_, bytes)) = self.reader.page(id) else {
                continue;
            };
            let count = PageHeader::decode(&bytes).map(|h| h.count).unwrap_or(0);
            for i in 0..count as usize {
                match crate::page::leaf_element(&bytes, i) {
                    Ok(e) if e.flags & BUCKET_LEAF_FLAG != 0 => match u64_at(e.value, 0) {
                        Ok(child) => self.check_bucket(child, depth + 1),
                        Err(_) => self
                            .errors
                            .push(format!("page {id}: bucket header too short")),
                    },
                    Ok(_) => {}
                    Err(e) => self.errors.push(format!("page {id}: {e}")),
                }
            }
        }
    }

    /// bbolt's `forEachPage` with the checks of `checkBucket`; collects leaf page ids.
    fn check_pages(&mut self, id: u64, depth: usize, leaves: &mut Vec<u64>) {
        let hwm = self.reader.meta().pgid;
        if id > hwm {
            self.errors.push(format!("page {id}: out of bounds: {hwm}"));
            return;
        }
        let (head, bytes) = match self.reader.page(id) {
            Ok(p) => p,
            Err(e) => {
                self.errors.push(e.to_string());
                return;
            }
        };
        let mut again = false;
        for i in 0..=head.overflow as u64 {
            if !self.reachable.insert(id + i) {
                self.errors
                    .push(format!("page {}: multiple references", id + i));
                again = true;
            }
        }
        if self.freed.contains(&id) {
            self.errors.push(format!("page {id}: reachable freed"));
        } else if head.flags & (BRANCH_PAGE | LEAF_PAGE) == 0 {
            self.errors
                .push(format!("page {id}: invalid type: {}", head.typ()));
        }
        if again || depth > MAX_DEPTH {
            return;
        }
        if head.flags & LEAF_PAGE != 0 {
            leaves.push(id);
        } else if head.flags & BRANCH_PAGE != 0 {
            for i in 0..head.count as usize {
                match branch_element(&bytes, i) {
                    Ok(e) => self.check_pages(e.pgid, depth + 1, leaves),
                    Err(e) => self.errors.push(format!("page {id}: {e}")),
                }
            }
        }
    }
}
