//! Auth on the apply path, as etcd 3.4's `authApplierV3`: auth management requests
//! applied to the [`AuthStore`] (administrators only, except a user reading itself or a
//! role it has), and the permission checks of writes, made with the user and auth
//! revision the proposing member stamped into the entry's header.

use std::time::Instant;

use auth::{AuthError, AuthInfo, AuthStore};
use etcd_proto::authpb::Permission;
use etcd_proto::etcdserverpb::{
    request_op::Request, AuthenticateResponse, InternalRaftRequest, RequestOp, TxnRequest,
};
use grpc_api::backend::AuthOutcome;
use lease::Lessor;
use mvcc::WriteBatch;

use crate::applier::{Applied, ApplyResult};

/// Whether `req` is an auth request handled by [`apply`].
pub(crate) fn is_auth_request(r: &InternalRaftRequest) -> bool {
    r.authenticate.is_some()
        || r.auth_enable.is_some()
        || r.auth_disable.is_some()
        || r.auth_user_add.is_some()
        || r.auth_user_delete.is_some()
        || r.auth_user_get.is_some()
        || r.auth_user_change_password.is_some()
        || r.auth_user_grant_role.is_some()
        || r.auth_user_revoke_role.is_some()
        || r.auth_user_list.is_some()
        || r.auth_role_list.is_some()
        || r.auth_role_add.is_some()
        || r.auth_role_delete.is_some()
        || r.auth_role_get.is_some()
        || r.auth_role_grant_permission.is_some()
        || r.auth_role_revoke_permission.is_some()
}

/// Applies the auth request in `r` (see [`is_auth_request`]) at raft index `index`.
pub(crate) fn apply(
    store: &mut AuthStore,
    batch: &mut WriteBatch,
    r: InternalRaftRequest,
    who: &AuthInfo,
    index: u64,
    now: Instant,
) -> ApplyResult {
    let done = |res: Result<(), AuthError>| res.map(|()| Applied::Auth(AuthOutcome::default()));
    let outcome = |res: Result<AuthOutcome, AuthError>| res.map(Applied::Auth);
    if let Some(a) = r.authenticate {
        // The password was checked by the proposing member.
        let token = store.authenticate(&a.name, &a.simple_token, index, now)?;
        return Ok(Applied::Authenticate(AuthenticateResponse {
            header: None,
            token,
        }));
    }
    // A user may read itself and the roles it has; everything else is for root.
    if let Some(g) = &r.auth_user_get {
        if g.name != who.username {
            store.check_admin(who)?;
        }
        return outcome(store.user_get(&g.name).map(|roles| AuthOutcome {
            roles,
            ..Default::default()
        }))
        .map_err(Into::into);
    }
    if let Some(g) = &r.auth_role_get {
        if !store.has_role(&who.username, &g.role) {
            store.check_admin(who)?;
        }
        return outcome(store.role_get(&g.role).map(|perms| AuthOutcome {
            perms,
            ..Default::default()
        }))
        .map_err(Into::into);
    }
    store.check_admin(who)?;
    let res = if r.auth_enable.is_some() {
        store.enable(batch).map(|_| ())
    } else if r.auth_disable.is_some() {
        store.disable(batch);
        Ok(())
    } else if let Some(u) = &r.auth_user_add {
        store.user_add(batch, u)
    } else if let Some(u) = &r.auth_user_delete {
        store.user_delete(batch, &u.name)
    } else if let Some(u) = &r.auth_user_change_password {
        store.user_change_password(batch, u)
    } else if let Some(u) = &r.auth_user_grant_role {
        store.user_grant_role(batch, &u.user, &u.role)
    } else if let Some(u) = &r.auth_user_revoke_role {
        store.user_revoke_role(batch, &u.name, &u.role)
    } else if r.auth_user_list.is_some() {
        return Ok(Applied::Auth(AuthOutcome {
            users: store.user_list(),
            ..Default::default()
        }));
    } else if r.auth_role_list.is_some() {
        return Ok(Applied::Auth(AuthOutcome {
            roles: store.role_list(),
            ..Default::default()
        }));
    } else if let Some(g) = &r.auth_role_add {
        store.role_add(batch, &g.name)
    } else if let Some(g) = &r.auth_role_delete {
        store.role_delete(batch, &g.role)
    } else if let Some(g) = r.auth_role_grant_permission {
        let perm: Permission = g.perm.unwrap_or_default();
        store.role_grant_permission(batch, &g.name, perm)
    } else if let Some(g) = &r.auth_role_revoke_permission {
        store.role_revoke_permission(batch, &g.role, &g.key, &g.range_end)
    } else {
        Ok(())
    };
    done(res).map_err(Into::into)
}

/// etcd's `checkLeasePuts`: whoever puts into or revokes a lease must be allowed to
/// write every key attached to it.
fn check_lease_keys(
    store: &AuthStore,
    lessor: &Lessor,
    who: &AuthInfo,
    lease: i64,
) -> Result<(), AuthError> {
    lessor
        .keys(lease)
        .iter()
        .try_for_each(|k| store.check_put(who, k))
}

/// The permission checks of a write request (put, delete, txn, lease revoke) before it
/// is applied; `Ok` for everything else and while auth is disabled.
pub(crate) fn check_write(
    store: &AuthStore,
    lessor: &Lessor,
    r: &InternalRaftRequest,
    who: &AuthInfo,
) -> Result<(), AuthError> {
    if !store.is_enabled() {
        return Ok(());
    }
    if let Some(p) = &r.put {
        store.check_put(who, &p.key)?;
        check_lease_keys(store, lessor, who, p.lease)?;
        if p.prev_kv {
            store.check_range(who, &p.key, &[])?;
        }
    } else if let Some(d) = &r.delete_range {
        store.check_delete(who, &d.key, &d.range_end)?;
        if d.prev_kv {
            store.check_range(who, &d.key, &d.range_end)?;
        }
    } else if let Some(t) = &r.txn {
        check_txn(store, who, t)?;
    } else if let Some(l) = &r.lease_revoke {
        check_lease_keys(store, lessor, who, l.id)?;
    }
    Ok(())
}

/// etcd's `checkTxnAuth`: every compare is a read; every operation of both branches is
/// checked (nested txns too, which etcd 3.4 leaves unchecked).
pub(crate) fn check_txn(
    store: &AuthStore,
    who: &AuthInfo,
    t: &TxnRequest,
) -> Result<(), AuthError> {
    for c in &t.compare {
        store.check_range(who, &c.key, &c.range_end)?;
    }
    t.success
        .iter()
        .chain(&t.failure)
        .try_for_each(|op| check_op(store, who, op))
}

fn check_op(store: &AuthStore, who: &AuthInfo, op: &RequestOp) -> Result<(), AuthError> {
    match &op.request {
        Some(Request::RequestRange(r)) => store.check_range(who, &r.key, &r.range_end),
        Some(Request::RequestPut(p)) => store.check_put(who, &p.key),
        Some(Request::RequestDeleteRange(d)) => {
            if d.prev_kv {
                store.check_range(who, &d.key, &d.range_end)?;
            }
            store.check_delete(who, &d.key, &d.range_end)
        }
        Some(Request::RequestTxn(t)) => check_txn(store, who, t),
        None => Ok(()),
    }
}
