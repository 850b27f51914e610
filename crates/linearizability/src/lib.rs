//! Checks that a concurrent client history against a key-value store is linearizable.
//!
//! Cluster tests run clients doing puts, gets, deletes and compare-and-sets while they kill
//! leaders and partition members, record every operation with [`History`], then call
//! [`check`]. Linearizable means: there is one total order of the operations that respects
//! real time (if A returned before B was invoked, A comes first) in which every operation
//! answers what a single sequential map would have answered.
//!
//! # Model
//! The store is a map from key (bytes) to an optional value (bytes); every key starts
//! absent. Every [`Op`] touches exactly one key:
//!
//! | operation | effect | answer ([`Response`]) |
//! |---|---|---|
//! | `Put { key, value }` | key := value | `Ok` |
//! | `Get { key }` | none | `Value(current)` |
//! | `Delete { key }` | key := absent | `Ok`, or `Deleted(1 if it existed else 0)` |
//! | `Cas { key, expected, new }` | if current == expected: key := new | `Cas(current == expected)` |
//!
//! `Cas` with `expected: None` is create-if-absent. Multi-key transactions are out of scope.
//!
//! Each [`Operation`] has a client id, an invoke time, a return time and an [`Outcome`]:
//! `Ok(response)`, or `Unknown` when the client got no answer (timeout, lost connection).
//! An unknown operation may have taken effect at any time after its invocation, or never:
//! its return time is infinity. An unknown `Get` constrains nothing and is dropped. Times
//! touching (one operation returns at the instant another is invoked) count as concurrent.
//!
//! # Algorithm
//! 1. **Partition by key.** Linearizability is compositional (P-compositionality, Herlihy
//!    & Wing): since every operation touches one key, the history is linearizable iff each
//!    key's sub-history is. This turns one huge search into many small ones.
//! 2. **Per key, Wing & Gong's search with Lowe's memoization**, as in Porcupine and
//!    Knossos: a depth-first search over which pending operation takes effect next, pruned
//!    by remembering every (set of linearized operations, model state) pair already
//!    explored, because the future of the search depends on nothing else. Values are
//!    interned to integers, so a state is one `u32`. An unknown operation returns at
//!    infinity; the search succeeds as soon as every operation with a known outcome is
//!    placed (unknown ones can always go last, where nothing observes them).
//! 3. On failure, the search reports the longest linearizable prefix it found; the
//!    explanation lists it, the value after it, and the operation that could not be placed
//!    (the pending one with the earliest return time) with what the model would have
//!    answered instead.
//!
//! The problem is NP-complete in general; the search is fast when few operations are
//! concurrent (bounded by the number of clients plus unknown operations). [`check`] takes
//! a time budget and answers [`CheckResult::Unknown`] when it runs out.
//!
//! ```
//! use linearizability::{check, CheckResult, Op, Operation, Outcome, Response};
//! use std::time::Duration;
//!
//! let op = |client, invoke_time, return_time, op, response| Operation {
//!     client, op, invoke_time, return_time, outcome: Outcome::Ok(response),
//! };
//! let history = vec![
//!     op(1, 0, 10, Op::put("x", "1"), Response::Ok),
//!     op(2, 20, 30, Op::get("x"), Response::absent()), // the put had already returned
//! ];
//! let result = check(&history, Duration::from_secs(10));
//! assert!(matches!(result, CheckResult::NotLinearizable { .. }), "{result}");
//! ```

mod explain;
mod history;
mod model;
mod recorder;
mod search;

#[cfg(test)]
mod tests;

use std::fmt;
use std::time::{Duration, Instant};

pub use history::{ClientId, Op, Operation, Outcome, Response, Time};
pub use recorder::{History, OpId, RecordError};

use history::ShowBytes;
use search::Search;

/// The verdict of [`check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckResult {
    /// Every key's history has a linearization.
    Linearizable,
    /// The history of `key` has none; `explanation` says where the search got stuck.
    NotLinearizable { key: Vec<u8>, explanation: String },
    /// The budget ran out before a verdict, and no other key was found non-linearizable.
    Unknown,
    /// The history is malformed (a response that does not fit its operation, a return
    /// before the invocation): a bug in the test, not in the store.
    InvalidHistory { reason: String },
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckResult::Linearizable => f.write_str("linearizable"),
            CheckResult::NotLinearizable { key, explanation } => write!(
                f,
                "not linearizable on key {}:\n{explanation}",
                ShowBytes(key)
            ),
            CheckResult::Unknown => f.write_str("unknown: the time budget ran out"),
            CheckResult::InvalidHistory { reason } => write!(f, "invalid history: {reason}"),
        }
    }
}

/// Checks that `history` is linearizable, spending about `budget` at most.
///
/// Keys are checked one after the other in byte order; a key whose search runs out of time
/// does not stop the others (small ones still finish), and a violation on any key is
/// reported in preference to [`CheckResult::Unknown`].
pub fn check(history: &[Operation], budget: Duration) -> CheckResult {
    let deadline = Instant::now().checked_add(budget);
    let keys = match model::partition(history) {
        Ok(keys) => keys,
        Err(reason) => return CheckResult::InvalidHistory { reason },
    };
    let mut timed_out = false;
    for key in &keys {
        match search::search(&key.ops, deadline) {
            Search::Linearizable => {}
            Search::TimedOut => timed_out = true,
            Search::Violation { longest } => {
                return CheckResult::NotLinearizable {
                    key: key.key.to_vec(),
                    explanation: explain::explain(history, key, &longest),
                }
            }
        }
    }
    if timed_out {
        CheckResult::Unknown
    } else {
        CheckResult::Linearizable
    }
}
