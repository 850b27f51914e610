//! The recorder: bookkeeping, misuse, and a real concurrent execution checked end to end.

use std::sync::{Arc, Mutex};
use std::thread;

use super::support::{apply, assert_linearizable, Rng, Store};
use crate::{History, Op, Outcome, RecordError, Response};

#[test]
fn records_times_and_outcomes() {
    let history = History::new();
    let put = history.invoke(1, Op::put("x", "a"));
    let get = history.invoke(2, Op::get("x"));
    let lost = history.invoke(3, Op::delete("x"));
    assert_eq!((put.index(), get.index(), lost.index()), (0, 1, 2));
    history
        .complete(get, Outcome::Ok(Response::absent()))
        .unwrap();
    history.complete(put, Outcome::Ok(Response::Ok)).unwrap();
    // `lost` is never completed: its outcome stays unknown.

    let ops = history.finish();
    assert_eq!(ops.len(), 3);
    assert_eq!(ops[0].client, 1);
    assert_eq!(ops[0].op, Op::put("x", "a"));
    assert_eq!(ops[0].outcome, Outcome::Ok(Response::Ok));
    assert_eq!(ops[1].outcome, Outcome::Ok(Response::absent()));
    assert_eq!(ops[2].outcome, Outcome::Unknown);
    assert!(ops[0].invoke_time <= ops[1].invoke_time);
    assert!(ops[1].invoke_time <= ops[2].invoke_time);
    // The get completed before the put.
    assert!(ops[1].return_time <= ops[0].return_time);
    for op in &ops {
        assert!(op.invoke_time <= op.return_time, "{op}");
    }
    assert_linearizable(&ops);
}

#[test]
fn rejects_an_id_from_another_history() {
    let first = History::new();
    let second = History::new();
    let id = first.invoke(1, Op::get("x"));
    assert_eq!(
        second.complete(id, Outcome::Unknown),
        Err(RecordError::ForeignOpId)
    );
    assert!(second.finish().is_empty());
    assert_eq!(first.finish()[0].outcome, Outcome::Unknown);
}

#[test]
fn concurrent_execution_on_a_locked_map_is_linearizable() {
    let history = Arc::new(History::new());
    let store = Arc::new(Mutex::new(Store::new()));
    let threads: Vec<_> = (0..8u64)
        .map(|client| {
            let (history, store) = (Arc::clone(&history), Arc::clone(&store));
            thread::spawn(move || {
                let mut rng = Rng::new(client);
                for i in 0..150 {
                    let key = format!("k{}", rng.below(3));
                    let value = format!("c{client}-{i}");
                    let op = match rng.below(4) {
                        0 => Op::get(key),
                        1 => Op::put(key, value),
                        2 => Op::delete(key),
                        _ => Op::cas(
                            key,
                            format!("c{}-{}", rng.below(8), rng.below(i + 1)),
                            value,
                        ),
                    };
                    let id = history.invoke(client, op.clone());
                    let response = apply(&mut store.lock().unwrap(), &op);
                    // Now and then the answer is lost: the outcome stays unknown.
                    if !rng.percent(3) {
                        history.complete(id, Outcome::Ok(response)).unwrap();
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let ops = history.finish();
    assert_eq!(ops.len(), 8 * 150);
    assert_linearizable(&ops);
}
