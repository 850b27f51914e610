//! etcd's key-value and lease counters (`mvcc/metrics.go`, `lease/metrics.go`):
//! `etcd_mvcc_{put,delete,range,txn}_total` with their `etcd_debugging_mvcc_*` twins, and
//! `etcd_debugging_lease_{granted,revoked,renewed}_total`.
//!
//! etcd counts the operations an mvcc transaction performs when it ends: each put, each
//! delete-range and each range, and the transaction itself when it did more than one of
//! them. The operations a request performed are exactly those its response lists (a txn
//! answers one response per operation of the branch it took, nested txns included), so
//! they are counted from the responses: writes on every member when they are applied,
//! reads on the member that serves them. Unlike etcd, the reads that evaluate a txn's
//! compares and the range behind `prev_kv` are not counted.

use etcd_proto::etcdserverpb::{response_op::Response, TxnResponse};
use mvcc::WriteResponse;
use prometheus::{IntCounter, Registry};

use super::counter;
use crate::applier::{Applied, ApplyResult};

/// Operation counts of one mvcc transaction.
#[derive(Debug, Default, PartialEq, Eq)]
struct Ops {
    ranges: u64,
    puts: u64,
    deletes: u64,
}

impl Ops {
    fn of_txn(resp: &TxnResponse) -> Ops {
        let mut ops = Ops::default();
        ops.add_txn(resp);
        ops
    }

    fn add_txn(&mut self, resp: &TxnResponse) {
        for r in resp.responses.iter().filter_map(|op| op.response.as_ref()) {
            match r {
                Response::ResponseRange(_) => self.ranges += 1,
                Response::ResponsePut(_) => self.puts += 1,
                Response::ResponseDeleteRange(_) => self.deletes += 1,
                Response::ResponseTxn(t) => self.add_txn(t),
            }
        }
    }
}

/// A counter registered under etcd's name and under its `etcd_debugging_` twin.
struct Twin(IntCounter, IntCounter);

impl Twin {
    fn new(r: &Registry, name: &str, help: &str) -> prometheus::Result<Twin> {
        Ok(Twin(
            counter(r, &format!("etcd_mvcc_{name}"), help)?,
            counter(r, &format!("etcd_debugging_mvcc_{name}"), help)?,
        ))
    }

    fn add(&self, n: u64) {
        self.0.inc_by(n);
        self.1.inc_by(n);
    }
}

/// The key-value and lease counters of one member.
pub struct KvMetrics {
    ranges: Twin,
    puts: Twin,
    deletes: Twin,
    txns: Twin,
    leases_granted: IntCounter,
    leases_revoked: IntCounter,
    leases_renewed: IntCounter,
}

impl KvMetrics {
    /// Registers the counters in `r`, with etcd 3.4's names and help strings.
    pub(super) fn new(r: &Registry) -> prometheus::Result<KvMetrics> {
        Ok(KvMetrics {
            ranges: Twin::new(
                r,
                "range_total",
                "Total number of ranges seen by this member.",
            )?,
            puts: Twin::new(r, "put_total", "Total number of puts seen by this member.")?,
            deletes: Twin::new(
                r,
                "delete_total",
                "Total number of deletes seen by this member.",
            )?,
            txns: Twin::new(r, "txn_total", "Total number of txns seen by this member.")?,
            leases_granted: counter(
                r,
                "etcd_debugging_lease_granted_total",
                "The total number of granted leases.",
            )?,
            leases_revoked: counter(
                r,
                "etcd_debugging_lease_revoked_total",
                "The total number of revoked leases.",
            )?,
            leases_renewed: counter(
                r,
                "etcd_debugging_lease_renewed_total",
                "The number of renewed leases seen by the leader.",
            )?,
        })
    }

    fn add(&self, ops: &Ops) {
        if ops.ranges + ops.puts + ops.deletes > 1 {
            self.txns.add(1);
        }
        self.ranges.add(ops.ranges);
        self.puts.add(ops.puts);
        self.deletes.add(ops.deletes);
    }

    /// Counts a request the applier applied successfully.
    pub fn applied(&self, result: &ApplyResult) {
        match result {
            Ok(Applied::Kv(w)) => self.write(w),
            Ok(Applied::LeaseGrant(_)) => self.leases_granted.inc(),
            Ok(Applied::LeaseRevoke(_)) => self.leases_revoked.inc(),
            _ => {}
        }
    }

    /// Counts an applied key-value write.
    pub fn write(&self, resp: &WriteResponse) {
        let ops = match resp {
            WriteResponse::Put(_) => Ops {
                puts: 1,
                ..Ops::default()
            },
            WriteResponse::DeleteRange(_) => Ops {
                deletes: 1,
                ..Ops::default()
            },
            WriteResponse::Txn(t) => Ops::of_txn(t),
            WriteResponse::Compaction(_) => return,
        };
        self.add(&ops);
    }

    /// Counts a Range served by this member.
    pub fn range(&self) {
        self.ranges.add(1);
    }

    /// Counts a read-only txn served by this member.
    pub fn read_txn(&self, resp: &TxnResponse) {
        self.add(&Ops::of_txn(resp));
    }

    /// Counts a lease keep-alive the leader granted.
    pub fn lease_renewed(&self) {
        self.leases_renewed.inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_proto::etcdserverpb::{DeleteRangeResponse, PutResponse, RangeResponse, ResponseOp};

    fn op(r: Response) -> ResponseOp {
        ResponseOp { response: Some(r) }
    }

    fn txn(responses: Vec<ResponseOp>) -> TxnResponse {
        TxnResponse {
            responses,
            ..Default::default()
        }
    }

    #[test]
    fn txn_operations_are_counted_through_nested_txns() {
        let inner = txn(vec![
            op(Response::ResponsePut(PutResponse::default())),
            op(Response::ResponseRange(RangeResponse::default())),
        ]);
        let outer = txn(vec![
            op(Response::ResponseDeleteRange(DeleteRangeResponse::default())),
            op(Response::ResponseTxn(inner)),
            op(Response::ResponsePut(PutResponse::default())),
        ]);
        assert_eq!(
            Ops::of_txn(&outer),
            Ops {
                ranges: 1,
                puts: 2,
                deletes: 1
            }
        );
    }

    #[test]
    fn a_txn_counts_when_it_did_more_than_one_thing() {
        let r = Registry::new();
        let m = KvMetrics::new(&r).unwrap();
        m.write(&WriteResponse::Put(PutResponse::default()));
        m.write(&WriteResponse::Txn(txn(vec![op(Response::ResponsePut(
            PutResponse::default(),
        ))])));
        assert_eq!((m.puts.0.get(), m.txns.0.get()), (2, 0));
        m.read_txn(&txn(vec![
            op(Response::ResponseRange(RangeResponse::default())),
            op(Response::ResponseRange(RangeResponse::default())),
        ]));
        m.range();
        assert_eq!(
            (m.ranges.0.get(), m.ranges.1.get(), m.txns.1.get()),
            (3, 3, 1)
        );
        // An empty txn (no branch operations) counts nothing.
        m.write(&WriteResponse::Txn(txn(vec![])));
        assert_eq!(m.txns.0.get(), 1);
    }
}
