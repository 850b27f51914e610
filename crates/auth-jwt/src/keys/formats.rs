//! Key file formats, read as etcd's JWT library reads them (`jwt.Parse*FromPEM`): the first PEM
//! block of the file, whatever its label; a public key as a PKIX `SubjectPublicKeyInfo` or
//! the key of an X.509 certificate; an EC private key as SEC1 or PKCS#8 (RSA private keys,
//! PKCS#1 or PKCS#8, are read by ring itself).

use spki::der::asn1::ObjectIdentifier;
use spki::der::Decode;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

/// `rsaEncryption` (RFC 8017).
pub(crate) const RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `id-ecPublicKey` (RFC 5480).
pub(crate) const EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// The DER content of the first PEM block of `data`.
pub(crate) fn pem_contents(data: &[u8]) -> Result<Vec<u8>, String> {
    pem::parse(data)
        .map(pem::Pem::into_contents)
        .map_err(|_| "invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key".to_string())
}

/// A public key: its algorithm, its named curve (EC keys), and the key itself (a PKCS#1
/// `RSAPublicKey` for RSA, a SEC1 point for EC).
pub(crate) struct PublicKeyInfo {
    pub(crate) algorithm: ObjectIdentifier,
    pub(crate) curve: Option<ObjectIdentifier>,
    pub(crate) key: Vec<u8>,
}

/// The public key of `der`, a `SubjectPublicKeyInfo` or an X.509 certificate.
pub(crate) fn public_key_info(der: &[u8]) -> Result<PublicKeyInfo, String> {
    let spki = match SubjectPublicKeyInfoOwned::from_der(der) {
        Ok(spki) => spki,
        Err(spki_error) => match Certificate::from_der(der) {
            Ok(cert) => cert.tbs_certificate().subject_public_key_info().clone(),
            Err(cert_error) => {
                return Err(format!(
                "neither a PKIX public key ({spki_error}) nor an X.509 certificate ({cert_error})"
            ))
            }
        },
    };
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    Ok(PublicKeyInfo {
        algorithm: spki.algorithm.oid,
        curve,
        key: spki.subject_public_key.raw_bytes().to_vec(),
    })
}

/// An EC private key: its named curve, its scalar and, when the file has it, its public point.
pub(crate) struct EcPrivateKey {
    pub(crate) curve: Option<ObjectIdentifier>,
    pub(crate) scalar: Vec<u8>,
    pub(crate) public: Option<Vec<u8>>,
}

/// The EC private key of `der`, a SEC1 `ECPrivateKey` or a PKCS#8 `PrivateKeyInfo` holding one.
pub(crate) fn ec_private_key(der: &[u8]) -> Result<EcPrivateKey, String> {
    if let Ok(key) = sec1::EcPrivateKey::try_from(der) {
        return Ok(from_sec1(&key, None, None));
    }
    let info = pkcs8::PrivateKeyInfoRef::try_from(der).map_err(|e| {
        format!("key is not a valid ECDSA private key (neither SEC1 nor PKCS#8: {e})")
    })?;
    if info.algorithm.oid != EC_PUBLIC_KEY {
        return Err(format!(
            "key is not a valid ECDSA private key (PKCS#8 algorithm {})",
            info.algorithm.oid
        ));
    }
    let key = sec1::EcPrivateKey::try_from(info.private_key.as_bytes())
        .map_err(|e| format!("key is not a valid ECDSA private key ({e})"))?;
    Ok(from_sec1(
        &key,
        info.algorithm.parameters_oid().ok(),
        info.public_key.as_ref().map(|k| k.raw_bytes()),
    ))
}

fn from_sec1(
    key: &sec1::EcPrivateKey<'_>,
    outer_curve: Option<ObjectIdentifier>,
    outer_public: Option<&[u8]>,
) -> EcPrivateKey {
    let curve = match key.parameters {
        Some(sec1::EcParameters::NamedCurve(oid)) => Some(oid),
        None => outer_curve,
    };
    EcPrivateKey {
        curve,
        scalar: key.private_key.to_vec(),
        public: key.public_key.or(outer_public).map(<[u8]>::to_vec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_pem_block_after_any_text() {
        let data = b"Certificate:\n    Data: ...\n-----BEGIN PUBLIC KEY-----\nAQID\n-----END PUBLIC KEY-----\n\
                     -----BEGIN PUBLIC KEY-----\nBAUG\n-----END PUBLIC KEY-----\n";
        assert_eq!(pem_contents(data).unwrap(), [1, 2, 3]);
        assert!(pem_contents(b"").is_err());
        assert!(pem_contents(b"-----BEGIN X-----\n!!\n-----END X-----\n").is_err());
    }
}
