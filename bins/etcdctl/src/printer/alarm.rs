//! The printer of `alarm list` and `alarm disarm` (etcdctl's `Alarm` printer methods).
//! etcd answers alarms without a header, and etcdctl's `fields` printer dereferences it:
//! it crashes (Go's nil pointer panic, exit 2) after the request was made; `table` is
//! not supported.

use etcd_proto::etcdserverpb::{AlarmResponse, AlarmType};
use etcd_proto::text::alarm_member;

use super::{fields, json, protobuf, Format, Printer};
use crate::exit::Exit;
use crate::go::json::Obj;
use crate::out;

/// Go's exit status after an unrecovered panic.
const GO_PANIC_EXIT: i32 = 2;

impl Printer {
    /// An Alarm response.
    pub fn alarm(&self, r: &AlarmResponse) -> Result<(), Exit> {
        match self.format {
            Format::Simple => {
                for a in &r.alarms {
                    out::line(alarm_member(a));
                }
            }
            Format::Fields => {
                let Some(h) = r.header.as_ref() else {
                    out::stderr(
                        "panic: runtime error: invalid memory address or nil pointer dereference\n",
                    );
                    return Err(Exit::silent(GO_PANIC_EXIT));
                };
                fields::hdr(Some(h));
                for a in &r.alarms {
                    let name = AlarmType::try_from(a.alarm)
                        .map_or_else(|_| a.alarm.to_string(), |t| t.as_str_name().to_owned());
                    out::line(format!("\"MemberID\" : {}", a.member_id));
                    out::line(format!("\"AlarmType\" : {name}"));
                    out::line("");
                }
            }
            Format::Json => {
                let alarms: Vec<String> = r
                    .alarms
                    .iter()
                    .map(|a| {
                        Obj::new()
                            .num("memberID", a.member_id)
                            .num("alarm", a.alarm)
                            .finish()
                    })
                    .collect();
                let doc = Obj::new()
                    .obj_omit("header", r.header.as_ref().map(json::header))
                    .list_omit("alarms", &alarms)
                    .finish();
                json::print(&doc);
            }
            Format::Protobuf => protobuf::print(r),
            Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }
}
