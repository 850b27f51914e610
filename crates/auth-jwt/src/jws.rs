//! JWS compact serialization (RFC 7515) as etcd's JWT library writes and reads it:
//! `base64url(header) "." base64url(claims) "." base64url(signature)`, without padding.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::JwtError;

/// Go's `base64.RawURLEncoding` (not strict: trailing bits are ignored).
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// The header etcd's tokens carry (`{"alg":"RS256","typ":"JWT"}`).
#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
}

/// A token with `claims`, signed with `alg` by `sign` (which gets the header and claims
/// part, the JWS signing input).
pub(crate) fn encode(
    alg: &str,
    claims: &impl Serialize,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, JwtError>,
) -> Result<String, JwtError> {
    let header = to_json(&Header { alg, typ: "JWT" })?;
    let claims = to_json(claims)?;
    let mut token = B64.encode(header);
    token.push('.');
    B64.encode_string(claims, &mut token);
    let signature = sign(token.as_bytes())?;
    token.push('.');
    B64.encode_string(signature, &mut token);
    Ok(token)
}

/// The claims of `token` when it is a well-formed JWS whose header names `alg` and whose
/// signature `verify` accepts (given the signing input and the signature); `None` otherwise.
pub(crate) fn decode(
    token: &str,
    alg: &str,
    verify: impl FnOnce(&[u8], &[u8]) -> bool,
) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let header: Map<String, Value> = serde_json::from_slice(&B64.decode(header).ok()?).ok()?;
    if header.get("alg")?.as_str()? != alg {
        return None;
    }
    let signing_input = &token.as_bytes()[..token.len() - signature.len() - 1];
    if !verify(signing_input, &B64.decode(signature).ok()?) {
        return None;
    }
    serde_json::from_slice(&B64.decode(claims).ok()?).ok()
}

fn to_json(value: &impl Serialize) -> Result<Vec<u8>, JwtError> {
    serde_json::to_vec(value).map_err(|e| JwtError::Sign(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign_with_x(_: &[u8]) -> Result<Vec<u8>, JwtError> {
        Ok(b"x".to_vec())
    }

    #[test]
    fn layout_and_round_trip() {
        let token = encode("HS256", &serde_json::json!({"a": 1}), sign_with_x).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            B64.decode(parts[0]).unwrap(),
            br#"{"alg":"HS256","typ":"JWT"}"#
        );
        assert_eq!(B64.decode(parts[1]).unwrap(), br#"{"a":1}"#);
        assert_eq!(parts[2], "eA");
        let claims = decode(&token, "HS256", |input, sig| {
            input == format!("{}.{}", parts[0], parts[1]).as_bytes() && sig == b"x"
        })
        .unwrap();
        assert_eq!(claims["a"], 1);
    }

    #[test]
    fn refusals() {
        let token = encode("HS256", &serde_json::json!({}), sign_with_x).unwrap();
        assert!(decode(&token, "HS384", |_, _| true).is_none(), "other alg");
        assert!(
            decode(&token, "HS256", |_, _| false).is_none(),
            "bad signature"
        );
        for bad in [
            "",
            ".",
            "..",
            "a.b.c",
            "a.b.c.d",
            &format!("{token}."),
            &format!("{token}="),
        ] {
            assert!(decode(bad, "HS256", |_, _| true).is_none(), "{bad:?}");
        }
        // A header that is JSON but not an object, and one without a string alg.
        for header in ["[1]", r#"{"alg":1}"#, r#"{"typ":"JWT"}"#] {
            let bad = format!("{}.e30.eA", B64.encode(header));
            assert!(decode(&bad, "HS256", |_, _| true).is_none(), "{header}");
        }
        // Claims that are not a JSON object.
        let bad = format!(
            "{}.{}.eA",
            B64.encode(r#"{"alg":"HS256"}"#),
            B64.encode("[]")
        );
        assert!(decode(&bad, "HS256", |_, _| true).is_none());
    }
}
