//! Client errors, rendered the way etcd's Go client (`clientv3`) renders them.

use tonic::{Code, Status};

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a client call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No endpoint was configured (`clientv3.ErrNoAvailableEndpoints`).
    #[error("etcdclient: no available endpoints")]
    NoEndpoints,
    /// An endpoint string could not be turned into a URI.
    #[error("invalid endpoint {0:?}: {1}")]
    InvalidEndpoint(String, String),
    /// The TLS material (certificates, key) is unusable; the text is Go's.
    #[error("{0}")]
    Tls(String),
    /// The call's deadline passed. Carries the last connection failure seen while waiting
    /// for the connection to become ready, if any.
    #[error("context deadline exceeded")]
    DeadlineExceeded(Option<String>),
    /// The server (or the transport) answered with a gRPC status.
    #[error("{}", clientv3_text(.0))]
    Status(Status),
    /// Establishing the connection failed.
    #[error("{0}")]
    Transport(#[from] tonic::transport::Error),
}

impl From<Status> for Error {
    fn from(s: Status) -> Self {
        Error::Status(s)
    }
}

impl Error {
    /// The gRPC status, when the failure came from one.
    pub fn status(&self) -> Option<&Status> {
        match self {
            Error::Status(s) => Some(s),
            _ => None,
        }
    }

    /// Go gRPC's rendering of this failure (`rpc error: code = X desc = Y`), as clientv3's
    /// retry interceptor logs it.
    pub fn grpc_text(&self) -> String {
        match self {
            Error::Status(s) => grpc_text(s.code(), s.message()),
            Error::DeadlineExceeded(Some(last)) => grpc_text(
                Code::DeadlineExceeded,
                &format!("latest balancer error: {last}"),
            ),
            Error::DeadlineExceeded(None) => {
                grpc_text(Code::DeadlineExceeded, "context deadline exceeded")
            }
            other => other.to_string(),
        }
    }

    /// True for a status that is one of etcd's own errors (`rpctypes`) with this message.
    pub fn is_etcd(&self, message: &str) -> bool {
        self.status().is_some_and(|s| s.message() == message)
    }
}

/// `rpc error: code = <Go code name> desc = <message>`.
fn grpc_text(code: Code, message: &str) -> String {
    format!(
        "rpc error: code = {} desc = {}",
        go_code_name(code),
        message
    )
}

/// How clientv3 shows a status: etcd's own errors by their message alone (`rpctypes.Error`),
/// anything else as Go gRPC's status text.
fn clientv3_text(s: &Status) -> String {
    if is_etcd_error_message(s.message()) {
        s.message().to_string()
    } else {
        grpc_text(s.code(), s.message())
    }
}

/// Go's `codes.Code.String()`.
pub fn go_code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// The texts of the etcd errors (`rpctypes`) that clients act upon.
pub mod messages {
    /// `ErrUserEmpty`: a request without a token on a cluster with auth enabled.
    pub const USER_EMPTY: &str = "etcdserver: user name is empty";
    /// `ErrRootRoleNotExist`: `auth enable` while the root user lacks the root role.
    pub const ROOT_ROLE_NOT_EXIST: &str = "etcdserver: root user does not have root role";
    /// `ErrAuthNotEnabled`.
    pub const AUTH_NOT_ENABLED: &str = "etcdserver: authentication is not enabled";
    /// `ErrInvalidAuthToken`: the token expired or the server forgot it (restart).
    pub const INVALID_AUTH_TOKEN: &str = "etcdserver: invalid auth token";
    /// `ErrAuthOldRevision`: users or roles changed since the token was issued.
    pub const AUTH_OLD_REVISION: &str = "etcdserver: revision of auth store is old";
}

/// True if `msg` is the text of one of the errors clientv3 maps back to an etcd error
/// (`errStringToError` in etcd's `rpctypes/error.go`, same order).
pub(crate) fn is_etcd_error_message(msg: &str) -> bool {
    ETCD_ERROR_MESSAGES.contains(&msg)
}

const ETCD_ERROR_MESSAGES: &[&str] = &[
    "etcdserver: key is not provided",
    "etcdserver: key not found",
    "etcdserver: value is provided",
    "etcdserver: lease is provided",
    "etcdserver: too many operations in txn request",
    "etcdserver: duplicate key given in txn request",
    "etcdserver: mvcc: required revision has been compacted",
    "etcdserver: mvcc: required revision is a future revision",
    "etcdserver: mvcc: database space exceeded",
    "etcdserver: requested lease not found",
    "etcdserver: lease already exists",
    "etcdserver: too large lease TTL",
    "etcdserver: member ID already exist",
    "etcdserver: Peer URLs already exists",
    "etcdserver: re-configuration failed due to not enough started members",
    "etcdserver: given member URLs are invalid",
    "etcdserver: member not found",
    "etcdserver: can only promote a learner member",
    "etcdserver: can only promote a learner member which is in sync with leader",
    "etcdserver: too many learner members in cluster",
    "etcdserver: request is too large",
    "etcdserver: too many requests",
    "etcdserver: root user does not exist",
    "etcdserver: root user does not have root role",
    "etcdserver: user name already exists",
    "etcdserver: user name is empty",
    "etcdserver: user name not found",
    "etcdserver: role name already exists",
    "etcdserver: role name not found",
    "etcdserver: role name is empty",
    "etcdserver: authentication failed, invalid user ID or password",
    "etcdserver: permission denied",
    "etcdserver: role is not granted to the user",
    "etcdserver: permission is not granted to the role",
    "etcdserver: authentication is not enabled",
    "etcdserver: invalid auth token",
    "etcdserver: invalid auth management",
    "etcdserver: revision of auth store is old",
    "etcdserver: no leader",
    "etcdserver: not leader",
    "etcdserver: leader changed",
    "etcdserver: not capable",
    "etcdserver: server stopped",
    "etcdserver: request timed out",
    "etcdserver: request timed out, possibly due to previous leader failure",
    "etcdserver: request timed out, possibly due to connection lost",
    "etcdserver: request timed out, waiting for the applied index took too long",
    "etcdserver: unhealthy cluster",
    "etcdserver: corrupt cluster",
    "etcdserver: rpc not supported for learner",
    "etcdserver: bad leader transferee",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_errors_print_their_message_only() {
        let e = Error::from(Status::out_of_range(
            "etcdserver: mvcc: required revision has been compacted",
        ));
        assert_eq!(
            e.to_string(),
            "etcdserver: mvcc: required revision has been compacted"
        );
        assert_eq!(
            e.grpc_text(),
            "rpc error: code = OutOfRange desc = etcdserver: mvcc: required revision has been compacted"
        );
    }

    #[test]
    fn other_statuses_print_like_go_grpc() {
        let e = Error::from(Status::cancelled("boom"));
        assert_eq!(e.to_string(), "rpc error: code = Canceled desc = boom");
    }

    #[test]
    fn deadline_reports_last_connection_error() {
        let e = Error::DeadlineExceeded(Some("x".into()));
        assert_eq!(e.to_string(), "context deadline exceeded");
        assert_eq!(
            e.grpc_text(),
            "rpc error: code = DeadlineExceeded desc = latest balancer error: x"
        );
    }
}
