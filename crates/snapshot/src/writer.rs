//! Bulk-builds a fresh bbolt database from sorted data, as a compacted copy of etcd's
//! backend would look: pages 0 and 1 are the meta pages, page 2 an empty freelist, then the
//! leaf pages of each bucket written as their keys arrive (filled up to a page; a larger
//! entry gets overflow pages), the branch levels above them, and last the root bucket's
//! tree holding the bucket headers. A bucket whose page would be at most a quarter page
//! is stored inline in its header, as bbolt does. Meta pages are written at the end, when
//! the root and high water mark are known, so the output must be seekable; [`crate::write`]
//! and [`crate::write_to`] wrap this for files and streams.

use std::io::{Seek, SeekFrom, Write};

use crate::error::{Error, Result};
use crate::page::{
    node_size, write_node, Meta, NodeItem, PageHeader, BUCKET_HEADER_SIZE, BUCKET_LEAF_FLAG,
    DEFAULT_PAGE_SIZE, ELEMENT_SIZE, FREELIST_PAGE, MAX_KEY_SIZE, MAX_VALUE_SIZE, META_PAGE,
    PAGE_HEADER_SIZE,
};

/// Most elements in one page (its header counts them in a u16).
const MAX_ELEMENTS: usize = 0xFFFE;
/// The meta page that is current (page 0 with txid 2; page 1 holds the same with txid 1,
/// so bbolt's next commit, txid 3, goes to page 1 as `txid % 2` wants).
const TXID: u64 = 2;

/// Writes whole pages at the end of the output and hands out their ids.
struct Pages<W> {
    out: W,
    page_size: usize,
    next: u64,
}

impl<W: Write> Pages<W> {
    /// Writes a leaf or branch page holding `items`; returns its id.
    fn write_node(&mut self, leaf: bool, items: &[NodeItem<'_>]) -> Result<u64> {
        let size = node_size(items);
        let count = size.div_ceil(self.page_size).max(1);
        let mut buf = vec![0u8; count * self.page_size];
        let id = self.next;
        write_node(&mut buf, id, leaf, items);
        buf[12..16].copy_from_slice(&((count - 1) as u32).to_le_bytes());
        self.out.write_all(&buf)?;
        self.next += count as u64;
        Ok(id)
    }
}

/// One pending leaf entry.
struct Item {
    flags: u32,
    key: Vec<u8>,
    value: Vec<u8>,
}

/// Builds one bucket's b+tree bottom-up from keys given in ascending order.
#[derive(Default)]
struct Tree {
    node: Vec<Item>,
    node_size: usize,
    /// First key and page id of every leaf page written so far.
    leaves: Vec<(Vec<u8>, u64)>,
    /// Last key of the last leaf page written (keys must keep ascending past it).
    flushed_last: Option<Vec<u8>>,
}

impl Tree {
    fn push<W: Write>(&mut self, pages: &mut Pages<W>, item: Item) -> Result<()> {
        if let Some(last) = self
            .node
            .last()
            .map(|i| &i.key)
            .or(self.flushed_last.as_ref())
        {
            if item.key <= *last {
                return Err(Error::Write(format!(
                    "keys not in ascending order: {:?} after {:?}",
                    String::from_utf8_lossy(&item.key),
                    String::from_utf8_lossy(last)
                )));
            }
        }
        let add = ELEMENT_SIZE + item.key.len() + item.value.len();
        if !self.node.is_empty()
            && (self.node_size + add > pages.page_size || self.node.len() >= MAX_ELEMENTS)
        {
            self.flush_leaf(pages)?;
        }
        if self.node.is_empty() {
            self.node_size = PAGE_HEADER_SIZE;
        }
        self.node_size += add;
        self.node.push(item);
        Ok(())
    }

    fn items(&self) -> Vec<NodeItem<'_>> {
        self.node
            .iter()
            .map(|i| NodeItem {
                flags: i.flags,
                key: &i.key,
                value: &i.value,
                pgid: 0,
            })
            .collect()
    }

    fn flush_leaf<W: Write>(&mut self, pages: &mut Pages<W>) -> Result<()> {
        let id = pages.write_node(true, &self.items())?;
        let first = self.node.first().map(|i| i.key.clone()).unwrap_or_default();
        self.leaves.push((first, id));
        self.flushed_last = self.node.pop().map(|i| i.key);
        self.node.clear();
        Ok(())
    }

    /// Finishes the tree. Returns the bucket header value: inline when `may_inline` and
    /// everything fits in a quarter page, else pointing at the root page.
    fn finish<W: Write>(mut self, pages: &mut Pages<W>, may_inline: bool) -> Result<Vec<u8>> {
        let size = PAGE_HEADER_SIZE
            + self
                .node
                .iter()
                .map(|i| ELEMENT_SIZE + i.key.len() + i.value.len())
                .sum::<usize>();
        if may_inline && self.leaves.is_empty() && size <= pages.page_size / 4 {
            let items = self.items();
            let mut value = vec![0u8; BUCKET_HEADER_SIZE + size];
            write_node(&mut value[BUCKET_HEADER_SIZE..], 0, true, &items);
            return Ok(value);
        }
        if !self.node.is_empty() || self.leaves.is_empty() {
            self.flush_leaf(pages)?;
        }
        let mut level = self.leaves;
        while level.len() > 1 {
            level = write_branches(pages, &level)?;
        }
        let mut value = vec![0u8; BUCKET_HEADER_SIZE];
        value[..8].copy_from_slice(&level[0].1.to_le_bytes());
        Ok(value)
    }
}

