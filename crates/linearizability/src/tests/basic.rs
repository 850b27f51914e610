//! Hand-written histories, each a known linearizable or non-linearizable pattern.

use std::time::{Duration, Instant};

use super::support::{assert_linearizable, assert_violation, done, unknown};
use crate::{check, CheckResult, Op, Operation, Outcome, Response};

fn ok() -> Response {
    Response::Ok
}

fn val(v: &str) -> Response {
    Response::value(v)
}

#[test]
fn empty_history_is_linearizable() {
    assert_linearizable(&[]);
}

#[test]
fn sequential_history_of_every_operation() {
    assert_linearizable(&[
        done(1, 0, 10, Op::get("x"), Response::absent()),
        done(1, 20, 30, Op::create("x", "a"), Response::Cas(true)),
        done(1, 40, 50, Op::create("x", "b"), Response::Cas(false)),
        done(1, 60, 70, Op::cas("x", "a", "b"), Response::Cas(true)),
        done(1, 80, 90, Op::cas("x", "a", "c"), Response::Cas(false)),
        done(1, 100, 110, Op::get("x"), val("b")),
        done(1, 120, 130, Op::delete("x"), Response::Deleted(1)),
        done(1, 140, 150, Op::delete("x"), Response::Deleted(0)),
        done(1, 160, 170, Op::get("x"), Response::absent()),
        done(1, 180, 190, Op::put("x", "d"), ok()),
        done(1, 200, 210, Op::delete("x"), ok()),
        done(1, 220, 230, Op::put("x", "e"), ok()),
        done(1, 240, 250, Op::get("x"), val("e")),
    ]);
}

#[test]
fn sequential_history_with_wrong_answers() {
    let base = vec![
        done(1, 0, 10, Op::put("x", "a"), ok()),
        done(1, 20, 30, Op::put("x", "b"), ok()),
    ];
    let wrong = [
        done(1, 40, 50, Op::get("x"), val("a")),
        done(1, 40, 50, Op::cas("x", "a", "c"), Response::Cas(true)),
        done(1, 40, 50, Op::cas("x", "b", "c"), Response::Cas(false)),
        done(1, 40, 50, Op::create("x", "c"), Response::Cas(true)),
        done(1, 40, 50, Op::delete("x"), Response::Deleted(0)),
        done(1, 40, 50, Op::delete("x"), Response::Deleted(2)),
    ];
    for bad in wrong {
        let mut history = base.clone();
        history.push(bad);
        assert_violation(&history, "x");
    }
    // The same operations with the right answers are fine.
    let mut history = base;
    history.push(done(1, 40, 50, Op::get("x"), val("b")));
    assert_linearizable(&history);
}

#[test]
fn concurrent_puts_may_be_read_in_either_order() {
    let puts = vec![
        done(1, 0, 100, Op::put("x", "a"), ok()),
        done(2, 50, 150, Op::put("x", "b"), ok()),
    ];
    for (first, second) in [("a", "b"), ("b", "a")] {
        let mut history = puts.clone();
        history.push(done(3, 10, 120, Op::get("x"), val(first)));
        history.push(done(3, 200, 210, Op::get("x"), val(second)));
        assert_linearizable(&history);
    }
    // But once the order is observed it cannot flip back.
    let mut history = puts;
    history.push(done(3, 200, 210, Op::get("x"), val("a")));
    history.push(done(4, 220, 230, Op::get("x"), val("b")));
    history.push(done(3, 240, 250, Op::get("x"), val("a")));
    assert_violation(&history, "x");
}

#[test]
fn read_concurrent_with_a_put_may_see_either_value() {
    for seen in [Response::absent(), val("a")] {
        assert_linearizable(&[
            done(1, 0, 100, Op::put("x", "a"), ok()),
            done(2, 50, 60, Op::get("x"), seen),
        ]);
    }
    // Touching intervals count as concurrent.
    assert_linearizable(&[
        done(1, 0, 50, Op::put("x", "a"), ok()),
        done(2, 50, 60, Op::get("x"), Response::absent()),
    ]);
}

#[test]
fn stale_read_after_a_completed_put_is_detected() {
    let history = [
        done(1, 0, 10, Op::put("x", "1"), ok()),
        done(1, 20, 30, Op::put("x", "2"), ok()),
        done(2, 40, 50, Op::get("x"), val("1")),
    ];
    let explanation = assert_violation(&history, "x");
    assert!(
        explanation.contains("#2 client 2 [40, 50] get \"x\" -> \"1\""),
        "{explanation}"
    );
    assert!(
        explanation.contains("with value \"2\" it would answer \"2\""),
        "{explanation}"
    );
    assert!(explanation.contains("(2 operations;"), "{explanation}");
}

