//! bbolt's on-disk page layout (go.etcd.io/bbolt page.go, db.go, bucket.go), little-endian
//! as bbolt writes it on amd64/arm64:
//!
//! * page header (16 bytes): `id u64, flags u16, count u16, overflow u32`; a page spans
//!   `overflow + 1` consecutive pages.
//! * meta page body: `magic u32, version u32, page_size u32, flags u32, root {pgid u64,
//!   sequence u64}, freelist u64, pgid (high water mark) u64, txid u64, checksum u64`, the
//!   checksum being FNV-64a over the 56 bytes before it.
//! * leaf element (16 bytes): `flags u32, pos u32, ksize u32, vsize u32`; branch element
//!   (16 bytes): `pos u32, ksize u32, pgid u64`; `pos` counts from the element itself.
//! * bucket value: `root u64, sequence u64`, followed, when root is 0 (inline bucket), by a
//!   whole leaf page holding the bucket's entries.
//!
//! Decoding is bounds-checked: every function takes a byte slice and returns an error
//! instead of reading past it.

use std::hash::Hasher;

use crate::error::{corrupt, Error, Result};

pub const PAGE_HEADER_SIZE: usize = 16;
pub const ELEMENT_SIZE: usize = 16;
pub const BUCKET_HEADER_SIZE: usize = 16;
pub const META_SIZE: usize = 64;
pub const MAGIC: u32 = 0xED0C_DAED;
pub const VERSION: u32 = 2;
/// The page size etcd's bbolt uses on Linux (`os.Getpagesize()`).
pub const DEFAULT_PAGE_SIZE: usize = 4096;
/// bbolt's `pgidNoFreelist`: the meta page's freelist field when no freelist is stored.
pub const NO_FREELIST: u64 = u64::MAX;

pub const BRANCH_PAGE: u16 = 0x01;
pub const LEAF_PAGE: u16 = 0x02;
pub const META_PAGE: u16 = 0x04;
pub const FREELIST_PAGE: u16 = 0x10;
/// Leaf element flag: the value is a nested bucket.
pub const BUCKET_LEAF_FLAG: u32 = 0x01;

/// bbolt's `MaxKeySize`.
pub const MAX_KEY_SIZE: usize = 32768;
/// bbolt's `MaxValueSize`.
pub const MAX_VALUE_SIZE: usize = (1 << 31) - 2;

pub fn u16_at(b: &[u8], off: usize) -> Result<u16> {
    b.get(off..off + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| corrupt(format!("read past end at offset {off}")))
}

pub fn u32_at(b: &[u8], off: usize) -> Result<u32> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes(s.try_into().expect("4 bytes")))
        .ok_or_else(|| corrupt(format!("read past end at offset {off}")))
}

pub fn u64_at(b: &[u8], off: usize) -> Result<u64> {
    b.get(off..off + 8)
        .map(|s| u64::from_le_bytes(s.try_into().expect("8 bytes")))
        .ok_or_else(|| corrupt(format!("read past end at offset {off}")))
}

/// A page header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageHeader {
    pub id: u64,
    pub flags: u16,
    pub count: u16,
    pub overflow: u32,
}

impl PageHeader {
    pub fn decode(b: &[u8]) -> Result<PageHeader> {
        Ok(PageHeader {
            id: u64_at(b, 0)?,
            flags: u16_at(b, 8)?,
            count: u16_at(b, 10)?,
            overflow: u32_at(b, 12)?,
        })
    }

    pub fn encode(&self, out: &mut [u8]) {
        out[0..8].copy_from_slice(&self.id.to_le_bytes());
        out[8..10].copy_from_slice(&self.flags.to_le_bytes());
        out[10..12].copy_from_slice(&self.count.to_le_bytes());
        out[12..16].copy_from_slice(&self.overflow.to_le_bytes());
    }

    /// bbolt's `page.typ()`, used in integrity messages.
    pub fn typ(&self) -> String {
        if self.flags & BRANCH_PAGE != 0 {
            "branch".into()
        } else if self.flags & LEAF_PAGE != 0 {
            "leaf".into()
        } else if self.flags & META_PAGE != 0 {
            "meta".into()
        } else if self.flags & FREELIST_PAGE != 0 {
            "freelist".into()
        } else {
            format!("unknown<{:02x}>", self.flags)
        }
    }
}

/// A meta page body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub page_size: u32,
    pub flags: u32,
    pub root: u64,
    pub root_sequence: u64,
    pub freelist: u64,
    /// High water mark: the number of pages in use.
    pub pgid: u64,
    pub txid: u64,
}

impl Meta {
    /// Decodes and validates a meta body as bbolt's `meta.validate` does.
    pub fn decode(b: &[u8]) -> Result<Meta> {
        if b.len() < META_SIZE {
            return Err(Error::TooSmall);
        }
        if u32_at(b, 0)? != MAGIC {
            return Err(Error::Invalid);
        }
        if u32_at(b, 4)? != VERSION {
            return Err(Error::VersionMismatch);
        }
        let checksum = u64_at(b, 56)?;
        if checksum != 0 && checksum != fnv64a(&b[..56]) {
            return Err(Error::Checksum);
        }
        Ok(Meta {
            page_size: u32_at(b, 8)?,
            flags: u32_at(b, 12)?,
            root: u64_at(b, 16)?,
            root_sequence: u64_at(b, 24)?,
            freelist: u64_at(b, 32)?,
            pgid: u64_at(b, 40)?,
            txid: u64_at(b, 48)?,
        })
    }

