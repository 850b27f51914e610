//! The per-key sequential model: a history split by key, with values interned to small
//! integers so a model state is one `u32`.

use std::collections::{BTreeMap, HashMap};

use crate::history::{Op, Operation, Outcome, Response, Time};

/// An interned value of one key; [`ABSENT`] means the key does not exist.
pub(crate) type State = u32;

/// The state of a key that does not exist (the initial state).
pub(crate) const ABSENT: State = 0;

/// An operation with its recorded outcome folded in, over interned values.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// A put, acknowledged or unknown: always applies.
    Put(State),
    /// A get that observed the given value.
    Get(State),
    /// A delete, acknowledged without a count or unknown: always applies.
    Delete,
    /// A delete that reported how many keys it deleted.
    DeleteCounted(u64),
    /// A compare-and-set; `succeeded` is `None` when the outcome is unknown.
    Cas {
        expected: State,
        new: State,
        succeeded: Option<bool>,
    },
}

impl Kind {
    /// Applies the operation in state `state`: the next state, or `None` if the recorded
    /// outcome is impossible there.
    ///
    /// An unknown Cas is deterministic: linearized where the comparison holds it must
    /// succeed, elsewhere it fails and changes nothing. "It never happened" needs no case of
    /// its own: an unknown operation can always be linearized after every known one.
    pub(crate) fn step(self, state: State) -> Option<State> {
        match self {
            Kind::Put(value) => Some(value),
            Kind::Get(observed) => (observed == state).then_some(state),
            Kind::Delete => Some(ABSENT),
            Kind::DeleteCounted(n) => (n == u64::from(state != ABSENT)).then_some(ABSENT),
            Kind::Cas {
                expected,
                new,
                succeeded,
            } => match succeeded {
                None => Some(if state == expected { new } else { state }),
                Some(true) => (state == expected).then_some(new),
                Some(false) => (state != expected).then_some(state),
            },
        }
    }
}

/// One operation of a key's history.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyOp {
    /// Position of the operation in the full history.
    pub(crate) index: usize,
    pub(crate) kind: Kind,
    pub(crate) invoke: Time,
    /// `None`: unknown outcome, returns at infinity.
    pub(crate) ret: Option<Time>,
}

/// The operations on one key, in history order.
pub(crate) struct KeyHistory<'a> {
    pub(crate) key: &'a [u8],
    pub(crate) ops: Vec<KeyOp>,
    /// `values[s - 1]` is the value interned as state `s`.
    values: Vec<&'a [u8]>,
    ids: HashMap<&'a [u8], State>,
}

impl<'a> KeyHistory<'a> {
    fn new(key: &'a [u8]) -> Self {
        KeyHistory {
            key,
            ops: Vec::new(),
            values: Vec::new(),
            ids: HashMap::new(),
        }
    }

    /// The value a state stands for (`None` for [`ABSENT`]).
    pub(crate) fn value(&self, state: State) -> Option<&'a [u8]> {
        let index = usize::try_from(state.checked_sub(1)?).ok()?;
        self.values.get(index).copied()
    }

    fn intern(&mut self, value: Option<&'a [u8]>) -> Result<State, String> {
        let Some(value) = value else {
            return Ok(ABSENT);
        };
        if let Some(&id) = self.ids.get(value) {
            return Ok(id);
        }
        let id = State::try_from(self.values.len() + 1)
            .map_err(|_| "more than 2^32 distinct values for one key".to_string())?;
        self.values.push(value);
        self.ids.insert(value, id);
        Ok(id)
    }

    /// Folds an operation and its outcome into a [`Kind`]; `Ok(None)` for an operation
    /// that constrains nothing (an unknown Get).
    fn compile(&mut self, operation: &'a Operation) -> Result<Option<Kind>, String> {
        let kind = match (&operation.op, &operation.outcome) {
            (Op::Get { .. }, Outcome::Unknown) => return Ok(None),
            (Op::Get { .. }, Outcome::Ok(Response::Value(v))) => {
                Kind::Get(self.intern(v.as_deref())?)
            }
            (Op::Put { value, .. }, Outcome::Ok(Response::Ok) | Outcome::Unknown) => {
                Kind::Put(self.intern(Some(value))?)
            }
            (Op::Delete { .. }, Outcome::Ok(Response::Ok) | Outcome::Unknown) => Kind::Delete,
            (Op::Delete { .. }, Outcome::Ok(Response::Deleted(n))) => Kind::DeleteCounted(*n),
            (Op::Cas { expected, new, .. }, outcome) => {
                let succeeded = match outcome {
                    Outcome::Ok(Response::Cas(b)) => Some(*b),
                    Outcome::Unknown => None,
                    Outcome::Ok(_) => return Err(mismatch(operation)),
                };
                Kind::Cas {
                    expected: self.intern(expected.as_deref())?,
                    new: self.intern(Some(new))?,
                    succeeded,
                }
            }
            _ => return Err(mismatch(operation)),
        };
        Ok(Some(kind))
    }
}

fn mismatch(operation: &Operation) -> String {
    format!("the response does not fit the operation: {operation}")
}

/// Validates the history and splits it by key (keys in byte order). Unknown Gets are
/// dropped. `Err` describes the first malformed operation.
pub(crate) fn partition(history: &[Operation]) -> Result<Vec<KeyHistory<'_>>, String> {
    let mut keys: BTreeMap<&[u8], KeyHistory<'_>> = BTreeMap::new();
    for (index, operation) in history.iter().enumerate() {
        let ret = operation.effective_return_time();
        if ret.is_some_and(|ret| ret < operation.invoke_time) {
            return Err(format!(
                "operation #{index} returned before it was invoked: {operation}"
            ));
        }
        let key = operation.op.key();
        let key_history = keys.entry(key).or_insert_with(|| KeyHistory::new(key));
        let kind = key_history
            .compile(operation)
            .map_err(|reason| format!("operation #{index}: {reason}"))?;
        if let Some(kind) = kind {
            key_history.ops.push(KeyOp {
                index,
                kind,
                invoke: operation.invoke_time,
                ret,
            });
        }
    }
    Ok(keys.into_values().collect())
}
