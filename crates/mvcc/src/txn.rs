//! Transactions (etcd's `applierV3backend.Txn`): every compare, nested ones included, is
//! evaluated first on the state before the txn; then the chosen branch runs in order, each
//! operation seeing the earlier ones' writes, all under one main revision.

use std::cmp::Ordering;

use etcd_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_proto::etcdserverpb::request_op::Request;
use etcd_proto::etcdserverpb::response_op::Response;
use etcd_proto::etcdserverpb::{
    Compare, DeleteRangeRequest, DeleteRangeResponse, PutRequest, PutResponse, RequestOp,
    ResponseHeader, ResponseOp, TxnRequest, TxnResponse,
};
use etcd_proto::mvccpb::KeyValue;

use crate::errors::MvccError;
use crate::range::{range, range_end};
use crate::read::{range_keys, RangeOptions, ReadView, SnapshotView};
use crate::write::{header, WriteTxn};

/// What a transaction runs on: a read view that may also write.
pub(crate) trait TxnOps: ReadView {
    /// A Put inside a txn (leases already checked).
    fn put_op(&mut self, p: PutRequest) -> Result<PutResponse, MvccError>;
    /// A DeleteRange inside a txn.
    fn delete_op(&mut self, d: DeleteRangeRequest) -> Result<DeleteRangeResponse, MvccError>;
}

impl TxnOps for WriteTxn<'_, '_> {
    fn put_op(&mut self, p: PutRequest) -> Result<PutResponse, MvccError> {
        self.put_request(p, None)
    }

    fn delete_op(&mut self, d: DeleteRangeRequest) -> Result<DeleteRangeResponse, MvccError> {
        self.delete_range(d)
    }
}

impl TxnOps for SnapshotView<'_> {
    fn put_op(&mut self, _: PutRequest) -> Result<PutResponse, MvccError> {
        Err(MvccError::InvalidRequest("put in a read-only txn".into()))
    }

    fn delete_op(&mut self, _: DeleteRangeRequest) -> Result<DeleteRangeResponse, MvccError> {
        Err(MvccError::InvalidRequest(
            "delete in a read-only txn".into(),
        ))
    }
}

/// etcd's `isTxnReadonly`: only Range operations in both branches.
pub(crate) fn is_txn_read_only(rt: &TxnRequest) -> bool {
    rt.success
        .iter()
        .chain(&rt.failure)
        .all(|op| matches!(op.request, Some(Request::RequestRange(_))))
}

/// Runs a transaction on `t`.
pub(crate) fn txn<T: TxnOps>(
    t: &mut T,
    rt: TxnRequest,
    lease_exists: &dyn Fn(i64) -> bool,
) -> Result<TxnResponse, MvccError> {
    let mut path = Vec::new();
    compare_path(t, &rt, &mut path)?;
    if !is_txn_read_only(&rt) {
        check_requests(&rt, &path, &mut 0, &mut |op| check_put(t, op, lease_exists))?;
    }
    check_requests(&rt, &path, &mut 0, &mut |op| check_range(t, op))?;
    let mut resp = exec(t, rt, &path, &mut 0)?;
    resp.header = header(t.rev());
    Ok(resp)
}

/// The branch every txn takes (this one, then nested ones in the order they run).
fn compare_path(
    view: &impl ReadView,
    rt: &TxnRequest,
    path: &mut Vec<bool>,
) -> Result<(), MvccError> {
    let mut ok = true;
    for c in &rt.compare {
        if !apply_compare(view, c)? {
            ok = false;
            break;
        }
    }
    path.push(ok);
    for op in branch(rt, ok) {
        if let Some(Request::RequestTxn(nested)) = &op.request {
            compare_path(view, nested, path)?;
        }
    }
    Ok(())
}

fn branch(rt: &TxnRequest, succeeded: bool) -> &[RequestOp] {
    if succeeded {
        &rt.success
    } else {
        &rt.failure
    }
}

/// Whether a compare holds for every key in its range (a missing key compares as a zero
/// `KeyValue`, except that a value compare on a missing key always fails).
fn apply_compare(view: &impl ReadView, c: &Compare) -> Result<bool, MvccError> {
    let rr = range_keys(
        view,
        &c.key,
        range_end(&c.range_end),
        RangeOptions::default(),
    )?;
    if rr.kvs.is_empty() {
        if c.target == CompareTarget::Value as i32 {
            return Ok(false);
        }
        return Ok(compare_kv(c, &KeyValue::default()));
    }
    Ok(rr.kvs.iter().all(|kv| compare_kv(c, kv)))
}

