//! `-w fields` (etcdctl's `printer_fields.go`): one `"Name" : value` line per field.

use etcd_proto::etcdserverpb::response_op::Response;
use etcd_proto::etcdserverpb::{AuthRoleGetResponse, AuthRoleListResponse};
use etcd_proto::etcdserverpb::{
    DeleteRangeResponse, LeaseGrantResponse, LeaseKeepAliveResponse, LeaseLeasesResponse,
    LeaseTimeToLiveResponse, MemberListResponse, PutResponse, RangeResponse, ResponseHeader,
    TxnResponse, WatchResponse,
};
use etcd_proto::mvccpb::KeyValue;

use super::{event_type, EpHashKv, EpHealth, EpStatus};
use crate::go::quote::quote;
use crate::out;

fn kv(pfx: &str, kv: &KeyValue) {
    out::line(format!("\"{pfx}Key\" : {}", quote(&kv.key)));
    out::line(format!("\"{pfx}CreateRevision\" : {}", kv.create_revision));
    out::line(format!("\"{pfx}ModRevision\" : {}", kv.mod_revision));
    out::line(format!("\"{pfx}Version\" : {}", kv.version));
    out::line(format!("\"{pfx}Value\" : {}", quote(&kv.value)));
    out::line(format!("\"{pfx}Lease\" : {}", kv.lease));
}

/// etcdctl dereferences the header; a missing one prints as zeroes here instead of
/// crashing.
pub fn hdr(h: Option<&ResponseHeader>) {
    let h = h.cloned().unwrap_or_default();
    out::line(format!("\"ClusterID\" : {}", h.cluster_id));
    out::line(format!("\"MemberID\" : {}", h.member_id));
    out::line(format!("\"Revision\" : {}", h.revision));
    out::line(format!("\"RaftTerm\" : {}", h.raft_term));
}

pub fn del(r: &DeleteRangeResponse) {
    hdr(r.header.as_ref());
    out::line(format!("\"Deleted\" : {}", r.deleted));
    for x in &r.prev_kvs {
        kv("Prev", x);
    }
}

pub fn get(r: &RangeResponse) {
    hdr(r.header.as_ref());
    for x in &r.kvs {
        kv("", x);
    }
    out::line(format!("\"More\" : {}", r.more));
    out::line(format!("\"Count\" : {}", r.count));
}

pub fn put(r: &PutResponse) {
    hdr(r.header.as_ref());
    if let Some(x) = &r.prev_kv {
        kv("Prev", x);
    }
}

pub fn txn(r: &TxnResponse) {
    hdr(r.header.as_ref());
    out::line(format!("\"Succeeded\" : {}", r.succeeded));
    for op in &r.responses {
        match &op.response {
            Some(Response::ResponseDeleteRange(d)) => del(d),
            Some(Response::ResponsePut(p)) => put(p),
            Some(Response::ResponseRange(g)) => get(g),
            other => out::line(format!(
                "\"Unknown\" : {}",
                quote(format!("{other:?}").as_bytes())
            )),
        }
    }
}

pub fn member_list(r: &MemberListResponse) {
    hdr(r.header.as_ref());
    for m in &r.members {
        out::line(format!("\"ID\" : {}", m.id));
        out::line(format!("\"Name\" : {}", quote(m.name.as_bytes())));
        for u in &m.peer_ur_ls {
            out::line(format!("\"PeerURL\" : {}", quote(u.as_bytes())));
        }
        for u in &m.client_ur_ls {
            out::line(format!("\"ClientURL\" : {}", quote(u.as_bytes())));
        }
        out::line(format!("\"IsLearner\" : {}", m.is_learner));
        out::line("");
    }
}

pub fn endpoint_health(list: &[EpHealth]) {
    for h in list {
        out::line(format!("\"Endpoint\" : {}", quote(h.ep.as_bytes())));
        out::line(format!("\"Health\" : {}", h.health));
        out::line(format!("\"Took\" : {}", h.took));
        out::line(format!("\"Error\" : {}", h.error));
        out::line("");
    }
}

pub fn endpoint_status(list: &[EpStatus]) {
    for s in list {
        let r = &s.resp;
        hdr(r.header.as_ref());
        out::line(format!("\"Version\" : {}", quote(r.version.as_bytes())));
        out::line(format!("\"DBSize\" : {}", r.db_size));
        out::line(format!("\"Leader\" : {}", r.leader));
        out::line(format!("\"IsLearner\" : {}", r.is_learner));
        out::line(format!("\"RaftIndex\" : {}", r.raft_index));
        out::line(format!("\"RaftTerm\" : {}", r.raft_term));
        out::line(format!("\"RaftAppliedIndex\" : {}", r.raft_applied_index));
        // Go's `%v` of a []string: `[a b]`.
        out::line(format!("\"Errors\" : [{}]", r.errors.join(" ")));
        out::line(format!("\"Endpoint\" : {}", quote(s.ep.as_bytes())));
        out::line("");
    }
}

pub fn endpoint_hashkv(list: &[EpHashKv]) {
    for h in list {
        hdr(h.resp.header.as_ref());
        out::line(format!("\"Endpoint\" : {}", quote(h.ep.as_bytes())));
        out::line(format!("\"Hash\" : {}", h.resp.hash));
        out::line("");
    }
}

pub fn watch(r: &WatchResponse) {
    hdr(r.header.as_ref());
    for e in &r.events {
        out::line(format!("\"Type\" : {}", event_type(e)));
        if let Some(prev) = &e.prev_kv {
            kv("Prev", prev);
        }
        kv("", &e.kv.clone().unwrap_or_default());
    }
}

/// `"ID"` and `"TTL"` after the header (grant, keep-alive).
fn id_ttl(h: Option<&ResponseHeader>, id: i64, ttl: i64) {
    hdr(h);
    out::line(format!("\"ID\" : {id}"));
    out::line(format!("\"TTL\" : {ttl}"));
}

pub fn grant(r: &LeaseGrantResponse) {
    id_ttl(r.header.as_ref(), r.id, r.ttl);
}

pub fn revoke(h: Option<&ResponseHeader>) {
    hdr(h);
}

pub fn keep_alive(r: &LeaseKeepAliveResponse) {
    id_ttl(r.header.as_ref(), r.id, r.ttl);
}

pub fn time_to_live(r: &LeaseTimeToLiveResponse) {
    id_ttl(r.header.as_ref(), r.id, r.ttl);
    out::line(format!("\"GrantedTTL\" : {}", r.granted_ttl));
    for k in &r.keys {
        out::line(format!("\"Key\" : {}", quote(k)));
    }
}

pub fn leases(r: &LeaseLeasesResponse) {
    hdr(r.header.as_ref());
    for l in &r.leases {
        out::line(format!("\"ID\" : {}", l.id));
    }
}

pub fn role_get(r: &AuthRoleGetResponse) {
    hdr(r.header.as_ref());
    for p in &r.perm {
        // `fmt.Println` puts a space between the label and the value.
        out::line(format!(
            "\"PermType\" :  {}",
            super::perm_type_name(p.perm_type)
        ));
        out::line(format!("\"Key\" : {}", quote(&p.key)));
        out::line(format!("\"RangeEnd\" : {}", quote(&p.range_end)));
    }
}

pub fn role_list(r: &AuthRoleListResponse) {
    hdr(r.header.as_ref());
    let roles: String = r
        .roles
        .iter()
        .map(|role| format!(" {}", quote(role.as_bytes())))
        .collect();
    out::line(format!("\"Roles\" :{roles}"));
}
