//! The live feed's fan-out, as etcd's `watcherGroup`: one task reads the backend's feed of
//! applied batches and hands each batch only to the watchers whose key or range one of its
//! events touches (a map for single-key watchers, a scan of the range watchers), so a
//! write wakes only the watchers it concerns instead of every watcher of the member.
//!
//! Each watcher has an inbox of at most [`INBOX_BATCHES`] batches. A watcher that falls
//! that far behind (or a hub that falls behind the backend's feed) is told it *lagged*
//! before it sees any later batch, and re-reads history: nothing is skipped, and writers
//! never wait for a slow watcher.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use etcd_proto::mvccpb::Event;
use tokio::sync::broadcast::{
    self,
    error::{RecvError, TryRecvError},
};
use tokio::sync::Notify;

use crate::backend::{Backend, EventBatch};

/// Batches a watcher may have pending before it is told it lagged.
pub(super) const INBOX_BATCHES: usize = 4096;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The fan-out of one backend's live feed; its task starts with the first subscription.
pub(super) struct Hub {
    backend: Arc<dyn Backend>,
    shared: Arc<Shared>,
}

struct Shared {
    index: Mutex<Index>,
    /// Revision of the last batch handed out: every batch up to it that touches a
    /// subscriber is in that subscriber's inbox, or the subscriber was told it lagged.
    dispatched: AtomicI64,
}

/// The subscribers, indexed by what they watch.
#[derive(Default)]
struct Index {
    /// The dispatch task is running (it stops when the backend's feed closes).
    running: bool,
    next_id: u64,
    /// Single-key watchers by key.
    keys: HashMap<Vec<u8>, Vec<(u64, Arc<Inbox>)>>,
    /// Range watchers: `[key, range_end)`, `range_end == [0]` meaning every key >= `key`.
    ranges: Vec<(u64, KeyRange, Arc<Inbox>)>,
}

/// What a watcher watches, as in its create request.
#[derive(Clone)]
pub(super) struct KeyRange {
    pub key: Vec<u8>,
    pub range_end: Vec<u8>,
}

impl KeyRange {
    pub fn contains(&self, k: &[u8]) -> bool {
        match self.range_end.as_slice() {
            [] => k == self.key.as_slice(),
            [0] => k >= self.key.as_slice(),
            end => k >= self.key.as_slice() && k < end,
        }
    }
}

impl Index {
    fn all(&self) -> impl Iterator<Item = &Arc<Inbox>> {
        let keys = self.keys.values().flatten().map(|(_, i)| i);
        keys.chain(self.ranges.iter().map(|(_, _, i)| i))
    }

    /// The inboxes of the subscribers one of `events` touches, each once.
    fn touched(&self, events: &[Event]) -> Vec<Arc<Inbox>> {
        let mut hit: Vec<(u64, &Arc<Inbox>)> = Vec::new();
        for kv in events.iter().filter_map(|ev| ev.kv.as_ref()) {
            if let Some(subs) = self.keys.get(&kv.key) {
                hit.extend(subs.iter().map(|(id, i)| (*id, i)));
            }
            for (id, range, inbox) in &self.ranges {
                if range.contains(&kv.key) {
                    hit.push((*id, inbox));
                }
            }
        }
        if events.len() > 1 {
            hit.sort_unstable_by_key(|(id, _)| *id);
            hit.dedup_by_key(|(id, _)| *id);
        }
        hit.into_iter().map(|(_, i)| i.clone()).collect()
    }

    fn remove(&mut self, id: u64, range: &KeyRange) {
        if range.range_end.is_empty() {
            if let Some(subs) = self.keys.get_mut(&range.key) {
                subs.retain(|(i, _)| *i != id);
                if subs.is_empty() {
                    self.keys.remove(&range.key);
                }
            }
        } else {
            self.ranges.retain(|(i, _, _)| *i != id);
        }
    }
}

