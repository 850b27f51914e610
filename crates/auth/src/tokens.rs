//! Tokens answered by `Authenticate` and sent back by clients in the `token` metadata.
//!
//! `--auth-token simple` (etcd's default): the member that receives `Authenticate` picks a
//! random 16-letter prefix and proposes it; every member, applying the entry at raft index
//! `i`, registers the token `prefix.i` for the user in memory. A token unused for
//! `--auth-token-ttl` (default 300 s) expires; changing a user's password or deleting the
//! user drops its tokens; disabling auth drops them all. Simple tokens carry no revision:
//! a request is checked against the current auth revision.
//!
//! `--auth-token jwt,pub-key=...,priv-key=...,sign-method=...[,ttl=...]`: stateless signed
//! tokens ([`auth_jwt::JwtTokens`]) naming the user and the auth revision at
//! authentication; a token from before the last auth change is refused (`revision of
//! auth store is old`) and clients authenticate again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_jwt::JwtTokens;

use parking_lot::Mutex;
use rand::Rng;

use crate::{AuthError, AuthInfo};

/// etcd's `defaultSimpleTokenLength`.
const SIMPLE_TOKEN_PREFIX_LEN: usize = 16;
/// etcd's `--auth-token-ttl` default.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(300);

/// The `--auth-token` and `--auth-token-ttl` settings.
#[derive(Clone, Debug)]
pub struct TokenConfig {
    pub kind: TokenKind,
    /// How long an unused simple token lives (JWTs carry their own `ttl` option).
    pub ttl: Duration,
}

#[derive(Clone, Debug)]
pub enum TokenKind {
    Simple,
    /// Keys loaded from the options (shared: the provider is stateless).
    Jwt(Arc<JwtTokens>),
}

impl TokenConfig {
    /// Parses `--auth-token` (`simple`, or `jwt,key=value,...`) as etcd's
    /// `decomposeOpts`/`NewTokenProvider`.
    pub fn parse(opts: &str, ttl: Duration) -> Result<TokenConfig, AuthError> {
        let ttl = if ttl.is_zero() {
            DEFAULT_TOKEN_TTL
        } else {
            ttl
        };
        if let Some(jwt) = opts.strip_prefix("jwt,") {
            let tokens =
                JwtTokens::from_options(jwt).map_err(|e| AuthError::Token(e.to_string()))?;
            return Ok(TokenConfig {
                kind: TokenKind::Jwt(Arc::new(tokens)),
                ttl,
            });
        }
        let mut parts = opts.split(',');
        let kind = parts.next().unwrap_or_default();
        let mut seen = Vec::new();
        for pair in parts {
            let Some((k, _)) = pair.split_once('=').filter(|(_, v)| !v.contains('=')) else {
                return Err(AuthError::InvalidAuthOpts);
            };
            if seen.contains(&k) {
                return Err(AuthError::InvalidAuthOpts);
            }
            seen.push(k);
        }
        match kind {
            "simple" => Ok(TokenConfig {
                kind: TokenKind::Simple,
                ttl: if ttl.is_zero() {
                    DEFAULT_TOKEN_TTL
                } else {
                    ttl
                },
            }),
            _ => Err(AuthError::InvalidAuthOpts),
        }
    }
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            kind: TokenKind::Simple,
            ttl: DEFAULT_TOKEN_TTL,
        }
    }
}

/// The token table of one member.
pub struct Tokens {
    ttl: Duration,
    simple: Mutex<HashMap<String, SimpleToken>>,
    jwt: Option<Arc<JwtTokens>>,
}

struct SimpleToken {
    user: String,
    expires: Instant,
}

impl Tokens {
    pub fn new(config: &TokenConfig) -> Tokens {
        Tokens {
            ttl: config.ttl,
            simple: Mutex::new(HashMap::new()),
            jwt: match &config.kind {
                TokenKind::Simple => None,
                TokenKind::Jwt(j) => Some(j.clone()),
            },
        }
    }

    /// A fresh random prefix, proposed with the `Authenticate` entry.
    pub fn gen_prefix() -> String {
        const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut rng = rand::rng();
        (0..SIMPLE_TOKEN_PREFIX_LEN)
            .map(|_| LETTERS[rng.random_range(0..LETTERS.len())] as char)
            .collect()
    }

    /// The token of an applied `Authenticate` (raft index `index`) for `user` at auth
    /// `revision`: a simple token is registered on this member; a JWT is signed.
    pub fn assign(
        &self,
        user: &str,
        revision: u64,
        prefix: &str,
        index: u64,
        now: Instant,
    ) -> Result<String, AuthError> {
        if let Some(jwt) = &self.jwt {
            return jwt
                .assign(user, revision)
                .map_err(|e| AuthError::Token(e.to_string()));
        }
        let token = format!("{prefix}.{index}");
        let mut simple = self.simple.lock();
        simple.retain(|_, t| t.expires > now);
        simple.insert(
            token.clone(),
            SimpleToken {
                user: user.to_owned(),
                expires: now + self.ttl,
            },
        );
        Ok(token)
    }

