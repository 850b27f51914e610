//! etcdctl's output formats (`-w simple|fields|json|protobuf|table`), one module each.
//! [`Printer`] dispatches a response to its format, or fails the way etcdctl does for a
//! format the response does not support.

mod alarm;
mod auth;
mod fields;
mod json;
mod protobuf;
mod simple;
mod snapshot;
mod table;

use etcd_proto::etcdserverpb::{
    DeleteRangeResponse, LeaseGrantResponse, LeaseKeepAliveResponse, LeaseLeasesResponse,
    LeaseRevokeResponse, LeaseTimeToLiveResponse, MemberAddResponse, MemberListResponse,
    MemberPromoteResponse, MemberRemoveResponse, MemberUpdateResponse, MoveLeaderResponse,
    PutResponse, RangeResponse, StatusResponse, TxnResponse, WatchResponse,
};
use etcd_proto::etcdserverpb::{HashKvResponse, Member, ResponseHeader};
use etcd_proto::mvccpb::event::EventType;
use etcd_proto::mvccpb::Event;

use crate::exit::{Exit, EXIT_BAD_FEATURE};

/// One `endpoint health` result (etcdctl's `epHealth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpHealth {
    /// Endpoint as given.
    pub ep: String,
    /// Whether it answered.
    pub health: bool,
    /// Go duration text of the probe's time ("" if it could not be probed).
    pub took: String,
    /// Error text, "" if healthy.
    pub error: String,
}

/// One `endpoint status` result (etcdctl's `epStatus`).
#[derive(Debug, Clone)]
pub struct EpStatus {
    /// Endpoint as given.
    pub ep: String,
    /// The Maintenance.Status answer.
    pub resp: StatusResponse,
}

/// One `endpoint hashkv` result (etcdctl's `epHashKV`).
#[derive(Debug, Clone)]
pub struct EpHashKv {
    /// Endpoint as given.
    pub ep: String,
    /// The Maintenance.HashKV answer.
    pub resp: HashKvResponse,
}

/// The selected output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `simple`.
    Simple,
    /// `fields`.
    Fields,
    /// `json`.
    Json,
    /// `protobuf`.
    Protobuf,
    /// `table`.
    Table,
}

/// A configured printer (etcdctl's `display`).
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// Output format.
    pub format: Format,
    /// `--hex`: keys and values as `\x..` escapes (simple format only).
    pub hex: bool,
    /// `--print-value-only` (simple format only).
    pub value_only: bool,
}

impl Printer {
    /// `NewPrinter(name, isHex)`; `None` for an unknown format.
    pub fn new(name: &str, hex: bool) -> Option<Printer> {
        let format = match name {
            "simple" => Format::Simple,
            "fields" => Format::Fields,
            "json" => Format::Json,
            "protobuf" => Format::Protobuf,
            "table" => Format::Table,
            _ => return None,
        };
        Some(Printer {
            format,
            hex,
            value_only: false,
        })
    }

