//! RS* and PS* keys, with ring: private keys of 2048 to 4096 bits (PKCS#1 or PKCS#8),
//! public keys of 2048 to 8192 bits.

use ring::signature::{self as sig, RsaEncoding, RsaKeyPair, RsaParameters};

use super::formats::{public_key_info, RSA_ENCRYPTION};
use super::{Asymmetric, Signer, Verifier};
use crate::method::{Family, Hash, SignMethod};

/// Smallest and largest moduli ring verifies with.
const MIN_BITS: usize = 2048;
const MAX_BITS: usize = 8192;

/// An RSA public key: modulus and exponent, big-endian without leading zeros.
#[derive(PartialEq)]
pub(super) struct RsaPublic {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl RsaPublic {
    /// From a PKCS#1 `RSAPublicKey`.
    fn from_pkcs1(der: &[u8]) -> Result<RsaPublic, String> {
        let key = pkcs1::RsaPublicKeyRef::try_from(der)
            .map_err(|e| format!("key is not a valid RSA public key ({e})"))?;
        Ok(RsaPublic {
            n: key.modulus.as_bytes().to_vec(),
            e: key.public_exponent.as_bytes().to_vec(),
        })
    }

    fn bits(&self) -> usize {
        match self.n.first() {
            Some(&top) => self.n.len() * 8 - top.leading_zeros() as usize,
            None => 0,
        }
    }
}

/// RSA keys for one sign method.
pub(super) struct RsaKeys {
    padding: &'static dyn RsaEncoding,
    params: &'static RsaParameters,
}

impl RsaKeys {
    pub(super) fn new(method: SignMethod) -> RsaKeys {
        let (padding, params): (&'static dyn RsaEncoding, &'static RsaParameters) =
            match (method.family == Family::RsaPss, method.hash) {
                (false, Hash::Sha256) => (&sig::RSA_PKCS1_SHA256, &sig::RSA_PKCS1_2048_8192_SHA256),
                (false, Hash::Sha384) => (&sig::RSA_PKCS1_SHA384, &sig::RSA_PKCS1_2048_8192_SHA384),
                (false, Hash::Sha512) => (&sig::RSA_PKCS1_SHA512, &sig::RSA_PKCS1_2048_8192_SHA512),
                (true, Hash::Sha256) => (&sig::RSA_PSS_SHA256, &sig::RSA_PSS_2048_8192_SHA256),
                (true, Hash::Sha384) => (&sig::RSA_PSS_SHA384, &sig::RSA_PSS_2048_8192_SHA384),
                (true, Hash::Sha512) => (&sig::RSA_PSS_SHA512, &sig::RSA_PSS_2048_8192_SHA512),
            };
        RsaKeys { padding, params }
    }
}

impl Asymmetric for RsaKeys {
    type Public = RsaPublic;

    fn parse_public(&self, der: &[u8]) -> Result<RsaPublic, String> {
        let info = public_key_info(der)?;
        if info.algorithm != RSA_ENCRYPTION {
            return Err(format!(
                "key is not a valid RSA public key (algorithm {})",
                info.algorithm
            ));
        }
        let public = RsaPublic::from_pkcs1(&info.key)?;
        let bits = public.bits();
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(format!(
                "RSA public key of {bits} bits ({MIN_BITS} to {MAX_BITS} are supported)"
            ));
        }
        Ok(public)
    }

    fn parse_private(&self, der: &[u8]) -> Result<(Signer, RsaPublic), String> {
        // Decide the format first, so that the error is the one of the format at hand.
        let key = if pkcs8::PrivateKeyInfoRef::try_from(der).is_ok() {
            RsaKeyPair::from_pkcs8(der)
        } else {
            RsaKeyPair::from_der(der)
        }
        .map_err(|e| {
            format!(
                "key is not a valid RSA private key: {e} (PKCS#1 or PKCS#8, 2048 to 4096 bits, \
                 public exponent at least 65537)"
            )
        })?;
        let public = RsaPublic::from_pkcs1(key.public().as_ref())?;
        let signer = Signer::Rsa {
            key,
            padding: self.padding,
        };
        Ok((signer, public))
    }

    fn verifier(&self, public: RsaPublic) -> Verifier {
        Verifier::Rsa {
            params: self.params,
            n: public.n,
            e: public.e,
        }
    }
}
