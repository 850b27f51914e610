//! `-w json`: Go's `encoding/json` of etcd's gogo-generated structs (snake_case or
//! camelCase tags as in `rpc.pb.go`, `omitempty` everywhere, `[]byte` as base64).

use etcd_proto::authpb::Permission;
use etcd_proto::etcdserverpb::response_op::Response;
use etcd_proto::etcdserverpb::AuthRoleGetResponse;
use etcd_proto::etcdserverpb::{
    DeleteRangeResponse, LeaseGrantResponse, LeaseKeepAliveResponse, LeaseLeasesResponse,
    LeaseTimeToLiveResponse, Member, MemberAddResponse, MemberListResponse, MoveLeaderResponse,
    PutResponse, RangeResponse, ResponseHeader, StatusResponse, TxnResponse, WatchResponse,
};
use etcd_proto::mvccpb::{Event, KeyValue};

use super::{EpHashKv, EpHealth, EpStatus};
use crate::go::json::{array, Obj};
use crate::out;

/// `printJSON`: the document and a newline.
pub fn print(doc: &str) {
    out::line(doc);
}

pub fn header(h: &ResponseHeader) -> String {
    header_fields(&mut Obj::new(), Some(h)).finish()
}

/// The header's fields, as Go writes them for a struct embedding `*pb.ResponseHeader`
/// (clientv3's lease responses): flattened into the outer object, none if it is nil.
fn header_fields<'a>(o: &'a mut Obj, h: Option<&ResponseHeader>) -> &'a mut Obj {
    match h {
        Some(h) => o
            .num("cluster_id", h.cluster_id)
            .num("member_id", h.member_id)
            .num("revision", h.revision)
            .num("raft_term", h.raft_term),
        None => o,
    }
}

fn kv(kv: &KeyValue) -> String {
    Obj::new()
        .bytes_omit("key", &kv.key)
        .num("create_revision", kv.create_revision)
        .num("mod_revision", kv.mod_revision)
        .num("version", kv.version)
        .bytes_omit("value", &kv.value)
        .num("lease", kv.lease)
        .finish()
}

fn kvs(list: &[KeyValue]) -> Vec<String> {
    list.iter().map(kv).collect()
}

pub fn range(r: &RangeResponse) -> String {
    Obj::new()
        .obj_omit("header", r.header.as_ref().map(header))
        .list_omit("kvs", &kvs(&r.kvs))
        .bool_omit("more", r.more)
        .num("count", r.count)
        .finish()
}

pub fn put(r: &PutResponse) -> String {
    Obj::new()
        .obj_omit("header", r.header.as_ref().map(header))
        .obj_omit("prev_kv", r.prev_kv.as_ref().map(kv))
        .finish()
}

pub fn del(r: &DeleteRangeResponse) -> String {
    Obj::new()
        .obj_omit("header", r.header.as_ref().map(header))
        .num("deleted", r.deleted)
        .list_omit("prev_kvs", &kvs(&r.prev_kvs))
        .finish()
}

pub fn txn(r: &TxnResponse) -> String {
    let responses: Vec<String> = r
        .responses
        .iter()
        .map(|op| {
            // The oneof is an interface field without a json tag: `{"Response":{"ResponsePut":...}}`.
            let inner = match &op.response {
                None => "null".to_string(),
                Some(Response::ResponseRange(x)) => {
                    Obj::new().raw("ResponseRange", &range(x)).finish()
                }
                Some(Response::ResponsePut(x)) => Obj::new().raw("ResponsePut", &put(x)).finish(),
                Some(Response::ResponseDeleteRange(x)) => {
                    Obj::new().raw("ResponseDeleteRange", &del(x)).finish()
                }
                Some(Response::ResponseTxn(x)) => Obj::new().raw("ResponseTxn", &txn(x)).finish(),
            };
            Obj::new().raw("Response", &inner).finish()
        })
        .collect();
    Obj::new()
        .obj_omit("header", r.header.as_ref().map(header))
        .bool_omit("succeeded", r.succeeded)
        .list_omit("responses", &responses)
        .finish()
}

fn member(m: &Member) -> String {
    Obj::new()
        .num("ID", m.id)
        .str_omit("name", &m.name)
        .strs_omit("peerURLs", &m.peer_ur_ls)
        .strs_omit("clientURLs", &m.client_ur_ls)
        .bool_omit("isLearner", m.is_learner)
        .finish()
}

pub fn member_list(r: &MemberListResponse) -> String {
    members(r.header.as_ref(), &r.members)
}

/// A response made of a header and a member list (list, remove, update, promote).
pub fn members(h: Option<&ResponseHeader>, list: &[Member]) -> String {
    let list: Vec<String> = list.iter().map(member).collect();
    Obj::new()
        .obj_omit("header", h.map(header))
        .list_omit("members", &list)
        .finish()
}

pub fn member_add(r: &MemberAddResponse) -> String {
    let list: Vec<String> = r.members.iter().map(member).collect();
    Obj::new()
        .obj_omit("header", r.header.as_ref().map(header))
        .obj_omit("member", r.member.as_ref().map(member))
        .list_omit("members", &list)
        .finish()
}

pub fn move_leader(r: &MoveLeaderResponse) -> String {
    Obj::new()
        .obj_omit("header", r.header.as_ref().map(header))
        .finish()
}

