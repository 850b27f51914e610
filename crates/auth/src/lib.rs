//! etcd's auth store (etcd 3.4's `auth` package): users with bcrypt-hashed passwords,
//! roles with key-range permissions, the auth switch and the auth revision, and the
//! tokens handed out by `Authenticate`.
//!
//! Every change is applied from a committed raft entry, in log order, on every member
//! ([`AuthStore`]'s mutating methods take the apply batch's `WriteBatch`), so all members
//! hold the same users, roles and revision; the state lives in the engine's `auth`,
//! `authUsers` and `authRoles` column families with etcd's bucket layout and is reloaded
//! at start and after a raft snapshot.
//!
//! Checks ([`AuthStore::check_range`], [`AuthStore::check_put`], ...) follow etcd's
//! `isOpPermitted`: nothing is checked while auth is disabled; a request without a user is
//! refused (`user name is empty`); a request stamped with an older auth revision is
//! refused (`revision of auth store is old`, clients re-authenticate and retry); the root
//! role may do anything; otherwise the user's roles' permissions, merged per user into
//! read and write interval sets ([`perms`]), must cover the whole key range.
//!
//! Passwords are hashed with bcrypt ([`password`]) on the member that receives the request,
//! never on the apply path and never per request: only `Authenticate` verifies a password
//! and answers a token ([`tokens`]): etcd's simple tokens (`--auth-token simple`, kept in
//! memory on every member, expiring after `--auth-token-ttl` unused) or signed JWTs.

mod error;
pub mod password;
pub mod perms;
mod persist;
mod store;
pub mod tokens;

pub use error::AuthError;
pub use store::AuthStore;
pub use tokens::{TokenConfig, Tokens};

/// The user that may always do everything once it has the root role.
pub const ROOT_USER: &str = "root";
/// The role that grants everything (it need not exist as a role).
pub const ROOT_ROLE: &str = "root";

/// Who sends a request: the user its token names and the auth revision the token was
/// checked against (etcd's `AuthInfo`). The default (no user, revision 0) is an
/// anonymous request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthInfo {
    pub username: String,
    pub revision: u64,
}
