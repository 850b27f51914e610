//! The requests the recipes send, built as clientv3's option helpers build them
//! (`WithFirstCreate`, `WithLastCreate`, `WithMaxCreateRev`, `Compare(CreateRevision(k))`).

use etcd_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_proto::etcdserverpb::range_request::{SortOrder, SortTarget};
use etcd_proto::etcdserverpb::request_op::Request;
use etcd_proto::etcdserverpb::response_op::Response;
use etcd_proto::etcdserverpb::{
    Compare, DeleteRangeRequest, PutRequest, RangeRequest, RangeResponse, RequestOp, TxnRequest,
    TxnResponse,
};

/// clientv3's `GetPrefixRangeEnd`: the smallest key greater than every key with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(&last) = end.last() {
        if last < 0xff {
            let n = end.len();
            end[n - 1] = last + 1;
            return end;
        }
        end.pop();
    }
    vec![0]
}

/// Go's `fmt.Sprintf("%x", id)` for an `int64` (a minus sign, not two's complement).
pub fn go_hex(id: i64) -> String {
    if id < 0 {
        format!("-{:x}", id.unsigned_abs())
    } else {
        format!("{id:x}")
    }
}

/// `pfx` + the lease ID in hex: a waiter's key.
pub(crate) fn waiter_key(pfx: &[u8], lease: i64) -> Vec<u8> {
    let mut k = pfx.to_vec();
    k.extend_from_slice(go_hex(lease).as_bytes());
    k
}

/// `OpGet(key)`.
pub(crate) fn get(key: &[u8]) -> RangeRequest {
    RangeRequest {
        key: key.to_vec(),
        ..Default::default()
    }
}

/// `withTop(SortByCreateRevision, order)`: the first key under `pfx` in that order.
fn top_create(pfx: &[u8], order: SortOrder) -> RangeRequest {
    RangeRequest {
        key: pfx.to_vec(),
        range_end: prefix_end(pfx),
        sort_target: SortTarget::Create as i32,
        sort_order: order as i32,
        limit: 1,
        ..Default::default()
    }
}

/// `OpGet(pfx, WithFirstCreate()...)`: the oldest key under `pfx`.
pub(crate) fn first_create(pfx: &[u8]) -> RangeRequest {
    top_create(pfx, SortOrder::Ascend)
}

/// `Get(pfx, WithLastCreate(), WithMaxCreateRev(max))`: the newest key under `pfx` created
/// at or before `max`.
pub(crate) fn last_create_before(pfx: &[u8], max: i64) -> RangeRequest {
    RangeRequest {
        max_create_revision: max,
        ..top_create(pfx, SortOrder::Descend)
    }
}

/// `Compare(CreateRevision(key), "=", rev)`.
pub(crate) fn create_rev_is(key: &[u8], rev: i64) -> Compare {
    Compare {
        result: CompareResult::Equal as i32,
        target: CompareTarget::Create as i32,
        key: key.to_vec(),
        target_union: Some(TargetUnion::CreateRevision(rev)),
        ..Default::default()
    }
}

pub(crate) fn op_range(r: RangeRequest) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestRange(r)),
    }
}

/// `OpPut(key, val, WithLease(lease))`.
pub(crate) fn op_put(key: &[u8], value: &[u8], lease: i64) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestPut(PutRequest {
            key: key.to_vec(),
            value: value.to_vec(),
            lease,
            ..Default::default()
        })),
    }
}

/// `OpDelete(key)`.
pub(crate) fn op_delete(key: &[u8]) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestDeleteRange(DeleteRangeRequest {
            key: key.to_vec(),
            ..Default::default()
        })),
    }
}

/// `Txn().If(cmp).Then(success...).Else(failure...)`.
pub(crate) fn txn(
    cmp: Vec<Compare>,
    success: Vec<RequestOp>,
    failure: Vec<RequestOp>,
) -> TxnRequest {
    TxnRequest {
        compare: cmp,
        success,
        failure,
    }
}

/// `resp.Responses[i].GetResponseRange()`.
pub(crate) fn range_at(resp: &TxnResponse, i: usize) -> Option<&RangeResponse> {
    match resp.responses.get(i)?.response.as_ref()? {
        Response::ResponseRange(r) => Some(r),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_prefix_as_go() {
        assert_eq!(go_hex(0x694d_8a1b_2c3d), "694d8a1b2c3d");
        assert_eq!(go_hex(-1), "-1");
        assert_eq!(waiter_key(b"lock/", 255), b"lock/ff");
        assert_eq!(prefix_end(b"a/"), b"a0");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"\xff"), vec![0]);
    }
}
