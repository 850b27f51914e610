//! Wing & Gong's search for a linearization of one key's history, with Lowe's
//! memoization of (set of linearized operations, model state), as in Porcupine.
//!
//! The history becomes a doubly linked list of call and return events in time order
//! (calls before returns at equal times, so touching intervals count as concurrent; unknown
//! operations return at infinity, after everything). The search walks the list from the
//! front: at a call it tries to linearize that operation next; if the model accepts it and
//! the resulting (linearized set, state) pair is new, the operation's two events are
//! unlinked ("lifted") and the walk restarts at the front. Reaching a return event means
//! that operation's call was not linearized in time: pop the last choice, relink its
//! events and try the call after it. Done when every operation with a known outcome is
//! linearized; impossible when the first return is reached with nothing to pop.

use std::collections::HashSet;
use std::time::Instant;

use crate::model::{KeyOp, State, ABSENT};

/// How often (in search steps) the deadline is looked at.
const DEADLINE_CHECK_INTERVAL: u64 = 1024;

/// The result of searching one key's history.
pub(crate) enum Search {
    Linearizable,
    /// No linearization exists; `longest` is the longest linearizable prefix the search
    /// found, as indices into the key's operations in linearization order.
    Violation {
        longest: Vec<usize>,
    },
    TimedOut,
}

const NIL: usize = usize::MAX;
const HEAD: usize = 0;

#[derive(Clone, Copy)]
enum Event {
    Head,
    Call { op: usize, ret_node: usize },
    Return,
}

/// Call and return events in time order, as a dancing-links list (node 0 is the head).
struct EventList {
    event: Vec<Event>,
    prev: Vec<usize>,
    next: Vec<usize>,
}

impl EventList {
    fn new(ops: &[KeyOp]) -> Self {
        // (is at infinity, time, is a return, op)
        let mut order: Vec<(bool, u128, bool, usize)> = Vec::with_capacity(2 * ops.len());
        for (i, op) in ops.iter().enumerate() {
            order.push((false, op.invoke, false, i));
            order.push((op.ret.is_none(), op.ret.unwrap_or(0), true, i));
        }
        order.sort_unstable();
        let mut ret_node = vec![NIL; ops.len()];
        for (position, &(_, _, is_return, op)) in order.iter().enumerate() {
            if is_return {
                ret_node[op] = position + 1;
            }
        }
        let mut event = Vec::with_capacity(order.len() + 1);
        event.push(Event::Head);
        event.extend(order.iter().map(|&(_, _, is_return, op)| {
            if is_return {
                Event::Return
            } else {
                Event::Call {
                    op,
                    ret_node: ret_node[op],
                }
            }
        }));
        let len = event.len();
        let prev = (0..len).map(|i| i.checked_sub(1).unwrap_or(NIL)).collect();
        let next = (0..len)
            .map(|i| if i + 1 < len { i + 1 } else { NIL })
            .collect();
        EventList { event, prev, next }
    }

    fn unlink(&mut self, node: usize) {
        let (prev, next) = (self.prev[node], self.next[node]);
        self.next[prev] = next;
        if next != NIL {
            self.prev[next] = prev;
        }
    }

    fn relink(&mut self, node: usize) {
        let (prev, next) = (self.prev[node], self.next[node]);
        self.next[prev] = node;
        if next != NIL {
            self.prev[next] = node;
        }
    }

    /// Removes a call and its return; undone by [`EventList::unlift`] in LIFO order.
    fn lift(&mut self, call: usize, ret: usize) {
        self.unlink(call);
        self.unlink(ret);
    }

    fn unlift(&mut self, call: usize, ret: usize) {
        self.relink(ret);
        self.relink(call);
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Bitset(Vec<u64>);

impl Bitset {
    fn new(len: usize) -> Self {
        Bitset(vec![0; len.div_ceil(64)])
    }

    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

/// One choice on the search stack: the call node linearized and the state before it.
struct Choice {
    call: usize,
    op: usize,
    ret_node: usize,
    state_before: State,
}

/// Searches for a linearization of `ops` (one key, initially absent), giving up with
/// [`Search::TimedOut`] once `deadline` has passed.
pub(crate) fn search(ops: &[KeyOp], deadline: Option<Instant>) -> Search {
    let mut remaining_known = ops.iter().filter(|op| op.ret.is_some()).count();
    if remaining_known == 0 {
        return Search::Linearizable;
    }
    let mut list = EventList::new(ops);
    let mut linearized = Bitset::new(ops.len());
    let mut seen: HashSet<(Bitset, State)> = HashSet::new();
    let mut stack: Vec<Choice> = Vec::new();
    let mut longest: Vec<usize> = Vec::new();
    let mut state = ABSENT;
    let mut entry = list.next[HEAD];
    let mut steps_until_deadline_check = DEADLINE_CHECK_INTERVAL;
    loop {
        steps_until_deadline_check -= 1;
        if steps_until_deadline_check == 0 {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Search::TimedOut;
            }
            steps_until_deadline_check = DEADLINE_CHECK_INTERVAL;
        }
        let event = if entry == NIL {
            Event::Return
        } else {
            list.event[entry]
        };
        match event {
            Event::Call { op, ret_node } => {
                if let Some(next_state) = ops[op].kind.step(state) {
                    linearized.set(op);
                    if seen.insert((linearized.clone(), next_state)) {
                        stack.push(Choice {
                            call: entry,
                            op,
                            ret_node,
                            state_before: state,
                        });
                        state = next_state;
                        list.lift(entry, ret_node);
                        if ops[op].ret.is_some() {
                            remaining_known -= 1;
                            if remaining_known == 0 {
                                return Search::Linearizable;
                            }
                        }
                        if stack.len() > longest.len() {
                            longest = stack.iter().map(|choice| choice.op).collect();
                        }
                        entry = list.next[HEAD];
                        continue;
                    }
                    linearized.clear(op);
                }
                entry = list.next[entry];
            }
            Event::Return | Event::Head => {
                let Some(choice) = stack.pop() else {
                    return Search::Violation { longest };
                };
                linearized.clear(choice.op);
                state = choice.state_before;
                if ops[choice.op].ret.is_some() {
                    remaining_known += 1;
                }
                list.unlift(choice.call, choice.ret_node);
                entry = list.next[choice.call];
            }
        }
    }
}
