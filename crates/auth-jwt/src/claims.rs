//! The claims of etcd's tokens (`username`, `revision`, `exp`) and their validation, as etcd
//! 3.4's JWT library (`golang-jwt` v4 `MapClaims.Valid`) does it: `exp`, `iat` and `nbf`
//! are optional whole seconds, no clock skew allowed.

use serde::Serialize;
use serde_json::{Map, Value};

/// The claims of a token we assign, in the order Go writes them (sorted map keys).
#[derive(Serialize)]
pub(crate) struct Claims<'a> {
    /// Expiry, Unix seconds.
    pub(crate) exp: i64,
    /// Auth store revision when the token was assigned.
    pub(crate) revision: u64,
    pub(crate) username: &'a str,
}

/// The username and revision of `claims`, when its time claims hold at `now` (Unix seconds)
/// and it has a string `username` and a non-negative numeric `revision`.
pub(crate) fn validate(claims: &Map<String, Value>, now: i64) -> Option<(String, u64)> {
    let now = now as f64;
    let expiry_ok = time_claim(claims, "exp", |exp| now < exp)?;
    let issued_ok = time_claim(claims, "iat", |iat| now >= iat)?;
    let started_ok = time_claim(claims, "nbf", |nbf| now >= nbf)?;
    if !(expiry_ok && issued_ok && started_ok) {
        return None;
    }
    let username = claims.get("username")?.as_str()?.to_string();
    let revision = claims.get("revision")?;
    // Go reads JSON numbers as float64; accept what it accepts, exactly when we can.
    let revision = match revision.as_u64() {
        Some(r) => r,
        None => {
            let r = revision.as_f64()?;
            if !(r >= 0.0 && r.is_finite()) {
                return None;
            }
            r as u64
        }
    };
    Some((username, revision))
}

/// `Some(true)` when the time claim `name` is absent, zero, or a number of seconds
/// (floored) for which `holds` is true; `Some(false)` when `holds` is false; `None` when it
/// is not a number.
fn time_claim(
    claims: &Map<String, Value>,
    name: &str,
    holds: impl Fn(f64) -> bool,
) -> Option<bool> {
    let Some(value) = claims.get(name) else {
        return Some(true);
    };
    let seconds = value.as_f64()?;
    Some(seconds == 0.0 || holds(seconds.floor()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(claims: Value, now: i64) -> Option<(String, u64)> {
        validate(claims.as_object().unwrap(), now)
    }

    #[test]
    fn expiry_is_strict_and_whole_seconds() {
        let claims = |exp: Value| json!({"username": "u", "revision": 7, "exp": exp});
        assert_eq!(check(claims(json!(100)), 99), Some(("u".into(), 7)));
        assert_eq!(check(claims(json!(100)), 100), None);
        assert_eq!(check(claims(json!(100.9)), 100), None);
        assert_eq!(check(claims(json!(0)), 100), Some(("u".into(), 7)));
        assert_eq!(check(claims(json!("200")), 100), None);
        assert_eq!(check(claims(json!(null)), 100), None);
        assert_eq!(
            check(json!({"username": "u", "revision": 7}), 100),
            Some(("u".into(), 7))
        );
    }

    #[test]
    fn issued_at_and_not_before() {
        let base = json!({"username": "u", "revision": 1});
        for name in ["iat", "nbf"] {
            let mut claims = base.clone();
            claims[name] = json!(100);
            assert!(check(claims.clone(), 100).is_some(), "{name}");
            assert!(check(claims.clone(), 99).is_none(), "{name}");
            claims[name] = json!([]);
            assert!(check(claims, 100).is_none(), "{name}");
        }
    }

    #[test]
    fn username_and_revision_types() {
        assert_eq!(
            check(json!({"username": "", "revision": 0}), 1),
            Some((String::new(), 0))
        );
        assert_eq!(
            check(json!({"username": "a", "revision": 5.0}), 1),
            Some(("a".into(), 5))
        );
        assert_eq!(
            check(json!({"username": "a", "revision": u64::MAX}), 1),
            Some(("a".into(), u64::MAX))
        );
        for bad in [
            json!({"revision": 1}),
            json!({"username": "a"}),
            json!({"username": 1, "revision": 1}),
            json!({"username": "a", "revision": "1"}),
            json!({"username": "a", "revision": -1}),
            json!({"username": null, "revision": 1}),
        ] {
            assert_eq!(check(bad.clone(), 1), None, "{bad}");
        }
    }
}
