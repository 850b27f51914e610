//! A small replicated key-value state machine: proposals are `key=value`, and it
//! serializes itself (applied index included) as snapshot data. Its state lives in an
//! `Arc`, so it survives member restarts like a durable store would.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use raft_node::{Applier, Committed, SnapshotMeta, SnapshotSource, SyncJob};

/// The replicated state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvState {
    pub map: BTreeMap<String, String>,
    /// Last raft index reflected in `map`.
    pub applied: u64,
}

#[derive(Debug, Default)]
struct Inner {
    state: KvState,
    /// (snapshot index, applied index of the restored data) per restore.
    restores: Vec<(u64, u64)>,
}

/// The state machine of one member; clones share it.
#[derive(Clone, Default)]
pub struct KvMachine {
    inner: Arc<Mutex<Inner>>,
}

impl KvMachine {
    pub fn applier(&self) -> Box<dyn Applier> {
        Box::new(self.clone())
    }

    pub fn source(&self) -> Arc<dyn SnapshotSource> {
        Arc::new(self.clone())
    }

    pub fn state(&self) -> KvState {
        self.inner.lock().state.clone()
    }

    /// (snapshot index, restored applied index) of every snapshot restored.
    pub fn restores(&self) -> Vec<(u64, u64)> {
        self.inner.lock().restores.clone()
    }
}

impl Applier for KvMachine {
    fn applied_index(&self) -> u64 {
        self.inner.lock().state.applied
    }

    fn apply(&mut self, entries: Vec<Committed>) {
        let state = &mut self.inner.lock().state;
        for entry in entries {
            if entry.index <= state.applied {
                continue;
            }
            state.applied = entry.index;
            let text = String::from_utf8_lossy(&entry.data);
            if let Some((key, value)) = text.split_once('=') {
                state.map.insert(key.to_owned(), value.to_owned());
            }
        }
    }

    fn sync_state(&mut self) -> SyncJob {
        Box::new(|| Ok(()))
    }

    fn restore_snapshot(&mut self, meta: SnapshotMeta, data: Vec<u8>) -> Result<(), String> {
        let state = decode(&data)?;
        if state.applied < meta.index {
            return Err(format!(
                "snapshot data at {} does not cover index {}",
                state.applied, meta.index
            ));
        }
        let mut inner = self.inner.lock();
        inner.restores.push((meta.index, state.applied));
        inner.state = state;
        Ok(())
    }
}

impl SnapshotSource for KvMachine {
    fn snapshot_data(&self, _index: u64) -> Result<Vec<u8>, String> {
        Ok(encode(&self.inner.lock().state))
    }
}

/// applied (u64) then, per key: key length (u32), key, value length (u32), value.
fn encode(state: &KvState) -> Vec<u8> {
    let mut out = state.applied.to_be_bytes().to_vec();
    for (key, value) in &state.map {
        for part in [key, value] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
    }
    out
}

fn decode(mut data: &[u8]) -> Result<KvState, String> {
    fn take<'a>(data: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        if data.len() < n {
            return Err("truncated snapshot data".to_owned());
        }
        let (head, rest) = data.split_at(n);
        *data = rest;
        Ok(head)
    }
    fn text(data: &mut &[u8]) -> Result<String, String> {
        let len = u32::from_be_bytes(take(data, 4)?.try_into().map_err(|_| "length")?);
        String::from_utf8(take(data, len as usize)?.to_vec()).map_err(|e| e.to_string())
    }
    let applied = u64::from_be_bytes(take(&mut data, 8)?.try_into().map_err(|_| "applied")?);
    let mut map = BTreeMap::new();
    while !data.is_empty() {
        let key = text(&mut data)?;
        map.insert(key, text(&mut data)?);
    }
    Ok(KvState { map, applied })
}
