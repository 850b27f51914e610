//! [`AuthStore`]: the users, roles, switch and revision of one member, their checks, and
//! the token table. Changes are in `users.rs` and `roles.rs`.

mod roles;
mod users;

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use etcd_proto::authpb::{Role, User};
use etcd_proto::etcdserverpb::{AuthDisableResponse, AuthEnableResponse};
use mvcc::{Engine, WriteBatch};

use crate::perms::UserPerms;
use crate::tokens::{TokenConfig, Tokens};
use crate::{persist, AuthError, AuthInfo, ROOT_ROLE, ROOT_USER};

/// The auth state of one member (see the crate docs).
pub struct AuthStore {
    enabled: bool,
    revision: u64,
    users: BTreeMap<String, User>,
    roles: BTreeMap<String, Role>,
    /// Each user's merged permissions, rebuilt after every change.
    perms: HashMap<String, UserPerms>,
    tokens: Tokens,
}

fn has_root_role(user: &User) -> bool {
    user.roles.iter().any(|r| r == ROOT_ROLE)
}

impl AuthStore {
    /// Loads the auth state from `engine`.
    pub fn load(engine: &dyn Engine, tokens: &TokenConfig) -> Result<AuthStore, AuthError> {
        let mut store = AuthStore {
            enabled: false,
            revision: 0,
            users: BTreeMap::new(),
            roles: BTreeMap::new(),
            perms: HashMap::new(),
            tokens: Tokens::new(tokens),
        };
        store.reload(engine)?;
        Ok(store)
    }

