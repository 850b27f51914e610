//! Request checks done before a request reaches raft, as etcd's `v3rpc/key.go`:
//! empty keys, ignore_value/ignore_lease conflicts, txn size, and overlapping
//! puts/deletes inside one txn.

use std::collections::HashSet;

use etcd_proto::etcdserverpb::{
    request_op::Request, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest,
};

use crate::errors::EtcdError;

pub fn check_range(r: &RangeRequest) -> Result<(), EtcdError> {
    if r.key.is_empty() {
        return Err(EtcdError::EmptyKey);
    }
    Ok(())
}

pub fn check_put(r: &PutRequest) -> Result<(), EtcdError> {
    if r.key.is_empty() {
        return Err(EtcdError::EmptyKey);
    }
    if r.ignore_value && !r.value.is_empty() {
        return Err(EtcdError::ValueProvided);
    }
    if r.ignore_lease && r.lease != 0 {
        return Err(EtcdError::LeaseProvided);
    }
    Ok(())
}

pub fn check_delete(r: &DeleteRangeRequest) -> Result<(), EtcdError> {
    if r.key.is_empty() {
        return Err(EtcdError::EmptyKey);
    }
    Ok(())
}

/// `checkTxnRequest` followed by `checkIntervals` on both branches.
pub fn check_txn(r: &TxnRequest, max_txn_ops: usize) -> Result<(), EtcdError> {
    check_txn_shape(r, max_txn_ops as i64)?;
    check_intervals(&r.success)?;
    check_intervals(&r.failure)?;
    Ok(())
}

fn check_txn_shape(r: &TxnRequest, max_txn_ops: i64) -> Result<(), EtcdError> {
    let opc = r.compare.len().max(r.success.len()).max(r.failure.len()) as i64;
    if opc > max_txn_ops {
        return Err(EtcdError::TooManyOps);
    }
    if r.compare.iter().any(|c| c.key.is_empty()) {
        return Err(EtcdError::EmptyKey);
    }
    for op in r.success.iter().chain(r.failure.iter()) {
        check_request_op(op, max_txn_ops - opc)?;
    }
    Ok(())
}

fn check_request_op(op: &RequestOp, max_txn_ops: i64) -> Result<(), EtcdError> {
    match &op.request {
        Some(Request::RequestRange(r)) => check_range(r),
        Some(Request::RequestPut(r)) => check_put(r),
        Some(Request::RequestDeleteRange(r)) => check_delete(r),
        Some(Request::RequestTxn(r)) => check_txn_shape(r, max_txn_ops),
        None => Err(EtcdError::KeyNotFound),
    }
}

/// A deleted interval `[start, end)`; an empty `end` is a single key. etcd compares these as
/// "affine" strings where an empty end means +infinity; we keep its exact behaviour.
#[derive(Clone)]
struct Interval {
    start: Vec<u8>,
    end: Option<Vec<u8>>,
}

impl Interval {
    fn contains(&self, k: &[u8]) -> bool {
        match &self.end {
            None => self.start == k,
            Some(end) => self.start.as_slice() <= k && (end.is_empty() || k < end.as_slice()),
        }
    }
}

type Puts = HashSet<Vec<u8>>;

/// Puts and deletes of one txn level must not touch the same key (etcd `checkIntervals`).
fn check_intervals(reqs: &[RequestOp]) -> Result<(Puts, Vec<Interval>), EtcdError> {
    let mut dels: Vec<Interval> = reqs
        .iter()
        .filter_map(|op| match &op.request {
            Some(Request::RequestDeleteRange(d)) => Some(Interval {
                start: d.key.clone(),
                end: (!d.range_end.is_empty()).then(|| d.range_end.clone()),
            }),
            _ => None,
        })
        .collect();
    let hits = |dels: &[Interval], k: &[u8]| dels.iter().any(|iv| iv.contains(k));

    let mut puts = Puts::new();
    for op in reqs {
        let Some(Request::RequestTxn(t)) = &op.request else {
            continue;
        };
        let (puts_then, dels_then) = check_intervals(&t.success)?;
        let (puts_else, dels_else) = check_intervals(&t.failure)?;
        for k in &puts_then {
            if puts.contains(k) || hits(&dels, k) {
                return Err(EtcdError::DuplicateKey);
            }
            puts.insert(k.clone());
        }
        for k in puts_else {
            // then/else are mutually exclusive, so a key in both is fine.
            if (puts.contains(&k) && !puts_then.contains(&k)) || hits(&dels, &k) {
                return Err(EtcdError::DuplicateKey);
            }
            puts.insert(k);
        }
        dels.extend(dels_then);
        dels.extend(dels_else);
    }

    for op in reqs {
        let Some(Request::RequestPut(p)) = &op.request else {
            continue;
        };
        if puts.contains(&p.key) || hits(&dels, &p.key) {
            return Err(EtcdError::DuplicateKey);
        }
        puts.insert(p.key.clone());
    }
    Ok((puts, dels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &str) -> RequestOp {
        RequestOp {
            request: Some(Request::RequestPut(PutRequest {
                key: k.into(),
                ..Default::default()
            })),
        }
    }
    fn del(k: &str, end: &str) -> RequestOp {
        RequestOp {
            request: Some(Request::RequestDeleteRange(DeleteRangeRequest {
                key: k.into(),
                range_end: end.into(),
                ..Default::default()
            })),
        }
    }
    fn txn(success: Vec<RequestOp>, failure: Vec<RequestOp>) -> TxnRequest {
        TxnRequest {
            compare: vec![],
            success,
            failure,
        }
    }

    #[test]
    fn duplicate_puts_are_rejected() {
        let t = txn(vec![put("a"), put("a")], vec![]);
        assert_eq!(check_txn(&t, 128), Err(EtcdError::DuplicateKey));
    }

    #[test]
    fn put_inside_deleted_range_is_rejected() {
        let t = txn(vec![del("a", "c"), put("b")], vec![]);
        assert_eq!(check_txn(&t, 128), Err(EtcdError::DuplicateKey));
        let t = txn(vec![del("a", "c"), put("c")], vec![]);
        assert_eq!(check_txn(&t, 128), Ok(()));
    }

    #[test]
    fn same_key_in_then_and_else_of_nested_txn_is_fine() {
        let inner = RequestOp {
            request: Some(Request::RequestTxn(txn(vec![put("k")], vec![put("k")]))),
        };
        assert_eq!(check_txn(&txn(vec![inner.clone()], vec![]), 128), Ok(()));
        let t = txn(vec![inner, put("k")], vec![]);
        assert_eq!(check_txn(&t, 128), Err(EtcdError::DuplicateKey));
    }

    #[test]
    fn too_many_ops_and_empty_keys() {
        let t = txn((0..129).map(|i| put(&i.to_string())).collect(), vec![]);
        assert_eq!(check_txn(&t, 128), Err(EtcdError::TooManyOps));
        let t = txn(vec![put("")], vec![]);
        assert_eq!(check_txn(&t, 128), Err(EtcdError::EmptyKey));
        let t = txn(vec![RequestOp { request: None }], vec![]);
        assert_eq!(check_txn(&t, 128), Err(EtcdError::KeyNotFound));
    }
}
