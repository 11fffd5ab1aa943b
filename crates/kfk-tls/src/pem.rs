//! Certificates and keys from PEM files (Kafka's `ssl.keystore.type=PEM`).

use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::TlsError;

fn file_error(path: &Path, reason: impl Into<String>) -> TlsError {
    TlsError::File {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Every certificate in `path`, in order (a chain: the leaf first).
///
/// # Errors
/// An unreadable file, a damaged PEM section, or none at all.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(path, e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, e.to_string()))?;
    if certs.is_empty() {
        return Err(file_error(
            path,
            "holds no certificate (expected -----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(certs)
}

/// The private key in `path` (PKCS#8, PKCS#1 or SEC1).
///
/// # Errors
/// An unreadable file, an encrypted key (`ssl.key.password` is not
/// supported: decrypt it with `openssl pkcs8`), or no key at all.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let text = std::fs::read(path).map_err(|e| file_error(path, e.to_string()))?;
    if text
        .windows(b"ENCRYPTED PRIVATE KEY".len())
        .any(|w| w == b"ENCRYPTED PRIVATE KEY")
    {
        return Err(file_error(
            path,
            "holds an encrypted private key; kfk reads unencrypted PEM keys (decrypt it with `openssl pkcs8 -in KEY -out PLAIN`) and keeps the file private",
        ));
    }
    PrivateKeyDer::from_pem_slice(&text).map_err(|e| {
        file_error(
            path,
            format!("holds no private key (expected -----BEGIN PRIVATE KEY-----): {e}"),
        )
    })
}
