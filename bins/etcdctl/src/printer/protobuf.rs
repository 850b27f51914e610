//! `-w protobuf`: the raw marshalled response, as etcdctl's `printPB` writes it.

use etcd_proto::etcdserverpb::{ResponseHeader, WatchResponse};

use crate::out;

pub fn print<M: prost::Message>(m: &M) {
    out::stdout(m.encode_to_vec());
}

/// clientv3's lease responses embed `*pb.ResponseHeader`, whose `Marshal` is the only one
/// they have: etcdctl writes the header alone.
pub fn header(h: Option<&ResponseHeader>) {
    print(&h.cloned().unwrap_or_default());
}

/// The `pb.WatchResponse` etcdctl rebuilds from clientv3's: no watch ID, cancel reason or
/// fragment flag.
pub fn watch(r: &WatchResponse) {
    print(&WatchResponse {
        header: Some(r.header.unwrap_or_default()),
        events: r.events.clone(),
        compact_revision: r.compact_revision,
        canceled: r.canceled,
        created: r.created,
        ..Default::default()
    });
}

/// gogo protobuf's compact text form of a header (`%v`): `name:value ` per set field.
pub fn header_text(h: &ResponseHeader) -> String {
    [
        ("cluster_id", h.cluster_id.to_string()),
        ("member_id", h.member_id.to_string()),
        ("revision", h.revision.to_string()),
        ("raft_term", h.raft_term.to_string()),
    ]
    .iter()
    .filter(|(_, v)| v != "0")
    .map(|(name, v)| format!("{name}:{v} "))
    .collect()
}
