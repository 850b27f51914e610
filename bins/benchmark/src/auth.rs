//! `--user username[:password]`: the credentials, the one `Authenticate` call each
//! connection makes, and the interceptor that puts the returned token in the `token`
//! metadata of every request and stream on that connection (as clientv3 does for etcd's
//! tool).

use std::time::Duration;

use etcd_proto::etcdserverpb::{auth_client::AuthClient, AuthenticateRequest};
use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::transport::Channel;
use tonic::{Request, Status};

use crate::error::BenchError;
use crate::password;
use crate::runner::format_status;

/// What a server with auth disabled answers to `Authenticate` (rpctypes'
/// `ErrGRPCAuthNotEnabled`); clientv3 then runs without a token.
pub const AUTH_NOT_ENABLED: &str = "etcdserver: authentication is not enabled";

/// The prompt etcd's tool shows when `--user` has no password.
const PASSWORD_PROMPT: &str = "Password: ";

/// A user name and password to authenticate with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Splits `--user` at its first `:` (etcd's `getUsernamePassword`); without a colon the
    /// password comes from `ask_password`. As clientv3 ignores a config whose user name or
    /// password is empty, so do we: `None` then means "no auth".
    pub fn from_flag(
        flag: &str,
        ask_password: impl FnOnce() -> Result<String, BenchError>,
    ) -> Result<Option<Credentials>, BenchError> {
        if flag.is_empty() {
            return Ok(None);
        }
        let (user, password) = match flag.split_once(':') {
            Some((user, password)) => (user.to_string(), password.to_string()),
            None => (flag.to_string(), ask_password()?),
        };
        Ok((!user.is_empty() && !password.is_empty()).then_some(Credentials { user, password }))
    }

    /// [`Credentials::from_flag`], prompting on the terminal as etcd's tool does. A failed
    /// prompt is reported in etcd's words (`bad user information: <flag> <error>`).
    pub fn from_flag_or_prompt(flag: &str) -> Result<Option<Credentials>, BenchError> {
        Credentials::from_flag(flag, || {
            password::ask(PASSWORD_PROMPT).map_err(|e| BenchError::UserInfo {
                user: flag.to_string(),
                reason: e.to_string(),
            })
        })
    }
}

/// Sends the auth token (if any) in the `token` metadata of each request.
#[derive(Clone, Default)]
pub struct TokenInterceptor {
    token: Option<AsciiMetadataValue>,
}

impl TokenInterceptor {
    /// An interceptor sending `token`; `None` sends nothing.
    pub fn new(token: Option<&str>) -> Result<TokenInterceptor, BenchError> {
        let token = token
            .map(|t| {
                AsciiMetadataValue::try_from(t)
                    .map_err(|_| BenchError::Auth("auth token is not valid metadata".to_string()))
            })
            .transpose()?;
        Ok(TokenInterceptor { token })
    }

    /// Whether requests carry a token.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }
}

impl Interceptor for TokenInterceptor {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.token {
            req.metadata_mut().insert("token", token.clone());
        }
        Ok(req)
    }
}

/// Logs in on `channel` (bounded by `timeout`) and returns the token, or `None` when the
/// server has auth disabled.
pub async fn authenticate(
    channel: Channel,
    credentials: &Credentials,
    timeout: Duration,
) -> Result<Option<String>, BenchError> {
    let request = AuthenticateRequest {
        name: credentials.user.clone(),
        password: credentials.password.clone(),
    };
    let mut client = AuthClient::new(channel);
    match tokio::time::timeout(timeout, client.authenticate(request)).await {
        Ok(Ok(resp)) => Ok(Some(resp.into_inner().token)),
        Ok(Err(status)) if status.message() == AUTH_NOT_ENABLED => Ok(None),
        Ok(Err(status)) => Err(BenchError::Auth(format_status(&status))),
        Err(_) => Err(BenchError::Auth("context deadline exceeded".to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_prompt() -> Result<String, BenchError> {
        panic!("no prompt expected")
    }

    fn creds(user: &str, password: &str) -> Option<Credentials> {
        Some(Credentials {
            user: user.to_string(),
            password: password.to_string(),
        })
    }

    #[test]
    fn splits_user_flag_at_first_colon() {
        assert_eq!(
            Credentials::from_flag("root:pw", no_prompt).unwrap(),
            creds("root", "pw")
        );
        assert_eq!(
            Credentials::from_flag("root:p:w", no_prompt).unwrap(),
            creds("root", "p:w")
        );
        assert_eq!(Credentials::from_flag("", no_prompt).unwrap(), None);
        // clientv3 ignores credentials with an empty name or password.
        assert_eq!(Credentials::from_flag("root:", no_prompt).unwrap(), None);
        assert_eq!(Credentials::from_flag(":pw", no_prompt).unwrap(), None);
    }

    #[test]
    fn prompts_when_no_password_is_given() {
        let got = Credentials::from_flag("alice", || Ok("secret".to_string())).unwrap();
        assert_eq!(got, creds("alice", "secret"));
        let failed = Credentials::from_flag("alice", || {
            Err(BenchError::UserInfo {
                user: "alice".into(),
                reason: "EOF".into(),
            })
        });
        assert_eq!(
            failed.unwrap_err().to_string(),
            "bad user information: alice EOF"
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let c = creds("root", "hunter2").unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn interceptor_sets_token_metadata_only_with_a_token() {
        let mut with = TokenInterceptor::new(Some("abc.42")).unwrap();
        assert!(with.has_token());
        let req = with.call(Request::new(())).unwrap();
        assert_eq!(
            req.metadata().get("token").and_then(|v| v.to_str().ok()),
            Some("abc.42")
        );
        let mut without = TokenInterceptor::new(None).unwrap();
        let req = without.call(Request::new(())).unwrap();
        assert!(req.metadata().get("token").is_none());
        assert!(TokenInterceptor::new(Some("bad\ntoken")).is_err());
    }
}
