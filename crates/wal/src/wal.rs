//! The [`Wal`] handle: open and replay, append, group-committed sync, rotation, purge.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::commit::GroupCommit;
use crate::format::{
    decode_segment, encode_record, encoded_len, segment_header, DecodeEnd, MAX_RECORD_DATA_LEN,
    SEGMENT_HEADER_LEN,
};
use crate::segment::{self, SegmentFile};
use crate::{Record, WalError, WalOptions};

/// Appends larger than this do not keep their encoding buffer around.
const MAX_RETAINED_BUFFER: usize = 1 << 20;

/// Called with the duration of each fdatasync of segment data (see [`Wal::observe_syncs`]).
#[derive(Clone)]
pub struct SyncObserver(Arc<dyn Fn(Duration) + Send + Sync>);

impl SyncObserver {
    /// An observer calling `f` after each fdatasync.
    pub fn new(f: impl Fn(Duration) + Send + Sync + 'static) -> SyncObserver {
        SyncObserver(Arc::new(f))
    }

    fn observe(&self, took: Duration) {
        (self.0)(took)
    }
}

impl std::fmt::Debug for SyncObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncObserver")
    }
}

/// An open write-ahead log. `Send + Sync`; every method takes `&self`.
pub struct Wal {
    dir: PathBuf,
    opts: WalOptions,
    writer: Mutex<Writer>,
    commit: GroupCommit,
    /// The last ticket handed out (mirrors `Writer::last_ticket` for lock-free reads).
    last_ticket: AtomicU64,
    sync_count: AtomicU64,
    /// Set by the first failed write or fdatasync; the WAL then refuses all work.
    poisoned: OnceLock<String>,
    sync_observer: Option<SyncObserver>,
}

/// A segment no longer appended to.
struct ClosedSegment {
    file: SegmentFile,
    /// Largest record index in the segment; `None` if it holds no records.
    max_index: Option<u64>,
}

/// The segment being appended to.
struct ActiveSegment {
    file: SegmentFile,
    handle: Arc<File>,
    len: u64,
    max_index: Option<u64>,
}

struct Writer {
    closed: VecDeque<ClosedSegment>,
    active: ActiveSegment,
    last_ticket: u64,
    buf: Vec<u8>,
}

