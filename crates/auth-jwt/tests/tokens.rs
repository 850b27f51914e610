//! `JwtTokens` through its public API, with the keys of `tests/fixtures`.

#[path = "support/fixtures.rs"]
mod fixtures;

use std::time::Duration;

use auth_jwt::{JwtError, JwtTokens};
use base64::Engine;
use fixtures::{fixture, options};

/// One configuration per key format and algorithm: method, priv-key, pub-key (or ""),
/// bytes of its signatures.
const CASES: &[(&str, &str, &str, usize)] = &[
    ("RS256", "rsa.key", "rsa.crt", 256),
    ("RS384", "rsa.key", "rsa.pub", 256),
    ("RS512", "rsa-pkcs8.key", "", 256),
    ("PS256", "rsa.key", "rsa.crt", 256),
    ("PS384", "rsa-pkcs8.key", "rsa.pub", 256),
    ("PS512", "rsa.key", "", 256),
    ("ES256", "ec256.key", "ec256.crt", 64),
    ("ES256", "ec256-other.key", "", 64),
    ("ES384", "ec384.key", "ec384.pub", 96),
    ("ES512", "ec521.key", "ec521.pub", 132),
    ("ES512", "ec521-pkcs8.key", "ec521.pub", 132),
    ("HS256", "hmac.secret", "", 32),
    ("HS384", "hmac.secret", "", 48),
    ("HS512", "hmac.secret", "", 64),
];

/// The same families with another key: method, priv-key, pub-key of another key (or "").
const OTHER_KEYS: &[(&str, &str, &str, &str)] = &[
    ("RS256", "rsa.key", "rsa-other.key", ""),
    ("PS256", "rsa.key", "rsa-other.key", ""),
    ("ES256", "ec256.key", "ec256-other.key", ""),
    ("ES512", "ec521.key", "ec521-other.key", ""),
    ("HS256", "hmac.secret", "hmac-other.secret", ""),
];

fn tokens(opts: &str) -> JwtTokens {
    JwtTokens::from_options(opts).unwrap_or_else(|e| panic!("{opts}: {e}"))
}

fn error(opts: &str) -> JwtError {
    match JwtTokens::from_options(opts) {
        Ok(t) => panic!("{opts} was accepted: {t:?}"),
        Err(e) => e,
    }
}

fn signature_len(token: &str) -> usize {
    let signature = token.rsplit('.').next().unwrap();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .unwrap()
        .len()
}

#[test]
fn round_trip_per_algorithm() {
    for &(method, priv_key, pub_key, sig_len) in CASES {
        let case = format!("{method} {priv_key} {pub_key}");
        let t = tokens(&options(method, priv_key, pub_key));
        assert_eq!(t.sign_method(), method);
        assert!(!t.verify_only(), "{case}");
        let token = t.assign("abc", 123).unwrap();
        assert_eq!(t.info(&token), Some(("abc".to_string(), 123)), "{case}");
        assert_eq!(signature_len(&token), sig_len, "{case}");
        // A second token for another user verifies on its own.
        let other = t.assign("root", u64::MAX).unwrap();
        assert_eq!(
            t.info(&other),
            Some(("root".to_string(), u64::MAX)),
            "{case}"
        );
        assert_eq!(t.info("aaa"), None, "{case}");
    }
}

#[test]
fn verify_only_accepts_tokens_and_refuses_to_assign() {
    for &(method, priv_key, pub_key, _) in CASES.iter().filter(|c| !c.2.is_empty()) {
        let case = format!("{method} {pub_key}");
        let token = tokens(&options(method, priv_key, pub_key))
            .assign("abc", 7)
            .unwrap();
        let verifier = tokens(&options(method, "", pub_key));
        assert!(verifier.verify_only(), "{case}");
        assert_eq!(
            verifier.info(&token),
            Some(("abc".to_string(), 7)),
            "{case}"
        );
        assert!(
            matches!(verifier.assign("abc", 7), Err(JwtError::VerifyOnly)),
            "{case}"
        );
        assert_eq!(
            JwtError::VerifyOnly.to_string(),
            "auth: token signing attempted with verify-only key"
        );
    }
}

