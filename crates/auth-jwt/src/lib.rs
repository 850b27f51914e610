//! etcd 3.4's JWT auth tokens, as configured by
//! `--auth-token jwt,pub-key=<path>,priv-key=<path>,sign-method=<alg>[,ttl=<duration>]`.
//!
//! When auth is enabled, `Authenticate` hands the client a token that later requests carry in
//! their `token` metadata. With `jwt`, etcd's token is a signed JWT (etcd's `auth/jwt.go`,
//! `auth/options.go`) whose claims are the user name, the auth store revision at
//! authentication, and an expiry (`exp`, now + `ttl`, 5 minutes by default). Any member
//! holding the public key can check it without shared state, and the revision lets the
//! server refuse tokens older than the last auth change (that check is the server's).
//!
//! [`JwtTokens`] is that token provider, interoperable with etcd 3.4 both ways (tokens
//! issued by etcd verify here and ours verify in etcd), with its option syntax and its
//! error messages:
//! - sign methods RS256/384/512 and PS256/384/512 (RSA), ES256/384/512 (ECDSA on P-256,
//!   P-384, P-521) and HS256/384/512 (HMAC, the bytes of `priv-key` being the secret);
//! - keys in PEM: `pub-key` a PKIX public key or an X.509 certificate, `priv-key` PKCS#1 or
//!   PKCS#8 (RSA), SEC1 or PKCS#8 (EC). With `pub-key` alone the instance only verifies
//!   (etcd's verify-only mode, for members that must not issue tokens).
//!
//! Crypto is ring's (also this workspace's TLS provider), except ES512, which ring lacks,
//! from RustCrypto's `p521`. The JWS framing and claims checks follow etcd's JWT library
//! (`golang-jwt` v4): the header's `alg` must be the configured method; `exp`, `iat` and
//! `nbf` are checked to the second without leeway.
//!
//! Differences from etcd, all on refusals: an unknown option is an error (etcd logs a
//! warning); `pub-key` must be the public half of `priv-key` (etcd's check is buggy and
//! rarely fires); RSA keys are limited to ring's sizes (2048 to 4096 bits to sign, up to
//! 8192 to verify); a missing claim in a validly signed token is refused (etcd panics).

mod claims;
mod error;
mod jws;
mod keys;
mod method;
mod options;

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use error::JwtError;

use claims::Claims;
use keys::Keys;
use method::SignMethod;
use options::Options;

/// Parsed `jwt,...` options (etcd's `jwtOptions`) with their keys loaded: sign method,
/// keys, ttl (default 5 minutes, as etcd).
pub struct JwtTokens {
    method: SignMethod,
    keys: Keys,
    ttl: Duration,
}

impl JwtTokens {
    /// From the part of `--auth-token` after `"jwt,"` (e.g.
    /// `"pub-key=/a.pub,priv-key=/a.key,sign-method=RS256,ttl=10m"`). Reads the key files.
    /// Errors name the bad option or file, with etcd's messages where etcd has them.
    pub fn from_options(opts: &str) -> Result<JwtTokens, JwtError> {
        let options = Options::parse(opts)?;
        let keys = Keys::load(
            options.method,
            options.pub_key.as_ref(),
            options.priv_key.as_ref(),
        )?;
        Ok(JwtTokens {
            method: options.method,
            keys,
            ttl: options.ttl,
        })
    }

    /// A signed token for `username` at auth store `revision`, expiring after [`ttl`](Self::ttl)
    /// (claims as etcd: `username`, `revision`, `exp`). Fails in verify-only mode.
    pub fn assign(&self, username: &str, revision: u64) -> Result<String, JwtError> {
        let exp = SystemTime::now()
            .checked_add(self.ttl)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_secs()).ok())
            .ok_or_else(|| JwtError::Sign(format!("ttl {:?} is out of range", self.ttl)))?;
        self.assign_expiring(username, revision, exp)
    }

    /// A token with the given `exp` (Unix seconds).
    fn assign_expiring(&self, username: &str, revision: u64, exp: i64) -> Result<String, JwtError> {
        let signer = self.keys.signer.as_ref().ok_or(JwtError::VerifyOnly)?;
        let claims = Claims {
            exp,
            revision,
            username,
        };
        jws::encode(self.method.name(), &claims, |input| signer.sign(input))
    }

    /// The username and revision of `token` when it is a valid, unexpired token signed with
    /// our key and sign method; `None` otherwise (never panics, whatever `token` is).
    pub fn info(&self, token: &str) -> Option<(String, u64)> {
        let claims = jws::decode(token, self.method.name(), |input, signature| {
            self.keys.verifier.verify(input, signature)
        })?;
        claims::validate(&claims, unix_now())
    }

    /// How long assigned tokens stay valid.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The JWT algorithm, e.g. `"RS256"`.
    pub fn sign_method(&self) -> &'static str {
        self.method.name()
    }

    /// True when only a public key was given: tokens are verified, never assigned.
    pub fn verify_only(&self) -> bool {
        self.keys.signer.is_none()
    }
}

impl fmt::Debug for JwtTokens {
    /// Without key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtTokens")
            .field("sign_method", &self.sign_method())
            .field("ttl", &self.ttl)
            .field("verify_only", &self.verify_only())
            .finish()
    }
}

/// Now, in whole Unix seconds (as Go's `time.Now().Unix()`).
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hmac_tokens() -> JwtTokens {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hmac.secret");
        JwtTokens::from_options(&format!("sign-method=HS256,priv-key={path}")).unwrap()
    }

    #[test]
    fn expired_tokens_are_refused() {
        let tokens = hmac_tokens();
        let now = unix_now();
        let live = tokens.assign_expiring("u", 3, now + 2).unwrap();
        assert_eq!(tokens.info(&live), Some(("u".to_string(), 3)));
        for exp in [now, now - 1, now - 3600, 1] {
            let expired = tokens.assign_expiring("u", 3, exp).unwrap();
            assert_eq!(tokens.info(&expired), None, "exp {exp}, now {now}");
        }
    }

    #[test]
    fn exp_is_now_plus_ttl() {
        let tokens = hmac_tokens();
        let before = unix_now();
        let token = tokens.assign("u", 1).unwrap();
        let claims = jws::decode(&token, "HS256", |_, _| true).unwrap();
        let exp = claims["exp"].as_i64().unwrap();
        let ttl = tokens.ttl().as_secs() as i64;
        assert_eq!(ttl, 300);
        assert!(
            (before + ttl..=unix_now() + ttl).contains(&exp),
            "exp {exp}"
        );
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<JwtTokens>();
    }
}