/// Writes one level of branch pages over `children`; returns the level above.
fn write_branches<W: Write>(
    pages: &mut Pages<W>,
    children: &[(Vec<u8>, u64)],
) -> Result<Vec<(Vec<u8>, u64)>> {
    let mut up = Vec::new();
    let mut start = 0;
    while start < children.len() {
        let mut size = PAGE_HEADER_SIZE;
        let mut end = start;
        while end < children.len() && end - start < MAX_ELEMENTS {
            let add = ELEMENT_SIZE + children[end].0.len();
            if end > start && size + add > pages.page_size {
                break;
            }
            size += add;
            end += 1;
        }
        let items: Vec<NodeItem<'_>> = children[start..end]
            .iter()
            .map(|(k, id)| NodeItem {
                flags: 0,
                key: k,
                value: &[],
                pgid: *id,
            })
            .collect();
        let id = pages.write_node(false, &items)?;
        up.push((children[start].0.clone(), id));
        start = end;
    }
    Ok(up)
}

/// Streams buckets into a new bbolt database. Call [`Builder::bucket`] to start each bucket
/// (any order, each name once), [`Builder::put`] for its keys in ascending order, then
/// [`Builder::finish`].
pub struct Builder<W: Write + Seek> {
    pages: Pages<W>,
    buckets: Vec<(Vec<u8>, Vec<u8>)>,
    current: Option<(Vec<u8>, Tree)>,
}

impl<W: Write + Seek> Builder<W> {
    /// Starts a database at the beginning of `out` (etcd's 4096-byte pages).
    pub fn new(out: W) -> Result<Builder<W>> {
        Builder::with_page_size(out, DEFAULT_PAGE_SIZE)
    }

    /// Starts a database with `page_size`-byte pages (a power of two, 512 to 65536).
    pub fn with_page_size(mut out: W, page_size: usize) -> Result<Builder<W>> {
        if !page_size.is_power_of_two() || !(512..=65536).contains(&page_size) {
            return Err(Error::Write(format!("invalid page size {page_size}")));
        }
        out.seek(SeekFrom::Start(0))?;
        out.write_all(&vec![0u8; 3 * page_size])?;
        Ok(Builder {
            pages: Pages {
                out,
                page_size,
                next: 3,
            },
            buckets: Vec::new(),
            current: None,
        })
    }

    /// Ends the current bucket (if any) and starts bucket `name`.
    pub fn bucket(&mut self, name: &[u8]) -> Result<()> {
        self.end_bucket()?;
        check_key(name)?;
        if self.buckets.iter().any(|(n, _)| n == name) {
            return Err(Error::Write(format!(
                "bucket {:?} given twice",
                String::from_utf8_lossy(name)
            )));
        }
        self.current = Some((name.to_vec(), Tree::default()));
        Ok(())
    }

    /// Adds `key` = `value` to the current bucket; keys must ascend.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        check_key(key)?;
        if value.len() > MAX_VALUE_SIZE {
            return Err(Error::Write("value too large".into()));
        }
        let (_, tree) = self
            .current
            .as_mut()
            .ok_or_else(|| Error::Write("put before any bucket".into()))?;
        tree.push(
            &mut self.pages,
            Item {
                flags: 0,
                key: key.to_vec(),
                value: value.to_vec(),
            },
        )
    }

    fn end_bucket(&mut self) -> Result<()> {
        if let Some((name, tree)) = self.current.take() {
            let header = tree.finish(&mut self.pages, true)?;
            self.buckets.push((name, header));
        }
        Ok(())
    }

    /// Writes the root bucket, the freelist and the meta pages; returns the output and
    /// the database size in bytes (the output is positioned at that end).
    pub fn finish(mut self) -> Result<(W, u64)> {
        self.end_bucket()?;
        let mut buckets = std::mem::take(&mut self.buckets);
        buckets.sort();
        let mut root = Tree::default();
        for (name, header) in buckets {
            root.push(
                &mut self.pages,
                Item {
                    flags: BUCKET_LEAF_FLAG,
                    key: name,
                    value: header,
                },
            )?;
        }
        let header = root.finish(&mut self.pages, false)?;
        let root_id = u64::from_le_bytes(header[..8].try_into().expect("8 bytes"));
        let Pages {
            mut out,
            page_size,
            next,
        } = self.pages;
        let mut meta = Meta {
            page_size: page_size as u32,
            flags: 0,
            root: root_id,
            root_sequence: 0,
            freelist: 2,
            pgid: next,
            txid: TXID,
        };
        out.seek(SeekFrom::Start(0))?;
        for id in 0..2u64 {
            meta.txid = TXID - id;
            let mut page = vec![0u8; page_size];
            PageHeader {
                id,
                flags: META_PAGE,
                count: 0,
                overflow: 0,
            }
            .encode(&mut page);
            page[PAGE_HEADER_SIZE..PAGE_HEADER_SIZE + crate::page::META_SIZE]
                .copy_from_slice(&meta.encode());
            out.write_all(&page)?;
        }
        let mut page = vec![0u8; page_size];
        PageHeader {
            id: 2,
            flags: FREELIST_PAGE,
            count: 0,
            overflow: 0,
        }
        .encode(&mut page);
        out.write_all(&page)?;
        let size = next * page_size as u64;
        out.seek(SeekFrom::Start(size))?;
        out.flush()?;
        Ok((out, size))
    }
}

/// bbolt's key rules (`key required`, `key too large`).
fn check_key(key: &[u8]) -> Result<()> {
    if key.is_empty() {
        return Err(Error::Write("key required".into()));
    }
    if key.len() > MAX_KEY_SIZE {
        return Err(Error::Write("key too large".into()));
    }
    Ok(())
}
