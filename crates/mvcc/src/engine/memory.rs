//! In-memory engine: one BTreeMap per column family behind a lock. For tests.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use parking_lot::RwLock;

use super::{DumpVisitor, Engine, WriteBatch, WriteOp, COLUMN_FAMILIES};
use crate::errors::EngineError;

type ColumnFamily = BTreeMap<Vec<u8>, Vec<u8>>;

/// An [`Engine`] that keeps everything in memory (nothing survives the process). Cloning the
/// `Arc` around it and reopening a [`crate::Store`] on it simulates a restart.
#[derive(Debug, Default)]
pub struct MemEngine {
    cfs: RwLock<HashMap<String, ColumnFamily>>,
}

impl MemEngine {
    /// An empty engine.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Engine for MemEngine {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        Ok(self.cfs.read().get(cf).and_then(|m| m.get(key).cloned()))
    }

    fn scan(
        &self,
        cf: &str,
        start: &[u8],
        end: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        let cfs = self.cfs.read();
        let Some(map) = cfs.get(cf) else {
            return Ok(());
        };
        let upper = if end.is_empty() {
            Bound::Unbounded
        } else if end <= start {
            return Ok(());
        } else {
            Bound::Excluded(end)
        };
        for (k, v) in map.range::<[u8], _>((Bound::Included(start), upper)) {
            if !f(k, v) {
                break;
            }
        }
        Ok(())
    }

    fn write(&self, batch: WriteBatch, _sync: bool) -> Result<(), EngineError> {
        let mut cfs = self.cfs.write();
        for op in batch.into_ops() {
            match op {
                WriteOp::Put { cf, key, value } => {
                    cfs.entry(cf.to_string()).or_default().insert(key, value);
                }
                WriteOp::Delete { cf, key } => {
                    if let Some(map) = cfs.get_mut(cf) {
                        map.remove(&key);
                    }
                }
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), EngineError> {
        Ok(())
    }

    fn dump(&self, f: &mut DumpVisitor<'_>) -> Result<(), EngineError> {
        let cfs = self.cfs.read();
        for cf in COLUMN_FAMILIES {
            for (k, v) in cfs.get(*cf).into_iter().flatten() {
                if !f(cf, k, v) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn size_bytes(&self) -> u64 {
        let cfs = self.cfs.read();
        let bytes: usize = cfs
            .values()
            .flat_map(|m| m.iter())
            .map(|(k, v)| k.len() + v.len())
            .sum();
        bytes as u64
    }
}
