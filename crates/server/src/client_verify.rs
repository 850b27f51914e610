//! Client certificate verification for `--client-cert-auth` / `--peer-client-cert-auth`:
//! rustls' WebPKI verifier, plus the one case it refuses and Go's crypto/tls (so etcd)
//! accepts: a client presenting a certificate that is itself one of the trusted CAs (a
//! self-signed CA certificate used as a client certificate, as etcd's own test fixtures
//! do). Accepting it grants nothing new: the handshake still proves the client holds that
//! CA's private key, which could sign any client certificate.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};

#[derive(Debug)]
pub(crate) struct ClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    roots: Vec<CertificateDer<'static>>,
}

impl ClientVerifier {
    pub(crate) fn new(
        inner: Arc<dyn ClientCertVerifier>,
        roots: Vec<CertificateDer<'static>>,
    ) -> Self {
        ClientVerifier { inner, roots }
    }
}

/// Whether the certificate's validity period contains `now`.
fn valid_at(der: &[u8], now: UnixTime) -> bool {
    x509_parser::parse_x509_certificate(der).is_ok_and(|(_, cert)| {
        let now = now.as_secs() as i64;
        let validity = cert.validity();
        validity.not_before.timestamp() <= now && now <= validity.not_after.timestamp()
    })
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        match self
            .inner
            .verify_client_cert(end_entity, intermediates, now)
        {
            Err(_)
                if self.roots.iter().any(|r| r.as_ref() == end_entity.as_ref())
                    && valid_at(end_entity, now) =>
            {
                Ok(ClientCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
