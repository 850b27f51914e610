//! gogoproto's compact text form (`proto.CompactTextString`, what Go's `%v` prints for
//! etcd's messages) for the messages whose text reaches users: etcd puts an alarm's text
//! into `Status.errors`, etcdctl prints it for `alarm list`.

use crate::etcdserverpb::{AlarmMember, AlarmType};

/// `memberID:1 alarm:NOSPACE ` (fields at their zero value are left out).
pub fn alarm_member(m: &AlarmMember) -> String {
    let mut s = String::new();
    if m.member_id != 0 {
        s.push_str(&format!("memberID:{} ", m.member_id));
    }
    if m.alarm != 0 {
        match AlarmType::try_from(m.alarm) {
            Ok(a) => s.push_str(&format!("alarm:{} ", a.as_str_name())),
            Err(_) => s.push_str(&format!("alarm:{} ", m.alarm)),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarm_members() {
        let m = |member_id, alarm| AlarmMember { member_id, alarm };
        assert_eq!(alarm_member(&m(42, 1)), "memberID:42 alarm:NOSPACE ");
        assert_eq!(alarm_member(&m(0, 2)), "alarm:CORRUPT ");
        assert_eq!(alarm_member(&m(0, 0)), "");
    }
}
