//! TLS for the client and peer listeners, with rustls (ring), from etcd's flags:
//! `--cert-file --key-file --trusted-ca-file --client-cert-auth --auto-tls` for clients,
//! `--peer-cert-file --peer-key-file --peer-trusted-ca-file --peer-client-cert-auth` for
//! peers. As in etcd, with client-cert-auth a client must present a certificate signed by
//! the trusted CA; without it no client certificate is asked for. Files are read and
//! checked at start, and a bad one is named in the error.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use raft_node::PeerTls;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;

use crate::client_verify::ClientVerifier;
use crate::config::parse_url;

/// A client that has not finished its TLS handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// One side's TLS flags (etcd's `transport.TLSInfo`).
#[derive(Debug, Clone, Default)]
pub struct TlsInfo {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub trusted_ca_file: Option<PathBuf>,
    /// Require a client certificate signed by `trusted_ca_file`.
    pub client_cert_auth: bool,
    /// Without a cert/key, serve a self-signed certificate generated at start.
    pub auto_tls: bool,
}

/// Which listeners a [`TlsInfo`] is for (names the flags in errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Peer,
}

impl Side {
    fn prefix(self) -> &'static str {
        match self {
            Side::Client => "",
            Side::Peer => "peer-",
        }
    }
}

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read {flag} {path}: {source}")]
    Read {
        flag: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{flag} {path}: {reason}")]
    Invalid {
        flag: String,
        path: PathBuf,
        reason: String,
    },
    #[error("{url}: https URLs need --{prefix}cert-file and --{prefix}key-file")]
    NoCertificate { url: String, prefix: &'static str },
    #[error("--{prefix}client-cert-auth needs --{prefix}trusted-ca-file")]
    NoTrustedCa { prefix: &'static str },
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("generating a self-signed certificate: {0}")]
    SelfSigned(String),
}

/// The TLS server config for `urls` (a side's listen URLs): `None` when none is
/// `https://`; an error when one is but the flags do not give a usable certificate.
pub fn server_config(
    info: &TlsInfo,
    side: Side,
    urls: &[String],
) -> Result<Option<Arc<ServerConfig>>, TlsError> {
    let Some(url) = urls
        .iter()
        .find(|u| parse_url(u).is_ok_and(|u| u.scheme == "https"))
    else {
        return Ok(None);
    };
    let prefix = side.prefix();
    let (certs, key) = match (&info.cert_file, &info.key_file) {
        (Some(cert), Some(key)) => (
            read_certs(&format!("--{prefix}cert-file"), cert)?,
            read_key(&format!("--{prefix}key-file"), key)?,
        ),
        _ if info.auto_tls => self_signed(urls)?,
        _ => {
            return Err(TlsError::NoCertificate {
                url: url.clone(),
                prefix,
            })
        }
    };
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = if info.client_cert_auth {
        let ca = info
            .trusted_ca_file
            .as_ref()
            .ok_or(TlsError::NoTrustedCa { prefix })?;
        let flag = format!("--{prefix}trusted-ca-file");
        let roots = root_store(&flag, ca)?;
        let webpki = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| TlsError::Invalid {
                flag: flag.clone(),
                path: ca.clone(),
                reason: e.to_string(),
            })?;
        let verifier = ClientVerifier::new(webpki, read_certs(&flag, ca)?);
        builder.with_client_cert_verifier(Arc::new(verifier))
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder.with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Some(Arc::new(config)))
}

/// The client side of peer TLS: with `--peer-cert-file`, `--peer-key-file` and
/// `--peer-trusted-ca-file`, our identity towards peers and the CA their certificates must
/// chain to; else with `--peer-auto-tls`, TLS that accepts any certificate (as etcd does).
pub fn peer_client(info: &TlsInfo) -> Result<Option<PeerTls>, TlsError> {
    let (Some(cert), Some(key), Some(ca)) =
        (&info.cert_file, &info.key_file, &info.trusted_ca_file)
    else {
        return Ok(info.auto_tls.then(PeerTls::default));
    };
    // Parse now so a bad file fails the start, not every connection.
    read_certs("--peer-cert-file", cert)?;
    read_key("--peer-key-file", key)?;
    root_store("--peer-trusted-ca-file", ca)?;
    Ok(Some(PeerTls {
        ca_pem: Some(read("--peer-trusted-ca-file", ca)?),
        identity: Some((
            read("--peer-cert-file", cert)?,
            read("--peer-key-file", key)?,
        )),
    }))
}

