//! A certificate authority for a local cluster (`kfk cluster up --secure`):
//! one CA whose certificate clients trust, and certificates it signs for
//! brokers (names they are reached by) and for clients (a common name that
//! becomes their principal).

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

use crate::TlsError;

/// How long issued certificates last.
const VALID_YEARS: i32 = 10;

fn rcgen_error(e: rcgen::Error) -> TlsError {
    TlsError::Config(e.to_string())
}

/// This year, for validity periods that start at its beginning (clocks a
/// little behind still accept the certificate).
fn this_year() -> i32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    1970 + i32::try_from(secs / 31_556_952).unwrap_or(0)
}

fn params(common_name: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    p.distinguished_name = dn;
    let year = this_year();
    p.not_before = rcgen::date_time_ymd(year, 1, 1);
    p.not_after = rcgen::date_time_ymd(year + VALID_YEARS, 1, 1);
    p
}

/// A certificate and its key, both PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The CA: its certificate and the key that signs.
#[derive(Debug)]
pub struct Authority {
    cert_pem: String,
    key: KeyPair,
}

impl Authority {
    /// A new CA named `common_name`.
    ///
    /// # Errors
    /// Key generation failing (the system's randomness).
    pub fn generate(common_name: &str) -> Result<Authority, TlsError> {
        let key = KeyPair::generate().map_err(rcgen_error)?;
        let mut p = params(common_name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = p.self_signed(&key).map_err(rcgen_error)?;
        Ok(Authority {
            cert_pem: cert.pem(),
            key,
        })
    }

    /// The CA written earlier by [`Authority::generate`].
    ///
    /// # Errors
    /// PEM text that is not a certificate and its key.
    pub fn load(cert_pem: &str, key_pem: &str) -> Result<Authority, TlsError> {
        let key = KeyPair::from_pem(key_pem).map_err(rcgen_error)?;
        // Checks the certificate parses before it signs anything.
        Issuer::from_ca_cert_pem(cert_pem, &key).map_err(rcgen_error)?;
        Ok(Authority {
            cert_pem: cert_pem.to_string(),
            key,
        })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// A certificate for `common_name`, valid for the host names and IP
    /// addresses in `names` (for servers; empty for a client certificate).
    ///
    /// # Errors
    /// A name that is neither a DNS name nor an IP address.
    pub fn issue(&self, common_name: &str, names: &[String]) -> Result<Issued, TlsError> {
        let key = KeyPair::generate().map_err(rcgen_error)?;
        let mut p = params(common_name);
        p.subject_alt_names = names
            .iter()
            .map(|n| match n.parse::<IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => n.clone().try_into().map(SanType::DnsName),
            })
            .collect::<Result<_, _>>()
            .map_err(rcgen_error)?;
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        p.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        p.use_authority_key_identifier_extension = true;
        let issuer = Issuer::from_ca_cert_pem(&self.cert_pem, &self.key).map_err(rcgen_error)?;
        let cert = p.signed_by(&key, &issuer).map_err(rcgen_error)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}
