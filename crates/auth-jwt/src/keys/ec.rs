//! ES* keys: ES256 (P-256) and ES384 (P-384) with ring, ES512 (P-521) with the `p521`
//! crate, which ring lacks. Signatures are JWS's fixed-size `r || s`.

use ring::rand::SystemRandom;
use ring::signature::{self as sig, EcdsaKeyPair, EcdsaSigningAlgorithm};
use ring::signature::{EcdsaVerificationAlgorithm, KeyPair as _, UnparsedPublicKey};
use spki::der::asn1::ObjectIdentifier;

use super::formats::{ec_private_key, public_key_info, EC_PUBLIC_KEY};
use super::{Asymmetric, Signer, Verifier};

/// A NIST curve.
pub(super) struct Curve {
    name: &'static str,
    oid: ObjectIdentifier,
    /// Bytes of a scalar or coordinate.
    size: usize,
}

const P256: Curve = Curve {
    name: "P-256",
    oid: ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7"),
    size: 32,
};
const P384: Curve = Curve {
    name: "P-384",
    oid: ObjectIdentifier::new_unwrap("1.3.132.0.34"),
    size: 48,
};
const P521: Curve = Curve {
    name: "P-521",
    oid: ObjectIdentifier::new_unwrap("1.3.132.0.35"),
    size: 66,
};

impl Curve {
    /// Checks that a key's named curve is this one.
    fn check(&self, curve: Option<ObjectIdentifier>) -> Result<(), String> {
        match curve {
            Some(oid) if oid == self.oid => Ok(()),
            Some(oid) => {
                let name = [P256, P384, P521]
                    .into_iter()
                    .find(|c| c.oid == oid)
                    .map_or_else(|| oid.to_string(), |c| c.name.to_string());
                Err(format!(
                    "EC key on curve {name}, the sign method needs {}",
                    self.name
                ))
            }
            None => Err(format!("EC key names no curve (needs {})", self.name)),
        }
    }

    /// The public point of a `pub-key` file's DER content.
    fn public_point(&self, der: &[u8]) -> Result<Vec<u8>, String> {
        let info = public_key_info(der)?;
        if info.algorithm != EC_PUBLIC_KEY {
            return Err(format!(
                "key is not a valid ECDSA public key (algorithm {})",
                info.algorithm
            ));
        }
        self.check(info.curve)?;
        Ok(info.key)
    }

    /// The scalar (left-padded to the curve's size) and, when the file has it, the public
    /// point of a `priv-key` file's DER content.
    fn private_key(&self, der: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
        let key = ec_private_key(der)?;
        self.check(key.curve)?;
        if key.scalar.is_empty() || key.scalar.len() > self.size {
            return Err(format!(
                "key is not a valid ECDSA private key ({} byte scalar)",
                key.scalar.len()
            ));
        }
        let mut scalar = vec![0; self.size - key.scalar.len()];
        scalar.extend_from_slice(&key.scalar);
        Ok((scalar, key.public))
    }
}

/// ES256 or ES384, with ring.
pub(super) struct RingEcKeys {
    curve: Curve,
    signing: &'static EcdsaSigningAlgorithm,
    verification: &'static EcdsaVerificationAlgorithm,
}

pub(super) const ES256: RingEcKeys = RingEcKeys {
    curve: P256,
    signing: &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
    verification: &sig::ECDSA_P256_SHA256_FIXED,
};
pub(super) const ES384: RingEcKeys = RingEcKeys {
    curve: P384,
    signing: &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
    verification: &sig::ECDSA_P384_SHA384_FIXED,
};

impl Asymmetric for RingEcKeys {
    /// The uncompressed SEC1 point.
    type Public = Vec<u8>;

    fn parse_public(&self, der: &[u8]) -> Result<Vec<u8>, String> {
        let point = self.curve.public_point(der)?;
        // ring checks the point when verifying; only an uncompressed point of the size of
        // the curve can be right.
        if point.len() != 1 + 2 * self.curve.size || point.first() != Some(&4) {
            return Err(format!(
                "key is not a valid ECDSA public key (not an uncompressed {} point)",
                self.curve.name
            ));
        }
        Ok(point)
    }

    fn parse_private(&self, der: &[u8]) -> Result<(Signer, Vec<u8>), String> {
        let (scalar, point) = self.curve.private_key(der)?;
        // ring derives nothing: it needs the public point, which OpenSSL and Go always write.
        let point =
            point.ok_or("EC private key without its public key (regenerate it with OpenSSL)")?;
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            self.signing,
            &scalar,
            &point,
            &SystemRandom::new(),
        )
        .map_err(|e| format!("key is not a valid ECDSA private key: {e}"))?;
        let public = pair.public_key().as_ref().to_vec();
        Ok((Signer::Ecdsa(pair), public))
    }

    fn verifier(&self, public: Vec<u8>) -> Verifier {
        Verifier::Ecdsa(UnparsedPublicKey::new(self.verification, public))
    }
}

/// ES512, with `p521`.
pub(super) struct P521Keys;

impl Asymmetric for P521Keys {
    type Public = Box<p521::ecdsa::VerifyingKey>;

    fn parse_public(&self, der: &[u8]) -> Result<Self::Public, String> {
        p521_public(&P521.public_point(der)?)
    }

    fn parse_private(&self, der: &[u8]) -> Result<(Signer, Self::Public), String> {
        let (scalar, point) = P521.private_key(der)?;
        let signing = p521::ecdsa::SigningKey::from_slice(&scalar)
            .map_err(|_| "key is not a valid ECDSA private key (bad P-521 scalar)")?;
        let public = Box::new(*signing.verifying_key());
        if let Some(point) = point {
            if p521_public(&point)? != public {
                return Err("the EC private key's public key does not match it".into());
            }
        }
        Ok((Signer::P521(Box::new(signing)), public))
    }

    fn verifier(&self, public: Self::Public) -> Verifier {
        Verifier::P521(public)
    }
}

fn p521_public(point: &[u8]) -> Result<Box<p521::ecdsa::VerifyingKey>, String> {
    p521::ecdsa::VerifyingKey::from_sec1_bytes(point)
        .map(Box::new)
        .map_err(|_| "key is not a valid ECDSA public key (bad P-521 point)".to_string())
}
