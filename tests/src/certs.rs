//! Test certificate authorities, generated with rcgen at test time: a [`Ca`] writes its
//! certificate to `<dir>/<name>-ca.pem` and issues [`Leaf`] certificates for 127.0.0.1
//! and localhost, usable by servers and clients alike, written next to it.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};

/// A CA whose certificate is written to `<dir>/<name>-ca.pem`; it issues leaf certificates.
pub struct Ca {
    dir: PathBuf,
    name: String,
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A leaf certificate and its key, as file paths.
pub struct Leaf {
    pub cert: String,
    pub key: String,
}

/// `p` as a string argument.
pub fn path(p: &Path) -> String {
    p.display().to_string()
}

impl Ca {
    pub fn new(dir: &Path, name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        let key = KeyPair::generate().expect("CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("CA certificate");
        std::fs::write(dir.join(format!("{name}-ca.pem")), issuer.pem()).expect("write CA");
        Ca {
            dir: dir.to_path_buf(),
            name: name.to_owned(),
            issuer,
        }
    }

    /// The CA certificate's file.
    pub fn path(&self) -> String {
        path(&self.dir.join(format!("{}-ca.pem", self.name)))
    }

    /// A certificate named `leaf` (its common name) for 127.0.0.1 and localhost, usable by
    /// servers and clients, written to `<dir>/<ca name>-<leaf>.crt` and `.key`.
    pub fn issue(&self, leaf: &str) -> Leaf {
        let base = self.dir.join(format!("{}-{leaf}", self.name));
        self.issue_to(
            leaf,
            &base.with_extension("crt"),
            &base.with_extension("key"),
        )
    }

    /// [`Ca::issue`] to the files `cert` and `key`.
    pub fn issue_to(&self, leaf: &str, cert: &Path, key: &Path) -> Leaf {
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, leaf);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let pair = KeyPair::generate().expect("leaf key");
        let signed = params.signed_by(&pair, &self.issuer).expect("sign leaf");
        std::fs::write(cert, signed.pem()).expect("write certificate");
        std::fs::write(key, pair.serialize_pem()).expect("write key");
        Leaf {
            cert: path(cert),
            key: path(key),
        }
    }
}
