use std::time::Instant;

use etcd_proto::authpb::permission::Type;
use etcd_proto::authpb::{Permission, UserAddOptions};
use etcd_proto::etcdserverpb::{AuthUserAddRequest, AuthUserChangePasswordRequest};
use mvcc::{Engine, MemEngine, WriteBatch};

use crate::{password, AuthError, AuthInfo, AuthStore, TokenConfig};

/// A store whose every change is written to `engine` at once, as the applier's batch.
struct Fixture {
    engine: MemEngine,
    store: AuthStore,
}

impl Fixture {
    fn new() -> Fixture {
        let engine = MemEngine::new();
        let store = AuthStore::load(&engine, &TokenConfig::default()).unwrap();
        Fixture { engine, store }
    }

    fn apply<T>(&mut self, f: impl FnOnce(&mut AuthStore, &mut WriteBatch) -> T) -> T {
        let mut batch = WriteBatch::new();
        let out = f(&mut self.store, &mut batch);
        self.engine.write(batch, true).unwrap();
        out
    }

    fn add_user(&mut self, name: &str, pw: &str) {
        let req = AuthUserAddRequest {
            name: name.into(),
            hashed_password: password::hash(pw, password::MIN_COST).unwrap(),
            ..Default::default()
        };
        self.apply(|s, b| s.user_add(b, &req)).unwrap();
    }

    fn grant(&mut self, role: &str, t: Type, key: &str, end: &str) {
        let perm = Permission {
            perm_type: t as i32,
            key: key.into(),
            range_end: end.into(),
        };
        self.apply(|s, b| s.role_grant_permission(b, role, perm))
            .unwrap();
    }

    fn as_user(&self, name: &str) -> AuthInfo {
        AuthInfo {
            username: name.into(),
            revision: self.store.revision(),
        }
    }
}

/// root (root role) and alice (role "app": read "cfg/" prefix, readwrite "data/a".."data/m").
fn populated() -> Fixture {
    let mut f = Fixture::new();
    f.add_user("root", "rootpw");
    f.add_user("alice", "alicepw");
    f.apply(|s, b| s.user_grant_role(b, "root", "root"))
        .unwrap();
    f.apply(|s, b| s.role_add(b, "app")).unwrap();
    f.grant("app", Type::Read, "cfg/", "cfg0");
    f.grant("app", Type::Readwrite, "data/a", "data/m");
    f.apply(|s, b| s.user_grant_role(b, "alice", "app"))
        .unwrap();
    f
}

#[test]
fn enable_needs_root_with_root_role() {
    let mut f = Fixture::new();
    assert_eq!(
        f.apply(|s, b| s.enable(b)),
        Err(AuthError::RootUserNotExist)
    );
    f.add_user("root", "pw");
    assert_eq!(
        f.apply(|s, b| s.enable(b)),
        Err(AuthError::RootRoleNotExist)
    );
    f.apply(|s, b| s.user_grant_role(b, "root", "root"))
        .unwrap();
    assert!(f.apply(|s, b| s.enable(b)).is_ok());
    assert!(f.store.is_enabled());
    // Root cannot lose what makes it root while auth is on.
    assert_eq!(
        f.apply(|s, b| s.user_delete(b, "root")),
        Err(AuthError::InvalidAuthMgmt)
    );
    assert_eq!(
        f.apply(|s, b| s.user_revoke_role(b, "root", "root")),
        Err(AuthError::InvalidAuthMgmt)
    );
    assert_eq!(
        f.apply(|s, b| s.role_delete(b, "root")),
        Err(AuthError::InvalidAuthMgmt)
    );
}

