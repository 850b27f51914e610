//! Reads a bbolt database (an etcd snapshot, with or without its SHA-256 trailer): picks the
//! meta page as bbolt does (the valid one with the higher txid), then walks bucket b+trees
//! page by page. Every page and element access is bounds-checked, every page is read at
//! most once per walk (so a cyclic or shared page is an error, not a hang), and nothing
//! panics on a damaged file.

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{corrupt, Error, Result};
use crate::page::{
    branch_element, leaf_element, u64_at, Meta, PageHeader, BRANCH_PAGE, BUCKET_HEADER_SIZE,
    BUCKET_LEAF_FLAG, DEFAULT_PAGE_SIZE, ELEMENT_SIZE, LEAF_PAGE, PAGE_HEADER_SIZE,
};
use crate::source::Source;
use crate::trailer::{self, Digest, SHA256_SIZE};

/// A bucket's name and its key/values in order.
pub type Bucket = (Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>);

/// Deepest b+tree accepted (bbolt trees of any real size are a handful of levels).
const MAX_DEPTH: usize = 64;

/// An open snapshot (or bare bbolt db file).
pub struct Reader {
    src: Source,
    page_size: usize,
    meta: Meta,
    trailer: Option<Digest>,
}

impl Reader {
    /// Opens `path`. With `verify_hash`, the file must end in a SHA-256 trailer matching
    /// its database bytes, as `etcdctl snapshot restore` requires without
    /// `--skip-hash-check`.
    pub fn open(path: impl AsRef<Path>, verify_hash: bool) -> Result<Reader> {
        let mut file = File::open(path)?;
        let size = file.metadata()?.len();
        let (len, trailer) = if trailer::has_checksum(size) {
            let mut d = [0u8; SHA256_SIZE];
            file.seek(SeekFrom::Start(size - SHA256_SIZE as u64))?;
            file.read_exact(&mut d)?;
            (size - SHA256_SIZE as u64, Some(d))
        } else {
            (size, None)
        };
        if verify_hash {
            file.seek(SeekFrom::Start(0))?;
            trailer::verify(trailer, (&mut file).take(len))?;
        }
        Reader::new(Source::File { file, len }, trailer)
    }

    /// Reads a snapshot held in memory (same rules as [`Reader::open`]).
    pub fn from_bytes(mut bytes: Vec<u8>, verify_hash: bool) -> Result<Reader> {
        let mut trailer = None;
        if trailer::has_checksum(bytes.len() as u64) {
            let at = bytes.len() - SHA256_SIZE;
            trailer = Some(bytes[at..].try_into().expect("32 bytes"));
            bytes.truncate(at);
        }
        if verify_hash {
            trailer::verify(trailer, &bytes[..])?;
        }
        Reader::new(Source::Memory(bytes), trailer)
    }

    fn new(src: Source, trailer: Option<Digest>) -> Result<Reader> {
        let meta = select_meta(&src)?;
        let page_size = meta.page_size as usize;
        let need = meta
            .pgid
            .checked_mul(page_size as u64)
            .ok_or(Error::Invalid)?;
        if need > src.len() {
            return Err(Error::Truncated {
                size: src.len(),
                need,
            });
        }
        Ok(Reader {
            src,
            page_size,
            meta,
            trailer,
        })
    }

    /// The database's page size.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The meta page in use.
    pub(crate) fn meta(&self) -> &Meta {
        &self.meta
    }

    /// bbolt's `tx.Size()`: high water mark times page size (etcd's `totalSize`).
    pub fn size(&self) -> i64 {
        (self.meta.pgid * self.page_size as u64) as i64
    }

    /// The SHA-256 trailer, when the file has one.
    pub fn trailer(&self) -> Option<Digest> {
        self.trailer
    }

    /// Reads page `id` with its overflow pages; `leaf`/`branch` pages have their element
    /// array checked to fit.
    pub(crate) fn page(&self, id: u64) -> Result<(PageHeader, Vec<u8>)> {
        let hwm = self.meta.pgid;
        if id >= hwm {
            return Err(corrupt(format!("page {id}: out of bounds: {hwm}")));
        }
        let ps = self.page_size as u64;
        let head = PageHeader::decode(&self.src.read(id * ps, PAGE_HEADER_SIZE)?)?;
        if head.id != id {
            return Err(corrupt(format!("page {id}: header has id {}", head.id)));
        }
        let pages = head.overflow as u64 + 1;
        if id + pages > hwm {
            return Err(corrupt(format!(
                "page {id}: {} overflow pages run past the end ({hwm})",
                head.overflow
            )));
        }
        let bytes = self.src.read(id * ps, (pages * ps) as usize)?;
        check_elements(&head, &bytes, id)?;
        Ok((head, bytes))
    }

