//! TLS for kfk, on rustls (no OpenSSL): the configurations a broker's SSL and
//! SASL_SSL listeners and kfk's clients run with, read from PEM files as
//! Kafka's `ssl.keystore.type=PEM` has them; the principal a client
//! certificate names (`User:CN=...`, as Kafka's default principal builder);
//! and a small certificate authority for `kfk cluster up --secure`.

pub mod ca;
mod pem;
pub mod principal;
mod verify;

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

pub use pem::{load_certs, load_key};
pub use tokio_rustls::{TlsAcceptor, TlsConnector, client, server};
pub use {rustls, rustls_pki_types};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// Whether a listener asks clients for certificates (Kafka's `ssl.client.auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    /// Asked for; a client without one connects as `User:ANONYMOUS`.
    Requested,
    Required,
}

impl ClientAuth {
    /// Kafka's spelling: `none`, `requested`, `required`.
    pub fn parse(s: &str) -> Option<ClientAuth> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Some(ClientAuth::None),
            "requested" => Some(ClientAuth::Requested),
            "required" => Some(ClientAuth::Required),
            _ => None,
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_error(e: impl std::fmt::Display) -> TlsError {
    TlsError::Config(e.to_string())
}

/// The certificates of a trust store, as roots (a system store may hold a
/// few rustls cannot use: those are skipped, but at least one must serve).
fn roots(trust: &[CertificateDer<'static>]) -> Result<rustls::RootCertStore, TlsError> {
    let mut store = rustls::RootCertStore::empty();
    let (added, _skipped) = store.add_parsable_certificates(trust.iter().cloned());
    if added == 0 {
        return Err(TlsError::Config(
            "none of the CA certificates can be used (not X.509 CA certificates)".into(),
        ));
    }
    Ok(store)
}

/// What a TLS listener serves: its certificate chain and key, and the CAs
/// whose client certificates it accepts.
#[derive(Debug)]
pub struct ServerIdentity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub trust: Vec<CertificateDer<'static>>,
}

impl ServerIdentity {
    /// Reads a keystore (one PEM file holding the certificate chain and the
    /// private key, Kafka's `ssl.keystore.location` with type PEM) and an
    /// optional trust store of CA certificates.
    ///
    /// # Errors
    /// A file that cannot be read or holds no certificate or key.
    pub fn load(keystore: &Path, truststore: Option<&Path>) -> Result<ServerIdentity, TlsError> {
        Ok(ServerIdentity {
            chain: load_certs(keystore)?,
            key: load_key(keystore)?,
            trust: match truststore {
                Some(t) => load_certs(t)?,
                None => Vec::new(),
            },
        })
    }
}

/// A listener's TLS configuration.
///
/// # Errors
/// A key that does not match the certificate, or client authentication
/// without a trust store to check certificates against.
pub fn server_config(
    id: &ServerIdentity,
    auth: ClientAuth,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(config_error)?;
    let builder = match auth {
        ClientAuth::None => builder.with_no_client_auth(),
        ClientAuth::Requested | ClientAuth::Required => {
            if id.trust.is_empty() {
                return Err(TlsError::Config(
                    "ssl.client.auth asks for client certificates, so ssl.truststore.location must name the CA certificates that sign them".into(),
                ));
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots(&id.trust)?),
                provider(),
            );
            let verifier = if auth == ClientAuth::Requested {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(verifier.build().map_err(config_error)?)
        }
    };
    let config = builder
        .with_single_cert(id.chain.clone(), id.key.clone_key())
        .map_err(config_error)?;
    Ok(Arc::new(config))
}

/// How a client checks and presents certificates.
#[derive(Debug, Clone, Default)]
pub struct ClientTls {
    /// CA certificates that sign the brokers'.
    pub trust: Vec<CertificateDer<'static>>,
    /// The client's own certificate chain and key, for `ssl.client.auth`.
    pub identity: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
    /// Check that the broker's certificate names the host connected to
    /// (Kafka's `ssl.endpoint.identification.algorithm=https`, the default).
    pub verify_hostname: bool,
}

impl ClientTls {
    /// Reads a CA file (none: the system's trusted CAs, as for a cloud
    /// service's public certificates) and, optionally, a certificate and key
    /// (both may be in one file).
    ///
    /// # Errors
    /// Unreadable files, or ones without certificates or a key; no system
    /// CAs when no file is given.
    pub fn load(
        ca: Option<&Path>,
        cert: Option<&Path>,
        key: Option<&Path>,
        verify_hostname: bool,
    ) -> Result<ClientTls, TlsError> {
        let identity = match (cert, key) {
            (Some(c), k) => Some((load_certs(c)?, Arc::new(load_key(k.unwrap_or(c))?))),
            (None, Some(k)) => {
                return Err(TlsError::Config(format!(
                    "a key ({}) without a certificate: give the certificate too",
                    k.display()
                )));
            }
            (None, None) => None,
        };
        let trust = match ca {
            Some(path) => load_certs(path)?,
            None => {
                let found = rustls_native_certs::load_native_certs();
                if found.certs.is_empty() {
                    return Err(TlsError::Config(format!(
                        "no CA file given and no system CA certificates found ({} errors); name the CA that signs the brokers' certificates",
                        found.errors.len()
                    )));
                }
                found.certs
            }
        };
        Ok(ClientTls {
            trust,
            identity,
            verify_hostname,
        })
    }

    /// The rustls configuration for these settings.
    ///
    /// # Errors
    /// A CA certificate rustls cannot use, or a key that does not match.
    pub fn config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(config_error)?;
        let roots = roots(&self.trust)?;
        let builder = if self.verify_hostname {
            builder.with_root_certificates(roots)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verify::ChainOnly::new(
                    roots,
                    provider(),
                )))
        };
        let config = match &self.identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(config_error)?,
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }
}

/// The name a client checks a broker's certificate against: the host part
/// of `host:port` (an IP address is checked against the certificate's IP
/// addresses).
///
/// # Errors
/// A host that is neither a DNS name nor an IP address.
pub fn server_name(addr: &str) -> Result<ServerName<'static>, TlsError> {
    let host = match addr.rsplit_once(':') {
        Some((h, port)) if port.parse::<u16>().is_ok() => h,
        _ => addr,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string()).map_err(|e| {
        TlsError::Config(format!(
            "{host:?} cannot be checked against a certificate: {e}"
        ))
    })
}

#[cfg(test)]
mod tests;