fn compare_kv(c: &Compare, kv: &KeyValue) -> bool {
    let ord = match CompareTarget::try_from(c.target) {
        Ok(CompareTarget::Value) => {
            let v: &[u8] = match &c.target_union {
                Some(TargetUnion::Value(v)) => v,
                _ => &[],
            };
            kv.value.as_slice().cmp(v)
        }
        Ok(CompareTarget::Create) => kv.create_revision.cmp(&union_int(c, |u| match u {
            TargetUnion::CreateRevision(n) => Some(*n),
            _ => None,
        })),
        Ok(CompareTarget::Mod) => kv.mod_revision.cmp(&union_int(c, |u| match u {
            TargetUnion::ModRevision(n) => Some(*n),
            _ => None,
        })),
        Ok(CompareTarget::Version) => kv.version.cmp(&union_int(c, |u| match u {
            TargetUnion::Version(n) => Some(*n),
            _ => None,
        })),
        Ok(CompareTarget::Lease) => kv.lease.cmp(&union_int(c, |u| match u {
            TargetUnion::Lease(n) => Some(*n),
            _ => None,
        })),
        Err(_) => Ordering::Equal,
    };
    match CompareResult::try_from(c.result) {
        Ok(CompareResult::Equal) => ord == Ordering::Equal,
        Ok(CompareResult::NotEqual) => ord != Ordering::Equal,
        Ok(CompareResult::Greater) => ord == Ordering::Greater,
        Ok(CompareResult::Less) => ord == Ordering::Less,
        Err(_) => true,
    }
}

/// The compare's integer operand, 0 if the union holds another kind.
fn union_int(c: &Compare, pick: impl Fn(&TargetUnion) -> Option<i64>) -> i64 {
    c.target_union.as_ref().and_then(pick).unwrap_or(0)
}

/// Calls `f` on every non-txn operation along `path`.
fn check_requests(
    rt: &TxnRequest,
    path: &[bool],
    pos: &mut usize,
    f: &mut dyn FnMut(&RequestOp) -> Result<(), MvccError>,
) -> Result<(), MvccError> {
    let ok = next_branch(path, pos)?;
    for op in branch(rt, ok) {
        match &op.request {
            Some(Request::RequestTxn(nested)) => check_requests(nested, path, pos, f)?,
            _ => f(op)?,
        }
    }
    Ok(())
}

fn next_branch(path: &[bool], pos: &mut usize) -> Result<bool, MvccError> {
    let ok = *path
        .get(*pos)
        .ok_or_else(|| MvccError::Corrupt("txn path shorter than the txn".into()))?;
    *pos += 1;
    Ok(ok)
}

/// etcd `checkRequestPut`: ignore_value/ignore_lease need the key to exist before the txn,
/// and a lease must exist.
fn check_put(
    view: &impl ReadView,
    op: &RequestOp,
    lease_exists: &dyn Fn(i64) -> bool,
) -> Result<(), MvccError> {
    let Some(Request::RequestPut(p)) = &op.request else {
        return Ok(());
    };
    if p.ignore_value || p.ignore_lease {
        let rr = range_keys(view, &p.key, None, RangeOptions::default())?;
        if rr.kvs.is_empty() {
            return Err(MvccError::KeyNotFound);
        }
    }
    if p.lease != 0 && !lease_exists(p.lease) {
        return Err(MvccError::LeaseNotFound);
    }
    Ok(())
}

/// etcd `checkRequestRange`: the revision of every read must be available.
fn check_range(view: &impl ReadView, op: &RequestOp) -> Result<(), MvccError> {
    let Some(Request::RequestRange(r)) = &op.request else {
        return Ok(());
    };
    if r.revision == 0 {
        Ok(())
    } else if r.revision > view.rev() {
        Err(MvccError::FutureRevision)
    } else if r.revision < view.first_rev() {
        Err(MvccError::Compacted)
    } else {
        Ok(())
    }
}

/// Runs the branch `path` chose; nested txn responses get an empty header, as in etcd.
fn exec<T: TxnOps>(
    t: &mut T,
    rt: TxnRequest,
    path: &[bool],
    pos: &mut usize,
) -> Result<TxnResponse, MvccError> {
    let succeeded = next_branch(path, pos)?;
    let ops = if succeeded { rt.success } else { rt.failure };
    let mut responses = Vec::with_capacity(ops.len());
    for op in ops {
        let response = match op.request {
            Some(Request::RequestRange(r)) => Some(Response::ResponseRange(range(t, &r)?)),
            Some(Request::RequestPut(p)) => Some(Response::ResponsePut(t.put_op(p)?)),
            Some(Request::RequestDeleteRange(d)) => {
                Some(Response::ResponseDeleteRange(t.delete_op(d)?))
            }
            Some(Request::RequestTxn(nested)) => {
                Some(Response::ResponseTxn(exec(t, nested, path, pos)?))
            }
            None => None,
        };
        responses.push(ResponseOp { response });
    }
    Ok(TxnResponse {
        header: Some(ResponseHeader::default()),
        succeeded,
        responses,
    })
}
