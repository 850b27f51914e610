//! Randomized histories from real sequential executions, their corruptions, a
//! differential test against a brute-force oracle, and a performance sanity check.

use std::time::{Duration, Instant};

use super::support::{
    assert_linearizable, assert_violation, brute_force_linearizable, generate, GenConfig, Rng,
    BUDGET,
};
use crate::{check, CheckResult, Op, Operation, Outcome, Response};

const MEDIUM: GenConfig = GenConfig {
    ops: 300,
    keys: 4,
    clients: 5,
    window: 400,
    unknown_percent: 3,
    phantom_percent: 2,
};

fn key_of(operation: &Operation) -> String {
    String::from_utf8_lossy(operation.op.key()).into_owned()
}

fn is_known_get(operation: &Operation) -> bool {
    matches!(operation.op, Op::Get { .. }) && operation.outcome != Outcome::Unknown
}

/// The value a known, effective write stores: a put, or a Cas that succeeded.
fn written_value(operation: &Operation) -> Option<&[u8]> {
    match (&operation.op, &operation.outcome) {
        (Op::Put { value, .. }, Outcome::Ok(_)) => Some(value),
        (Op::Cas { new, .. }, Outcome::Ok(Response::Cas(true))) => Some(new),
        _ => None,
    }
}

/// A known operation that certainly changes the key away from any value written before.
fn overwrites(operation: &Operation) -> bool {
    written_value(operation).is_some()
        || (matches!(operation.op, Op::Delete { .. }) && operation.outcome != Outcome::Unknown)
}

/// Makes the known Get at `get` return a value that was certainly overwritten before the
/// Get was invoked: written by `p` (the only writer of that value), then overwritten by
/// `w` with `p` returned before `w` was invoked and `w` returned before the Get was
/// invoked. Returns false if there is no such value.
fn corrupt_with_stale_value(history: &mut [Operation], get: usize) -> bool {
    let key = history[get].op.key().to_vec();
    let invoked = history[get].invoke_time;
    let same_key = |o: &&Operation| o.op.key() == key.as_slice();
    let Some(overwrite_invoked) = history
        .iter()
        .filter(same_key)
        .filter(|o| overwrites(o) && o.return_time < invoked)
        .map(|o| o.invoke_time)
        .max()
    else {
        return false;
    };
    let observed = match &history[get].outcome {
        Outcome::Ok(Response::Value(v)) => v.clone(),
        _ => return false,
    };
    let stale = history
        .iter()
        .filter(same_key)
        .filter(|o| o.return_time < overwrite_invoked)
        .filter_map(written_value)
        .find(|v| observed.as_deref() != Some(*v))
        .map(<[u8]>::to_vec);
    match stale {
        Some(value) => {
            history[get].outcome = Outcome::Ok(Response::Value(Some(value)));
            true
        }
        None => false,
    }
}

#[test]
fn generated_histories_are_linearizable_and_corruptions_are_detected() {
    let mut stale_corruptions = 0;
    const SEEDS: u64 = 20;
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed);
        let history = generate(&mut rng, MEDIUM);
        assert_linearizable(&history);

        let gets: Vec<usize> = (0..history.len())
            .filter(|&i| is_known_get(&history[i]))
            .collect();
        assert!(!gets.is_empty(), "seed {seed}: no gets generated");

        // A read of a value nobody wrote.
        let mut corrupted = history.clone();
        let get = gets[rng.index(gets.len())];
        corrupted[get].outcome = Outcome::Ok(Response::value("never written"));
        assert_violation(&corrupted, &key_of(&history[get]));

        // A read of a value that was certainly overwritten already (try a few reads).
        for _ in 0..10 {
            let mut corrupted = history.clone();
            let get = gets[rng.index(gets.len())];
            if corrupt_with_stale_value(&mut corrupted, get) {
                assert_violation(&corrupted, &key_of(&history[get]));
                stale_corruptions += 1;
                break;
            }
        }
    }
    assert!(
        stale_corruptions >= SEEDS / 2,
        "only {stale_corruptions} stale-read corruptions generated"
    );
}

/// Changes one answer (or makes it unknown) in a way that may or may not break
/// linearizability.
fn mutate(rng: &mut Rng, history: &mut [Operation]) {
    let i = rng.index(history.len());
    let value = |rng: &mut Rng| match rng.below(5) {
        0 => None,
        n => Some(format!("v{}", n - 1).into_bytes()),
    };
    if rng.percent(15) {
        history[i].outcome = Outcome::Unknown;
        return;
    }
    let response = match &history[i].op {
        Op::Get { .. } => Response::Value(value(rng)),
        Op::Put { .. } => {
            if let Some(v) = value(rng) {
                if let Op::Put { value, .. } = &mut history[i].op {
                    *value = v;
                }
            }
            Response::Ok
        }
        Op::Delete { .. } => Response::Deleted(rng.below(2)),
        Op::Cas { .. } => Response::Cas(rng.percent(50)),
    };
    history[i].outcome = Outcome::Ok(response);
}

#[test]
fn agrees_with_brute_force_on_small_histories() {
    let (mut linearizable, mut violations) = (0, 0);
    for seed in 0..600 {
        let mut rng = Rng::new(1_000 + seed);
        let config = GenConfig {
            ops: 2 + rng.index(6),
            keys: 1 + rng.below(2),
            clients: 1 + rng.index(3),
            window: 250,
            unknown_percent: 15,
            phantom_percent: 10,
        };
        let mut history = generate(&mut rng, config);
        assert!(brute_force_linearizable(&history), "seed {seed}: generator");
        mutate(&mut rng, &mut history);
        let expected = brute_force_linearizable(&history);
        let result = check(&history, BUDGET);
        match (&result, expected) {
            (CheckResult::Linearizable, true) => linearizable += 1,
            (CheckResult::NotLinearizable { .. }, false) => violations += 1,
            _ => panic!(
                "seed {seed}: checker says {result}, brute force says {expected}\n{history:#?}"
            ),
        }
    }
    assert!(
        linearizable >= 100 && violations >= 100,
        "{linearizable} linearizable, {violations} violations: mutations too weak or too strong"
    );
}

#[test]
fn two_thousand_ops_check_quickly() {
    let config = GenConfig {
        ops: 2_000,
        keys: 10,
        clients: 8,
        window: 2_000,
        unknown_percent: 1,
        phantom_percent: 1,
    };
    let mut rng = Rng::new(42);
    let history = generate(&mut rng, config);

    let started = Instant::now();
    let result = check(&history, BUDGET);
    let elapsed = started.elapsed();
    println!("2,000 ops, 10 keys, 8 clients: {result} in {elapsed:?}");
    assert_eq!(result, CheckResult::Linearizable, "{result}");
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");

    let mut corrupted = history;
    let last_get = (0..corrupted.len())
        .rev()
        .find(|&i| is_known_get(&corrupted[i]))
        .expect("the generator produces gets");
    corrupted[last_get].outcome = Outcome::Ok(Response::value("never written"));
    let started = Instant::now();
    let result = check(&corrupted, BUDGET);
    let elapsed = started.elapsed();
    println!("same history with its last read corrupted: violation found in {elapsed:?}");
    assert!(
        matches!(result, CheckResult::NotLinearizable { .. }),
        "{result}"
    );
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
}
