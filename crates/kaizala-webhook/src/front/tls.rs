//! TLS for the front: a rustls server configuration from PEM files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why the certificate chain or the key could not be used. Its `Display`
/// is one line naming the file and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate chain file is unreadable, not PEM, or holds no
    /// certificate.
    #[error("TLS certificate {}: {problem}", file.display())]
    Certificate {
        /// The certificate chain file, as given.
        file: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The key file is unreadable, not PEM, or holds no private key.
    #[error("TLS key {}: {problem}", file.display())]
    Key {
        /// The key file, as given.
        file: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// rustls refused the pair (the key does not match the certificate, or
    /// is of a kind it does not support).
    #[error("TLS certificate {} with key {}: {problem}", cert.display(), key.display())]
    Pair {
        /// The certificate chain file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        problem: String,
    },
}

/// The TLS settings of a front: a rustls [`ServerConfig`] offering
/// HTTP/1.1. Cheap to clone.
#[derive(Clone)]
pub struct TlsConfig {
    pub(crate) server: Arc<ServerConfig>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The server config holds the private key: show none of it.
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Loads a PEM certificate chain (the server's certificate first, then
    /// any intermediates) and its PEM private key (PKCS#8, PKCS#1 or
    /// SEC1), with rustls on the `ring` provider and its safe default
    /// protocol versions.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
        let chain = read_chain(cert)?;
        let private_key = PrivateKeyDer::from_pem_file(key).map_err(|err| TlsError::Key {
            file: key.to_owned(),
            problem: pem_problem(err, "no private key (BEGIN PRIVATE KEY) in the file"),
        })?;
        let pair = |err: rustls::Error| TlsError::Pair {
            cert: cert.to_owned(),
            key: key.to_owned(),
            problem: err.to_string(),
        };
        let mut server =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(pair)?
                .with_no_client_auth()
                .with_single_cert(chain, private_key)
                .map_err(pair)?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig::from_server_config(Arc::new(server)))
    }

    /// Uses a ready rustls configuration (client certificates, another
    /// provider, certificate resolvers…). Its ALPN list should offer
    /// `http/1.1` only, the one protocol the front speaks.
    pub fn from_server_config(server: Arc<ServerConfig>) -> TlsConfig {
        TlsConfig { server }
    }
}

fn read_chain(file: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |problem| TlsError::Certificate {
        file: file.to_owned(),
        problem,
    };
    let no_certificate = "no certificate (BEGIN CERTIFICATE) in the file";
    let chain = CertificateDer::pem_file_iter(file)
        .map_err(|err| error(pem_problem(err, no_certificate)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| error(pem_problem(err, no_certificate)))?;
    if chain.is_empty() {
        return Err(error(no_certificate.to_owned()));
    }
    Ok(chain)
}

/// One line saying what is wrong with a PEM file.
fn pem_problem(err: pem::Error, none_found: &str) -> String {
    match err {
        pem::Error::Io(err) => format!("cannot read it: {err}"),
        pem::Error::NoItemsFound => none_found.to_owned(),
        pem::Error::MissingSectionEnd { .. } => "a PEM section has no END line".to_owned(),
        pem::Error::IllegalSectionStart { .. } => "a malformed BEGIN line".to_owned(),
        pem::Error::Base64Decode(_) => "a PEM section is not valid base64".to_owned(),
        other => format!("not usable PEM: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn files(cert: &str, key: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let (c, k) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&c, cert).unwrap();
        std::fs::write(&k, key).unwrap();
        (dir, c, k)
    }

    fn error(cert: &str, key: &str) -> String {
        let (_dir, c, k) = files(cert, key);
        let err = TlsConfig::from_pem_files(&c, &k).unwrap_err().to_string();
        assert!(!err.contains('\n'), "one line: {err}");
        err
    }

    #[test]
    fn loads_a_pair() {
        let (cert, key) = pair();
        let (_dir, c, k) = files(&cert, &key);
        let config = TlsConfig::from_pem_files(&c, &k).unwrap();
        assert_eq!(config.server.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert_eq!(format!("{config:?}"), "TlsConfig { .. }");
    }

    #[test]
    fn names_the_file_and_the_problem() {
        let (cert, key) = pair();
        let err = error(&key, &key);
        assert!(err.starts_with("TLS certificate "), "{err}");
        assert!(err.ends_with("cert.pem: no certificate (BEGIN CERTIFICATE) in the file"));
        let err = error(&cert, &cert);
        assert!(err.ends_with("key.pem: no private key (BEGIN PRIVATE KEY) in the file"));
        let err = error("-----BEGIN CERTIFICATE-----\n!!!!\n", &key);
        assert!(err.contains("cert.pem: "), "{err}");
        let (other_cert, _) = pair();
        let err = error(&other_cert, &key);
        assert!(err.contains("cert.pem with key "), "{err}");
        assert!(err.contains("key.pem: "), "{err}");
    }

    #[test]
    fn a_missing_file() {
        let (_, key) = pair();
        let (dir, _, k) = files("", &key);
        let missing = dir.path().join("nope.pem");
        let err = TlsConfig::from_pem_files(&missing, &k)
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope.pem: cannot read it: "), "{err}");
    }
}
