//! The control plane's keys and certificates: a throw-away CA, the API server's serving
//! certificate signed by it, and the service-account signing key.
//!
//! A CA separate from the serving certificate matters: rustls refuses a self-signed
//! end-entity certificate used as its own trust anchor.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

use super::TestEnvError;

/// Names the API server is reached by, from the host and (for in-cluster clients) from pods.
const SERVING_NAMES: &[&str] = &[
    "localhost",
    "127.0.0.1",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    // The first address of the service range: the `kubernetes` Service's ClusterIP.
    "10.0.0.1",
];

/// Paths of the files written by [`write_pki`].
#[derive(Debug, Clone)]
pub struct Pki {
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub serving_cert: PathBuf,
    pub serving_key: PathBuf,
    pub service_account_key: PathBuf,
    pub service_account_public_key: PathBuf,
    /// The CA certificate in PEM, for kubeconfigs.
    pub ca_pem: String,
}

/// Generates every key and certificate into `dir` (created if absent).
pub fn write_pki(dir: &Path) -> Result<Pki, TestEnvError> {
    fs::create_dir_all(dir).map_err(|source| TestEnvError::io("create", dir, source))?;

    let ca_key = KeyPair::generate().map_err(TestEnvError::pki)?;
    let mut ca_params = CertificateParams::default();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "driftless-testenv-ca");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key_pem = ca_key.serialize_pem();
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(TestEnvError::pki)?;

    let serving_key = KeyPair::generate().map_err(TestEnvError::pki)?;
    let names: Vec<String> = SERVING_NAMES.iter().map(|name| name.to_string()).collect();
    let mut serving_params = CertificateParams::new(names).map_err(TestEnvError::pki)?;
    serving_params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    serving_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    serving_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let serving_cert = serving_params
        .signed_by(&serving_key, &ca)
        .map_err(TestEnvError::pki)?;

    let service_account_key = KeyPair::generate().map_err(TestEnvError::pki)?;

    let pki = Pki {
        ca_cert: dir.join("ca.crt"),
        ca_key: dir.join("ca.key"),
        serving_cert: dir.join("apiserver.crt"),
        serving_key: dir.join("apiserver.key"),
        service_account_key: dir.join("sa.key"),
        service_account_public_key: dir.join("sa.pub"),
        ca_pem: ca.pem(),
    };
    write_secret(&pki.ca_cert, &pki.ca_pem)?;
    write_secret(&pki.ca_key, &ca_key_pem)?;
    write_secret(&pki.serving_cert, &serving_cert.pem())?;
    write_secret(&pki.serving_key, &serving_key.serialize_pem())?;
    write_secret(
        &pki.service_account_key,
        &service_account_key.serialize_pem(),
    )?;
    write_secret(
        &pki.service_account_public_key,
        &service_account_key.public_key_pem(),
    )?;
    Ok(pki)
}

/// Writes a file readable only by its owner: these are credentials to a cluster.
pub(crate) fn write_secret(path: &Path, content: &str) -> Result<(), TestEnvError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| TestEnvError::io("write", path, source))?;
    file.write_all(content.as_bytes())
        .map_err(|source| TestEnvError::io("write", path, source))
}

/// A random token for the admin user: 32 bytes from the operating system, hex-encoded.
pub fn random_token() -> Result<String, TestEnvError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| TestEnvError::Random)?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_ca_and_a_serving_certificate_signed_by_it() {
        let dir = std::env::temp_dir().join(format!("driftless-pki-test-{}", std::process::id()));
        let pki = write_pki(&dir).expect("pki");
        let serving = fs::read_to_string(&pki.serving_cert).expect("serving cert");
        assert!(serving.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_ne!(
            serving, pki.ca_pem,
            "the serving certificate must not be the CA"
        );
        let key = fs::read_to_string(&pki.service_account_key).expect("sa key");
        assert!(key.contains("PRIVATE KEY"));
        let mode = fs::metadata(&pki.ca_key).expect("stat").permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn tokens_are_random_and_long() {
        let first = random_token().expect("token");
        assert_eq!(first.len(), 64);
        assert_ne!(first, random_token().expect("token"));
    }
}
