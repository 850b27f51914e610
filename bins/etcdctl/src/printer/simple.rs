//! `-w simple` (etcdctl's `printer_simple.go`).

use etcd_proto::authpb::permission::Type;
use etcd_proto::authpb::Permission;
use etcd_proto::etcdserverpb::response_op::Response;
use etcd_proto::etcdserverpb::{AuthRoleGetResponse, AuthUserGetResponse};
use etcd_proto::etcdserverpb::{
    DeleteRangeResponse, LeaseGrantResponse, LeaseKeepAliveResponse, LeaseLeasesResponse,
    LeaseTimeToLiveResponse, MemberAddResponse, PutResponse, RangeResponse, ResponseHeader,
    TxnResponse, WatchResponse,
};
use etcd_proto::mvccpb::KeyValue;

use super::{event_type, EpHealth, Printer};
use crate::commands::kv::prefix_end;
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

/// etcdctl dereferences the member and header; missing ones print as zeroes here instead
/// of crashing.
pub fn member_add(r: &MemberAddResponse) {
    let id = r.member.as_ref().map_or(0, |m| m.id);
    let cluster = r.header.as_ref().map_or(0, |h| h.cluster_id);
    out::line(format!("Member {id:16x} added to cluster {cluster:16x}"));
}

/// `Member <id> removed from|updated in|promoted in cluster <cluster id>`.
pub fn member_change(id: u64, what: &str, header: Option<&ResponseHeader>) {
    let cluster = header.map_or(0, |h| h.cluster_id);
    out::line(format!("Member {id:16x} {what} cluster {cluster:16x}"));
}

/// `types.ID` prints as unpadded hex.
pub fn move_leader(leader: u64, target: u64) {
    out::line(format!(
        "Leadership transferred from {leader:x} to {target:x}"
    ));
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

pub fn watch(p: &Printer, r: &WatchResponse) {
    for e in &r.events {
        out::line(event_type(e));
        if let Some(prev) = &e.prev_kv {
            print_kv(p, prev);
        }
        print_kv(p, &e.kv.clone().unwrap_or_default());
    }
}

pub fn grant(r: &LeaseGrantResponse) {
    out::line(format!("lease {:016x} granted with TTL({}s)", r.id, r.ttl));
}

pub fn revoke(id: i64) {
    out::line(format!("lease {id:016x} revoked"));
}

pub fn keep_alive(r: &LeaseKeepAliveResponse) {
    out::line(format!(
        "lease {:016x} keepalived with TTL({})",
        r.id, r.ttl
    ));
}

pub fn time_to_live(r: &LeaseTimeToLiveResponse, keys: bool) {
    if r.granted_ttl == 0 && r.ttl == -1 {
        out::line(format!("lease {:016x} already expired", r.id));
        return;
    }
    let mut txt = format!(
        "lease {:016x} granted with TTL({}s), remaining({}s)",
        r.id, r.granted_ttl, r.ttl
    )
    .into_bytes();
    if keys {
        // Go's `%v` of a []string: `[a b]`.
        txt.extend_from_slice(b", attached keys([");
        txt.extend_from_slice(&r.keys.join(&b' '));
        txt.extend_from_slice(b"])");
    }
    out::line(txt);
}

pub fn leases(r: &LeaseLeasesResponse) {
    out::line(format!("found {} leases", r.leases.len()));
    for l in &r.leases {
        out::line(format!("{:016x}", l.id));
    }
}

/// One name per line (role list, user list).
pub fn names(list: &[String]) {
    for name in list {
        out::line(name);
    }
}

/// `Permission of key K is revoked ...`, or of a range (`[K, <open ended>` for `\0`).
pub fn role_revoke_permission(role: &str, key: &[u8], end: &[u8]) {
    let mut line = b"Permission of ".to_vec();
    match end {
        b"" => line.extend_from_slice(b"key "),
        _ => line.extend_from_slice(b"range ["),
    }
    line.extend_from_slice(key);
    match end {
        b"" => {}
        b"\0" => line.extend_from_slice(b", <open ended>"),
        end => {
            line.extend_from_slice(b", ");
            line.extend_from_slice(end);
            line.push(b')');
        }
    }
    line.extend_from_slice(format!(" is revoked from role {role}").as_bytes());
    out::line(line);
}

/// One permission under `KV Read:` or `KV Write:`: the key, or its range (etcdctl writes
/// `[key, <open ended>` for a range ending at `\0`, and names prefix ranges).
fn perm_line(p: &Permission) -> Vec<u8> {
    let mut line = b"\t".to_vec();
    if p.range_end.is_empty() {
        line.extend_from_slice(&p.key);
        return line;
    }
    line.push(b'[');
    line.extend_from_slice(&p.key);
    if p.range_end == b"\0" {
        line.extend_from_slice(b", <open ended>");
    } else {
        line.extend_from_slice(b", ");
        line.extend_from_slice(&p.range_end);
        line.push(b')');
    }
    if prefix_end(&p.key) == p.range_end {
        line.extend_from_slice(b" (prefix ");
        line.extend_from_slice(&p.key);
        line.push(b')');
    }
    line
}

pub fn role_get(role: &str, r: &AuthRoleGetResponse) {
    out::line(format!("Role {role}"));
    let (read, write) = (Type::Read as i32, Type::Write as i32);
    let readwrite = Type::Readwrite as i32;
    out::line("KV Read:");
    for p in r
        .perm
        .iter()
        .filter(|p| p.perm_type == read || p.perm_type == readwrite)
    {
        out::line(perm_line(p));
    }
    out::line("KV Write:");
    for p in r
        .perm
        .iter()
        .filter(|p| p.perm_type == write || p.perm_type == readwrite)
    {
        out::line(perm_line(p));
    }
}

pub fn user_get(user: &str, r: &AuthUserGetResponse) {
    let roles: String = r.roles.iter().map(|role| format!(" {role}")).collect();
    out::stdout(format!("User: {user}\nRoles:{roles}\n"));
}
