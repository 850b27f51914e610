//! The `sign-method` values etcd 3.4 accepts: the JWT algorithms its JWT library registers
//! (`jwt.GetSigningMethod`), less those etcd's `jwtOptions.Key` rejects.

use crate::JwtError;

/// The family of a sign method, which decides the kind of key it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// HMAC: `priv-key`'s bytes are the shared secret.
    Hmac,
    /// RSASSA-PKCS1-v1_5.
    Rsa,
    /// RSASSA-PSS (salt as long as the hash).
    RsaPss,
    /// ECDSA on the NIST curve matching the hash size.
    Ecdsa,
}

/// The hash of a sign method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

/// A supported JWT `alg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SignMethod {
    pub(crate) family: Family,
    pub(crate) hash: Hash,
}

/// The JWT names of the algorithms etcd 3.4's JWT library knows but etcd refuses.
const UNSUPPORTED: &[&str] = &["EdDSA", "none"];

impl SignMethod {
    /// The method named `name` (case-sensitive, as in JWT headers).
    pub(crate) fn from_name(name: &str) -> Result<SignMethod, JwtError> {
        let (family, bits) = match name.split_at_checked(2) {
            Some(("HS", bits)) => (Family::Hmac, bits),
            Some(("RS", bits)) => (Family::Rsa, bits),
            Some(("PS", bits)) => (Family::RsaPss, bits),
            Some(("ES", bits)) => (Family::Ecdsa, bits),
            _ => return Err(Self::unknown(name)),
        };
        let hash = match bits {
            "256" => Hash::Sha256,
            "384" => Hash::Sha384,
            "512" => Hash::Sha512,
            _ => return Err(Self::unknown(name)),
        };
        Ok(SignMethod { family, hash })
    }

    fn unknown(name: &str) -> JwtError {
        if UNSUPPORTED.contains(&name) {
            JwtError::UnsupportedSignMethod(name.to_string())
        } else {
            JwtError::InvalidSignMethod(name.to_string())
        }
    }

    /// The JWT `alg` name, e.g. `"RS256"`.
    pub(crate) fn name(self) -> &'static str {
        use {Family::*, Hash::*};
        match (self.family, self.hash) {
            (Hmac, Sha256) => "HS256",
            (Hmac, Sha384) => "HS384",
            (Hmac, Sha512) => "HS512",
            (Rsa, Sha256) => "RS256",
            (Rsa, Sha384) => "RS384",
            (Rsa, Sha512) => "RS512",
            (RsaPss, Sha256) => "PS256",
            (RsaPss, Sha384) => "PS384",
            (RsaPss, Sha512) => "PS512",
            (Ecdsa, Sha256) => "ES256",
            (Ecdsa, Sha384) => "ES384",
            (Ecdsa, Sha512) => "ES512",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in [
            "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
            "ES256", "ES384", "ES512",
        ] {
            assert_eq!(SignMethod::from_name(name).unwrap().name(), name);
        }
    }

    #[test]
    fn unknown_and_unsupported_names() {
        for name in ["", "rs256", "RS", "RS1024", "HS256 ", "ES", "XS256"] {
            assert!(
                matches!(SignMethod::from_name(name), Err(JwtError::InvalidSignMethod(n)) if n == name),
                "{name:?}"
            );
        }
        for name in UNSUPPORTED {
            assert!(matches!(
                SignMethod::from_name(name),
                Err(JwtError::UnsupportedSignMethod(_))
            ));
        }
    }
}
