//! The Range request (etcd's `applierV3backend.Range`): fetch, then revision filters, sort,
//! limit and `more`, keys-only.

use std::cmp::Ordering;

use etcd_proto::etcdserverpb::range_request::{SortOrder, SortTarget};
use etcd_proto::etcdserverpb::{RangeRequest, RangeResponse, ResponseHeader};
use etcd_proto::mvccpb::KeyValue;

use crate::errors::MvccError;
use crate::read::{range_keys, RangeOptions, ReadView};

/// etcd's `mkGteRange` plus the single-key case: an empty `range_end` means the single key
/// (`None`), `"\0"` means every key from `key` on (`Some(b"")`).
pub(crate) fn range_end(range_end: &[u8]) -> Option<&[u8]> {
    match range_end {
        [] => None,
        [0] => Some(&[]),
        end => Some(end),
    }
}

/// Runs a Range request on `view`. The response header carries only the revision.
pub(crate) fn range(
    view: &(impl ReadView + ?Sized),
    r: &RangeRequest,
) -> Result<RangeResponse, MvccError> {
    let filtered = r.min_mod_revision != 0
        || r.max_mod_revision != 0
        || r.min_create_revision != 0
        || r.max_create_revision != 0;
    let mut limit = r.limit;
    if r.sort_order != SortOrder::None as i32 || filtered {
        // fetch everything; sort and truncate afterwards
        limit = 0;
    }
    if limit > 0 {
        // one extra for the `more` flag
        limit = limit.saturating_add(1);
    }
    let ro = RangeOptions {
        limit,
        rev: r.revision,
        count: r.count_only,
    };
    let rr = range_keys(view, &r.key, range_end(&r.range_end), ro)?;
    let mut kvs = rr.kvs;

    if r.max_mod_revision != 0 {
        kvs.retain(|kv| kv.mod_revision <= r.max_mod_revision);
    }
    if r.min_mod_revision != 0 {
        kvs.retain(|kv| kv.mod_revision >= r.min_mod_revision);
    }
    if r.max_create_revision != 0 {
        kvs.retain(|kv| kv.create_revision <= r.max_create_revision);
    }
    if r.min_create_revision != 0 {
        kvs.retain(|kv| kv.create_revision >= r.min_create_revision);
    }

    sort(&mut kvs, r.sort_order, r.sort_target);

    let mut more = false;
    if let Ok(n) = usize::try_from(r.limit) {
        if n > 0 && kvs.len() > n {
            kvs.truncate(n);
            more = true;
        }
    }
    if r.keys_only {
        for kv in &mut kvs {
            kv.value.clear();
        }
    }
    Ok(RangeResponse {
        header: Some(ResponseHeader {
            revision: rr.rev,
            ..Default::default()
        }),
        kvs,
        more,
        count: rr.count as i64,
    })
}

/// Sorts as etcd does: results already come in ascending key order, so sorting by key
/// with no order is a no-op, and any other target with no order sorts ascending. Unknown
/// orders or targets leave the order unchanged. The sort is stable (ties keep key order).
fn sort(kvs: &mut [KeyValue], order: i32, target: i32) {
    let mut order = SortOrder::try_from(order).ok();
    if target != SortTarget::Key as i32 && order == Some(SortOrder::None) {
        order = Some(SortOrder::Ascend);
    }
    let Some(order @ (SortOrder::Ascend | SortOrder::Descend)) = order else {
        return;
    };
    let Ok(target) = SortTarget::try_from(target) else {
        return;
    };
    let cmp = |a: &KeyValue, b: &KeyValue| -> Ordering {
        match target {
            SortTarget::Key => a.key.cmp(&b.key),
            SortTarget::Version => a.version.cmp(&b.version),
            SortTarget::Create => a.create_revision.cmp(&b.create_revision),
            SortTarget::Mod => a.mod_revision.cmp(&b.mod_revision),
            SortTarget::Value => a.value.cmp(&b.value),
        }
    };
    match order {
        SortOrder::Descend => kvs.sort_by(|a, b| cmp(b, a)),
        _ => kvs.sort_by(cmp),
    }
}