    /// Entries of the root bucket: every top-level bucket name with its bucket header.
    fn root_cursor(&self) -> Cursor<'_> {
        Cursor::new(self, Node::Page(self.meta.root))
    }

    /// Cursor over the bucket whose header (the value stored under its name) is `value`.
    pub(crate) fn bucket_cursor(&self, value: &[u8]) -> Result<Cursor<'_>> {
        let root = u64_at(value, 0).map_err(|_| corrupt("bucket header too short"))?;
        if root != 0 {
            return Ok(Cursor::new(self, Node::Page(root)));
        }
        let page = value[BUCKET_HEADER_SIZE.min(value.len())..].to_vec();
        let head = PageHeader::decode(&page).map_err(|_| corrupt("inline bucket too short"))?;
        if head.flags & LEAF_PAGE == 0 {
            return Err(corrupt(format!("inline bucket page is {}", head.typ())));
        }
        check_elements(&head, &page, 0)?;
        Ok(Cursor::new(self, Node::Inline(page)))
    }

    /// Names of the top-level buckets, in order.
    pub fn bucket_names(&self) -> Result<Vec<Vec<u8>>> {
        let mut names = Vec::new();
        let mut c = self.root_cursor();
        while let Some(e) = c.next_entry()? {
            names.push(e.key);
        }
        Ok(names)
    }

    /// The key/values of top-level bucket `name`, in key order; None if there is no such
    /// bucket. A nested bucket (etcd has none) shows as its key with an empty value.
    pub fn bucket(&self, name: &[u8]) -> Result<Option<Cursor<'_>>> {
        let mut c = self.root_cursor();
        while let Some(e) = c.next_entry()? {
            if e.key == name {
                if e.flags & BUCKET_LEAF_FLAG == 0 {
                    return Err(corrupt("top-level entry is not a bucket"));
                }
                return self.bucket_cursor(&e.value).map(Some);
            }
        }
        Ok(None)
    }

    /// Calls `f(bucket, key, value)` for every entry of every top-level bucket, buckets
    /// and keys in order (the traversal of etcd's `snapshot status`).
    pub fn for_each(&self, mut f: impl FnMut(&[u8], &[u8], &[u8]) -> Result<()>) -> Result<()> {
        let mut c = self.root_cursor();
        while let Some(b) = c.next_entry()? {
            if b.flags & BUCKET_LEAF_FLAG == 0 {
                return Err(corrupt("top-level entry is not a bucket"));
            }
            for kv in self.bucket_cursor(&b.value)? {
                let (k, v) = kv?;
                f(&b.key, &k, &v)?;
            }
        }
        Ok(())
    }

    /// Every bucket with all its key/values, in order (convenient for small snapshots and
    /// tests; use [`Reader::for_each`] or [`Reader::bucket`] to stream).
    pub fn read_all(&self) -> Result<Vec<Bucket>> {
        let mut out = Vec::new();
        for name in self.bucket_names()? {
            let kvs = match self.bucket(&name)? {
                Some(c) => c.collect::<Result<Vec<_>>>()?,
                None => Vec::new(),
            };
            out.push((name, kvs));
        }
        Ok(out)
    }
}