    /// Encodes the meta body with its checksum.
    pub fn encode(&self) -> [u8; META_SIZE] {
        let mut b = [0u8; META_SIZE];
        b[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        b[4..8].copy_from_slice(&VERSION.to_le_bytes());
        b[8..12].copy_from_slice(&self.page_size.to_le_bytes());
        b[12..16].copy_from_slice(&self.flags.to_le_bytes());
        b[16..24].copy_from_slice(&self.root.to_le_bytes());
        b[24..32].copy_from_slice(&self.root_sequence.to_le_bytes());
        b[32..40].copy_from_slice(&self.freelist.to_le_bytes());
        b[40..48].copy_from_slice(&self.pgid.to_le_bytes());
        b[48..56].copy_from_slice(&self.txid.to_le_bytes());
        let sum = fnv64a(&b[..56]);
        b[56..64].copy_from_slice(&sum.to_le_bytes());
        b
    }
}

fn fnv64a(b: &[u8]) -> u64 {
    let mut h = fnv::FnvHasher::default();
    h.write(b);
    h.finish()
}

/// One element of a leaf page: a key and either a value or a nested bucket header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafElement<'a> {
    pub flags: u32,
    pub key: &'a [u8],
    pub value: &'a [u8],
}

/// One element of a branch page: the first key of a child page and its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BranchElement<'a> {
    pub key: &'a [u8],
    pub pgid: u64,
}

/// Returns `page[start .. start+len]` or an error naming the page.
fn slice(page: &[u8], start: usize, len: usize) -> Result<&[u8]> {
    start
        .checked_add(len)
        .and_then(|end| page.get(start..end))
        .ok_or_else(|| corrupt("page element points outside its page"))
}

/// The `i`th leaf element of the page in `page` (header included).
pub fn leaf_element(page: &[u8], i: usize) -> Result<LeafElement<'_>> {
    let at = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    let flags = u32_at(page, at)?;
    let pos = u32_at(page, at + 4)? as usize;
    let ksize = u32_at(page, at + 8)? as usize;
    let vsize = u32_at(page, at + 12)? as usize;
    let kstart = at + pos;
    Ok(LeafElement {
        flags,
        key: slice(page, kstart, ksize)?,
        value: slice(page, kstart + ksize, vsize)?,
    })
}

/// The `i`th branch element of the page in `page` (header included).
pub fn branch_element(page: &[u8], i: usize) -> Result<BranchElement<'_>> {
    let at = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    let pos = u32_at(page, at)? as usize;
    let ksize = u32_at(page, at + 4)? as usize;
    let pgid = u64_at(page, at + 8)?;
    Ok(BranchElement {
        key: slice(page, at + pos, ksize)?,
        pgid,
    })
}

/// An entry of a node being written: a leaf key/value (with flags) or a branch key/child.
pub struct NodeItem<'a> {
    pub flags: u32,
    pub key: &'a [u8],
    pub value: &'a [u8],
    pub pgid: u64,
}

/// Size in bytes of a page holding `items` (bbolt's `node.size()`).
pub fn node_size<'a>(items: impl IntoIterator<Item = &'a NodeItem<'a>>) -> usize {
    items
        .into_iter()
        .map(|it| ELEMENT_SIZE + it.key.len() + it.value.len())
        .sum::<usize>()
        + PAGE_HEADER_SIZE
}

/// Writes a leaf or branch page holding `items` into `out` (as bbolt's `node.write`):
/// header, the element array, then each key (and value) in element order. `out` must be
/// at least [`node_size`] long; the header's `overflow` is left to the caller.
pub fn write_node(out: &mut [u8], id: u64, leaf: bool, items: &[NodeItem<'_>]) {
    PageHeader {
        id,
        flags: if leaf { LEAF_PAGE } else { BRANCH_PAGE },
        count: items.len() as u16,
        overflow: 0,
    }
    .encode(out);
    let mut off = PAGE_HEADER_SIZE + ELEMENT_SIZE * items.len();
    for (i, it) in items.iter().enumerate() {
        let at = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
        let pos = (off - at) as u32;
        let e = &mut out[at..at + ELEMENT_SIZE];
        if leaf {
            e[0..4].copy_from_slice(&it.flags.to_le_bytes());
            e[4..8].copy_from_slice(&pos.to_le_bytes());
            e[8..12].copy_from_slice(&(it.key.len() as u32).to_le_bytes());
            e[12..16].copy_from_slice(&(it.value.len() as u32).to_le_bytes());
        } else {
            e[0..4].copy_from_slice(&pos.to_le_bytes());
            e[4..8].copy_from_slice(&(it.key.len() as u32).to_le_bytes());
            e[8..16].copy_from_slice(&it.pgid.to_le_bytes());
        }
        out[off..off + it.key.len()].copy_from_slice(it.key);
        off += it.key.len();
        out[off..off + it.value.len()].copy_from_slice(it.value);
        off += it.value.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trip_and_checksum() {
        let m = Meta {
            page_size: 4096,
            flags: 0,
            root: 3,
            root_sequence: 0,
            freelist: 2,
            pgid: 4,
            txid: 1,
        };
        let mut b = m.encode();
        assert_eq!(Meta::decode(&b).unwrap(), m);
        b[20] ^= 1;
        assert!(matches!(Meta::decode(&b), Err(Error::Checksum)));
    }

    #[test]
    fn node_round_trip() {
        let items = [
            NodeItem {
                flags: 0,
                key: b"a",
                value: b"xyz",
                pgid: 0,
            },
            NodeItem {
                flags: 1,
                key: b"bc",
                value: b"",
                pgid: 0,
            },
        ];
        let mut page = vec![0u8; node_size(&items)];
        write_node(&mut page, 7, true, &items);
        let e = leaf_element(&page, 1).unwrap();
        assert_eq!((e.flags, e.key, e.value), (1, &b"bc"[..], &b""[..]));
        assert!(leaf_element(&page, 2).is_err());
    }
}