#[test]
fn tokens_of_another_key_or_method_are_refused() {
    for &(method, priv_key, other_key, _) in OTHER_KEYS {
        let ours = tokens(&options(method, priv_key, ""));
        let theirs = tokens(&options(method, other_key, ""));
        let token = theirs.assign("abc", 1).unwrap();
        assert_eq!(theirs.info(&token), Some(("abc".to_string(), 1)));
        assert_eq!(ours.info(&token), None, "{method}: {other_key}'s token");
    }
    // Same key, other method (the header's alg must be ours).
    let rs256 = tokens(&options("RS256", "rsa.key", ""));
    for other in ["RS384", "PS256"] {
        let token = tokens(&options(other, "rsa.key", ""))
            .assign("abc", 1)
            .unwrap();
        assert_eq!(rs256.info(&token), None, "{other} token to RS256");
    }
    // Verify-only with the public key of another key pair.
    let token = tokens(&options("ES384", "ec384.key", ""))
        .assign("a", 1)
        .unwrap();
    let es256 = tokens(&options("ES256", "", "ec256.crt"));
    assert_eq!(es256.info(&token), None);
}

#[test]
fn hmac_with_the_public_key_as_secret_is_refused() {
    // The classic alg confusion: an HS256 token keyed with the RSA public key file.
    let forged = tokens(&options("HS256", "rsa.crt", ""))
        .assign("root", 1)
        .unwrap();
    let rs256 = tokens(&options("RS256", "", "rsa.crt"));
    assert_eq!(rs256.info(&forged), None);
}

#[test]
fn garbage_empty_and_truncated_tokens_give_none() {
    let t = tokens(&options("ES256", "ec256.key", ""));
    let token = t.assign("abc", 5).unwrap();
    for garbage in [
        "",
        ".",
        "..",
        "...",
        "a.b.c",
        "\u{0}",
        "é.é.é",
        "eyJhbGciOiJFUzI1NiJ9..",
        "eyJhbGciOiJFUzI1NiJ9.e30.",
        &"A".repeat(1 << 16),
        &format!("{token}."),
        &format!(".{token}"),
        &format!("{token} "),
        &token.replace('.', ".."),
    ] {
        assert_eq!(t.info(garbage), None, "{garbage:?}");
    }
    for len in 0..token.len() {
        assert_eq!(t.info(&token[..len]), None, "prefix of {len} bytes");
    }
    // Any one character changed, anywhere but the last: like Go's base64 (not strict), the
    // unused low bits of the signature's last character are ignored.
    for i in 0..token.len() - 1 {
        let mut bytes = token.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(bytes).unwrap();
        if changed != token {
            assert_eq!(t.info(&changed), None, "byte {i} changed");
        }
    }
    // Claims of one token with the signature of another.
    let other = t.assign("root", 5).unwrap();
    let (head, _) = other.rsplit_once('.').unwrap();
    let (_, signature) = token.rsplit_once('.').unwrap();
    assert_eq!(t.info(&format!("{head}.{signature}")), None);
}

#[test]
fn ttl_option() {
    assert_eq!(
        tokens(&options("HS256", "hmac.secret", "")).ttl(),
        Duration::from_secs(300)
    );
    let t = tokens(&format!("{},ttl=10m", options("HS256", "hmac.secret", "")));
    assert_eq!(t.ttl(), Duration::from_secs(600));
    let t = tokens(&format!("ttl=1h30m,{}", options("RS256", "rsa.key", "")));
    assert_eq!(t.ttl(), Duration::from_secs(5400));
    let token = t.assign("a", 1).unwrap();
    assert_eq!(t.info(&token), Some(("a".to_string(), 1)));
}