    /// Reloads everything from `engine` (after a raft snapshot replaced the backend).
    /// Tokens stay: their users are checked on every use.
    pub fn reload(&mut self, engine: &dyn Engine) -> Result<(), AuthError> {
        let loaded = persist::load(engine)?;
        self.enabled = loaded.enabled;
        // A new store starts at revision 1 on every member (etcd's NewAuthStore).
        self.revision = loaded.revision.max(1);
        self.users = loaded.users;
        self.roles = loaded.roles;
        self.refresh_perms();
        Ok(())
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The auth revision: bumped by every change of users, roles or permissions.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    fn commit_revision(&mut self, batch: &mut WriteBatch) {
        self.revision += 1;
        persist::put_revision(batch, self.revision);
    }

    fn refresh_perms(&mut self) {
        let roles = &self.roles;
        self.perms = self
            .users
            .iter()
            .map(|(name, user)| {
                let perms = user
                    .roles
                    .iter()
                    .filter_map(|r| roles.get(r))
                    .flat_map(|r| r.key_permission.iter());
                (name.clone(), UserPerms::merge(perms))
            })
            .collect();
    }

    // ---- who is asking ----

    /// The user behind `token` (etcd's `AuthInfoFromCtx`), or `invalid auth token`.
    pub fn info_from_token(&self, token: &str, now: Instant) -> Result<AuthInfo, AuthError> {
        self.tokens
            .info(token, self.revision, now)
            .ok_or(AuthError::InvalidAuthToken)
    }

    /// The user named by a verified client certificate's common name
    /// (`--client-cert-auth`), checked against the current revision.
    pub fn info_from_common_name(&self, cn: &str) -> AuthInfo {
        AuthInfo {
            username: cn.to_owned(),
            revision: self.revision,
        }
    }

    /// The raft index a simple token was assigned at (see [`Tokens::index_of`]).
    pub fn token_index(&self, token: &str) -> Option<u64> {
        self.tokens.index_of(token)
    }

    /// What `Authenticate` needs to check a password off the store's lock: the user's
    /// bcrypt hash and the revision it was read at.
    pub fn password_hash(&self, name: &str) -> Result<(Vec<u8>, u64), AuthError> {
        if !self.enabled {
            return Err(AuthError::AuthNotEnabled);
        }
        let user = self.users.get(name).ok_or(AuthError::AuthFailed)?;
        if user.options.as_ref().is_some_and(|o| o.no_password) {
            return Err(AuthError::NoPasswordUser);
        }
        Ok((user.password.clone(), self.revision))
    }

    // ---- checks ----

    fn check_op(
        &self,
        info: &AuthInfo,
        key: &[u8],
        end: &[u8],
        write: bool,
    ) -> Result<(), AuthError> {
        if !self.enabled {
            return Ok(());
        }
        if info.revision == 0 {
            return Err(AuthError::UserEmpty);
        }
        if info.revision < self.revision {
            return Err(AuthError::AuthOldRevision);
        }
        let user = self
            .users
            .get(&info.username)
            .ok_or(AuthError::PermissionDenied)?;
        if has_root_role(user) {
            return Ok(());
        }
        match self.perms.get(&info.username) {
            Some(p) if p.allows(key, end, write) => Ok(()),
            _ => Err(AuthError::PermissionDenied),
        }
    }

    /// May `info` read `[key, range_end)`?
    pub fn check_range(
        &self,
        info: &AuthInfo,
        key: &[u8],
        range_end: &[u8],
    ) -> Result<(), AuthError> {
        self.check_op(info, key, range_end, false)
    }

    /// May `info` write `key`?
    pub fn check_put(&self, info: &AuthInfo, key: &[u8]) -> Result<(), AuthError> {
        self.check_op(info, key, &[], true)
    }

    /// May `info` delete `[key, range_end)`?
    pub fn check_delete(
        &self,
        info: &AuthInfo,
        key: &[u8],
        range_end: &[u8],
    ) -> Result<(), AuthError> {
        self.check_op(info, key, range_end, true)
    }

    /// Is `info` a user with the root role (etcd's `IsAdminPermitted`)?
    pub fn check_admin(&self, info: &AuthInfo) -> Result<(), AuthError> {
        if !self.enabled {
            return Ok(());
        }
        if info.username.is_empty() {
            return Err(AuthError::UserEmpty);
        }
        let user = self
            .users
            .get(&info.username)
            .ok_or(AuthError::UserNotFound)?;
        if has_root_role(user) {
            Ok(())
        } else {
            Err(AuthError::PermissionDenied)
        }
    }

    /// Whether `user` has been granted `role`.
    pub fn has_role(&self, user: &str, role: &str) -> bool {
        self.users
            .get(user)
            .is_some_and(|u| u.roles.iter().any(|r| r == role))
    }

    // ---- the switch and tokens (applied from raft) ----

    /// `AuthEnable`: needs a root user with the root role.
    pub fn enable(&mut self, batch: &mut WriteBatch) -> Result<AuthEnableResponse, AuthError> {
        if self.enabled {
            return Ok(AuthEnableResponse::default());
        }
        let root = self
            .users
            .get(ROOT_USER)
            .ok_or(AuthError::RootUserNotExist)?;
        if !has_root_role(root) {
            return Err(AuthError::RootRoleNotExist);
        }
        persist::put_enabled(batch, true);
        self.enabled = true;
        Ok(AuthEnableResponse::default())
    }

    /// `AuthDisable`: every token becomes invalid.
    pub fn disable(&mut self, batch: &mut WriteBatch) -> AuthDisableResponse {
        if self.enabled {
            persist::put_enabled(batch, false);
            self.commit_revision(batch);
            self.enabled = false;
            self.tokens.clear();
        }
        AuthDisableResponse::default()
    }

    /// An applied `Authenticate` (password already checked by the member that proposed
    /// it): the user's token, registered on this member.
    pub fn authenticate(
        &mut self,
        name: &str,
        simple_token_prefix: &str,
        index: u64,
        now: Instant,
    ) -> Result<String, AuthError> {
        if !self.enabled {
            return Err(AuthError::AuthNotEnabled);
        }
        let user = self.users.get(name).ok_or(AuthError::AuthFailed)?;
        if user.options.as_ref().is_some_and(|o| o.no_password) {
            return Err(AuthError::AuthFailed);
        }
        self.tokens
            .assign(name, self.revision, simple_token_prefix, index, now)
    }
}

#[cfg(test)]
mod tests;
