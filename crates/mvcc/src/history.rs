//! Reading the stored history by revision: the changes watchers catch up on, and etcd's
//! HashKV checksum.

use etcd_proto::mvccpb::{event::EventType, Event};

use crate::crc32c::Crc32c;
use crate::engine::CF_KEY;
use crate::errors::MvccError;
use crate::read::decode_kv;
use crate::revision::Revision;
use crate::store::Store;

/// Result of [`Store::hash_kv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashKv {
    /// CRC-32C over the `key` table up to the revision, as etcd computes it.
    pub hash: u32,
    /// Store revision when the hash was computed.
    pub current_revision: i64,
    /// Compacted revision (-1 if never compacted).
    pub compact_revision: i64,
}

impl Store {
    /// Every change with main revision in `[from_rev, to_rev]` (`to_rev <= 0`: up to the
    /// current revision), in revision order, at most `limit` events (`0`: no limit; a limit
    /// never splits a revision's changes). Events are shaped like [`crate::ApplyOutput`]'s.
    /// Fails with `Compacted` if `from_rev` is below the compacted revision.
    pub fn events(
        &self,
        from_rev: i64,
        to_rev: i64,
        limit: usize,
    ) -> Result<Vec<Event>, MvccError> {
        let (current, compact) = self.revisions();
        if from_rev < compact {
            return Err(MvccError::Compacted);
        }
        let to_rev = if to_rev <= 0 {
            current
        } else {
            to_rev.min(current)
        };
        let mut events = Vec::new();
        if from_rev > to_rev {
            return Ok(events);
        }
        let start = Revision::new(from_rev.max(0), 0).to_bytes();
        let end = ((to_rev + 1) as u64).to_be_bytes();
        let mut failure = None;
        let mut last_main = 0;
        self.engine.scan(CF_KEY, &start, &end, &mut |k, v| {
            let res = Revision::from_key(k).and_then(|(rev, tombstone)| {
                let mut kv = decode_kv(v)?;
                let ty = if tombstone {
                    kv.mod_revision = rev.main;
                    EventType::Delete
                } else {
                    EventType::Put
                };
                Ok((rev, ty, kv))
            });
            match res {
                Ok((rev, ty, kv)) => {
                    if limit > 0 && events.len() >= limit && rev.main != last_main {
                        return false;
                    }
                    last_main = rev.main;
                    events.push(Event {
                        r#type: ty as i32,
                        kv: Some(kv),
                        prev_kv: None,
                    });
                    true
                }
                Err(e) => {
                    failure = Some(e);
                    false
                }
            }
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        // a compaction that ran meanwhile may have removed part of the range
        if from_rev < self.compact_revision() {
            return Err(MvccError::Compacted);
        }
        Ok(events)
    }

    /// etcd's HashKV: a CRC-32C of the `key` table as of revision `rev` (`0`: current),
    /// counting below the compacted revision only what a compaction at `rev` would keep.
    pub fn hash_kv(&self, rev: i64) -> Result<HashKv, MvccError> {
        loop {
            let (current, compact) = self.revisions();
            if rev > 0 && rev <= compact {
                return Err(MvccError::Compacted);
            }
            if rev > current {
                return Err(MvccError::FutureRevision);
            }
            let at = if rev == 0 { current } else { rev };
            let keep = self.index.read().keep(at);
            let upper = Revision::new(at + 1, 0);
            let lower = Revision::new(compact + 1, 0);
            let mut h = Crc32c::new();
            h.update(CF_KEY.as_bytes());
            let mut failure = None;
            self.engine
                .scan(CF_KEY, &[], &upper.to_bytes(), &mut |k, v| {
                    match Revision::from_key(k) {
                        Ok((kr, _)) if kr < lower && !keep.is_empty() && !keep.contains(&kr) => {}
                        Ok(_) => {
                            h.update(k);
                            h.update(v);
                        }
                        Err(e) => {
                            failure = Some(e);
                            return false;
                        }
                    }
                    true
                })?;
            if let Some(e) = failure {
                return Err(e);
            }
            if self.compact_revision() == compact {
                return Ok(HashKv {
                    hash: h.finish(),
                    current_revision: current,
                    compact_revision: compact,
                });
            }
            // a compaction ran meanwhile: hash again on the new state
        }
    }
}
