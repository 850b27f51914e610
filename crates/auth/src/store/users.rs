//! User changes (applied from raft), as etcd 3.4's `authStore.User*`.

use etcd_proto::authpb::{User, UserAddOptions};
use etcd_proto::etcdserverpb::{AuthUserAddRequest, AuthUserChangePasswordRequest};
use mvcc::WriteBatch;

use super::AuthStore;
use crate::{password, persist, AuthError, ROOT_ROLE, ROOT_USER};

/// The stored hash for a request: the proposer's hash, or (for entries written without
/// one) a hash made here.
fn stored_hash(hashed: &str, plain: &str) -> Result<Vec<u8>, AuthError> {
    if !hashed.is_empty() {
        return Ok(hashed.as_bytes().to_vec());
    }
    password::hash(plain, password::DEFAULT_COST).map(String::into_bytes)
}

impl AuthStore {
    fn user_mut(&mut self, name: &str) -> Result<&mut User, AuthError> {
        self.users.get_mut(name).ok_or(AuthError::UserNotFound)
    }

    /// Stores `name`'s record, bumps the revision and rebuilds the permissions.
    fn save_user(&mut self, batch: &mut WriteBatch, name: &str) {
        if let Some(user) = self.users.get(name) {
            persist::put_user(batch, user);
        }
        self.commit_revision(batch);
        self.refresh_perms();
    }

    pub fn user_add(
        &mut self,
        batch: &mut WriteBatch,
        r: &AuthUserAddRequest,
    ) -> Result<(), AuthError> {
        if r.name.is_empty() {
            return Err(AuthError::UserEmpty);
        }
        if self.users.contains_key(&r.name) {
            return Err(AuthError::UserAlreadyExist);
        }
        let options = r.options.unwrap_or(UserAddOptions { no_password: false });
        let password = if options.no_password {
            Vec::new()
        } else {
            stored_hash(&r.hashed_password, &r.password)?
        };
        let user = User {
            name: r.name.as_bytes().to_vec(),
            password,
            roles: Vec::new(),
            options: Some(options),
        };
        self.users.insert(r.name.clone(), user);
        self.save_user(batch, &r.name);
        Ok(())
    }

    pub fn user_delete(&mut self, batch: &mut WriteBatch, name: &str) -> Result<(), AuthError> {
        if self.enabled && name == ROOT_USER {
            return Err(AuthError::InvalidAuthMgmt);
        }
        self.users.remove(name).ok_or(AuthError::UserNotFound)?;
        persist::delete_user(batch, name);
        self.commit_revision(batch);
        self.refresh_perms();
        self.tokens.invalidate_user(name);
        Ok(())
    }

    pub fn user_change_password(
        &mut self,
        batch: &mut WriteBatch,
        r: &AuthUserChangePasswordRequest,
    ) -> Result<(), AuthError> {
        let hash = stored_hash(&r.hashed_password, &r.password)?;
        self.user_mut(&r.name)?.password = hash;
        self.save_user(batch, &r.name);
        self.tokens.invalidate_user(&r.name);
        Ok(())
    }

    pub fn user_grant_role(
        &mut self,
        batch: &mut WriteBatch,
        user: &str,
        role: &str,
    ) -> Result<(), AuthError> {
        if !self.users.contains_key(user) {
            return Err(AuthError::UserNotFound);
        }
        if role != ROOT_ROLE && !self.roles.contains_key(role) {
            return Err(AuthError::RoleNotFound);
        }
        let roles = &mut self.user_mut(user)?.roles;
        match roles.binary_search_by(|r| r.as_str().cmp(role)) {
            // Already granted: nothing changes (etcd logs and answers OK).
            Ok(_) => return Ok(()),
            Err(at) => roles.insert(at, role.to_owned()),
        }
        self.save_user(batch, user);
        Ok(())
    }

    pub fn user_revoke_role(
        &mut self,
        batch: &mut WriteBatch,
        user: &str,
        role: &str,
    ) -> Result<(), AuthError> {
        if self.enabled && user == ROOT_USER && role == ROOT_ROLE {
            return Err(AuthError::InvalidAuthMgmt);
        }
        let roles = &mut self.user_mut(user)?.roles;
        let before = roles.len();
        roles.retain(|r| r != role);
        if roles.len() == before {
            return Err(AuthError::RoleNotGranted);
        }
        self.save_user(batch, user);
        Ok(())
    }

    /// The roles of `name`.
    pub fn user_get(&self, name: &str) -> Result<Vec<String>, AuthError> {
        self.users
            .get(name)
            .map(|u| u.roles.clone())
            .ok_or(AuthError::UserNotFound)
    }

    /// Every user name, in byte order.
    pub fn user_list(&self) -> Vec<String> {
        self.users.keys().cloned().collect()
    }
}
