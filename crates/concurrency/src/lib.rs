//! etcd's distributed locks and elections (`clientv3/concurrency` in etcd 3.4), written once
//! against a small [`Store`] trait so that the same recipe serves two callers:
//!
//! - the server's `v3lockpb.Lock` and `v3electionpb.Election` services (`crates/grpc-api`),
//!   which run it against the local member on behalf of the caller, as etcd's
//!   `etcdserver/api/v3lock` and `v3election` do through an in-process client;
//! - `etcdctl lock` and `etcdctl elect`, which run it over the network (`crates/client`).
//!
//! The recipe: a [`Session`] is a lease (kept alive, or not); a waiter puts the key
//! `<prefix>/<lease id in hex>` attached to it, if it does not exist yet (a txn comparing its
//! create revision with 0), then waits until every key under the prefix created before its
//! own is deleted (Range with `max_create_revision`, then a watch on the last such key for
//! its delete; repeat). The oldest key holds the lock or is the leader.
//!
//! Cancellation follows Go's contexts: the blocking operations take a
//! [`CancellationToken`]; cancelled, they clean up (delete the waiter's key) and fail with
//! `context canceled`, as etcd's code does with a cancelled context.

mod election;
mod error;
mod key;
mod mutex;
mod observe;
mod ops;
mod session;
mod store;

pub use election::Election;
pub use error::{Error, Result};
pub use key::{wait_delete, wait_deletes};
pub use mutex::{delete, Mutex};
pub use observe::observe;
pub use ops::{go_hex, prefix_end};
pub use session::{Session, DEFAULT_SESSION_TTL};
pub use store::{Store, WatchBatch, WatchStream};
pub use tokio_util::sync::CancellationToken;

#[cfg(test)]
mod tests;
