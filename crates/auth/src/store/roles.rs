//! Role changes (applied from raft), as etcd 3.4's `authStore.Role*`.

use etcd_proto::authpb::{Permission, Role};
use mvcc::WriteBatch;

use super::AuthStore;
use crate::{persist, AuthError, ROOT_ROLE};

impl AuthStore {
    fn role_mut(&mut self, name: &str) -> Result<&mut Role, AuthError> {
        self.roles.get_mut(name).ok_or(AuthError::RoleNotFound)
    }

    /// Stores `name`'s record, bumps the revision and rebuilds the permissions.
    fn save_role(&mut self, batch: &mut WriteBatch, name: &str) {
        if let Some(role) = self.roles.get(name) {
            persist::put_role(batch, role);
        }
        self.commit_revision(batch);
        self.refresh_perms();
    }

    pub fn role_add(&mut self, batch: &mut WriteBatch, name: &str) -> Result<(), AuthError> {
        if name.is_empty() {
            return Err(AuthError::RoleEmpty);
        }
        if self.roles.contains_key(name) {
            return Err(AuthError::RoleAlreadyExist);
        }
        let role = Role {
            name: name.as_bytes().to_vec(),
            key_permission: Vec::new(),
        };
        self.roles.insert(name.to_owned(), role);
        self.save_role(batch, name);
        Ok(())
    }

    /// Deletes a role and takes it from every user that had it.
    pub fn role_delete(&mut self, batch: &mut WriteBatch, name: &str) -> Result<(), AuthError> {
        if self.enabled && name == ROOT_ROLE {
            return Err(AuthError::InvalidAuthMgmt);
        }
        self.roles.remove(name).ok_or(AuthError::RoleNotFound)?;
        persist::delete_role(batch, name);
        for user in self.users.values_mut() {
            let before = user.roles.len();
            user.roles.retain(|r| r != name);
            if user.roles.len() != before {
                persist::put_user(batch, user);
            }
        }
        self.commit_revision(batch);
        self.refresh_perms();
        Ok(())
    }

    /// Grants `perm`, or changes the type of the permission on the same range.
    pub fn role_grant_permission(
        &mut self,
        batch: &mut WriteBatch,
        name: &str,
        perm: Permission,
    ) -> Result<(), AuthError> {
        let perms = &mut self.role_mut(name)?.key_permission;
        match perms
            .iter_mut()
            .find(|p| p.key == perm.key && p.range_end == perm.range_end)
        {
            Some(existing) => existing.perm_type = perm.perm_type,
            None => {
                let at = perms.partition_point(|p| p.key <= perm.key);
                perms.insert(at, perm);
            }
        }
        self.save_role(batch, name);
        Ok(())
    }

    /// Revokes the permission on exactly `[key, range_end)`.
    pub fn role_revoke_permission(
        &mut self,
        batch: &mut WriteBatch,
        name: &str,
        key: &[u8],
        range_end: &[u8],
    ) -> Result<(), AuthError> {
        let perms = &mut self.role_mut(name)?.key_permission;
        let before = perms.len();
        perms.retain(|p| p.key != key || p.range_end != range_end);
        if perms.len() == before {
            return Err(AuthError::PermissionNotGranted);
        }
        self.save_role(batch, name);
        Ok(())
    }

    /// The permissions of role `name`.
    pub fn role_get(&self, name: &str) -> Result<Vec<Permission>, AuthError> {
        self.roles
            .get(name)
            .map(|r| r.key_permission.clone())
            .ok_or(AuthError::RoleNotFound)
    }

    /// Every role name, in byte order.
    pub fn role_list(&self) -> Vec<String> {
        self.roles.keys().cloned().collect()
    }
}
