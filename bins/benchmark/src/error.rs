//! Errors that stop a benchmark before it can run (bad flags, unreachable endpoints,
//! failed logins).
//! Failures of individual requests are not errors here: they are counted in the report.

use thiserror::Error;

/// Why a benchmark could not be set up.
#[derive(Debug, Error)]
pub enum BenchError {
    /// A flag value is out of range or inconsistent with another flag.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An endpoint could not be parsed as `host:port` or `http://host:port`.
    #[error("invalid endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given on the command line.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Dialing an endpoint failed or did not finish within `--dial-timeout`.
    #[error("dial error: {endpoint}: {reason}")]
    Dial {
        /// The endpoint being dialed.
        endpoint: String,
        /// The transport error or timeout.
        reason: String,
    },
    /// Logging in with `--user` failed (etcd's tool: `dial error: <server error>`).
    #[error("dial error: {0}")]
    Auth(String),
    /// The `--user` password prompt failed (etcd's tool: `bad user information: ...`).
    #[error("bad user information: {user} {reason}")]
    UserInfo {
        /// The `--user` flag as given.
        user: String,
        /// Why the password could not be read.
        reason: String,
    },
    /// `--target-leader` could not find the leader's client URLs.
    #[error("failed to find a leader endpoint: {0}")]
    Leader(String),
    /// A benchmark's preparation (lease grant, watcher creation) failed.
    #[error("setup failed: {0}")]
    Setup(String),
}
