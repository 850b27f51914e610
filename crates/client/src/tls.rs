//! TLS towards etcd, configured the way clientv3 does it from etcdctl's flags (rustls with
//! ring): trusted CAs from `--cacert` (or the system's, found where Go looks for them), the
//! client certificate from `--cert`/`--key`, and `--insecure-skip-tls-verify`. Errors in the
//! TLS material carry Go's texts (`crypto/tls`, `crypto/x509`). The connections themselves
//! are made in `connect`.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::{self, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::{Error, Result, TlsConfig};

/// Where Go's `crypto/x509` looks for the system's trusted CAs on Linux (the first that
/// exists wins; `SSL_CERT_FILE` overrides).
const SYSTEM_CA_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(msg: impl Into<String>) -> Error {
    Error::Tls(msg.into())
}

fn read(path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| tls_error(format!("open {path}: {e}")))
}

/// The PEM blocks of `data` that rustls knows, in order.
fn pem_sections(data: &[u8]) -> Vec<(SectionKind, Vec<u8>)> {
    let mut rd = data;
    let mut out = Vec::new();
    while let Ok(Some(section)) = pem::from_buf(&mut rd) {
        out.push(section);
    }
    out
}

/// Go's `tls.X509KeyPair` over the files' contents.
fn key_pair(
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let cert_sections = pem_sections(cert_pem);
    let chain: Vec<CertificateDer<'static>> = cert_sections
        .iter()
        .filter(|(kind, _)| *kind == SectionKind::Certificate)
        .map(|(_, der)| CertificateDer::from(der.clone()))
        .collect();
    if chain.is_empty() {
        return Err(tls_error(if cert_sections.is_empty() {
            "tls: failed to find any PEM data in certificate input"
        } else {
            "tls: failed to find \"CERTIFICATE\" PEM block in certificate input"
        }));
    }
    let key_sections = pem_sections(key_pem);
    let key = key_sections.into_iter().find_map(|(kind, der)| {
        let key = match kind {
            SectionKind::PrivateKey => PrivateKeyDer::Pkcs8(der.into()),
            SectionKind::EcPrivateKey => PrivateKeyDer::Sec1(der.into()),
            SectionKind::RsaPrivateKey => PrivateKeyDer::Pkcs1(der.into()),
            SectionKind::Certificate => return Some(Err(())),
            _ => return None,
        };
        Some(Ok(key))
    });
    match key {
        Some(Ok(key)) => Ok((chain, key)),
        Some(Err(())) => Err(tls_error(
            "tls: found a certificate rather than a key in the PEM for the private key",
        )),
        None => Err(tls_error("tls: failed to find any PEM data in key input")),
    }
}

/// Go's `tlsutil.NewCertPool`: every PEM block must be a certificate; a file without any
/// leaves the pool empty (and every server certificate untrusted).
fn ca_pool(pem_data: &[u8]) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for (kind, der) in pem_sections(pem_data) {
        if kind != SectionKind::Certificate {
            return Err(tls_error("x509: malformed tbs certificate"));
        }
        roots
            .add(CertificateDer::from(der))
            .map_err(|_| tls_error("x509: malformed certificate"))?;
    }
    Ok(roots)
}

/// The system's trusted CAs, as Go finds them (none if no bundle is readable).
fn system_roots() -> RootCertStore {
    let from_env = std::env::var("SSL_CERT_FILE").ok();
    let files = from_env
        .iter()
        .map(String::as_str)
        .chain(SYSTEM_CA_FILES.iter().copied());
    for file in files {
        if let Ok(data) = std::fs::read(file) {
            let mut roots = RootCertStore::empty();
            for (kind, der) in pem_sections(&data) {
                if kind == SectionKind::Certificate {
                    // Go skips the certificates it cannot parse in system bundles.
                    let _ = roots.add(CertificateDer::from(der));
                }
            }
            return roots;
        }
    }
    RootCertStore::empty()
}

/// Loads and checks the TLS material of `tls` (what etcd's `TLSInfo.ClientConfig` does
/// before any connection), reporting problems with Go's texts.
pub fn check(tls: &TlsConfig) -> Result<()> {
    client_config(tls).map(|_| ())
}

/// The rustls configuration for `tls`.
pub(crate) fn client_config(tls: &TlsConfig) -> Result<Arc<rustls::ClientConfig>> {
    let provider = provider();
    let identity = match (&tls.cert_file, &tls.key_file) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some(key_pair(&read(cert)?, &read(key)?)?),
        (cert, key) => {
            return Err(tls_error(format!(
                "KeyFile and CertFile must both be present[key: {}, cert: {}]",
                key.as_deref().unwrap_or_default(),
                cert.as_deref().unwrap_or_default()
            )))
        }
    };
    let verifier: Arc<dyn ServerCertVerifier> = if tls.insecure_skip_verify {
        Arc::new(Lenient {
            provider: provider.clone(),
            accept: true,
        })
    } else {
        let roots = match &tls.ca_file {
            Some(ca) => ca_pool(&read(ca)?)?,
            None => system_roots(),
        };
        if roots.is_empty() {
            Arc::new(Lenient {
                provider: provider.clone(),
                accept: false,
            })
        } else {
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| tls_error(e.to_string()))?
        }
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(|e| {
            tls_error(match e {
                rustls::Error::InconsistentKeys(_) => {
                    "tls: private key does not match public key".to_string()
                }
                _ => "tls: failed to parse private key".to_string(),
            })
        })?,
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// A server certificate check that does not look at the chain: either everything is
/// accepted (`--insecure-skip-tls-verify`) or nothing is (no trusted CA at all). Handshake
/// signatures are still verified.
#[derive(Debug)]
struct Lenient {
    provider: Arc<CryptoProvider>,
    accept: bool,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.accept {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: Result<impl Sized>) -> String {
        match r {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn key_pair_errors_read_like_go() {
        assert_eq!(
            text(key_pair(b"garbage", b"")),
            "tls: failed to find any PEM data in certificate input"
        );
        let cert = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(
            text(key_pair(cert, b"garbage")),
            "tls: failed to find any PEM data in key input"
        );
        assert_eq!(
            text(key_pair(cert, cert)),
            "tls: found a certificate rather than a key in the PEM for the private key"
        );
    }

    #[test]
    fn ca_files_without_certificates_trust_nothing() {
        assert!(ca_pool(b"not pem").expect("empty pool").is_empty());
        let key = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(text(ca_pool(key)), "x509: malformed tbs certificate");
    }

    #[test]
    fn half_a_key_pair_is_refused() {
        let tls = TlsConfig {
            cert_file: Some("c.pem".into()),
            ..TlsConfig::default()
        };
        assert_eq!(
            text(client_config(&tls)),
            "KeyFile and CertFile must both be present[key: , cert: c.pem]"
        );
    }
}