impl Hub {
    pub(super) fn new(backend: Arc<dyn Backend>) -> Self {
        Hub {
            backend,
            shared: Arc::new(Shared {
                index: Mutex::new(Index::default()),
                dispatched: AtomicI64::new(0),
            }),
        }
    }

    /// Subscribes to the batches that touch `range` from now on: every batch the backend
    /// publishes after this call returns reaches the subscription (or makes it lag).
    pub(super) fn subscribe(&self, range: KeyRange) -> Subscription {
        let inbox = Arc::new(Inbox::default());
        let mut index = lock(&self.shared.index);
        if !index.running {
            index.running = true;
            let feed = self.backend.subscribe_events();
            tokio::spawn(dispatch(self.shared.clone(), feed));
        }
        let id = index.next_id;
        index.next_id += 1;
        if range.range_end.is_empty() {
            let subs = index.keys.entry(range.key.clone()).or_default();
            subs.push((id, inbox.clone()));
        } else {
            index.ranges.push((id, range.clone(), inbox.clone()));
        }
        Subscription {
            shared: self.shared.clone(),
            id,
            range,
            inbox,
        }
    }
}

/// The hub's task: hands every batch of the feed to the subscribers it touches.
async fn dispatch(shared: Arc<Shared>, mut feed: broadcast::Receiver<Arc<EventBatch>>) {
    loop {
        match feed.recv().await {
            Ok(batch) => {
                let touched = lock(&shared.index).touched(&batch.events);
                for inbox in touched {
                    inbox.push(&batch);
                }
                // After the pushes: a subscriber that reads this revision and then drains
                // its inbox has seen every batch up to it.
                shared
                    .dispatched
                    .fetch_max(batch.revision, Ordering::Release);
            }
            Err(RecvError::Lagged(n)) => {
                for inbox in lock(&shared.index).all() {
                    inbox.lag(n);
                }
            }
            Err(RecvError::Closed) => {
                let mut index = lock(&shared.index);
                index.running = false;
                for inbox in index.all() {
                    inbox.close();
                }
                return;
            }
        }
    }
}

/// One subscriber's pending batches.
#[derive(Default)]
struct Inbox {
    state: Mutex<InboxState>,
    /// Woken when the inbox goes from nothing to receive to something.
    ready: Notify,
}

#[derive(Default)]
struct InboxState {
    batches: VecDeque<Arc<EventBatch>>,
    /// Batches dropped since the subscriber last looked (it must re-read history).
    lagged: u64,
    closed: bool,
}

impl InboxState {
    fn is_idle(&self) -> bool {
        self.batches.is_empty() && self.lagged == 0 && !self.closed
    }
}

impl Inbox {
    fn update(&self, f: impl FnOnce(&mut InboxState)) {
        let mut state = lock(&self.state);
        let was_idle = state.is_idle();
        f(&mut state);
        drop(state);
        if was_idle {
            self.ready.notify_one();
        }
    }

    fn push(&self, batch: &Arc<EventBatch>) {
        self.update(|s| {
            if s.batches.len() >= INBOX_BATCHES {
                s.lagged += s.batches.len() as u64;
                s.batches.clear();
            }
            s.batches.push_back(batch.clone());
        });
    }

    fn lag(&self, n: u64) {
        self.update(|s| s.lagged += n.max(1));
    }

    fn close(&self) {
        self.update(|s| s.closed = true);
    }

    /// A lag is reported before any batch queued after it, so a subscriber that re-reads
    /// history on lag never skips a dropped batch.
    fn try_recv(&self) -> Result<Arc<EventBatch>, TryRecvError> {
        let mut s = lock(&self.state);
        if s.lagged > 0 {
            return Err(TryRecvError::Lagged(std::mem::take(&mut s.lagged)));
        }
        match s.batches.pop_front() {
            Some(b) => Ok(b),
            None if s.closed => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }
}

/// A watcher's view of the live feed: only batches that touch its key range. Dropping it
/// unsubscribes.
pub(super) struct Subscription {
    shared: Arc<Shared>,
    id: u64,
    range: KeyRange,
    inbox: Arc<Inbox>,
}

impl Subscription {
    /// The next batch that touches the range, as `broadcast::Receiver::recv`.
    pub(super) async fn recv(&self) -> Result<Arc<EventBatch>, RecvError> {
        loop {
            match self.inbox.try_recv() {
                Ok(b) => return Ok(b),
                Err(TryRecvError::Lagged(n)) => return Err(RecvError::Lagged(n)),
                Err(TryRecvError::Closed) => return Err(RecvError::Closed),
                Err(TryRecvError::Empty) => self.inbox.ready.notified().await,
            }
        }
    }

