//! The recipes' errors: etcd's texts (`clientv3/concurrency`, Go's `context.Canceled`), or
//! the store's own error passed through unchanged.

/// A recipe's failure; `E` is the [`crate::Store`]'s error type.
#[derive(Debug, thiserror::Error)]
pub enum Error<E: std::error::Error + 'static> {
    /// `concurrency.ErrElectionNotLeader`.
    #[error("election: not leader")]
    NotLeader,
    /// `concurrency.ErrElectionNoLeader`.
    #[error("election: no leader")]
    NoLeader,
    /// The waiter's context was cancelled (Go's `context.Canceled`).
    #[error("context canceled")]
    Canceled,
    /// The watch for a delete ended without one (`waitDelete`).
    #[error("lost watcher waiting for delete")]
    LostWatcher,
    /// The store answered something the recipe cannot use (Go would panic).
    #[error("unexpected response: {0}")]
    Malformed(&'static str),
    /// The store's own error.
    #[error(transparent)]
    Store(E),
}

/// Result alias with the recipe's error.
pub type Result<T, E> = std::result::Result<T, Error<E>>;
