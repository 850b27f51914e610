//! Parsing the `jwt,...` part of `--auth-token` (etcd's `decomposeOpts` and
//! `jwtOptions.ParseWithDefaults`): `key=value` pairs separated by commas.

use std::time::Duration;

use crate::method::SignMethod;
use crate::JwtError;

/// etcd's `DefaultTTL`, used when `ttl` is absent or empty.
pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);

const SIGN_METHOD: &str = "sign-method";
pub(crate) const PUB_KEY: &str = "pub-key";
pub(crate) const PRIV_KEY: &str = "priv-key";
const TTL: &str = "ttl";

/// A key file named by `pub-key` or `priv-key`, with its content.
pub(crate) struct KeyFile {
    /// The option that named it.
    pub(crate) option: &'static str,
    pub(crate) path: String,
    pub(crate) data: Vec<u8>,
}

/// The parsed options, key files read.
pub(crate) struct Options {
    pub(crate) method: SignMethod,
    pub(crate) ttl: Duration,
    pub(crate) pub_key: Option<KeyFile>,
    pub(crate) priv_key: Option<KeyFile>,
}

impl Options {
    /// Parses `opts` (e.g. `"pub-key=/a.pub,priv-key=/a.key,sign-method=RS256,ttl=10m"`) and
    /// reads the key files. As in etcd, an empty value counts as absent.
    pub(crate) fn parse(opts: &str) -> Result<Options, JwtError> {
        let mut sign_method = "";
        let mut ttl = "";
        let mut pub_key = "";
        let mut priv_key = "";
        let mut seen: Vec<&str> = Vec::new();
        // etcd splits "jwt,a=b" on commas: an empty string after "jwt," is one empty pair.
        let pairs = if opts.is_empty() {
            Vec::new()
        } else {
            opts.split(',').collect()
        };
        for pair in pairs {
            // etcd splits on every '=' and wants exactly two parts.
            let mut parts = pair.split('=');
            let (Some(key), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(JwtError::MalformedOption(pair.to_string()));
            };
            if seen.contains(&key) {
                return Err(JwtError::DuplicateOption(key.to_string()));
            }
            seen.push(key);
            let slot = match key {
                SIGN_METHOD => &mut sign_method,
                TTL => &mut ttl,
                PUB_KEY => &mut pub_key,
                PRIV_KEY => &mut priv_key,
                _ => return Err(JwtError::UnknownOption(key.to_string())),
            };
            *slot = value;
        }

        let method = SignMethod::from_name(sign_method)?;
        let ttl = if ttl.is_empty() {
            DEFAULT_TTL
        } else {
            goduration::parse_std(ttl).map_err(|reason| JwtError::InvalidTtl {
                value: ttl.to_string(),
                reason,
            })?
        };
        Ok(Options {
            method,
            ttl,
            pub_key: read_key_file(PUB_KEY, pub_key)?,
            priv_key: read_key_file(PRIV_KEY, priv_key)?,
        })
    }
}

/// Reads the file named by `option` (`None` when `path` is empty).
fn read_key_file(option: &'static str, path: &str) -> Result<Option<KeyFile>, JwtError> {
    if path.is_empty() {
        return Ok(None);
    }
    let data = std::fs::read(path).map_err(|error| JwtError::ReadKeyFile {
        option,
        path: path.to_string(),
        error,
    })?;
    Ok(Some(KeyFile {
        option,
        path: path.to_string(),
        data,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(opts: &str) -> JwtError {
        match Options::parse(opts) {
            Ok(_) => panic!("{opts:?} was accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn defaults_and_ttl() {
        let o = Options::parse("sign-method=HS256").unwrap();
        assert_eq!(o.method.name(), "HS256");
        assert_eq!(o.ttl, DEFAULT_TTL);
        assert!(o.pub_key.is_none() && o.priv_key.is_none());
        let o = Options::parse("ttl=1m30s,sign-method=ES384,pub-key=,priv-key=").unwrap();
        assert_eq!(o.ttl, Duration::from_secs(90));
        assert!(o.pub_key.is_none() && o.priv_key.is_none());
        let o = Options::parse("sign-method=RS256,ttl=").unwrap();
        assert_eq!(o.ttl, DEFAULT_TTL);
    }

    #[test]
    fn malformed_duplicate_unknown() {
        assert!(matches!(err("sign-method"), JwtError::MalformedOption(p) if p == "sign-method"));
        assert!(matches!(err("sign-method=RS256,"), JwtError::MalformedOption(p) if p.is_empty()));
        assert!(matches!(
            err("priv-key=a=b,sign-method=HS256"),
            JwtError::MalformedOption(_)
        ));
        assert!(
            matches!(err("sign-method=RS256,sign-method=RS256"), JwtError::DuplicateOption(k) if k == "sign-method")
        );
        assert!(
            matches!(err("sign-method=RS256,pubkey=/x"), JwtError::UnknownOption(k) if k == "pubkey")
        );
        assert!(matches!(err(""), JwtError::InvalidSignMethod(m) if m.is_empty()));
        assert!(matches!(err("sign-method=RS999"), JwtError::InvalidSignMethod(m) if m == "RS999"));
    }

    #[test]
    fn bad_ttl() {
        let e = err("sign-method=HS256,ttl=forever");
        assert_eq!(
            e.to_string(),
            "auth: invalid auth options: ttl \"forever\": time: invalid duration \"forever\""
        );
        assert!(matches!(
            err("sign-method=HS256,ttl=-1s"),
            JwtError::InvalidTtl { .. }
        ));
    }

    #[test]
    fn missing_file() {
        let e = err("sign-method=HS256,priv-key=/nonexistent/auth-jwt-key");
        assert!(
            matches!(&e, JwtError::ReadKeyFile { option: PRIV_KEY, path, .. } if path == "/nonexistent/auth-jwt-key"),
            "{e}"
        );
        assert!(e.to_string().contains("No such file"), "{e}");
    }
}
