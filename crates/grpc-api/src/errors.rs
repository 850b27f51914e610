//! etcd's client-visible errors: exact message strings and gRPC codes, in the order of
//! etcd 3.4's `etcdserver/api/v3rpc/rpctypes/error.go` so the two can be diffed.
//! Clients match on these strings; never reword them.

use tonic::{Code, Status};

/// An error the server returns to a client. `Display` is etcd's exact message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EtcdError {
    #[error("etcdserver: key is not provided")]
    EmptyKey,
    #[error("etcdserver: key not found")]
    KeyNotFound,
    #[error("etcdserver: value is provided")]
    ValueProvided,
    #[error("etcdserver: lease is provided")]
    LeaseProvided,
    #[error("etcdserver: too many operations in txn request")]
    TooManyOps,
    #[error("etcdserver: duplicate key given in txn request")]
    DuplicateKey,
    #[error("etcdserver: mvcc: required revision has been compacted")]
    Compacted,
    #[error("etcdserver: mvcc: required revision is a future revision")]
    FutureRev,
    #[error("etcdserver: mvcc: database space exceeded")]
    NoSpace,

    #[error("etcdserver: requested lease not found")]
    LeaseNotFound,
    #[error("etcdserver: lease already exists")]
    LeaseExist,
    #[error("etcdserver: too large lease TTL")]
    LeaseTtlTooLarge,

    #[error("etcdserver: watch canceled")]
    WatchCanceled,

    #[error("etcdserver: member ID already exist")]
    MemberExist,
    #[error("etcdserver: Peer URLs already exists")]
    PeerUrlExist,
    #[error("etcdserver: re-configuration failed due to not enough started members")]
    MemberNotEnoughStarted,
    #[error("etcdserver: given member URLs are invalid")]
    MemberBadUrls,
    #[error("etcdserver: member not found")]
    MemberNotFound,
    #[error("etcdserver: can only promote a learner member")]
    MemberNotLearner,
    #[error("etcdserver: can only promote a learner member which is in sync with leader")]
    LearnerNotReady,
    #[error("etcdserver: too many learner members in cluster")]
    TooManyLearners,

    #[error("etcdserver: request is too large")]
    RequestTooLarge,
    #[error("etcdserver: too many requests")]
    TooManyRequests,

    #[error("etcdserver: root user does not exist")]
    RootUserNotExist,
    #[error("etcdserver: root user does not have root role")]
    RootRoleNotExist,
    #[error("etcdserver: user name already exists")]
    UserAlreadyExist,
    #[error("etcdserver: user name is empty")]
    UserEmpty,
    #[error("etcdserver: user name not found")]
    UserNotFound,
    #[error("etcdserver: role name already exists")]
    RoleAlreadyExist,
    #[error("etcdserver: role name not found")]
    RoleNotFound,
    #[error("etcdserver: role name is empty")]
    RoleEmpty,
    #[error("etcdserver: authentication failed, invalid user ID or password")]
    AuthFailed,
    #[error("etcdserver: permission denied")]
    PermissionDenied,
    #[error("etcdserver: role is not granted to the user")]
    RoleNotGranted,
    #[error("etcdserver: permission is not granted to the role")]
    PermissionNotGranted,
    #[error("etcdserver: authentication is not enabled")]
    AuthNotEnabled,
    #[error("etcdserver: invalid auth token")]
    InvalidAuthToken,
    #[error("etcdserver: invalid auth management")]
    InvalidAuthMgmt,
    #[error("etcdserver: revision of auth store is old")]
    AuthOldRevision,

    #[error("etcdserver: no leader")]
    NoLeader,
    #[error("etcdserver: not leader")]
    NotLeader,
    #[error("etcdserver: leader changed")]
    LeaderChanged,
    #[error("etcdserver: not capable")]
    NotCapable,
    #[error("etcdserver: server stopped")]
    Stopped,
    #[error("etcdserver: request timed out")]
    Timeout,
    #[error("etcdserver: request timed out, possibly due to previous leader failure")]
    TimeoutDueToLeaderFail,
    #[error("etcdserver: request timed out, possibly due to connection lost")]
    TimeoutDueToConnectionLost,
    #[error("etcdserver: request timed out, waiting for the applied index took too long")]
    TimeoutWaitAppliedIndex,
    #[error("etcdserver: unhealthy cluster")]
    Unhealthy,
    #[error("etcdserver: corrupt cluster")]
    Corrupt,
    #[error("etcdserver: rpc not supported for learner")]
    NotSupportedForLearner,
    #[error("etcdserver: bad leader transferee")]
    BadLeaderTransferee,

    /// Not an rpctypes error: Go's `context.DeadlineExceeded`, which etcd returns as is
    /// (gRPC makes it `codes.Unknown`) when a proposal could not even be handed to raft
    /// within the request timeout because the member knew no leader all along.
    #[error("context deadline exceeded")]
    DeadlineExceeded,

    /// Anything else: etcd answers `codes.Unknown` with the error's text.
    #[error("{0}")]
    Other(String),
    /// An RPC this member does not serve (yet): `codes.Unimplemented`.
    #[error("{0} is not implemented by this server")]
    Unimplemented(&'static str),
}

