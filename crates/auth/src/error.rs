//! Errors of the auth store, with etcd's `auth` package texts (the gRPC layer maps them to
//! etcd's `etcdserver: ...` errors and codes).

/// An auth store error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("auth: root user does not exist")]
    RootUserNotExist,
    #[error("auth: root user does not have root role")]
    RootRoleNotExist,
    #[error("auth: user already exists")]
    UserAlreadyExist,
    #[error("auth: user name is empty")]
    UserEmpty,
    #[error("auth: user not found")]
    UserNotFound,
    #[error("auth: role already exists")]
    RoleAlreadyExist,
    #[error("auth: role not found")]
    RoleNotFound,
    #[error("auth: role name is empty")]
    RoleEmpty,
    #[error("auth: authentication failed, invalid user ID or password")]
    AuthFailed,
    #[error("auth: authentication failed, password was given for no password user")]
    NoPasswordUser,
    #[error("auth: permission denied")]
    PermissionDenied,
    #[error("auth: role is not granted to the user")]
    RoleNotGranted,
    #[error("auth: permission is not granted to the role")]
    PermissionNotGranted,
    #[error("auth: authentication is not enabled")]
    AuthNotEnabled,
    #[error("auth: revision in header is old")]
    AuthOldRevision,
    #[error("auth: invalid auth token")]
    InvalidAuthToken,
    #[error("auth: invalid auth options")]
    InvalidAuthOpts,
    #[error("auth: invalid auth management")]
    InvalidAuthMgmt,
    /// `--auth-token jwt,...`: bad options or keys, or signing failed.
    #[error("{0}")]
    Token(String),
    /// Hashing a password failed (bcrypt refuses e.g. passwords with a NUL byte).
    #[error("auth: cannot hash password: {0}")]
    Hash(String),
    /// A stored record does not decode: the store cannot be trusted.
    #[error("auth: corrupt record {key:?} in {cf}: {reason}")]
    Corrupt {
        cf: &'static str,
        key: String,
        reason: String,
    },
    #[error("auth: storage: {0}")]
    Engine(String),
}

impl From<mvcc::EngineError> for AuthError {
    fn from(e: mvcc::EngineError) -> Self {
        AuthError::Engine(e.to_string())
    }
}
