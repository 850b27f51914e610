//! `-w simple` (etcdctl's `printer_simple.go`).

use etcd_proto::etcdserverpb::response_op::Response;
use etcd_proto::etcdserverpb::{DeleteRangeResponse, PutResponse, RangeResponse, TxnResponse};
use etcd_proto::mvccpb::KeyValue;

use super::{EpHealth, Printer};
use crate::out;

/// `addHexPrefix(hex.EncodeToString(b))`: `\x66\x6f\x6f`.
fn hex_escaped(b: &[u8]) -> Vec<u8> {
    b.iter()
        .flat_map(|c| format!("\\x{c:02x}").into_bytes())
        .collect()
}

/// `printKV`: key line (unless value-only) and value line.
fn print_kv(p: &Printer, kv: &KeyValue) {
    let (k, v) = if p.hex {
        (hex_escaped(&kv.key), hex_escaped(&kv.value))
    } else {
        (kv.key.clone(), kv.value.clone())
    };
    if !p.value_only {
        out::line(k);
    }
    out::line(v);
}

pub fn get(p: &Printer, r: &RangeResponse) {
    for kv in &r.kvs {
        print_kv(p, kv);
    }
}

pub fn put(p: &Printer, r: &PutResponse) {
    out::line("OK");
    if let Some(kv) = &r.prev_kv {
        print_kv(p, kv);
    }
}

pub fn del(p: &Printer, r: &DeleteRangeResponse) {
    out::line(r.deleted.to_string());
    for kv in &r.prev_kvs {
        print_kv(p, kv);
    }
}

pub fn txn(p: &Printer, r: &TxnResponse) {
    out::line(if r.succeeded { "SUCCESS" } else { "FAILURE" });
    for op in &r.responses {
        out::line("");
        match &op.response {
            Some(Response::ResponseDeleteRange(d)) => del(p, d),
            Some(Response::ResponsePut(x)) => put(p, x),
            Some(Response::ResponseRange(g)) => get(p, g),
            // etcdctl prints Go's `%+v` of the op here; a nested txn is never produced by
            // etcdctl's own txn syntax.
            _ => out::line(format!("unexpected response {op:?}")),
        }
    }
}

/// Rows joined by ", " (member list, endpoint status).
pub fn rows(rows: &[Vec<String>]) {
    for row in rows {
        out::line(row.join(", "));
    }
}

pub fn endpoint_health(list: &[EpHealth]) {
    for h in list {
        if h.error.is_empty() {
            out::stderr(format!(
                "{} is healthy: successfully committed proposal: took = {}\n",
                h.ep, h.took
            ));
        } else {
            out::stderr(format!(
                "{} is unhealthy: failed to commit proposal: {}\n",
                h.ep, h.error
            ));
        }
    }
}