impl Wal {
    /// Creates `dir` if needed and replays every record in order.
    ///
    /// A torn tail in the last segment is truncated away (with a warning); any other
    /// invalid data fails with [`WalError::Corrupt`] before anything is modified.
    pub fn open(dir: &Path, opts: WalOptions) -> Result<(Wal, Vec<Record>), WalError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| WalError::io(e, format!("create {}", dir.display())))?;
        let Replay {
            closed,
            records,
            last,
        } = replay(dir)?;
        let active = match last {
            Some(last) => reopen_last(last, opts.sync)?,
            None => {
                let (file, handle) = segment::create(dir, 0, 0, opts.sync)?;
                ActiveSegment {
                    file,
                    handle: Arc::new(handle),
                    len: SEGMENT_HEADER_LEN as u64,
                    max_index: None,
                }
            }
        };
        let wal = Wal {
            dir: dir.to_path_buf(),
            opts,
            writer: Mutex::new(Writer {
                closed,
                active,
                last_ticket: 0,
                buf: Vec::new(),
            }),
            commit: GroupCommit::default(),
            last_ticket: AtomicU64::new(0),
            sync_count: AtomicU64::new(0),
            poisoned: OnceLock::new(),
            sync_observer: None,
        };
        Ok((wal, records))
    }

    /// Calls `observer` with the duration of every later fdatasync of segment data.
    pub fn observe_syncs(mut self, observer: SyncObserver) -> Wal {
        self.sync_observer = Some(observer);
        self
    }

    /// Buffered append: the records are written to the file (not fsynced) in one write.
    /// Returns a ticket (monotonically increasing) to pass to [`Wal::sync`].
    pub fn append(&self, records: &[Record]) -> Result<u64, WalError> {
        self.check_poisoned()?;
        if let Some(big) = records.iter().find(|r| r.data.len() > MAX_RECORD_DATA_LEN) {
            return Err(WalError::RecordTooLarge {
                len: big.data.len(),
                max: MAX_RECORD_DATA_LEN,
            });
        }
        let mut writer = self.writer.lock();
        if records.is_empty() {
            return Ok(writer.last_ticket);
        }
        let mut buf = std::mem::take(&mut writer.buf);
        buf.clear();
        let result = self.write_records(&mut writer, records, &mut buf);
        if buf.capacity() <= MAX_RETAINED_BUFFER {
            writer.buf = buf;
        }
        result.map_err(|e| self.poison(e))?;
        writer.last_ticket += 1;
        self.last_ticket
            .store(writer.last_ticket, Ordering::Release);
        Ok(writer.last_ticket)
    }

    /// Returns once everything up to `ticket` is durable. Concurrent callers share one
    /// fdatasync (group commit). A no-op when [`WalOptions::sync`] is false.
    pub fn sync(&self, ticket: u64) -> Result<(), WalError> {
        self.check_poisoned()?;
        if !self.opts.sync {
            return Ok(());
        }
        let ticket = ticket.min(self.last_ticket.load(Ordering::Acquire));
        self.commit.wait_durable(
            ticket,
            || self.check_poisoned().err(),
            || self.flush_active(),
        )
    }

    /// [`Wal::append`] then [`Wal::sync`].
    pub fn append_sync(&self, records: &[Record]) -> Result<(), WalError> {
        let ticket = self.append(records)?;
        self.sync(ticket)
    }

    /// Deletes closed segments all of whose records have `index < below_index`, oldest
    /// first, stopping at the first segment that must stay (so the remaining segments
    /// stay contiguous). The active segment is never deleted. Returns how many were
    /// deleted.
    pub fn purge(&self, below_index: u64) -> Result<usize, WalError> {
        self.check_poisoned()?;
        let mut writer = self.writer.lock();
        let mut deleted = 0;
        while let Some(oldest) = writer.closed.front() {
            if oldest.max_index.is_some_and(|max| max >= below_index) {
                break;
            }
            let path = &oldest.file.path;
            std::fs::remove_file(path)
                .map_err(|e| WalError::io(e, format!("delete {}", path.display())))?;
            tracing::debug!(file = %path.display(), "purged wal segment");
            writer.closed.pop_front();
            deleted += 1;
        }
        if deleted > 0 && self.opts.sync {
            segment::sync_dir(&self.dir)?;
        }
        Ok(deleted)
    }

    /// The directory holding the segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many fdatasyncs of segment data this handle has issued (group commits plus
    /// the final sync of a segment at rotation).
    pub fn sync_count(&self) -> u64 {
        self.sync_count.load(Ordering::Relaxed)
    }

    /// Encodes `records` into `buf` and writes them, rotating before any record that would
    /// push a non-empty segment past `segment_size`.
    fn write_records(
        &self,
        writer: &mut Writer,
        records: &[Record],
        buf: &mut Vec<u8>,
    ) -> Result<(), WalError> {
        for record in records {
            let pending = writer.active.len + buf.len() as u64;
            let holds_records = pending > SEGMENT_HEADER_LEN as u64;
            if holds_records && pending + encoded_len(record) as u64 > self.opts.segment_size {
                writer.write_active(buf)?;
                buf.clear();
                self.rotate(writer, record.index)?;
            }
            encode_record(record, buf);
            let max = &mut writer.active.max_index;
            *max = Some(max.map_or(record.index, |m| m.max(record.index)));
        }
        writer.write_active(buf)
    }

    /// Closes the active segment (fdatasyncing it) and starts segment `seq + 1`.
    fn rotate(&self, writer: &mut Writer, first_index: u64) -> Result<(), WalError> {
        if self.opts.sync {
            let start = Instant::now();
            writer.active.sync_data()?;
            self.synced(start);
        }
        let seq = writer.active.file.seq + 1;
        let (file, handle) = segment::create(&self.dir, seq, first_index, self.opts.sync)?;
        let new = ActiveSegment {
            file,
            handle: Arc::new(handle),
            len: SEGMENT_HEADER_LEN as u64,
            max_index: None,
        };
        let old = std::mem::replace(&mut writer.active, new);
        writer.closed.push_back(ClosedSegment {
            file: old.file,
            max_index: old.max_index,
        });
        Ok(())
    }

    /// fdatasyncs the active segment (earlier segments were synced at rotation) and
    /// returns the last ticket it covers. Runs without holding the writer lock.
    fn flush_active(&self) -> Result<u64, WalError> {
        let (ticket, segment) = {
            let writer = self.writer.lock();
            let active = &writer.active;
            let segment = (active.handle.clone(), active.file.path.clone());
            (writer.last_ticket, segment)
        };
        let (handle, path) = segment;
        let start = Instant::now();
        handle
            .sync_data()
            .map_err(|e| self.poison(WalError::io(e, format!("fdatasync {}", path.display()))))?;
        self.synced(start);
        Ok(ticket)
    }

    /// Counts an fdatasync of segment data that began at `start` and tells the observer.
    fn synced(&self, start: Instant) {
        self.sync_count.fetch_add(1, Ordering::Relaxed);
        if let Some(observer) = &self.sync_observer {
            observer.observe(start.elapsed());
        }
    }

    fn check_poisoned(&self) -> Result<(), WalError> {
        match self.poisoned.get() {
            Some(reason) => Err(WalError::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }

    /// Marks the WAL unusable after `err` (a failed write or sync) and returns `err`.
    fn poison(&self, err: WalError) -> WalError {
        let _ = self.poisoned.set(err.to_string());
        err
    }
}

impl Writer {
    fn write_active(&mut self, bytes: &[u8]) -> Result<(), WalError> {
        if bytes.is_empty() {
            return Ok(());
        }
        let active = &mut self.active;
        (&*active.handle)
            .write_all(bytes)
            .map_err(|e| WalError::io(e, format!("write {}", active.file.path.display())))?;
        active.len += bytes.len() as u64;
        Ok(())
    }
}

impl ActiveSegment {
    fn sync_data(&self) -> Result<(), WalError> {
        self.handle
            .sync_data()
            .map_err(|e| WalError::io(e, format!("fdatasync {}", self.file.path.display())))
    }
}

/// What replaying the last segment found, to reopen it for appending.
struct LastSegment {
    file: SegmentFile,
    max_index: Option<u64>,
    /// Where valid data ends, and why there is more after it.
    torn: Option<(u64, String)>,
    len: u64,
}

/// Everything [`replay`] found in the WAL directory.
struct Replay {
    closed: VecDeque<ClosedSegment>,
    records: Vec<Record>,
    /// `None` for an empty directory.
    last: Option<LastSegment>,
}

/// Decodes every segment in `dir`. Modifies nothing.
fn replay(dir: &Path) -> Result<Replay, WalError> {
    let files = segment::list(dir)?;
    let count = files.len();
    let mut closed = VecDeque::new();
    let mut records = Vec::new();
    let mut last = None;
    for (i, file) in files.into_iter().enumerate() {
        let bytes = std::fs::read(&file.path)
            .map_err(|e| WalError::io(e, format!("read {}", file.path.display())))?;
        let outcome = decode_segment(&bytes);
        let is_last = i + 1 == count;
        let torn = match outcome.end {
            DecodeEnd::Clean => None,
            DecodeEnd::TornTail { offset, reason } if is_last => Some((offset, reason)),
            DecodeEnd::TornTail { offset, reason } => {
                return Err(WalError::Corrupt {
                    file: file.path,
                    offset,
                    reason: format!("{reason} (in a segment that is not the last)"),
                })
            }
            DecodeEnd::Corrupt { offset, reason } => {
                return Err(WalError::Corrupt {
                    file: file.path,
                    offset,
                    reason,
                })
            }
        };
        let max_index = outcome.records.iter().map(|r| r.index).max();
        records.extend(outcome.records);
        if is_last {
            last = Some(LastSegment {
                file,
                max_index,
                torn,
                len: bytes.len() as u64,
            });
        } else {
            closed.push_back(ClosedSegment { file, max_index });
        }
    }
    Ok(Replay {
        closed,
        records,
        last,
    })
}

/// Opens the last segment for appending, first truncating a torn tail.
fn reopen_last(last: LastSegment, sync: bool) -> Result<ActiveSegment, WalError> {
    let path = &last.file.path;
    let context = |what: &str| format!("{what} {}", path.display());
    let handle = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| WalError::io(e, context("open")))?;
    let mut len = last.len;
    if let Some((offset, reason)) = &last.torn {
        tracing::warn!(
            file = %path.display(),
            offset,
            reason = %reason,
            "truncating torn tail of wal segment"
        );
        let keep = if *offset < SEGMENT_HEADER_LEN as u64 {
            0
        } else {
            *offset
        };
        handle
            .set_len(keep)
            .map_err(|e| WalError::io(e, context("truncate")))?;
        if keep == 0 {
            (&handle)
                .write_all(&segment_header())
                .map_err(|e| WalError::io(e, context("write header of")))?;
        }
        if sync {
            handle
                .sync_data()
                .map_err(|e| WalError::io(e, context("fdatasync")))?;
        }
        len = keep.max(SEGMENT_HEADER_LEN as u64);
    }
    Ok(ActiveSegment {
        file: last.file,
        handle: Arc::new(handle),
        len,
        max_index: last.max_index,
    })
}