/// Reads the meta pages and returns the one bbolt would use.
fn select_meta(src: &Source) -> Result<Meta> {
    let first = src.read(0, PAGE_HEADER_SIZE + crate::page::META_SIZE)?;
    let meta0 = Meta::decode(&first[PAGE_HEADER_SIZE..]);
    let ps = match &meta0 {
        Ok(m) => m.page_size as usize,
        Err(_) => DEFAULT_PAGE_SIZE,
    };
    if !ps.is_power_of_two() || !(512..=1 << 20).contains(&ps) {
        return Err(corrupt(format!("invalid page size {ps}")));
    }
    if src.len() < 2 * ps as u64 {
        return Err(Error::TooSmall);
    }
    let second = src.read(ps as u64, PAGE_HEADER_SIZE + crate::page::META_SIZE)?;
    let meta1 = Meta::decode(&second[PAGE_HEADER_SIZE..]);
    let meta = match (meta0, meta1) {
        (Ok(a), Ok(b)) => {
            if b.txid > a.txid {
                b
            } else {
                a
            }
        }
        (Ok(a), Err(_)) => a,
        (Err(_), Ok(b)) => b,
        (Err(e), Err(_)) => return Err(e),
    };
    if meta.page_size as usize != ps {
        return Err(corrupt(format!(
            "meta pages disagree on the page size ({} and {ps})",
            meta.page_size
        )));
    }
    Ok(meta)
}

/// Checks that a leaf or branch page's element array fits inside it.
fn check_elements(head: &PageHeader, bytes: &[u8], id: u64) -> Result<()> {
    if head.flags & (LEAF_PAGE | BRANCH_PAGE) != 0
        && PAGE_HEADER_SIZE + head.count as usize * ELEMENT_SIZE > bytes.len()
    {
        return Err(corrupt(format!(
            "page {id}: {} elements do not fit in the page",
            head.count
        )));
    }
    Ok(())
}

/// A b+tree node to start from: a page id or an inline bucket's page bytes.
pub(crate) enum Node {
    Page(u64),
    Inline(Vec<u8>),
}

/// One raw leaf entry.
pub(crate) struct Entry {
    pub flags: u32,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

/// In-order walk over one bucket's b+tree. As an iterator it yields `(key, value)`; after
/// an error it yields nothing more.
pub struct Cursor<'a> {
    reader: &'a Reader,
    /// Path from the root: page bytes, whether a leaf, next element index, element count.
    stack: Vec<(Vec<u8>, bool, usize, usize)>,
    start: Option<Node>,
    seen: HashSet<u64>,
    failed: bool,
}

impl<'a> Cursor<'a> {
    fn new(reader: &'a Reader, start: Node) -> Cursor<'a> {
        Cursor {
            reader,
            stack: Vec::new(),
            start: Some(start),
            seen: HashSet::new(),
            failed: false,
        }
    }

    /// Pushes page `id` onto the path.
    fn push_page(&mut self, id: u64) -> Result<()> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(corrupt(format!("page {id}: tree deeper than {MAX_DEPTH}")));
        }
        if !self.seen.insert(id) {
            return Err(corrupt(format!("page {id}: multiple references")));
        }
        let (head, bytes) = self.reader.page(id)?;
        let leaf = match head.flags & (LEAF_PAGE | BRANCH_PAGE) {
            LEAF_PAGE => true,
            BRANCH_PAGE => false,
            _ => return Err(corrupt(format!("page {id}: invalid type: {}", head.typ()))),
        };
        self.stack.push((bytes, leaf, 0, head.count as usize));
        Ok(())
    }

    /// The next leaf entry, or None at the end.
    pub(crate) fn next_entry(&mut self) -> Result<Option<Entry>> {
        match self.start.take() {
            Some(Node::Page(id)) => self.push_page(id)?,
            Some(Node::Inline(page)) => {
                let count = PageHeader::decode(&page)?.count as usize;
                self.stack.push((page, true, 0, count));
            }
            None => {}
        }
        loop {
            let Some((bytes, leaf, idx, count)) = self.stack.last_mut() else {
                return Ok(None);
            };
            if *idx >= *count {
                self.stack.pop();
                continue;
            }
            let i = *idx;
            *idx += 1;
            if *leaf {
                let e = leaf_element(bytes, i)?;
                return Ok(Some(Entry {
                    flags: e.flags,
                    key: e.key.to_vec(),
                    value: e.value.to_vec(),
                }));
            }
            let child = branch_element(bytes, i)?.pgid;
            self.push_page(child)?;
        }
    }
}

impl Iterator for Cursor<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_entry() {
            Ok(Some(e)) if e.flags & BUCKET_LEAF_FLAG != 0 => Some(Ok((e.key, Vec::new()))),
            Ok(Some(e)) => Some(Ok((e.key, e.value))),
            Ok(None) => None,
            Err(err) => {
                self.failed = true;
                Some(Err(err))
            }
        }
    }
}
