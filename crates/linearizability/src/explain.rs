//! Human-readable account of a violation: the longest linearizable prefix found, and the
//! operation that could not be placed after it.

use crate::history::{expected_response, Operation, Outcome, ShowBytes, ShowValue};
use crate::model::{KeyHistory, State, ABSENT};

/// At most this many prefix operations (the last ones) are listed.
const MAX_PREFIX_LINES: usize = 20;
/// At most this many alternative next operations are listed.
const MAX_CANDIDATE_LINES: usize = 20;

/// Explains why `key` has no linearization, given the longest prefix the search found
/// (indices into `key.ops`, in linearization order).
pub(crate) fn explain(history: &[Operation], key: &KeyHistory<'_>, longest: &[usize]) -> String {
    let known = key.ops.iter().filter(|op| op.ret.is_some()).count();
    let mut lines = vec![format!(
        "no linearization exists for the {} operations on key {} ({known} with a known outcome)",
        key.ops.len(),
        ShowBytes(key.key)
    )];

    lines.push(format!(
        "longest linearizable prefix found ({} operations; value after each in brackets):",
        longest.len()
    ));
    let omitted = longest.len().saturating_sub(MAX_PREFIX_LINES);
    if omitted > 0 {
        lines.push(format!("  ... {omitted} earlier operations omitted"));
    }
    let mut state = ABSENT;
    for (position, &local) in longest.iter().enumerate() {
        let op = key.ops[local];
        state = op.kind.step(state).unwrap_or(state);
        if position >= omitted {
            lines.push(format!(
                "  #{} {}  [{}]",
                op.index,
                history[op.index],
                ShowValue(key.value(state))
            ));
        }
    }
    lines.push(format!(
        "value after the prefix: {}",
        ShowValue(key.value(state))
    ));

    let mut placed = vec![false; key.ops.len()];
    for &local in longest {
        placed[local] = true;
    }
    let remaining: Vec<usize> = (0..key.ops.len()).filter(|&i| !placed[i]).collect();
    let blocking = remaining
        .iter()
        .filter_map(|&i| key.ops[i].ret.map(|ret| (ret, i)))
        .min();
    if let Some((deadline, blocking)) = blocking {
        lines.push(format!(
            "operation that could not be placed (it must take effect by its return time {deadline}):"
        ));
        lines.push(describe(history, key, blocking, state));
        let others: Vec<usize> = remaining
            .iter()
            .copied()
            .filter(|&i| i != blocking && key.ops[i].invoke <= deadline)
            .collect();
        if !others.is_empty() {
            lines.push("other operations that could take effect before it:".to_string());
            lines.extend(
                others
                    .iter()
                    .take(MAX_CANDIDATE_LINES)
                    .map(|&i| describe(history, key, i, state)),
            );
            if others.len() > MAX_CANDIDATE_LINES {
                lines.push(format!("  ... {} more", others.len() - MAX_CANDIDATE_LINES));
            }
        }
    }
    lines.join("\n")
}

/// One operation and why it cannot come next in `state`.
fn describe(history: &[Operation], key: &KeyHistory<'_>, local: usize, state: State) -> String {
    let op = key.ops[local];
    let operation = &history[op.index];
    let verdict = match (op.kind.step(state), &operation.outcome) {
        (None, Outcome::Ok(recorded)) => format!(
            "impossible here: with value {} it would answer {}",
            ShowValue(key.value(state)),
            expected_response(&operation.op, key.value(state), recorded)
        ),
        (None, Outcome::Unknown) => "impossible here".to_string(),
        (Some(next), _) => format!(
            "possible here (value becomes {}), but no complete linearization follows",
            ShowValue(key.value(next))
        ),
    };
    format!("  #{} {}\n      {verdict}", op.index, operation)
}
