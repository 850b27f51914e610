//! The auth column families in etcd's bbolt layout: `auth` holds `authEnabled` (one byte,
//! 1 or 0) and `authRevision` (8 bytes big-endian); `authUsers` maps a user name to an
//! `authpb.User`, `authRoles` a role name to an `authpb.Role`.

use std::collections::BTreeMap;

use etcd_proto::authpb::{Role, User};
use mvcc::{Engine, WriteBatch};
use prost::Message;

use crate::AuthError;

pub(crate) const CF_AUTH: &str = "auth";
pub(crate) const CF_USERS: &str = "authUsers";
pub(crate) const CF_ROLES: &str = "authRoles";
const ENABLED_KEY: &[u8] = b"authEnabled";
const REVISION_KEY: &[u8] = b"authRevision";

/// What the column families hold.
pub(crate) struct Loaded {
    pub enabled: bool,
    pub revision: u64,
    pub users: BTreeMap<String, User>,
    pub roles: BTreeMap<String, Role>,
}

pub(crate) fn load(engine: &dyn Engine) -> Result<Loaded, AuthError> {
    let enabled = engine.get(CF_AUTH, ENABLED_KEY)?.as_deref() == Some(&[1]);
    let revision = match engine.get(CF_AUTH, REVISION_KEY)? {
        None => 0,
        Some(v) => u64::from_be_bytes(v.as_slice().try_into().map_err(|_| AuthError::Corrupt {
            cf: CF_AUTH,
            key: "authRevision".into(),
            reason: format!("{} bytes, expected 8", v.len()),
        })?),
    };
    Ok(Loaded {
        enabled,
        revision,
        users: load_all(engine, CF_USERS)?,
        roles: load_all(engine, CF_ROLES)?,
    })
}

fn load_all<T: Message + Default>(
    engine: &dyn Engine,
    cf: &'static str,
) -> Result<BTreeMap<String, T>, AuthError> {
    let mut out = BTreeMap::new();
    let mut bad = None;
    engine.scan(cf, &[], &[], &mut |k, v| {
        let name = String::from_utf8_lossy(k).into_owned();
        match T::decode(v) {
            Ok(record) => {
                out.insert(name, record);
                true
            }
            Err(e) => {
                bad = Some(AuthError::Corrupt {
                    cf,
                    key: name,
                    reason: e.to_string(),
                });
                false
            }
        }
    })?;
    match bad {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

pub(crate) fn put_enabled(batch: &mut WriteBatch, enabled: bool) {
    batch.put(CF_AUTH, ENABLED_KEY.to_vec(), vec![u8::from(enabled)]);
}

pub(crate) fn put_revision(batch: &mut WriteBatch, revision: u64) {
    batch.put(
        CF_AUTH,
        REVISION_KEY.to_vec(),
        revision.to_be_bytes().to_vec(),
    );
}

pub(crate) fn put_user(batch: &mut WriteBatch, user: &User) {
    batch.put(CF_USERS, user.name.clone(), user.encode_to_vec());
}

pub(crate) fn delete_user(batch: &mut WriteBatch, name: &str) {
    batch.delete(CF_USERS, name.as_bytes().to_vec());
}

pub(crate) fn put_role(batch: &mut WriteBatch, role: &Role) {
    batch.put(CF_ROLES, role.name.clone(), role.encode_to_vec());
}

pub(crate) fn delete_role(batch: &mut WriteBatch, name: &str) {
    batch.delete(CF_ROLES, name.as_bytes().to_vec());
}
