//! Test helpers: history builders, a seeded PRNG, a generator of linearizable histories
//! from a real sequential execution, and a brute-force linearizability oracle.

use std::collections::HashMap;
use std::time::Duration;

use crate::{check, CheckResult, ClientId, Op, Operation, Outcome, Response, Time};

pub(super) const BUDGET: Duration = Duration::from_secs(60);

/// An operation that completed with `response`.
pub(super) fn done(
    client: ClientId,
    invoke_time: Time,
    return_time: Time,
    op: Op,
    response: Response,
) -> Operation {
    Operation {
        client,
        op,
        invoke_time,
        return_time,
        outcome: Outcome::Ok(response),
    }
}

/// An operation whose client gave up without an answer.
pub(super) fn unknown(client: ClientId, invoke_time: Time, op: Op) -> Operation {
    Operation {
        client,
        op,
        invoke_time,
        return_time: invoke_time + 1_000,
        outcome: Outcome::Unknown,
    }
}

pub(super) fn assert_linearizable(history: &[Operation]) {
    let result = check(history, BUDGET);
    assert_eq!(result, CheckResult::Linearizable, "{result}");
}

/// Asserts a violation on `key` and returns the explanation.
pub(super) fn assert_violation(history: &[Operation], key: &str) -> String {
    match check(history, BUDGET) {
        CheckResult::NotLinearizable {
            key: bad,
            explanation,
        } => {
            assert_eq!(bad, key.as_bytes(), "{explanation}");
            explanation
        }
        other => panic!("expected a violation on {key:?}, got {other}"),
    }
}

/// SplitMix64: small, seeded, good enough for test data.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub(super) fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    pub(super) fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

pub(super) type Store = HashMap<Vec<u8>, Vec<u8>>;

/// The sequential specification, written independently of the checker's model: applies
/// `op` and returns its answer (a Delete answers with its count).
pub(super) fn apply(store: &mut Store, op: &Op) -> Response {
    match op {
        Op::Put { key, value } => {
            store.insert(key.clone(), value.clone());
            Response::Ok
        }
        Op::Get { key } => Response::Value(store.get(key).cloned()),
        Op::Delete { key } => Response::Deleted(u64::from(store.remove(key).is_some())),
        Op::Cas { key, expected, new } => {
            let holds = store.get(key) == expected.as_ref();
            if holds {
                store.insert(key.clone(), new.clone());
            }
            Response::Cas(holds)
        }
    }
}

/// Whether a recorded answer is the one the specification gave.
fn fits(recorded: &Response, actual: &Response) -> bool {
    matches!((recorded, actual), (Response::Ok, Response::Deleted(_))) || recorded == actual
}

/// Shape of a generated history.
#[derive(Clone, Copy)]
pub(super) struct GenConfig {
    pub(super) ops: usize,
    pub(super) keys: u64,
    pub(super) clients: usize,
    /// Maximum distance of invoke and return times from the linearization point.
    pub(super) window: u64,
    /// Percentage of operations that take effect but whose client gets no answer.
    pub(super) unknown_percent: u64,
    /// Percentage of operations that are puts which never take effect, with no answer.
    pub(super) phantom_percent: u64,
}

/// A history produced by a real sequential execution: each operation takes effect at a
/// linearization point inside its random interval; each client has one operation in
/// flight at a time. Every written value is unique ("v0", "v1", ...), so it is linearizable
/// by construction.
pub(super) fn generate(rng: &mut Rng, config: GenConfig) -> Vec<Operation> {
    let mut store = Store::new();
    let mut free: Vec<Time> = vec![0; config.clients];
    let mut next_value = 0u64;
    let mut history = Vec::with_capacity(config.ops);
    let mut point: Time = 0;
    while history.len() < config.ops {
        point += 100;
        let idle: Vec<usize> = (0..config.clients).filter(|&c| free[c] < point).collect();
        if idle.is_empty() {
            continue;
        }
        let client = idle[rng.index(idle.len())];
        let earliest = (free[client] + 1).max(point.saturating_sub(Time::from(config.window)));
        let invoke_time = earliest + Time::from(rng.below((point - earliest) as u64 + 1));
        let return_time = point + Time::from(rng.below(config.window + 1));
        free[client] = return_time;

        let key = format!("k{}", rng.below(config.keys)).into_bytes();
        if rng.percent(config.phantom_percent) {
            history.push(Operation {
                client: client as ClientId,
                op: Op::Put {
                    key,
                    value: fresh(&mut next_value),
                },
                invoke_time,
                return_time,
                outcome: Outcome::Unknown,
            });
            continue;
        }
        let op = match rng.below(100) {
            0..40 => Op::Get { key },
            40..65 => Op::Put {
                key,
                value: fresh(&mut next_value),
            },
            65..75 => Op::Delete { key },
            choice => {
                let expected = match choice {
                    75..88 => store.get(&key).cloned(),
                    88..94 => None,
                    _ => Some(format!("v{}", rng.below(next_value + 1)).into_bytes()),
                };
                Op::Cas {
                    key,
                    expected,
                    new: fresh(&mut next_value),
                }
            }
        };
        let mut response = apply(&mut store, &op);
        if matches!(op, Op::Delete { .. }) && rng.percent(50) {
            response = Response::Ok;
        }
        let outcome = if rng.percent(config.unknown_percent) {
            Outcome::Unknown
        } else {
            Outcome::Ok(response)
        };
        history.push(Operation {
            client: client as ClientId,
            op,
            invoke_time,
            return_time,
            outcome,
        });
    }
    history
}

/// The next unique value: "v0", "v1", ...
fn fresh(next_value: &mut u64) -> Vec<u8> {
    *next_value += 1;
    format!("v{}", *next_value - 1).into_bytes()
}

/// Brute force: tries every order that respects real time, over the whole map, with an
/// explicit "never took effect" choice for unknown operations.
pub(super) fn brute_force_linearizable(history: &[Operation]) -> bool {
    fn search(history: &[Operation], placed: &mut [bool], store: &Store) -> bool {
        let finished = history
            .iter()
            .zip(placed.iter())
            .all(|(op, &p)| p || op.outcome == Outcome::Unknown);
        if finished {
            return true;
        }
        for i in 0..history.len() {
            if placed[i] {
                continue;
            }
            let must_wait = (0..history.len()).any(|j| {
                !placed[j]
                    && history[j]
                        .effective_return_time()
                        .is_some_and(|ret| ret < history[i].invoke_time)
            });
            if must_wait {
                continue;
            }
            placed[i] = true;
            let mut next = store.clone();
            let actual = apply(&mut next, &history[i].op);
            let ok = match &history[i].outcome {
                Outcome::Ok(recorded) => fits(recorded, &actual),
                Outcome::Unknown => true,
            };
            if ok && search(history, placed, &next) {
                return true;
            }
            if history[i].outcome == Outcome::Unknown && search(history, placed, store) {
                return true;
            }
            placed[i] = false;
        }
        false
    }
    search(history, &mut vec![false; history.len()], &Store::new())
}
