//! A thread-safe history recorder for tests.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use crate::history::{ClientId, Op, Operation, Outcome, Time};

/// Distinguishes recorders, so an [`OpId`] cannot complete another history's operation.
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(0);

/// Records operations as clients invoke and complete them. Share it between threads or
/// tasks (e.g. in an `Arc`); times are nanoseconds since [`History::new`].
pub struct History {
    serial: u64,
    origin: Instant,
    entries: Mutex<Vec<Entry>>,
}

struct Entry {
    client: ClientId,
    op: Op,
    invoke_time: Time,
    completion: Option<(Time, Outcome)>,
}

/// A recorded invocation, to be passed to [`History::complete`] once. Dropping it leaves
/// the operation's outcome unknown.
#[derive(Debug)]
pub struct OpId {
    serial: u64,
    index: usize,
}

impl OpId {
    /// The operation's position in [`History::finish`]'s result.
    pub fn index(&self) -> usize {
        self.index
    }
}

/// Misuse of a [`History`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// The [`OpId`] was issued by another `History`.
    ForeignOpId,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::ForeignOpId => f.write_str("operation id belongs to another history"),
        }
    }
}

impl std::error::Error for RecordError {}

impl History {
    /// An empty history whose clock starts now.
    pub fn new() -> Self {
        History {
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
            origin: Instant::now(),
            entries: Mutex::new(Vec::new()),
        }
    }

    /// Records that `client` is about to issue `op`. Call it before sending the request.
    #[must_use = "pass the OpId to History::complete when the response arrives"]
    pub fn invoke(&self, client: ClientId, op: Op) -> OpId {
        let mut entries = self.lock();
        let invoke_time = self.now();
        entries.push(Entry {
            client,
            op,
            invoke_time,
            completion: None,
        });
        OpId {
            serial: self.serial,
            index: entries.len() - 1,
        }
    }

    /// Records the outcome of an invoked operation. Call it after the response arrived, or
    /// with [`Outcome::Unknown`] when the client gave up (timeout, connection lost).
    pub fn complete(&self, id: OpId, outcome: Outcome) -> Result<(), RecordError> {
        if id.serial != self.serial {
            return Err(RecordError::ForeignOpId);
        }
        let mut entries = self.lock();
        let return_time = self.now();
        let entry = entries.get_mut(id.index).ok_or(RecordError::ForeignOpId)?;
        entry.completion = Some((return_time, outcome));
        Ok(())
    }

    /// The history so far, in invocation order. Operations not completed yet are
    /// [`Outcome::Unknown`] with the current time as their return time.
    pub fn finish(&self) -> Vec<Operation> {
        let entries = self.lock();
        let now = self.now();
        entries
            .iter()
            .map(|entry| {
                let (return_time, outcome) =
                    entry.completion.clone().unwrap_or((now, Outcome::Unknown));
                Operation {
                    client: entry.client,
                    op: entry.op.clone(),
                    invoke_time: entry.invoke_time,
                    return_time,
                    outcome,
                }
            })
            .collect()
    }

    fn now(&self) -> Time {
        self.origin.elapsed().as_nanos()
    }

    /// The entries; a panic elsewhere while holding the lock leaves them usable.
    fn lock(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for History {
    fn default() -> Self {
        Self::new()
    }
}