#[test]
fn checks_follow_permissions_revision_and_root() {
    let mut f = populated();
    f.apply(|s, b| s.enable(b)).unwrap();
    let alice = f.as_user("alice");
    let root = f.as_user("root");
    let s = &f.store;
    assert_eq!(s.check_range(&alice, b"cfg/x", b""), Ok(()));
    assert_eq!(s.check_range(&alice, b"cfg/", b"cfg0"), Ok(()));
    assert_eq!(
        s.check_put(&alice, b"cfg/x"),
        Err(AuthError::PermissionDenied)
    );
    assert_eq!(s.check_put(&alice, b"data/b"), Ok(()));
    assert_eq!(s.check_delete(&alice, b"data/a", b"data/m"), Ok(()));
    assert_eq!(
        s.check_delete(&alice, b"data/a", b"data/z"),
        Err(AuthError::PermissionDenied)
    );
    assert_eq!(
        s.check_range(&alice, b"", b"\0"),
        Err(AuthError::PermissionDenied)
    );
    assert_eq!(s.check_admin(&alice), Err(AuthError::PermissionDenied));
    assert_eq!(s.check_range(&root, b"", b"\0"), Ok(()));
    assert_eq!(s.check_admin(&root), Ok(()));
    assert_eq!(
        s.check_range(&AuthInfo::default(), b"cfg/x", b""),
        Err(AuthError::UserEmpty)
    );
    assert_eq!(
        s.check_admin(&AuthInfo::default()),
        Err(AuthError::UserEmpty)
    );
    let ghost = f.as_user("ghost");
    assert_eq!(
        s.check_range(&ghost, b"cfg/x", b""),
        Err(AuthError::PermissionDenied)
    );
    assert_eq!(s.check_admin(&ghost), Err(AuthError::UserNotFound));

    // A change bumps the revision: a request checked against the old one is refused.
    f.grant("app", Type::Read, "other", "");
    assert_eq!(
        f.store.check_range(&alice, b"other", b""),
        Err(AuthError::AuthOldRevision)
    );
    assert_eq!(
        f.store.check_range(&f.as_user("alice"), b"other", b""),
        Ok(())
    );

    // Revoking the role takes the permissions away.
    f.apply(|s, b| s.user_revoke_role(b, "alice", "app"))
        .unwrap();
    assert_eq!(
        f.store.check_range(&f.as_user("alice"), b"cfg/x", b""),
        Err(AuthError::PermissionDenied)
    );
}

#[test]
fn nothing_is_checked_while_disabled() {
    let f = populated();
    assert_eq!(f.store.check_put(&AuthInfo::default(), b"anything"), Ok(()));
    assert_eq!(f.store.check_admin(&AuthInfo::default()), Ok(()));
}

#[test]
fn management_errors_are_etcds() {
    let mut f = populated();
    let dup = AuthUserAddRequest {
        name: "alice".into(),
        ..Default::default()
    };
    assert_eq!(
        f.apply(|s, b| s.user_add(b, &dup)),
        Err(AuthError::UserAlreadyExist)
    );
    let empty = AuthUserAddRequest::default();
    assert_eq!(
        f.apply(|s, b| s.user_add(b, &empty)),
        Err(AuthError::UserEmpty)
    );
    assert_eq!(
        f.apply(|s, b| s.user_grant_role(b, "nobody", "app")),
        Err(AuthError::UserNotFound)
    );
    assert_eq!(
        f.apply(|s, b| s.user_grant_role(b, "alice", "nope")),
        Err(AuthError::RoleNotFound)
    );
    assert_eq!(
        f.apply(|s, b| s.user_revoke_role(b, "alice", "nope")),
        Err(AuthError::RoleNotGranted)
    );
    assert_eq!(
        f.apply(|s, b| s.role_add(b, "app")),
        Err(AuthError::RoleAlreadyExist)
    );
    assert_eq!(f.apply(|s, b| s.role_add(b, "")), Err(AuthError::RoleEmpty));
    assert_eq!(
        f.apply(|s, b| s.role_revoke_permission(b, "app", b"cfg/", b"")),
        Err(AuthError::PermissionNotGranted)
    );
    assert_eq!(f.store.role_get("nope"), Err(AuthError::RoleNotFound));
    assert_eq!(f.store.user_get("nope"), Err(AuthError::UserNotFound));
    // Granting the same role twice changes nothing, not even the revision.
    let rev = f.store.revision();
    f.apply(|s, b| s.user_grant_role(b, "alice", "app"))
        .unwrap();
    assert_eq!(f.store.revision(), rev);
}

