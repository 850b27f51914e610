//! The clients of the linearizability test: random puts, linearizable gets and
//! compare-and-sets over a few keys against random members, recorded in a [`History`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{Client, Compare, CompareOp, Txn, TxnOp};
use integration_tests::cluster::connect;
use linearizability::{History, Op, Outcome, Response};

/// Keys of the linearizability test: few, so that clients contend on them.
pub const LIN_KEYS: [&str; 4] = ["lin/a", "lin/b", "lin/c", "lin/d"];
/// Concurrent clients of the linearizability test.
pub const LIN_CLIENTS: u64 = 5;
/// Timeout of one operation of the linearizability test; longer than a failover.
pub const LIN_TIMEOUT: Duration = Duration::from_secs(2);

/// xorshift64*: a tiny deterministic generator, one per client.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

/// One operation against `c`: the operation as the checker models it, and the request.
pub async fn lin_op(c: &mut Client, op: &Op) -> Result<Response, etcd_client::Error> {
    match op {
        Op::Put { key, value } => c
            .put(key.clone(), value.clone(), None)
            .await
            .map(|_| Response::Ok),
        Op::Get { key } => {
            let r = c.get(key.clone(), None).await?;
            Ok(Response::Value(
                r.kvs().first().map(|kv| kv.value().to_vec()),
            ))
        }
        Op::Cas { key, expected, new } => {
            let cmp = match expected {
                Some(v) => Compare::value(key.clone(), CompareOp::Equal, v.clone()),
                None => Compare::create_revision(key.clone(), CompareOp::Equal, 0),
            };
            let txn = Txn::new()
                .when([cmp])
                .and_then([TxnOp::put(key.clone(), new.clone(), None)]);
            Ok(Response::Cas(c.txn(txn).await?.succeeded()))
        }
        Op::Delete { key } => c.delete(key.clone(), None).await.map(|_| Response::Ok),
    }
}

/// One client of the linearizability test: until `stop`, picks a key and a member that
/// did not fail it in the last 300 ms, and does a put of a unique value (40 %), a
/// linearizable get (30 %) or a compare-and-set from the value it last saw on that key,
/// create-if-absent when it saw none (30 %), recording each in `history`. An error or a
/// timeout is an unknown outcome (the checker drops unknown gets).
pub async fn lin_client(
    id: u64,
    endpoints: Vec<String>,
    history: Arc<History>,
    stop: Arc<AtomicBool>,
) {
    let mut clients = Vec::new();
    for ep in &endpoints {
        clients.push(connect(std::slice::from_ref(ep)).await);
    }
    let mut down_until = vec![Instant::now(); endpoints.len()];
    let mut seen: HashMap<&str, Vec<u8>> = HashMap::new();
    let mut rng = Rng::new(id);
    for n in 0u64.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let now = Instant::now();
        let up: Vec<usize> = (0..endpoints.len())
            .filter(|&i| down_until[i] <= now)
            .collect();
        if up.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let m = up[rng.below(up.len())];
        let key = LIN_KEYS[rng.below(LIN_KEYS.len())];
        let value = format!("{id}.{n}");
        let op = match rng.below(10) {
            0..=3 => Op::put(key, value),
            4..=6 => Op::get(key),
            _ => match seen.get(key) {
                Some(v) => Op::cas(key, v.clone(), value),
                None => Op::create(key, value),
            },
        };
        let invoked = history.invoke(id, op.clone());
        let outcome = match tokio::time::timeout(LIN_TIMEOUT, lin_op(&mut clients[m], &op)).await {
            Ok(Ok(r)) => {
                match (&op, &r) {
                    (Op::Get { .. }, Response::Value(Some(v))) => {
                        seen.insert(key, v.clone());
                    }
                    (Op::Get { .. }, Response::Value(None)) => {
                        seen.remove(key);
                    }
                    (Op::Cas { new, .. }, Response::Cas(true))
                    | (Op::Put { value: new, .. }, _) => {
                        seen.insert(key, new.clone());
                    }
                    _ => {}
                }
                Outcome::Ok(r)
            }
            _ => {
                down_until[m] = Instant::now() + Duration::from_millis(300);
                // A fresh connection for when the member is back.
                clients[m] = connect(std::slice::from_ref(&endpoints[m])).await;
                Outcome::Unknown
            }
        };
        history.complete(invoked, outcome).expect("own history");
    }
}
