//! Segment files: naming, listing, creation and directory fsync.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::format::segment_header;
use crate::WalError;

/// A segment file found in (or added to) the WAL directory.
#[derive(Clone, Debug)]
pub(crate) struct SegmentFile {
    /// Position in the log: segments are numbered 0, 1, 2, ... without gaps.
    pub seq: u64,
    pub path: PathBuf,
}

/// `{seq:016x}-{first_index:016x}.wal`
pub(crate) fn file_name(seq: u64, first_index: u64) -> String {
    format!("{seq:016x}-{first_index:016x}.wal")
}

/// Parses a segment file name into `(seq, first_index)`.
pub(crate) fn parse_file_name(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(".wal")?;
    let (seq, first_index) = stem.split_once('-')?;
    if seq.len() != 16 || first_index.len() != 16 {
        return None;
    }
    let seq = u64::from_str_radix(seq, 16).ok()?;
    let first_index = u64::from_str_radix(first_index, 16).ok()?;
    Some((seq, first_index))
}

/// The segments in `dir`, ordered by sequence number; fails if the sequence has a gap.
/// Files with other names are ignored.
pub(crate) fn list(dir: &Path) -> Result<Vec<SegmentFile>, WalError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| WalError::io(e, format!("read {}", dir.display())))?;
    let mut segments = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| WalError::io(e, format!("read {}", dir.display())))?;
        let name = entry.file_name();
        let parsed = name.to_str().and_then(parse_file_name);
        match parsed {
            Some((seq, _)) => segments.push(SegmentFile {
                seq,
                path: entry.path(),
            }),
            None if Path::new(&name).extension().is_some_and(|ext| ext == "wal") => {
                tracing::warn!(file = %entry.path().display(), "ignoring badly named wal file");
            }
            None => {}
        }
    }
    segments.sort_by_key(|s| s.seq);
    for pair in segments.windows(2) {
        if pair[1].seq != pair[0].seq + 1 {
            return Err(WalError::Corrupt {
                file: pair[1].path.clone(),
                offset: 0,
                reason: format!(
                    "segment sequence gap: expected seq {:#x} before it",
                    pair[0].seq + 1
                ),
            });
        }
    }
    Ok(segments)
}

/// Creates segment `seq` holding only its header, ready for appending. With `sync`, the
/// header and the directory entry are made durable before returning.
pub(crate) fn create(
    dir: &Path,
    seq: u64,
    first_index: u64,
    sync: bool,
) -> Result<(SegmentFile, File), WalError> {
    let path = dir.join(file_name(seq, first_index));
    let context = |what: &str| format!("{what} {}", path.display());
    let mut file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| WalError::io(e, context("create")))?;
    file.write_all(&segment_header())
        .map_err(|e| WalError::io(e, context("write header of")))?;
    if sync {
        file.sync_data()
            .map_err(|e| WalError::io(e, context("fdatasync")))?;
        sync_dir(dir)?;
    }
    Ok((SegmentFile { seq, path }, file))
}

/// fsyncs `dir`, making file creations and deletions in it durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| WalError::io(e, format!("fsync directory {}", dir.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let name = file_name(0x1f, 0xabc);
        assert_eq!(name, "000000000000001f-0000000000000abc.wal");
        assert_eq!(parse_file_name(&name), Some((0x1f, 0xabc)));
        assert_eq!(parse_file_name("1f-abc.wal"), None);
        assert_eq!(
            parse_file_name("000000000000001f-0000000000000abc.tmp"),
            None
        );
        assert_eq!(
            parse_file_name("000000000000001g-0000000000000abc.wal"),
            None
        );
    }
}