    /// A pending batch, if any, as `broadcast::Receiver::try_recv`.
    pub(super) fn try_recv(&self) -> Result<Arc<EventBatch>, TryRecvError> {
        self.inbox.try_recv()
    }

    /// The revision up to which the hub has handed out batches: once the inbox is drained
    /// after reading it, the subscriber has every batch up to it that touches its range.
    pub(super) fn dispatched(&self) -> i64 {
        self.shared.dispatched.load(Ordering::Acquire)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        lock(&self.shared.index).remove(self.id, &self.range);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_proto::mvccpb::KeyValue;

    fn batch(revision: i64, keys: &[&str]) -> Arc<EventBatch> {
        let events = keys
            .iter()
            .map(|k| Event {
                kv: Some(KeyValue {
                    key: k.as_bytes().to_vec(),
                    mod_revision: revision,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect();
        Arc::new(EventBatch { revision, events })
    }

    fn range(key: &str, end: &[u8]) -> KeyRange {
        KeyRange {
            key: key.as_bytes().to_vec(),
            range_end: end.to_vec(),
        }
    }

    #[test]
    fn index_finds_exactly_the_touched_subscribers_once() {
        let mut index = Index::default();
        let inboxes: Vec<Arc<Inbox>> = (0..4).map(|_| Arc::new(Inbox::default())).collect();
        index
            .keys
            .insert(b"a".to_vec(), vec![(0, inboxes[0].clone())]);
        index.ranges.push((1, range("a", b"c"), inboxes[1].clone()));
        index.ranges.push((2, range("b", &[0]), inboxes[2].clone()));
        index
            .keys
            .insert(b"z".to_vec(), vec![(3, inboxes[3].clone())]);
        let ids = |index: &Index, keys: &[&str]| -> Vec<usize> {
            let touched = index.touched(&batch(2, keys).events);
            let mut ids: Vec<usize> = touched
                .iter()
                .map(|t| inboxes.iter().position(|i| Arc::ptr_eq(i, t)).unwrap())
                .collect();
            ids.sort_unstable();
            ids
        };
        assert_eq!(ids(&index, &["a"]), [0, 1]);
        assert_eq!(ids(&index, &["a", "a", "b"]), [0, 1, 2]);
        assert_eq!(ids(&index, &["c"]), [2]);
        assert_eq!(ids(&index, &["z"]), [2, 3]);
        assert!(ids(&index, &["0"]).is_empty());
        index.remove(1, &range("a", b"c"));
        index.remove(0, &range("a", b""));
        assert!(!index.keys.contains_key(b"a".as_slice()));
        assert!(ids(&index, &["a"]).is_empty());
    }

    #[test]
    fn overflow_reports_the_lag_before_later_batches() {
        let inbox = Inbox::default();
        for rev in 0..=INBOX_BATCHES as i64 {
            inbox.push(&batch(rev, &["a"]));
        }
        assert_eq!(
            inbox.try_recv().unwrap_err(),
            TryRecvError::Lagged(INBOX_BATCHES as u64)
        );
        assert_eq!(inbox.try_recv().unwrap().revision, INBOX_BATCHES as i64);
        assert_eq!(inbox.try_recv().unwrap_err(), TryRecvError::Empty);
        inbox.close();
        assert_eq!(inbox.try_recv().unwrap_err(), TryRecvError::Closed);
    }
}