#[test]
fn read_of_a_value_never_written_is_detected() {
    assert_violation(&[done(1, 0, 10, Op::get("x"), val("ghost"))], "x");
    assert_violation(
        &[
            done(1, 0, 100, Op::put("x", "a"), ok()),
            done(2, 10, 90, Op::get("x"), val("b")),
        ],
        "x",
    );
}

#[test]
fn lost_write_is_detected() {
    // Client 1's put of "b" was acknowledged, yet every later read sees "a".
    assert_violation(
        &[
            done(1, 0, 10, Op::put("x", "a"), ok()),
            done(1, 20, 30, Op::put("x", "b"), ok()),
            done(2, 40, 50, Op::get("x"), val("a")),
            done(3, 60, 70, Op::get("x"), val("a")),
        ],
        "x",
    );
    // A put that was acknowledged, then reads see the key absent.
    assert_violation(
        &[
            done(1, 0, 10, Op::put("x", "a"), ok()),
            done(2, 20, 30, Op::get("x"), Response::absent()),
        ],
        "x",
    );
}

#[test]
fn lost_delete_is_detected() {
    assert_violation(
        &[
            done(1, 0, 10, Op::put("x", "a"), ok()),
            done(1, 20, 30, Op::delete("x"), ok()),
            done(2, 40, 50, Op::get("x"), val("a")),
        ],
        "x",
    );
}

#[test]
fn two_cas_from_the_same_value_cannot_both_succeed() {
    let setup = done(1, 0, 10, Op::put("x", "0"), ok());
    let both = [
        setup.clone(),
        done(2, 20, 40, Op::cas("x", "0", "1"), Response::Cas(true)),
        done(3, 25, 45, Op::cas("x", "0", "2"), Response::Cas(true)),
    ];
    assert_violation(&both, "x");
    let one = [
        setup,
        done(2, 20, 40, Op::cas("x", "0", "1"), Response::Cas(true)),
        done(3, 25, 45, Op::cas("x", "0", "2"), Response::Cas(false)),
        done(4, 50, 60, Op::get("x"), val("1")),
    ];
    assert_linearizable(&one);
    // Create-if-absent likewise.
    assert_violation(
        &[
            done(2, 20, 40, Op::create("x", "1"), Response::Cas(true)),
            done(3, 25, 45, Op::create("x", "2"), Response::Cas(true)),
        ],
        "x",
    );
}

#[test]
fn unknown_put_seen_later_or_never_is_fine() {
    let seen = [
        unknown(1, 0, Op::put("x", "a")),
        done(2, 5_000, 5_010, Op::get("x"), val("a")),
    ];
    assert_linearizable(&seen);
    let never = [
        unknown(1, 0, Op::put("x", "a")),
        done(2, 5_000, 5_010, Op::get("x"), Response::absent()),
        done(2, 6_000, 6_010, Op::get("x"), Response::absent()),
    ];
    assert_linearizable(&never);
    // Unseen at first, seen much later.
    let late = [
        unknown(1, 0, Op::put("x", "a")),
        done(2, 5_000, 5_010, Op::get("x"), Response::absent()),
        done(2, 9_000, 9_010, Op::get("x"), val("a")),
    ];
    assert_linearizable(&late);
}

#[test]
fn unknown_put_seen_then_unseen_is_detected() {
    let history = [
        unknown(1, 0, Op::put("x", "a")),
        done(2, 5_000, 5_010, Op::get("x"), val("a")),
        done(2, 6_000, 6_010, Op::get("x"), Response::absent()),
    ];
    assert_violation(&history, "x");
}

#[test]
fn unknown_put_cannot_take_effect_before_its_invocation() {
    assert_violation(
        &[
            done(2, 0, 10, Op::get("x"), val("a")),
            unknown(1, 20, Op::put("x", "a")),
        ],
        "x",
    );
}