/// Accepts on `listener` and yields each connection once its TLS handshake is done
/// (handshakes run concurrently; failed ones are logged and dropped).
pub(crate) fn incoming(
    listener: TcpListener,
    config: Arc<ServerConfig>,
) -> impl Stream<Item = std::io::Result<TlsStream<TcpStream>>> {
    let acceptor = TlsAcceptor::from(config);
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
                _ = tx.closed() => return,
            };
            let _ = tcp.set_nodelay(true);
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(stream)).await;
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(%peer, error = %e, "rejected connection: TLS handshake failed")
                    }
                    Err(_) => tracing::warn!(%peer, "rejected connection: TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(flag: &str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        flag: flag.to_owned(),
        path: path.to_owned(),
        source,
    })
}

fn invalid(flag: &str, path: &Path, reason: impl ToString) -> TlsError {
    TlsError::Invalid {
        flag: flag.to_owned(),
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

fn read_certs(flag: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(flag, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(flag, path, e))?;
    if certs.is_empty() {
        return Err(invalid(flag, path, "no PEM certificate found"));
    }
    Ok(certs)
}

fn read_key(flag: &str, path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(flag, path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| invalid(flag, path, e))
}

fn root_store(flag: &str, path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(flag, path)? {
        roots.add(cert).map_err(|e| invalid(flag, path, e))?;
    }
    Ok(roots)
}

/// etcd's `--auto-tls`: a self-signed certificate for the hosts of `urls`.
fn self_signed(
    urls: &[String],
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let mut hosts: Vec<String> = urls
        .iter()
        .filter_map(|u| parse_url(u).ok())
        .filter_map(|u| {
            u.host_port
                .rsplit_once(':')
                .map(|(h, _)| h.trim_matches(['[', ']']).to_owned())
        })
        .collect();
    hosts.push("localhost".to_owned());
    hosts.dedup();
    let generated = rcgen::generate_simple_self_signed(hosts)
        .map_err(|e| TlsError::SelfSigned(e.to_string()))?;
    let key = PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der());
    Ok((vec![generated.cert.der().clone()], key.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(u: &str) -> Vec<String> {
        vec![u.to_owned()]
    }

    #[test]
    fn plain_urls_need_no_certificate() {
        let cfg = server_config(&TlsInfo::default(), Side::Client, &urls("http://a:1"));
        assert!(cfg.unwrap().is_none());
    }

    #[test]
    fn https_without_certificate_is_refused() {
        let err = server_config(&TlsInfo::default(), Side::Peer, &urls("https://a:1")).unwrap_err();
        assert!(err.to_string().contains("--peer-cert-file"), "{err}");
    }

    #[test]
    fn missing_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.pem");
        std::fs::write(&bad, "not a certificate").unwrap();
        let missing = dir.path().join("missing.pem");
        for (cert, key) in [(&missing, &bad), (&bad, &missing)] {
            let info = TlsInfo {
                cert_file: Some(cert.clone()),
                key_file: Some(key.clone()),
                ..TlsInfo::default()
            };
            let err = server_config(&info, Side::Client, &urls("https://a:1")).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("--cert-file"), "{msg}");
            assert!(msg.contains(cert.to_str().unwrap()), "{msg}");
        }
    }

    #[test]
    fn auto_tls_generates_a_certificate() {
        let info = TlsInfo {
            auto_tls: true,
            ..TlsInfo::default()
        };
        let cfg = server_config(&info, Side::Client, &urls("https://127.0.0.1:1")).unwrap();
        assert!(cfg.is_some());
    }

    #[test]
    fn client_cert_auth_needs_a_trusted_ca() {
        let info = TlsInfo {
            auto_tls: true,
            client_cert_auth: true,
            ..TlsInfo::default()
        };
        let err = server_config(&info, Side::Client, &urls("https://a:1")).unwrap_err();
        assert!(matches!(err, TlsError::NoTrustedCa { .. }), "{err}");
    }
}
