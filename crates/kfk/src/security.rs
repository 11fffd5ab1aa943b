//! How kfk secures its connections: Kafka's `security.protocol` and the
//! TLS files (`ssl.ca.location`, `ssl.certificate.location`,
//! `ssl.key.location`, as librdkafka and kcat name them), from flags first,
//! then the current profile. Without a protocol named, a CA file means TLS
//! and SASL settings mean SASL, so the usual case needs no extra flag.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{CliError, CliResult};
use crate::profile::Profile;

/// Kafka's `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SecurityProtocol {
    #[value(name = "PLAINTEXT", alias = "plaintext")]
    Plaintext,
    #[value(name = "SSL", alias = "ssl")]
    Ssl,
    #[value(name = "SASL_PLAINTEXT", alias = "sasl_plaintext")]
    SaslPlaintext,
    #[value(name = "SASL_SSL", alias = "sasl_ssl")]
    SaslSsl,
}

impl SecurityProtocol {
    /// Kafka's spelling, any case.
    pub fn parse(s: &str) -> Option<SecurityProtocol> {
        <SecurityProtocol as clap::ValueEnum>::from_str(s, true).ok()
    }

    pub fn tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    pub fn sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }
}

/// The TLS flags.
#[derive(Debug, Clone, Default)]
pub struct TlsFlags {
    pub protocol: Option<SecurityProtocol>,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

/// What a connection does, resolved.
#[derive(Debug)]
pub struct Security {
    pub protocol: SecurityProtocol,
    pub tls: Option<Arc<kfk_tls::rustls::ClientConfig>>,
}

fn tls_error(e: kfk_tls::TlsError) -> CliError {
    CliError::new(e.to_string())
        .hint("the CA file (--ssl-ca-file, ssl.ca.location) is the PEM certificate that signs the brokers'; `kfk cluster up --secure` writes one")
}

impl TlsFlags {
    /// The protocol and TLS configuration for flags over `profile`, given
    /// whether SASL settings were found.
    ///
    /// # Errors
    /// A protocol in the profile kfk does not know, SASL asked for without
    /// a user, SASL settings with a protocol that has no SASL, or TLS files
    /// that cannot be used.
    pub fn resolve(&self, profile: Option<&Profile>, has_sasl: bool) -> CliResult<Security> {
        let from_profile = |f: fn(&Profile) -> &Option<String>| {
            profile.and_then(|p| f(p).clone()).map(PathBuf::from)
        };
        let ca = self
            .ca_file
            .clone()
            .or_else(|| from_profile(|p| &p.ssl_ca_location));
        let cert = self
            .cert_file
            .clone()
            .or_else(|| from_profile(|p| &p.ssl_certificate_location));
        let key = self
            .key_file
            .clone()
            .or_else(|| from_profile(|p| &p.ssl_key_location));
        let named = match self.protocol {
            Some(p) => Some(p),
            None => match profile.and_then(|p| p.security_protocol.as_deref()) {
                Some(text) => Some(SecurityProtocol::parse(text).ok_or_else(|| {
                    CliError::usage(format!("security.protocol {text:?} is not a Kafka security protocol"))
                        .hint("PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (`kfk config set security.protocol ...`)")
                })?),
                None => None,
            },
        };
        let protocol = named.unwrap_or(match (ca.is_some() || cert.is_some(), has_sasl) {
            (false, false) => SecurityProtocol::Plaintext,
            (true, false) => SecurityProtocol::Ssl,
            (false, true) => SecurityProtocol::SaslPlaintext,
            (true, true) => SecurityProtocol::SaslSsl,
        });
        if protocol.sasl() && !has_sasl {
            return Err(CliError::usage(format!(
                "{} needs a SASL user",
                protocol.name()
            ))
            .hint("pass --sasl-mechanism SCRAM-SHA-256 --sasl-username USER (the password from KFK_SASL_PASSWORD, --sasl-password-file or a prompt)"));
        }
        if !protocol.sasl() && has_sasl {
            return Err(CliError::usage(format!(
                "SASL settings were given, but security.protocol is {}",
                protocol.name()
            ))
            .hint("use SASL_SSL or SASL_PLAINTEXT, or drop the SASL settings"));
        }
        let tls = if protocol.tls() {
            let verify_hostname = !profile
                .and_then(|p| p.ssl_endpoint_identification_algorithm.as_deref())
                .is_some_and(|a| a.is_empty() || a.eq_ignore_ascii_case("none"));
            let client = kfk_tls::ClientTls::load(
                ca.as_deref(),
                cert.as_deref(),
                key.as_deref(),
                verify_hostname,
            )
            .map_err(tls_error)?;
            Some(client.config().map_err(tls_error)?)
        } else {
            None
        };
        Ok(Security { protocol, tls })
    }
}