#[test]
fn unknown_cas_and_delete() {
    // An unknown Cas may have succeeded...
    assert_linearizable(&[
        done(1, 0, 10, Op::put("x", "a"), ok()),
        unknown(2, 20, Op::cas("x", "a", "b")),
        done(3, 100, 110, Op::get("x"), val("b")),
    ]);
    // ...but only if its comparison held when it took effect.
    assert_violation(
        &[
            done(1, 0, 10, Op::put("x", "a"), ok()),
            unknown(2, 20, Op::cas("x", "z", "b")),
            done(3, 100, 110, Op::get("x"), val("b")),
        ],
        "x",
    );
    // An unknown delete may or may not have happened.
    for seen in [Response::absent(), val("a")] {
        assert_linearizable(&[
            done(1, 0, 10, Op::put("x", "a"), ok()),
            unknown(2, 20, Op::delete("x")),
            done(3, 100, 110, Op::get("x"), seen),
        ]);
    }
}

#[test]
fn unknown_get_constrains_nothing() {
    assert_linearizable(&[
        done(1, 0, 10, Op::put("x", "a"), ok()),
        unknown(2, 20, Op::get("x")),
    ]);
}

#[test]
fn many_keys_are_checked_independently() {
    let mut history: Vec<Operation> = Vec::new();
    for k in 0..50u64 {
        let key = format!("key{k:02}");
        let t = u128::from(k) * 1_000;
        history.push(done(k, t, t + 100, Op::put(key.clone(), "a"), ok()));
        history.push(done(
            k + 1,
            t + 50,
            t + 300,
            Op::put(key.clone(), "b"),
            ok(),
        ));
        history.push(done(k, t + 400, t + 500, Op::get(key.clone()), val("b")));
    }
    assert_linearizable(&history);
    // Operations on other keys do not excuse a stale read on one.
    history.push(done(7, 60_000, 60_100, Op::get("key17"), val("a")));
    assert_violation(&history, "key17");
}

#[test]
fn malformed_histories_are_rejected() {
    let mismatched = [done(1, 0, 10, Op::put("x", "a"), Response::Cas(true))];
    assert!(matches!(
        check(&mismatched, Duration::from_secs(1)),
        CheckResult::InvalidHistory { .. }
    ));
    let backwards = [done(1, 10, 5, Op::get("x"), Response::absent())];
    match check(&backwards, Duration::from_secs(1)) {
        CheckResult::InvalidHistory { reason } => {
            assert!(
                reason.contains("returned before it was invoked"),
                "{reason}"
            )
        }
        other => panic!("expected an invalid history, got {other}"),
    }
}

/// Many fully concurrent puts followed by a read of a value never written: the search has
/// to rule out every subset, which takes far longer than the budget.
fn hard_key(key: &str) -> Vec<Operation> {
    let mut history: Vec<Operation> = (0..60)
        .map(|i| done(i, 0, 1_000, Op::put(key, format!("v{i}")), ok()))
        .collect();
    history.push(done(99, 2_000, 2_100, Op::get(key), val("never")));
    history
}

#[test]
fn exhausted_budget_gives_unknown() {
    let started = Instant::now();
    let result = check(&hard_key("a"), Duration::from_millis(100));
    assert_eq!(result, CheckResult::Unknown);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn violation_on_another_key_beats_an_exhausted_budget() {
    let mut history = hard_key("a");
    history.push(done(1, 0, 10, Op::put("b", "1"), ok()));
    history.push(done(2, 20, 30, Op::get("b"), Response::absent()));
    assert_violation_with_budget(&history, "b", Duration::from_millis(100));
}

fn assert_violation_with_budget(history: &[Operation], key: &str, budget: Duration) {
    match check(history, budget) {
        CheckResult::NotLinearizable { key: bad, .. } => assert_eq!(bad, key.as_bytes()),
        other => panic!("expected a violation on {key:?}, got {other}"),
    }
}

#[test]
fn binary_keys_and_values_print_as_hex() {
    let history = [done(
        1,
        0,
        10,
        Op::Get { key: vec![0, 1] },
        Response::Value(Some(vec![0xff])),
    )];
    match check(&history, Duration::from_secs(1)) {
        CheckResult::NotLinearizable { key, explanation } => {
            assert_eq!(key, vec![0, 1]);
            assert!(explanation.contains("get 0x0001 -> 0xff"), "{explanation}");
        }
        other => panic!("expected a violation, got {other}"),
    }
}

#[test]
fn unknown_outcome_prints_as_such() {
    let op = Operation {
        client: 3,
        op: Op::put("x", "a"),
        invoke_time: 5,
        return_time: 9,
        outcome: Outcome::Unknown,
    };
    assert_eq!(
        op.to_string(),
        "client 3 [5, ?) put \"x\" = \"a\" -> unknown (gave up at 9)"
    );
}
