//! The certificates of the TLS cluster, made fresh on every run: a CA, the
//! server's certificate signed by it for the name `localhost` (so a client
//! connecting to `127.0.0.1` with `sslmode=verify-full` sees a name
//! mismatch), the server's key, and a second CA that signed nothing (the
//! wrong CA, for the tests that must fail).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

use super::RunAs;

/// The files of one run.
#[derive(Clone, Debug)]
pub(crate) struct Files {
    /// The CA that signed the server's certificate (PEM).
    pub ca: PathBuf,
    /// A CA that signed nothing here (PEM).
    pub other_ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Files {
    /// The server's settings for them.
    pub(crate) fn server_args(&self) -> Vec<String> {
        vec![
            "-c".to_owned(),
            "ssl=on".to_owned(),
            "-c".to_owned(),
            format!("ssl_cert_file={}", self.cert.display()),
            "-c".to_owned(),
            format!("ssl_key_file={}", self.key.display()),
        ]
    }
}

/// A CA's parameters, named `name`.
fn ca_params(name: &str) -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.distinguished_name.push(DnType::CommonName, name);
    Ok(params)
}

/// Writes the files into `dir` (made here; the key readable by `run_as`
/// alone, as PostgreSQL demands).
pub(crate) fn write(dir: &Path, run_as: &RunAs) -> Result<Files> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ca = CertifiedIssuer::self_signed(ca_params("kaizala test CA")?, KeyPair::generate()?)
        .context("making the test CA")?;
    let other = CertifiedIssuer::self_signed(
        ca_params("kaizala test CA that signed nothing")?,
        KeyPair::generate()?,
    )
    .context("making the second test CA")?;
    let mut server = CertificateParams::new(vec!["localhost".to_owned()])?;
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server_key = KeyPair::generate()?;
    let server_cert = server
        .signed_by(&server_key, &ca)
        .context("signing the server's certificate")?;

    let files = Files {
        ca: dir.join("ca.pem"),
        other_ca: dir.join("other-ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    };
    let write = |path: &Path, text: &str| {
        fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    write(&files.ca, &ca.pem())?;
    write(&files.other_ca, &other.pem())?;
    write(&files.cert, &server_cert.pem())?;
    write(&files.key, &server_key.serialize_pem())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&files.key, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", files.key.display()))?;
    }
    run_as.take(dir)?;
    run_as.take(&files.key)?;
    run_as.take(&files.cert)?;
    Ok(files)
}