#[test]
fn bad_options() {
    let rsa = options("RS256", "rsa.key", "");

    let e = error(&format!("{rsa},pubkey=/x"));
    assert!(
        matches!(&e, JwtError::UnknownOption(k) if k == "pubkey"),
        "{e}"
    );
    assert!(
        e.to_string().contains("unknown JWT option \"pubkey\""),
        "{e}"
    );

    let e = error("sign-method=RS256,priv-key=/nonexistent/key.pem");
    assert!(
        matches!(
            &e,
            JwtError::ReadKeyFile {
                option: "priv-key",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("\"/nonexistent/key.pem\""), "{e}");
    let e = error(&format!("{rsa},pub-key=/nonexistent/key.pub"));
    assert!(
        matches!(
            &e,
            JwtError::ReadKeyFile {
                option: "pub-key",
                ..
            }
        ),
        "{e}"
    );

    for method in ["invalid", "rs256", "", "RS1"] {
        let e = error(&format!(
            "sign-method={method},priv-key={}",
            fixture("rsa.key")
        ));
        assert!(
            matches!(&e, JwtError::InvalidSignMethod(m) if m == method),
            "{e}"
        );
        assert!(
            e.to_string()
                .starts_with("auth: invalid auth signature method"),
            "{e}"
        );
    }
    let e = error(&format!("priv-key={}", fixture("rsa.key")));
    assert!(
        matches!(&e, JwtError::InvalidSignMethod(m) if m.is_empty()),
        "{e}"
    );
    for method in ["EdDSA", "none"] {
        let e = error(&options(method, "rsa.key", ""));
        assert!(matches!(&e, JwtError::UnsupportedSignMethod(_)), "{e}");
    }

    let e = error(&format!("{rsa},ttl=forever"));
    assert!(matches!(&e, JwtError::InvalidTtl { .. }), "{e}");
    assert!(matches!(
        error(&format!("{rsa},,")),
        JwtError::MalformedOption(_)
    ));
    assert!(matches!(
        error(&format!("{rsa},ttl=1m,ttl=2m")),
        JwtError::DuplicateOption(k) if k == "ttl"
    ));
}

#[test]
fn missing_and_unusable_keys() {
    // No key at all, and HMAC with only a public key (as in etcd's TestJWTBad).
    for opts in [
        options("RS256", "", ""),
        options("ES256", "", ""),
        options("HS256", "", ""),
        options("HS256", "", "rsa.crt"),
    ] {
        let e = error(&opts);
        assert!(matches!(e, JwtError::MissingKey { .. }), "{opts}: {e}");
        assert!(e.to_string().starts_with("auth: missing key data"), "{e}");
    }
    let invalid = |opts: String, option: &str, path: &str| {
        let e = error(&opts);
        assert!(
            matches!(&e, JwtError::InvalidKey { option: o, path: p, .. } if *o == option && *p == fixture(path)),
            "{opts}: {e}"
        );
        assert!(e.to_string().contains(&fixture(path)), "{e}");
    };
    // Keys in each other's place, keys of the wrong family or curve, non-PEM files.
    invalid(options("RS256", "rsa.key", "rsa.key"), "pub-key", "rsa.key");
    invalid(
        options("RS256", "rsa.crt", "rsa.crt"),
        "priv-key",
        "rsa.crt",
    );
    invalid(
        options("ES256", "ec256.key", "ec256.key"),
        "pub-key",
        "ec256.key",
    );
    invalid(
        options("ES256", "ec256.crt", "ec256.crt"),
        "priv-key",
        "ec256.crt",
    );
    invalid(options("RS256", "ec256.key", ""), "priv-key", "ec256.key");
    invalid(options("RS256", "", "ec256.crt"), "pub-key", "ec256.crt");
    invalid(options("ES256", "rsa.key", ""), "priv-key", "rsa.key");
    invalid(options("ES256", "", "rsa.crt"), "pub-key", "rsa.crt");
    invalid(options("ES256", "ec384.key", ""), "priv-key", "ec384.key");
    invalid(options("ES512", "", "ec384.pub"), "pub-key", "ec384.pub");
    invalid(
        options("RS256", "hmac.secret", ""),
        "priv-key",
        "hmac.secret",
    );
    invalid(options("ES384", "", "README.md"), "pub-key", "README.md");

    // Both halves given, of different key pairs.
    for opts in [
        options("RS256", "rsa-other.key", "rsa.crt"),
        options("ES256", "ec256-other.key", "ec256.crt"),
        options("ES512", "ec521-other.key", "ec521.pub"),
    ] {
        let e = error(&opts);
        assert!(matches!(e, JwtError::KeyMismatch { .. }), "{opts}: {e}");
        assert!(
            e.to_string()
                .starts_with("auth: public and private keys don't match"),
            "{e}"
        );
    }
}
