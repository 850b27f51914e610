//! The recorded history: operations, their outcomes, and how they print.

use std::fmt;

/// Identifies the client (a connection, task or thread) that issued an operation. The
/// checker uses it only in explanations.
pub type ClientId = u64;

/// A point in time in nanoseconds, from an arbitrary origin shared by the whole history.
pub type Time = u128;

/// A single-key operation against the key-value store.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Set `key` to `value`.
    Put { key: Vec<u8>, value: Vec<u8> },
    /// Read `key`.
    Get { key: Vec<u8> },
    /// Remove `key` (a no-op if it is absent).
    Delete { key: Vec<u8> },
    /// Compare-and-set: if the current value equals `expected` (`None`: the key is absent,
    /// i.e. create-if-absent), set it to `new`. An etcd Txn comparing one key's value (or
    /// its create revision with 0) with a Put in its success branch.
    Cas {
        key: Vec<u8>,
        expected: Option<Vec<u8>>,
        new: Vec<u8>,
    },
}

impl Op {
    /// `Put { key, value }`.
    pub fn put(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        Op::Put {
            key: key.into(),
            value: value.into(),
        }
    }

    /// `Get { key }`.
    pub fn get(key: impl Into<Vec<u8>>) -> Self {
        Op::Get { key: key.into() }
    }

    /// `Delete { key }`.
    pub fn delete(key: impl Into<Vec<u8>>) -> Self {
        Op::Delete { key: key.into() }
    }

    /// `Cas { key, expected: Some(expected), new }`.
    pub fn cas(
        key: impl Into<Vec<u8>>,
        expected: impl Into<Vec<u8>>,
        new: impl Into<Vec<u8>>,
    ) -> Self {
        Op::Cas {
            key: key.into(),
            expected: Some(expected.into()),
            new: new.into(),
        }
    }

    /// Create-if-absent: `Cas { key, expected: None, new: value }`.
    pub fn create(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        Op::Cas {
            key: key.into(),
            expected: None,
            new: value.into(),
        }
    }

    /// The key the operation touches.
    pub fn key(&self) -> &[u8] {
        match self {
            Op::Put { key, .. } | Op::Get { key } | Op::Delete { key } | Op::Cas { key, .. } => key,
        }
    }
}

/// What the store answered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Response {
    /// A Put, or a Delete whose deleted count was not recorded.
    Ok,
    /// A Delete with the number of keys it deleted (0 or 1 for a single key).
    Deleted(u64),
    /// A Get: the value observed (`None`: the key was absent).
    Value(Option<Vec<u8>>),
    /// A Cas: whether the comparison held and the new value was written.
    Cas(bool),
}

impl Response {
    /// `Value(Some(value))`.
    pub fn value(value: impl Into<Vec<u8>>) -> Self {
        Response::Value(Some(value.into()))
    }

    /// `Value(None)`: the key was absent.
    pub fn absent() -> Self {
        Response::Value(None)
    }
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The store answered.
    Ok(Response),
    /// No answer (timeout, connection lost): the operation may or may not have taken
    /// effect, at any time after its invocation.
    Unknown,
}

/// One operation of a history, as a client saw it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Operation {
    /// The client that issued it.
    pub client: ClientId,
    /// What was asked.
    pub op: Op,
    /// When the request was issued (before it was sent).
    pub invoke_time: Time,
    /// When the response arrived (after it was received). For an [`Outcome::Unknown`]
    /// operation, when the client gave up: the checker treats it as infinity.
    pub return_time: Time,
    /// What the store answered, if anything.
    pub outcome: Outcome,
}

impl Operation {
    /// The return time the checker uses: `None` (infinity) for an unknown outcome.
    pub fn effective_return_time(&self) -> Option<Time> {
        match self.outcome {
            Outcome::Ok(_) => Some(self.return_time),
            Outcome::Unknown => None,
        }
    }
}

/// What the sequential specification answers to `op` when the key holds `value`, in the
/// shape `recorded` was given (a Delete answers `Deleted(n)` only if that is what was
/// recorded).
pub(crate) fn expected_response(op: &Op, value: Option<&[u8]>, recorded: &Response) -> Response {
    match op {
        Op::Put { .. } => Response::Ok,
        Op::Get { .. } => Response::Value(value.map(<[u8]>::to_vec)),
        Op::Delete { .. } => match recorded {
            Response::Deleted(_) => Response::Deleted(u64::from(value.is_some())),
            _ => Response::Ok,
        },
        Op::Cas { expected, .. } => Response::Cas(value == expected.as_deref()),
    }
}

/// Prints bytes as a quoted string when they are printable UTF-8, as hex otherwise.
pub(crate) struct ShowBytes<'a>(pub &'a [u8]);

impl fmt::Display for ShowBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(self.0) {
            Ok(s) if !s.chars().any(char::is_control) => write!(f, "{s:?}"),
            _ => {
                f.write_str("0x")?;
                self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
    }
}

/// Prints a key's value, `<absent>` for `None`.
pub(crate) struct ShowValue<'a>(pub Option<&'a [u8]>);

impl fmt::Display for ShowValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(v) => ShowBytes(v).fmt(f),
            None => f.write_str("<absent>"),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Put { key, value } => write!(f, "put {} = {}", ShowBytes(key), ShowBytes(value)),
            Op::Get { key } => write!(f, "get {}", ShowBytes(key)),
            Op::Delete { key } => write!(f, "delete {}", ShowBytes(key)),
            Op::Cas { key, expected, new } => write!(
                f,
                "cas {}: {} -> {}",
                ShowBytes(key),
                ShowValue(expected.as_deref()),
                ShowBytes(new)
            ),
        }
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Response::Ok => f.write_str("ok"),
            Response::Deleted(n) => write!(f, "deleted {n}"),
            Response::Value(v) => ShowValue(v.as_deref()).fmt(f),
            Response::Cas(true) => f.write_str("succeeded"),
            Response::Cas(false) => f.write_str("failed"),
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Ok(response) => write!(
                f,
                "client {} [{}, {}] {} -> {}",
                self.client, self.invoke_time, self.return_time, self.op, response
            ),
            Outcome::Unknown => write!(
                f,
                "client {} [{}, ?) {} -> unknown (gave up at {})",
                self.client, self.invoke_time, self.op, self.return_time
            ),
        }
    }
}