    /// The user of a live token: a simple token's TTL starts again and it stands for the
    /// current `revision`; a JWT names its own.
    pub fn info(&self, token: &str, revision: u64, now: Instant) -> Option<AuthInfo> {
        if let Some(jwt) = &self.jwt {
            let (username, revision) = jwt.info(token)?;
            return Some(AuthInfo { username, revision });
        }
        let mut simple = self.simple.lock();
        let t = simple.get_mut(token)?;
        if t.expires <= now {
            simple.remove(token);
            return None;
        }
        t.expires = now + self.ttl;
        Some(AuthInfo {
            username: t.user.clone(),
            revision,
        })
    }

    /// Drops `user`'s tokens (password changed, user deleted).
    pub fn invalidate_user(&self, user: &str) {
        self.simple.lock().retain(|_, t| t.user != user);
    }

    /// Drops every token (auth disabled).
    pub fn clear(&self) {
        self.simple.lock().clear();
    }

    /// The raft index a simple token was assigned at (its suffix), so a member that has
    /// not applied it yet can wait for it. `None` for JWTs.
    pub fn index_of(&self, token: &str) -> Option<u64> {
        if self.jwt.is_some() {
            return None;
        }
        token.rsplit_once('.')?.1.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_as_etcd() {
        let ttl = Duration::from_secs(7);
        let simple = TokenConfig::parse("simple", ttl).unwrap();
        assert!(matches!(simple.kind, TokenKind::Simple));
        assert_eq!(simple.ttl, ttl);
        assert_eq!(
            TokenConfig::parse("simple", Duration::ZERO).unwrap().ttl,
            DEFAULT_TOKEN_TTL
        );
        for bad in ["", "bogus", "simple,a", "simple,a=1,a=2", "simple,a=b=c"] {
            assert_eq!(
                TokenConfig::parse(bad, ttl).err(),
                Some(AuthError::InvalidAuthOpts),
                "{bad}"
            );
        }
        let err = TokenConfig::parse("jwt,sign-method=RS256,priv-key=/nonexistent", ttl)
            .err()
            .unwrap();
        assert!(matches!(err, AuthError::Token(_)), "{err}");
        assert!(err.to_string().contains("/nonexistent"), "{err}");
    }

    #[test]
    fn tokens_expire_unused_refresh_on_use_and_are_dropped() {
        let tokens = Tokens::new(&TokenConfig {
            kind: TokenKind::Simple,
            ttl: Duration::from_secs(10),
        });
        let t0 = Instant::now();
        let prefix = Tokens::gen_prefix();
        assert_eq!(prefix.len(), 16);
        assert!(prefix.chars().all(|c| c.is_ascii_alphabetic()));
        let a = tokens.assign("alice", 5, &prefix, 42, t0).unwrap();
        assert_eq!(a, format!("{prefix}.42"));
        assert_eq!(tokens.index_of(&a), Some(42));
        let info = tokens.info(&a, 5, t0 + Duration::from_secs(9)).unwrap();
        assert_eq!((info.username.as_str(), info.revision), ("alice", 5));
        // Used at 9 s: alive until 19 s.
        assert!(tokens.info(&a, 5, t0 + Duration::from_secs(18)).is_some());
        assert!(tokens.info(&a, 5, t0 + Duration::from_secs(29)).is_none());
        assert!(tokens.info("garbage", 5, t0).is_none());

        let b = tokens.assign("bob", 5, "p", 1, t0).unwrap();
        let c = tokens.assign("carol", 5, "q", 2, t0).unwrap();
        tokens.invalidate_user("bob");
        assert!(tokens.info(&b, 1, t0).is_none());
        assert!(tokens.info(&c, 1, t0).is_some());
        tokens.clear();
        assert!(tokens.info(&c, 1, t0).is_none());
    }
}

#[cfg(test)]
mod jwt_tests {
    use super::*;

    /// A JWT provider with etcd's own test keys (shipped with the auth-jwt crate).
    fn jwt_config() -> TokenConfig {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../auth-jwt/tests/fixtures");
        let opts = format!("jwt,pub-key={dir}/rsa.pub,priv-key={dir}/rsa.key,sign-method=RS256");
        TokenConfig::parse(&opts, Duration::ZERO).unwrap()
    }

    #[test]
    fn jwts_carry_user_and_revision_and_need_no_table() {
        let config = jwt_config();
        let tokens = Tokens::new(&config);
        let now = Instant::now();
        let t = tokens.assign("alice", 7, "ignored", 99, now).unwrap();
        assert_eq!(tokens.index_of(&t), None, "no raft index to wait for");
        // Another member with the same keys accepts it: nothing is shared but the keys.
        let other = Tokens::new(&config);
        let info = other.info(&t, 12, now).unwrap();
        assert_eq!((info.username.as_str(), info.revision), ("alice", 7));
        assert!(other.info(&format!("{t}x"), 12, now).is_none());
        assert!(other.info("abc.42", 12, now).is_none());
    }
}