    fn name(&self) -> &'static str {
        match self.format {
            Format::Simple => "simple",
            Format::Fields => "fields",
            Format::Json => "json",
            Format::Protobuf => "protobuf",
            Format::Table => "table",
        }
    }

    /// etcdctl's `printerUnsupported`.
    fn unsupported(&self) -> Exit {
        Exit::error(
            EXIT_BAD_FEATURE,
            format!("{} not supported as output format", self.name()),
        )
    }

    /// Prints a Range response.
    pub fn get(&self, r: &RangeResponse) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::get(self, r),
            Format::Fields => fields::get(r),
            Format::Json => json::print(&json::range(r)),
            Format::Protobuf => protobuf::print(r),
            Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// Prints a Put response.
    pub fn put(&self, r: &PutResponse) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::put(self, r),
            Format::Fields => fields::put(r),
            Format::Json => json::print(&json::put(r)),
            Format::Protobuf => protobuf::print(r),
            Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// Prints a DeleteRange response.
    pub fn del(&self, r: &DeleteRangeResponse) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::del(self, r),
            Format::Fields => fields::del(r),
            Format::Json => json::print(&json::del(r)),
            Format::Protobuf => protobuf::print(r),
            Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// Prints a Txn response.
    pub fn txn(&self, r: &TxnResponse) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::txn(self, r),
            Format::Fields => fields::txn(r),
            Format::Json => json::print(&json::txn(r)),
            Format::Protobuf => protobuf::print(r),
            Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// Prints a MemberList response.
    pub fn member_list(&self, r: &MemberListResponse) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::rows(&member_list_table(r).1),
            Format::Fields => fields::member_list(r),
            Format::Json => json::print(&json::member_list(r)),
            Format::Protobuf => protobuf::print(r),
            Format::Table => table::print(member_list_table(r)),
        }
        Ok(())
    }

    /// Prints a MemberAdd response (only `simple`, `json` and `protobuf` support it).
    pub fn member_add(&self, r: &MemberAddResponse) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::member_add(r),
            Format::Json => json::print(&json::member_add(r)),
            Format::Protobuf => protobuf::print(r),
            Format::Fields | Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// Prints a MemberRemove response for member `id`.
    pub fn member_remove(&self, id: u64, r: &MemberRemoveResponse) -> Result<(), Exit> {
        self.member_change(id, "removed from", r.header.as_ref(), &r.members, r)
    }

    /// Prints a MemberUpdate response for member `id`.
    pub fn member_update(&self, id: u64, r: &MemberUpdateResponse) -> Result<(), Exit> {
        self.member_change(id, "updated in", r.header.as_ref(), &r.members, r)
    }

    /// Prints a MemberPromote response for member `id`.
    pub fn member_promote(&self, id: u64, r: &MemberPromoteResponse) -> Result<(), Exit> {
        self.member_change(id, "promoted in", r.header.as_ref(), &r.members, r)
    }

    /// The responses of remove, update and promote: a header and the members after the
    /// change; `simple` prints `Member <id> <what> cluster <cluster id>`.
    fn member_change<M: prost::Message>(
        &self,
        id: u64,
        what: &str,
        header: Option<&ResponseHeader>,
        members: &[Member],
        r: &M,
    ) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::member_change(id, what, header),
            Format::Json => json::print(&json::members(header, members)),
            Format::Protobuf => protobuf::print(r),
            Format::Fields | Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// Prints a MoveLeader response (leadership moved from `leader` to `target`).
    pub fn move_leader(
        &self,
        leader: u64,
        target: u64,
        r: &MoveLeaderResponse,
    ) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::move_leader(leader, target),
            Format::Json => json::print(&json::move_leader(r)),
            Format::Protobuf => protobuf::print(r),
            Format::Fields | Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// Prints `endpoint health` results.
    pub fn endpoint_health(&self, list: &[EpHealth]) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::endpoint_health(list),
            Format::Fields => fields::endpoint_health(list),
            Format::Json => json::print(&json::endpoint_health(list)),
            Format::Protobuf => return Err(self.unsupported()),
            Format::Table => table::print(endpoint_health_table(list)),
        }
        Ok(())
    }

    /// Prints `endpoint status` results.
    pub fn endpoint_status(&self, list: &[EpStatus]) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::rows(&endpoint_status_table(list).1),
            Format::Fields => fields::endpoint_status(list),
            Format::Json => json::print(&json::endpoint_status(list)),
            Format::Protobuf => return Err(self.unsupported()),
            Format::Table => table::print(endpoint_status_table(list)),
        }
        Ok(())
    }

    /// Prints `endpoint hashkv` results.
    pub fn endpoint_hashkv(&self, list: &[EpHashKv]) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::rows(&endpoint_hashkv_table(list).1),
            Format::Fields => fields::endpoint_hashkv(list),
            Format::Json => json::print(&json::endpoint_hashkv(list)),
            Format::Protobuf => return Err(self.unsupported()),
            Format::Table => table::print(endpoint_hashkv_table(list)),
        }
        Ok(())
    }
}

impl Printer {
    /// Prints one watch response (`display.Watch`).
    pub fn watch(&self, r: &WatchResponse) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::watch(self, r),
            Format::Fields => fields::watch(r),
            Format::Json => json::print(&json::watch(r)),
            Format::Protobuf => protobuf::watch(r),
            Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// Prints the response clientv3 hands a watch whose stream closed with an error
    /// (`WatchResponse{Canceled: true, closeErr}`: a zero header, no events).
    pub fn watch_closed(&self) -> Result<(), Exit> {
        let r = WatchResponse {
            header: Some(ResponseHeader::default()),
            canceled: true,
            ..Default::default()
        };
        match self.format {
            Format::Json => json::print(&json::watch_closed(&r)),
            _ => return self.watch(&r),
        }
        Ok(())
    }

