//! The errors of [`JwtTokens`](crate::JwtTokens): each starts with etcd's message where etcd
//! has one (`auth/store.go`), followed by the option, file or value at fault.

/// Why a `--auth-token jwt,...` configuration was refused, or a token could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// An option that is not `key=value` (etcd: `ErrInvalidAuthOpts`).
    #[error("auth: invalid auth options: {0:?} is not a key=value pair")]
    MalformedOption(String),

    /// The same option twice (etcd: `ErrInvalidAuthOpts`).
    #[error("auth: invalid auth options: duplicate option {0:?}")]
    DuplicateOption(String),

    /// An option other than `sign-method`, `pub-key`, `priv-key` and `ttl` (etcd only logs a
    /// warning; a mistyped option is refused here rather than silently ignored).
    #[error(
        "auth: invalid auth options: unknown JWT option {0:?} \
         (known: sign-method, pub-key, priv-key, ttl)"
    )]
    UnknownOption(String),

    /// `ttl` is not a non-negative Go duration (etcd: `ErrInvalidAuthOpts`).
    #[error("auth: invalid auth options: ttl {value:?}: {reason}")]
    InvalidTtl { value: String, reason: String },

    /// A key file that cannot be read (etcd: `ErrInvalidAuthOpts`).
    #[error("auth: invalid auth options: cannot read {option} file {path:?}: {error}")]
    ReadKeyFile {
        option: &'static str,
        path: String,
        error: std::io::Error,
    },

    /// A `sign-method` that is missing or unknown (etcd: `ErrInvalidAuthMethod`).
    #[error(
        "auth: invalid auth signature method: {0:?} (known: RS256, RS384, RS512, PS256, \
         PS384, PS512, ES256, ES384, ES512, HS256, HS384, HS512)"
    )]
    InvalidSignMethod(String),

    /// A JWT algorithm that etcd 3.4 knows but does not support for auth tokens.
    #[error("unsupported signing method: {0} (etcd 3.4 supports RS*, PS*, ES* and HS*)")]
    UnsupportedSignMethod(String),

    /// No key file for the sign method (etcd: `ErrMissingKey`).
    #[error("auth: missing key data: sign-method {method} needs {needed}")]
    MissingKey {
        method: &'static str,
        needed: &'static str,
    },

    /// A key file whose content is not a usable key for the sign method.
    #[error("auth: invalid {option} {path:?}: {reason}")]
    InvalidKey {
        option: &'static str,
        path: String,
        reason: String,
    },

    /// `pub-key` is not the public half of `priv-key` (etcd: `ErrKeyMismatch`).
    #[error(
        "auth: public and private keys don't match: pub-key {pub_key:?}, priv-key {priv_key:?}"
    )]
    KeyMismatch { pub_key: String, priv_key: String },

    /// [`assign`](crate::JwtTokens::assign) with only a public key (etcd: `ErrVerifyOnly`).
    #[error("auth: token signing attempted with verify-only key")]
    VerifyOnly,

    /// The signature could not be computed.
    #[error("auth: failed to sign a JWT token: {0}")]
    Sign(String),
}