impl EtcdError {
    /// The error whose message is `msg` (an error relayed from another member keeps its
    /// gRPC code); unknown messages become [`EtcdError::Other`].
    pub fn from_message(msg: &str) -> EtcdError {
        use EtcdError::*;
        [
            LeaseNotFound,
            LeaseExist,
            LeaseTtlTooLarge,
            MemberExist,
            PeerUrlExist,
            MemberNotEnoughStarted,
            MemberBadUrls,
            MemberNotFound,
            MemberNotLearner,
            LearnerNotReady,
            TooManyLearners,
            NoLeader,
            NotLeader,
            LeaderChanged,
            Stopped,
            Timeout,
            TimeoutDueToLeaderFail,
            TimeoutDueToConnectionLost,
            NotSupportedForLearner,
            BadLeaderTransferee,
            RequestTooLarge,
            TooManyRequests,
            NoSpace,
            Compacted,
            FutureRev,
        ]
        .into_iter()
        .find(|e| e.to_string() == msg)
        .unwrap_or_else(|| Other(msg.to_string()))
    }

    /// The gRPC code etcd uses for this error.
    pub fn code(&self) -> Code {
        use EtcdError::*;
        match self {
            EmptyKey | KeyNotFound | ValueProvided | LeaseProvided | TooManyOps | DuplicateKey => {
                Code::InvalidArgument
            }
            Compacted | FutureRev | LeaseTtlTooLarge => Code::OutOfRange,
            NoSpace | TooManyRequests => Code::ResourceExhausted,
            LeaseNotFound | MemberNotFound => Code::NotFound,
            LeaseExist
            | MemberExist
            | PeerUrlExist
            | MemberNotEnoughStarted
            | MemberNotLearner
            | LearnerNotReady
            | TooManyLearners => Code::FailedPrecondition,
            WatchCanceled => Code::Cancelled,
            MemberBadUrls | RequestTooLarge => Code::InvalidArgument,
            RootUserNotExist | RootRoleNotExist | UserAlreadyExist | UserNotFound
            | RoleAlreadyExist | RoleNotFound | RoleNotGranted | PermissionNotGranted
            | AuthNotEnabled => Code::FailedPrecondition,
            UserEmpty | RoleEmpty | AuthFailed | InvalidAuthMgmt | AuthOldRevision => {
                Code::InvalidArgument
            }
            PermissionDenied => Code::PermissionDenied,
            InvalidAuthToken => Code::Unauthenticated,
            NotLeader | BadLeaderTransferee => Code::FailedPrecondition,
            NoLeader
            | LeaderChanged
            | NotCapable
            | Stopped
            | Timeout
            | TimeoutDueToLeaderFail
            | TimeoutDueToConnectionLost
            | TimeoutWaitAppliedIndex
            | Unhealthy
            | NotSupportedForLearner => Code::Unavailable,
            Corrupt => Code::DataLoss,
            DeadlineExceeded | Other(_) => Code::Unknown,
            Unimplemented(_) => Code::Unimplemented,
        }
    }
}

impl From<EtcdError> for Status {
    fn from(e: EtcdError) -> Status {
        Status::new(e.code(), e.to_string())
    }
}

impl From<mvcc::MvccError> for EtcdError {
    fn from(e: mvcc::MvccError) -> EtcdError {
        match e {
            mvcc::MvccError::Compacted => EtcdError::Compacted,
            mvcc::MvccError::FutureRevision => EtcdError::FutureRev,
            mvcc::MvccError::KeyNotFound => EtcdError::KeyNotFound,
            mvcc::MvccError::LeaseNotFound => EtcdError::LeaseNotFound,
            other => EtcdError::Other(other.to_string()),
        }
    }
}

impl From<auth::AuthError> for EtcdError {
    /// etcd's `togRPCError` table for the auth package's errors.
    fn from(e: auth::AuthError) -> EtcdError {
        use auth::AuthError as A;
        match e {
            A::RootUserNotExist => EtcdError::RootUserNotExist,
            A::RootRoleNotExist => EtcdError::RootRoleNotExist,
            A::UserAlreadyExist => EtcdError::UserAlreadyExist,
            A::UserEmpty => EtcdError::UserEmpty,
            A::UserNotFound => EtcdError::UserNotFound,
            A::RoleAlreadyExist => EtcdError::RoleAlreadyExist,
            A::RoleNotFound => EtcdError::RoleNotFound,
            A::RoleEmpty => EtcdError::RoleEmpty,
            A::AuthFailed => EtcdError::AuthFailed,
            A::PermissionDenied => EtcdError::PermissionDenied,
            A::RoleNotGranted => EtcdError::RoleNotGranted,
            A::PermissionNotGranted => EtcdError::PermissionNotGranted,
            A::AuthNotEnabled => EtcdError::AuthNotEnabled,
            A::InvalidAuthToken => EtcdError::InvalidAuthToken,
            A::InvalidAuthMgmt => EtcdError::InvalidAuthMgmt,
            A::AuthOldRevision => EtcdError::AuthOldRevision,
            // Not in etcd's table: the auth package's own text, code Unknown (as etcd).
            other => EtcdError::Other(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_carries_etcd_code_and_message() {
        let s: Status = EtcdError::Compacted.into();
        assert_eq!(s.code(), Code::OutOfRange);
        assert_eq!(
            s.message(),
            "etcdserver: mvcc: required revision has been compacted"
        );
        let s: Status = EtcdError::RequestTooLarge.into();
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(s.message(), "etcdserver: request is too large");
        let s: Status = EtcdError::LeaseNotFound.into();
        assert_eq!(s.code(), Code::NotFound);
    }
}
