//! The keys of a sign method (etcd's `jwtOptions.Key`): what signs tokens (absent in
//! verify-only mode, when only `pub-key` is given) and what verifies them.

mod ec;
mod formats;
mod rsa;

use ring::hmac;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, RsaEncoding, RsaKeyPair, RsaParameters, UnparsedPublicKey};

use crate::method::{Family, Hash, SignMethod};
use crate::options::KeyFile;
use crate::JwtError;

/// Signs token contents.
pub(crate) enum Signer {
    Hmac(hmac::Key),
    Rsa {
        key: RsaKeyPair,
        padding: &'static dyn RsaEncoding,
    },
    /// ES256 and ES384.
    Ecdsa(EcdsaKeyPair),
    /// ES512, which ring lacks.
    P521(Box<p521::ecdsa::SigningKey>),
}

impl Signer {
    /// The JWS signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JwtError> {
        let rng = SystemRandom::new();
        let failed = |what: &str| JwtError::Sign(format!("{what} signing failed"));
        match self {
            Signer::Hmac(key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
            Signer::Rsa { key, padding } => {
                let mut signature = vec![0; key.public().modulus_len()];
                key.sign(*padding, &rng, message, &mut signature)
                    .map_err(|_| failed("RSA"))?;
                Ok(signature)
            }
            Signer::Ecdsa(key) => key
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| failed("ECDSA")),
            Signer::P521(key) => {
                use p521::ecdsa::signature::Signer as _;
                let signature: p521::ecdsa::Signature =
                    key.try_sign(message).map_err(|_| failed("ECDSA P-521"))?;
                Ok(signature.to_bytes().to_vec())
            }
        }
    }
}

/// Checks token signatures.
pub(crate) enum Verifier {
    Hmac(hmac::Key),
    Rsa {
        params: &'static RsaParameters,
        /// Modulus and exponent, big-endian without leading zeros.
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// ES256 and ES384: the uncompressed public point.
    Ecdsa(UnparsedPublicKey<Vec<u8>>),
    P521(Box<p521::ecdsa::VerifyingKey>),
}

impl Verifier {
    /// Whether `signature` is a valid JWS signature of `message`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Verifier::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Verifier::Rsa { params, n, e } => ring::signature::RsaPublicKeyComponents { n, e }
                .verify(params, message, signature)
                .is_ok(),
            Verifier::Ecdsa(key) => key.verify(message, signature).is_ok(),
            Verifier::P521(key) => {
                use p521::ecdsa::signature::Verifier as _;
                p521::ecdsa::Signature::from_slice(signature)
                    .is_ok_and(|signature| key.verify(message, &signature).is_ok())
            }
        }
    }
}

/// The keys of one sign method.
pub(crate) struct Keys {
    pub(crate) verifier: Verifier,
    /// `None` in verify-only mode.
    pub(crate) signer: Option<Signer>,
}

impl Keys {
    /// Loads the keys `method` needs from the given files.
    pub(crate) fn load(
        method: SignMethod,
        pub_key: Option<&KeyFile>,
        priv_key: Option<&KeyFile>,
    ) -> Result<Keys, JwtError> {
        match method.family {
            Family::Hmac => load_hmac(method, priv_key),
            Family::Rsa | Family::RsaPss => {
                load_asymmetric(&rsa::RsaKeys::new(method), method, pub_key, priv_key)
            }
            Family::Ecdsa => match method.hash {
                Hash::Sha256 => load_asymmetric(&ec::ES256, method, pub_key, priv_key),
                Hash::Sha384 => load_asymmetric(&ec::ES384, method, pub_key, priv_key),
                Hash::Sha512 => load_asymmetric(&ec::P521Keys, method, pub_key, priv_key),
            },
        }
    }
}

/// HS*: the bytes of `priv-key` are the shared secret; `pub-key` is not used (as in etcd).
fn load_hmac(method: SignMethod, priv_key: Option<&KeyFile>) -> Result<Keys, JwtError> {
    let secret = priv_key
        .map(|f| f.data.as_slice())
        .filter(|data| !data.is_empty())
        .ok_or(JwtError::MissingKey {
            method: method.name(),
            needed: "a non-empty priv-key (the shared secret)",
        })?;
    let algorithm = match method.hash {
        Hash::Sha256 => hmac::HMAC_SHA256,
        Hash::Sha384 => hmac::HMAC_SHA384,
        Hash::Sha512 => hmac::HMAC_SHA512,
    };
    let key = hmac::Key::new(algorithm, secret);
    Ok(Keys {
        verifier: Verifier::Hmac(key.clone()),
        signer: Some(Signer::Hmac(key)),
    })
}

/// A kind of key pair (RSA, EC): how its files parse and what verifies with its public key.
trait Asymmetric {
    /// A public key, comparable to check that `pub-key` is the public half of `priv-key`.
    type Public: PartialEq;

    /// The public key of a `pub-key` file's DER content.
    fn parse_public(&self, der: &[u8]) -> Result<Self::Public, String>;

    /// The signer and public key of a `priv-key` file's DER content.
    fn parse_private(&self, der: &[u8]) -> Result<(Signer, Self::Public), String>;

    fn verifier(&self, public: Self::Public) -> Verifier;
}

/// Loads a key pair from `priv-key` and/or `pub-key`; verify-only with `pub-key` alone.
fn load_asymmetric<A: Asymmetric>(
    kind: &A,
    method: SignMethod,
    pub_key: Option<&KeyFile>,
    priv_key: Option<&KeyFile>,
) -> Result<Keys, JwtError> {
    let private = priv_key
        .map(|file| parse_file(file, |der| kind.parse_private(der)))
        .transpose()?;
    let given = pub_key
        .map(|file| parse_file(file, |der| kind.parse_public(der)))
        .transpose()?;
    let (signer, public) = match (private, given) {
        (Some((signer, derived)), Some(given)) => {
            if derived != given {
                let path =
                    |file: Option<&KeyFile>| file.map(|f| f.path.clone()).unwrap_or_default();
                return Err(JwtError::KeyMismatch {
                    pub_key: path(pub_key),
                    priv_key: path(priv_key),
                });
            }
            (Some(signer), derived)
        }
        (Some((signer, derived)), None) => (Some(signer), derived),
        (None, Some(given)) => (None, given),
        (None, None) => {
            return Err(JwtError::MissingKey {
                method: method.name(),
                needed: "priv-key (to sign and verify) or pub-key (to verify only)",
            })
        }
    };
    Ok(Keys {
        verifier: kind.verifier(public),
        signer,
    })
}

/// Parses the first PEM block of `file` with `parse`; errors name the file.
fn parse_file<T>(
    file: &KeyFile,
    parse: impl FnOnce(&[u8]) -> Result<T, String>,
) -> Result<T, JwtError> {
    formats::pem_contents(&file.data)
        .and_then(|der| parse(&der))
        .map_err(|reason| JwtError::InvalidKey {
            option: file.option,
            path: file.path.clone(),
            reason,
        })
}