#[test]
fn permissions_sort_by_key_and_regrant_changes_the_type() {
    let mut f = populated();
    f.grant("app", Type::Write, "cfg/", "cfg0");
    let perms = f.store.role_get("app").unwrap();
    let keys: Vec<_> = perms.iter().map(|p| (p.key.clone(), p.perm_type)).collect();
    assert_eq!(
        keys,
        vec![
            (b"cfg/".to_vec(), Type::Write as i32),
            (b"data/a".to_vec(), Type::Readwrite as i32)
        ]
    );
    f.apply(|s, b| s.role_revoke_permission(b, "app", b"cfg/", b"cfg0"))
        .unwrap();
    assert_eq!(f.store.role_get("app").unwrap().len(), 1);
}

#[test]
fn deleting_a_role_takes_it_from_users() {
    let mut f = populated();
    f.apply(|s, b| s.role_delete(b, "app")).unwrap();
    assert_eq!(f.store.user_get("alice").unwrap(), Vec::<String>::new());
    assert_eq!(f.store.role_list(), Vec::<String>::new());
    let reloaded = AuthStore::load(&f.engine, &TokenConfig::default()).unwrap();
    assert_eq!(reloaded.user_get("alice").unwrap(), Vec::<String>::new());
}

#[test]
fn state_survives_reload_from_the_engine() {
    let mut f = populated();
    f.apply(|s, b| s.enable(b)).unwrap();
    let rev = f.store.revision();
    let s = AuthStore::load(&f.engine, &TokenConfig::default()).unwrap();
    assert!(s.is_enabled());
    assert_eq!(s.revision(), rev);
    assert_eq!(s.user_list(), vec!["alice", "root"]);
    assert_eq!(s.role_list(), vec!["app"]);
    assert_eq!(s.user_get("alice").unwrap(), vec!["app"]);
    let alice = AuthInfo {
        username: "alice".into(),
        revision: rev,
    };
    assert_eq!(s.check_put(&alice, b"data/c"), Ok(()));
    assert_eq!(
        s.check_put(&alice, b"data/z"),
        Err(AuthError::PermissionDenied)
    );
}

#[test]
fn authenticate_passwords_and_tokens() {
    let mut f = populated();
    assert_eq!(
        f.store.password_hash("root").err(),
        Some(AuthError::AuthNotEnabled)
    );
    f.apply(|s, b| s.enable(b)).unwrap();
    let (hash, _) = f.store.password_hash("alice").unwrap();
    assert!(password::verify("alicepw", &hash));
    assert!(!password::verify("wrong", &hash));
    assert_eq!(
        f.store.password_hash("nobody").err(),
        Some(AuthError::AuthFailed)
    );

    let now = Instant::now();
    let token = f
        .store
        .authenticate("alice", "abcdefghijklmnop", 77, now)
        .unwrap();
    assert_eq!(token, "abcdefghijklmnop.77");
    let info = f.store.info_from_token(&token, now).unwrap();
    assert_eq!(info, f.as_user("alice"));
    assert_eq!(
        f.store.info_from_token("nope.1", now),
        Err(AuthError::InvalidAuthToken)
    );

    // A new password invalidates the user's tokens.
    let req = AuthUserChangePasswordRequest {
        name: "alice".into(),
        hashed_password: password::hash("new", password::MIN_COST).unwrap(),
        ..Default::default()
    };
    f.apply(|s, b| s.user_change_password(b, &req)).unwrap();
    assert_eq!(
        f.store.info_from_token(&token, now),
        Err(AuthError::InvalidAuthToken)
    );
    let (hash, _) = f.store.password_hash("alice").unwrap();
    assert!(password::verify("new", &hash));

    // No-password users (certificate auth only) cannot log in with a password.
    let req = AuthUserAddRequest {
        name: "cn-user".into(),
        options: Some(UserAddOptions { no_password: true }),
        ..Default::default()
    };
    f.apply(|s, b| s.user_add(b, &req)).unwrap();
    assert_eq!(
        f.store.password_hash("cn-user").err(),
        Some(AuthError::NoPasswordUser)
    );
    assert_eq!(
        f.store.authenticate("cn-user", "p", 1, now),
        Err(AuthError::AuthFailed)
    );

    // Disabling auth drops every token.
    let t = f.store.authenticate("root", "q", 80, now).unwrap();
    f.apply(|s, b| s.disable(b));
    assert_eq!(
        f.store.info_from_token(&t, now),
        Err(AuthError::InvalidAuthToken)
    );
}