fn status(r: &StatusResponse) -> String {
    Obj::new()
        .obj_omit("header", r.header.as_ref().map(header))
        .str_omit("version", &r.version)
        .num("dbSize", r.db_size)
        .num("leader", r.leader)
        .num("raftIndex", r.raft_index)
        .num("raftTerm", r.raft_term)
        .num("raftAppliedIndex", r.raft_applied_index)
        .strs_omit("errors", &r.errors)
        .num("dbSizeInUse", r.db_size_in_use)
        .bool_omit("isLearner", r.is_learner)
        // Ours: only set by our server with scheduled backups on.
        .num("backupLastSuccess", r.backup_last_success)
        .finish()
}

pub fn endpoint_status(list: &[EpStatus]) -> String {
    let items: Vec<String> = list
        .iter()
        .map(|s| {
            Obj::new()
                .str("Endpoint", &s.ep)
                .raw("Status", &status(&s.resp))
                .finish()
        })
        .collect();
    array(&items)
}

pub fn endpoint_hashkv(list: &[EpHashKv]) -> String {
    let items: Vec<String> = list
        .iter()
        .map(|h| {
            let hash = Obj::new()
                .obj_omit("header", h.resp.header.as_ref().map(header))
                .num("hash", h.resp.hash)
                .num("compact_revision", h.resp.compact_revision)
                .finish();
            Obj::new()
                .str("Endpoint", &h.ep)
                .raw("HashKV", &hash)
                .finish()
        })
        .collect();
    array(&items)
}

pub fn endpoint_health(list: &[EpHealth]) -> String {
    let items: Vec<String> = list
        .iter()
        .map(|h| {
            Obj::new()
                .str("endpoint", &h.ep)
                .bool("health", h.health)
                .str("took", &h.took)
                .str_omit("error", &h.error)
                .finish()
        })
        .collect();
    array(&items)
}

fn event(e: &Event) -> String {
    Obj::new()
        .num("type", e.r#type)
        .obj_omit("kv", e.kv.as_ref().map(kv))
        .obj_omit("prev_kv", e.prev_kv.as_ref().map(kv))
        .finish()
}

/// clientv3's `WatchResponse` (no json tags: Go field names, nothing omitted).
pub fn watch(r: &WatchResponse) -> String {
    let events: Vec<String> = r.events.iter().map(event).collect();
    watch_object(r, &array(&events))
}

/// The response clientv3 hands a watch whose stream closed with an error
/// (`WatchResponse{Canceled: true, closeErr}`): unlike a server's, its events are a nil
/// slice, `null`.
pub fn watch_closed(r: &WatchResponse) -> String {
    watch_object(r, "null")
}

fn watch_object(r: &WatchResponse, events: &str) -> String {
    Obj::new()
        .raw("Header", &header(&r.header.unwrap_or_default()))
        .raw("Events", events)
        .raw("CompactRevision", &r.compact_revision.to_string())
        .bool("Canceled", r.canceled)
        .bool("Created", r.created)
        .finish()
}

/// `"ID"` and `"TTL"` after the flattened header (grant, keep-alive).
fn id_ttl<'a>(o: &'a mut Obj, h: Option<&ResponseHeader>, id: i64, ttl: i64) -> &'a mut Obj {
    header_fields(o, h)
        .raw("ID", &id.to_string())
        .raw("TTL", &ttl.to_string())
}

pub fn grant(r: &LeaseGrantResponse) -> String {
    id_ttl(&mut Obj::new(), r.header.as_ref(), r.id, r.ttl)
        .str("Error", &r.error)
        .finish()
}

pub fn revoke(h: Option<&ResponseHeader>) -> String {
    Obj::new().obj_omit("header", h.map(header)).finish()
}

pub fn keep_alive(r: &LeaseKeepAliveResponse) -> String {
    id_ttl(&mut Obj::new(), r.header.as_ref(), r.id, r.ttl).finish()
}

pub fn time_to_live(r: &LeaseTimeToLiveResponse) -> String {
    let keys: Vec<String> = r
        .keys
        .iter()
        .map(|k| format!("\"{}\"", crate::go::json::base64(k)))
        .collect();
    // A nil `[][]byte` (no keys) is `null`.
    let keys = if keys.is_empty() {
        "null".to_string()
    } else {
        array(&keys)
    };
    header_fields(&mut Obj::new(), r.header.as_ref())
        .raw("id", &r.id.to_string())
        .raw("ttl", &r.ttl.to_string())
        .raw("granted-ttl", &r.granted_ttl.to_string())
        .raw("keys", &keys)
        .finish()
}

pub fn leases(r: &LeaseLeasesResponse) -> String {
    let items: Vec<String> = r
        .leases
        .iter()
        .map(|l| Obj::new().raw("id", &l.id.to_string()).finish())
        .collect();
    header_fields(&mut Obj::new(), r.header.as_ref())
        .raw("leases", &array(&items))
        .finish()
}

/// A response made of its header alone (most auth responses).
pub fn header_only(h: Option<&ResponseHeader>) -> String {
    Obj::new().obj_omit("header", h.map(header)).finish()
}

/// A header and a list of names under `key` (role list, user list, user get).
pub fn names(h: Option<&ResponseHeader>, key: &str, list: &[String]) -> String {
    Obj::new()
        .obj_omit("header", h.map(header))
        .strs_omit(key, list)
        .finish()
}

fn perm(p: &Permission) -> String {
    Obj::new()
        .num("permType", p.perm_type)
        .bytes_omit("key", &p.key)
        .bytes_omit("range_end", &p.range_end)
        .finish()
}

pub fn role_get(r: &AuthRoleGetResponse) -> String {
    let perms: Vec<String> = r.perm.iter().map(perm).collect();
    Obj::new()
        .obj_omit("header", r.header.as_ref().map(header))
        .list_omit("perm", &perms)
        .finish()
}
