//! The printers of the `user` and `role` commands (etcdctl's `Role*` and `User*` printer
//! methods). No format but `simple` says more than the header for most of them; `table`
//! supports none, and `fields` neither `user get` nor `user list`: etcdctl then fails
//! (exit 4) after the request has been made.

use etcd_proto::etcdserverpb::{
    AuthRoleAddResponse, AuthRoleDeleteResponse, AuthRoleGetResponse,
    AuthRoleGrantPermissionResponse, AuthRoleListResponse, AuthRoleRevokePermissionResponse,
    AuthUserAddResponse, AuthUserChangePasswordResponse, AuthUserDeleteResponse,
    AuthUserGetResponse, AuthUserGrantRoleResponse, AuthUserListResponse,
    AuthUserRevokeRoleResponse, ResponseHeader,
};

use super::{fields, json, protobuf, simple, Format, Printer};
use crate::exit::Exit;
use crate::out;

impl Printer {
    /// A response that is just its header (role add, user delete, ...): `simple` prints
    /// its sentence, `fields` and `json` the header, `protobuf` the message.
    fn header_only<M: prost::Message>(
        &self,
        sentence: &str,
        header: Option<&ResponseHeader>,
        r: &M,
    ) -> Result<(), Exit> {
        match self.format {
            Format::Simple => out::line(sentence),
            Format::Fields => fields::hdr(header),
            Format::Json => json::print(&json::header_only(header)),
            Format::Protobuf => protobuf::print(r),
            Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// A header and a list of names (`json_key` in JSON), printed one per line in
    /// `simple`; `fields` prints them only where etcdctl does (`role list`).
    fn names<M: prost::Message>(
        &self,
        header: Option<&ResponseHeader>,
        json_key: &str,
        list: &[String],
        r: &M,
        fields: Option<fn(&M)>,
    ) -> Result<(), Exit> {
        match (self.format, fields) {
            (Format::Simple, _) => simple::names(list),
            (Format::Fields, Some(print)) => print(r),
            (Format::Json, _) => json::print(&json::names(header, json_key, list)),
            (Format::Protobuf, _) => protobuf::print(r),
            (Format::Fields, None) | (Format::Table, _) => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// `role add`.
    pub fn role_add(&self, role: &str, r: &AuthRoleAddResponse) -> Result<(), Exit> {
        self.header_only(&format!("Role {role} created"), r.header.as_ref(), r)
    }

    /// `role delete`.
    pub fn role_delete(&self, role: &str, r: &AuthRoleDeleteResponse) -> Result<(), Exit> {
        self.header_only(&format!("Role {role} deleted"), r.header.as_ref(), r)
    }

    /// `role grant-permission`.
    pub fn role_grant_permission(
        &self,
        role: &str,
        r: &AuthRoleGrantPermissionResponse,
    ) -> Result<(), Exit> {
        self.header_only(&format!("Role {role} updated"), r.header.as_ref(), r)
    }

    /// `role revoke-permission` of `key` (up to `end`, `""` for a single key).
    pub fn role_revoke_permission(
        &self,
        role: &str,
        key: &[u8],
        end: &[u8],
        r: &AuthRoleRevokePermissionResponse,
    ) -> Result<(), Exit> {
        if self.format == Format::Simple {
            simple::role_revoke_permission(role, key, end);
            return Ok(());
        }
        self.header_only("", r.header.as_ref(), r)
    }

    /// `role get`.
    pub fn role_get(&self, role: &str, r: &AuthRoleGetResponse) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::role_get(role, r),
            Format::Fields => fields::role_get(r),
            Format::Json => json::print(&json::role_get(r)),
            Format::Protobuf => protobuf::print(r),
            Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// `role list`.
    pub fn role_list(&self, r: &AuthRoleListResponse) -> Result<(), Exit> {
        let header = r.header.as_ref();
        self.names(header, "roles", &r.roles, r, Some(fields::role_list))
    }

    /// `user add`.
    pub fn user_add(&self, user: &str, r: &AuthUserAddResponse) -> Result<(), Exit> {
        self.header_only(&format!("User {user} created"), r.header.as_ref(), r)
    }

    /// `user delete`.
    pub fn user_delete(&self, user: &str, r: &AuthUserDeleteResponse) -> Result<(), Exit> {
        self.header_only(&format!("User {user} deleted"), r.header.as_ref(), r)
    }

    /// `user passwd`.
    pub fn user_change_password(&self, r: &AuthUserChangePasswordResponse) -> Result<(), Exit> {
        self.header_only("Password updated", r.header.as_ref(), r)
    }

    /// `user grant-role`.
    pub fn user_grant_role(
        &self,
        user: &str,
        role: &str,
        r: &AuthUserGrantRoleResponse,
    ) -> Result<(), Exit> {
        let sentence = format!("Role {role} is granted to user {user}");
        self.header_only(&sentence, r.header.as_ref(), r)
    }

    /// `user revoke-role`.
    pub fn user_revoke_role(
        &self,
        user: &str,
        role: &str,
        r: &AuthUserRevokeRoleResponse,
    ) -> Result<(), Exit> {
        let sentence = format!("Role {role} is revoked from user {user}");
        self.header_only(&sentence, r.header.as_ref(), r)
    }

    /// `user get` (without `--detail`).
    pub fn user_get(&self, user: &str, r: &AuthUserGetResponse) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::user_get(user, r),
            Format::Json => json::print(&json::names(r.header.as_ref(), "roles", &r.roles)),
            Format::Protobuf => protobuf::print(r),
            Format::Fields | Format::Table => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// `user list`.
    pub fn user_list(&self, r: &AuthUserListResponse) -> Result<(), Exit> {
        self.names(r.header.as_ref(), "users", &r.users, r, None)
    }
}
