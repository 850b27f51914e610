//! Tokens answered by `Authenticate` and sent back by clients in the `token` metadata.
//!
//! `--auth-token simple` (etcd's default): the member that receives `Authenticate` picks a
//! random 16-letter prefix and proposes it; every member, applying the entry at raft index
//! `i`, registers the token `prefix.i` for the user in memory. A token unused for
//! `--auth-token-ttl` (default 300 s) expires; changing a user's password or deleting the
//! user drops its tokens; disabling auth drops them all. Simple tokens carry no revision:
//! a request is checked against the current auth revision.
//!
//! `--auth-token jwt,...`: not served yet (the option is refused at start with etcd's
//! `auth: invalid auth options`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::Rng;

use crate::{AuthError, AuthInfo};

/// etcd's `defaultSimpleTokenLength`.
const SIMPLE_TOKEN_PREFIX_LEN: usize = 16;
/// etcd's `--auth-token-ttl` default.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(300);

/// The `--auth-token` and `--auth-token-ttl` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenConfig {
    pub kind: TokenKind,
    pub ttl: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Simple,
}

impl TokenConfig {
    /// Parses `--auth-token` (`simple`, or `jwt,key=value,...`) as etcd's
    /// `decomposeOpts`/`NewTokenProvider`.
    pub fn parse(opts: &str, ttl: Duration) -> Result<TokenConfig, AuthError> {
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

    /// Registers the token of an applied `Authenticate` (raft index `index`) for `user`.
    pub fn assign(&self, user: &str, prefix: &str, index: u64, now: Instant) -> String {
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
        token
    }

    /// The user of a live token (its TTL starts again), with the current `revision`.
    pub fn info(&self, token: &str, revision: u64, now: Instant) -> Option<AuthInfo> {
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
    /// not applied it yet can wait for it.
    pub fn index_of(token: &str) -> Option<u64> {
        token.rsplit_once('.')?.1.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_as_etcd() {
        let ttl = Duration::from_secs(7);
        assert_eq!(
            TokenConfig::parse("simple", ttl).unwrap(),
            TokenConfig {
                kind: TokenKind::Simple,
                ttl
            }
        );
        assert_eq!(
            TokenConfig::parse("simple", Duration::ZERO).unwrap().ttl,
            DEFAULT_TOKEN_TTL
        );
        for bad in ["", "bogus", "simple,a", "simple,a=1,a=2", "simple,a=b=c"] {
            assert_eq!(
                TokenConfig::parse(bad, ttl),
                Err(AuthError::InvalidAuthOpts),
                "{bad}"
            );
        }
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
        let a = tokens.assign("alice", &prefix, 42, t0);
        assert_eq!(a, format!("{prefix}.42"));
        assert_eq!(Tokens::index_of(&a), Some(42));
        let info = tokens.info(&a, 5, t0 + Duration::from_secs(9)).unwrap();
        assert_eq!((info.username.as_str(), info.revision), ("alice", 5));
        // Used at 9 s: alive until 19 s.
        assert!(tokens.info(&a, 5, t0 + Duration::from_secs(18)).is_some());
        assert!(tokens.info(&a, 5, t0 + Duration::from_secs(29)).is_none());
        assert!(tokens.info("garbage", 5, t0).is_none());

        let b = tokens.assign("bob", "p", 1, t0);
        let c = tokens.assign("carol", "q", 2, t0);
        tokens.invalidate_user("bob");
        assert!(tokens.info(&b, 1, t0).is_none());
        assert!(tokens.info(&c, 1, t0).is_some());
        tokens.clear();
        assert!(tokens.info(&c, 1, t0).is_none());
    }
}