    /// Prints a LeaseGrant response.
    pub fn grant(&self, r: &LeaseGrantResponse) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::grant(r),
            Format::Fields => fields::grant(r),
            Format::Json => json::print(&json::grant(r)),
            Format::Protobuf => protobuf::header(r.header.as_ref()),
            Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// Prints a LeaseRevoke response for lease `id`.
    pub fn revoke(&self, id: i64, r: &LeaseRevokeResponse) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::revoke(id),
            Format::Fields => fields::revoke(r.header.as_ref()),
            Format::Json => json::print(&json::revoke(r.header.as_ref())),
            // clientv3.LeaseRevokeResponse has no Marshal method.
            Format::Protobuf => {
                let text = r
                    .header
                    .as_ref()
                    .map_or_else(|| "<nil>".to_string(), protobuf::header_text);
                return Err(Exit::error(
                    EXIT_BAD_FEATURE,
                    format!(
                        "marshal unsupported for type clientv3.LeaseRevokeResponse ({{{text}}})"
                    ),
                ));
            }
            Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// Prints a LeaseKeepAlive response.
    pub fn keep_alive(&self, r: &LeaseKeepAliveResponse) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::keep_alive(r),
            Format::Fields => fields::keep_alive(r),
            Format::Json => json::print(&json::keep_alive(r)),
            Format::Protobuf => protobuf::header(r.header.as_ref()),
            Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// Prints a LeaseTimeToLive response (`keys`: whether keys were asked for).
    pub fn time_to_live(&self, r: &LeaseTimeToLiveResponse, keys: bool) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::time_to_live(r, keys),
            Format::Fields => fields::time_to_live(r),
            Format::Json => json::print(&json::time_to_live(r)),
            Format::Protobuf => protobuf::header(r.header.as_ref()),
            Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// Prints a LeaseLeases response.
    pub fn leases(&self, r: &LeaseLeasesResponse) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::leases(r),
            Format::Fields => fields::leases(r),
            Format::Json => json::print(&json::leases(r)),
            Format::Protobuf => protobuf::header(r.header.as_ref()),
            Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }
}

/// An event's type as Go prints `mvccpb.Event_EventType` (its `String()`).
pub fn event_type(e: &Event) -> String {
    match EventType::try_from(e.r#type) {
        Ok(t) => t.as_str_name().to_string(),
        Err(_) => e.r#type.to_string(),
    }
}

/// A permission's type as Go prints `authpb.Permission_Type` (its `String()`).
pub fn perm_type_name(t: i32) -> String {
    match etcd_proto::authpb::permission::Type::try_from(t) {
        Ok(t) => t.as_str_name().to_string(),
        Err(_) => t.to_string(),
    }
}

/// A table: header and rows.
type Table = (Vec<&'static str>, Vec<Vec<String>>);

/// `makeMemberListTable`.
fn member_list_table(r: &MemberListResponse) -> Table {
    let hdr = vec![
        "ID",
        "Status",
        "Name",
        "Peer Addrs",
        "Client Addrs",
        "Is Learner",
    ];
    let rows = r
        .members
        .iter()
        .map(|m| {
            vec![
                format!("{:x}", m.id),
                if m.name.is_empty() {
                    "unstarted"
                } else {
                    "started"
                }
                .to_string(),
                m.name.clone(),
                m.peer_ur_ls.join(","),
                m.client_ur_ls.join(","),
                m.is_learner.to_string(),
            ]
        })
        .collect();
    (hdr, rows)
}

/// `makeEndpointHealthTable`.
fn endpoint_health_table(list: &[EpHealth]) -> Table {
    let hdr = vec!["endpoint", "health", "took", "error"];
    let rows = list
        .iter()
        .map(|h| {
            vec![
                h.ep.clone(),
                h.health.to_string(),
                h.took.clone(),
                h.error.clone(),
            ]
        })
        .collect();
    (hdr, rows)
}

/// `makeEndpointStatusTable`.
fn endpoint_status_table(list: &[EpStatus]) -> Table {
    let hdr = vec![
        "endpoint",
        "ID",
        "version",
        "db size",
        "is leader",
        "is learner",
        "raft term",
        "raft index",
        "raft applied index",
        "errors",
    ];
    let rows = list
        .iter()
        .map(|s| {
            let member_id = s.resp.header.as_ref().map_or(0, |h| h.member_id);
            vec![
                s.ep.clone(),
                format!("{member_id:x}"),
                s.resp.version.clone(),
                crate::go::humanize::bytes(s.resp.db_size as u64),
                (s.resp.leader == member_id).to_string(),
                s.resp.is_learner.to_string(),
                s.resp.raft_term.to_string(),
                s.resp.raft_index.to_string(),
                s.resp.raft_applied_index.to_string(),
                s.resp.errors.join(", "),
            ]
        })
        .collect();
    (hdr, rows)
}

/// `makeEndpointHashKVTable`.
fn endpoint_hashkv_table(list: &[EpHashKv]) -> Table {
    let hdr = vec!["endpoint", "hash"];
    let rows = list
        .iter()
        .map(|h| vec![h.ep.clone(), h.resp.hash.to_string()])
        .collect();
    (hdr, rows)
}
