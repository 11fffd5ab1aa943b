//! Profiles in `config.yaml`: named targets (bootstrap servers, default topic,
//! how to authenticate), one of them current.
//!
//! ```yaml
//! current: local
//! profiles:
//!   local:
//!     bootstrap: 127.0.0.1:9092
//!     topic: myorders
//!     sasl.mechanism: SCRAM-SHA-256
//!     sasl.username: alice
//!     sasl.password.file: /home/alice/.kfk-password
//!     security.protocol: SASL_SSL
//!     ssl.ca.location: /home/alice/ca.pem
//! ```
//!
//! A password is never stored here: only the file that holds it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{CliError, CliResult};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(
        default,
        rename = "sasl.mechanism",
        skip_serializing_if = "Option::is_none"
    )]
    pub sasl_mechanism: Option<String>,
    #[serde(
        default,
        rename = "sasl.username",
        skip_serializing_if = "Option::is_none"
    )]
    pub sasl_username: Option<String>,
    #[serde(
        default,
        rename = "sasl.password.file",
        skip_serializing_if = "Option::is_none"
    )]
    pub sasl_password_file: Option<String>,
    #[serde(
        default,
        rename = "security.protocol",
        skip_serializing_if = "Option::is_none"
    )]
    pub security_protocol: Option<String>,
    #[serde(
        default,
        rename = "ssl.ca.location",
        skip_serializing_if = "Option::is_none"
    )]
    pub ssl_ca_location: Option<String>,
    #[serde(
        default,
        rename = "ssl.certificate.location",
        skip_serializing_if = "Option::is_none"
    )]
    pub ssl_certificate_location: Option<String>,
    #[serde(
        default,
        rename = "ssl.key.location",
        skip_serializing_if = "Option::is_none"
    )]
    pub ssl_key_location: Option<String>,
    #[serde(
        default,
        rename = "ssl.endpoint.identification.algorithm",
        skip_serializing_if = "Option::is_none"
    )]
    pub ssl_endpoint_identification_algorithm: Option<String>,
}

impl Profile {
    /// The setting `kfk config set KEY` changes.
    pub fn field(&mut self, key: &str) -> Option<&mut Option<String>> {
        match key {
            "bootstrap" => Some(&mut self.bootstrap),
            "topic" => Some(&mut self.topic),
            "sasl.mechanism" => Some(&mut self.sasl_mechanism),
            "sasl.username" => Some(&mut self.sasl_username),
            "sasl.password.file" => Some(&mut self.sasl_password_file),
            "security.protocol" => Some(&mut self.security_protocol),
            "ssl.ca.location" => Some(&mut self.ssl_ca_location),
            "ssl.certificate.location" => Some(&mut self.ssl_certificate_location),
            "ssl.key.location" => Some(&mut self.ssl_key_location),
            "ssl.endpoint.identification.algorithm" => {
                Some(&mut self.ssl_endpoint_identification_algorithm)
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profiles {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// The keys `kfk config set` accepts.
pub const KEYS: &[&str] = &[
    "bootstrap",
    "topic",
    "sasl.mechanism",
    "sasl.username",
    "sasl.password.file",
    "security.protocol",
    "ssl.ca.location",
    "ssl.certificate.location",
    "ssl.key.location",
    "ssl.endpoint.identification.algorithm",
];

/// The SASL mechanisms kfk speaks.
pub const SASL_MECHANISMS: &[&str] = &["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"];

impl Profiles {
    /// Reads the file; a missing file is an empty configuration.
    ///
    /// # Errors
    /// An unreadable or malformed file, named.
    pub fn load(path: &Path) -> CliResult<Profiles> {
        match std::fs::read_to_string(path) {
            Ok(text) if text.trim().is_empty() => Ok(Profiles::default()),
            Ok(text) => serde_yaml::from_str(&text).map_err(|e| {
                CliError::new(format!("{} is not a valid kfk config: {e}", path.display()))
                    .hint("fix or delete the file; `kfk config list` shows what kfk reads")
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Profiles::default()),
            Err(e) => Err(CliError::new(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    /// # Errors
    /// When the file cannot be written.
    pub fn save(&self, path: &Path) -> CliResult {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = serde_yaml::to_string(self).map_err(|e| CliError::new(e.to_string()))?;
        std::fs::write(path, text)
            .map_err(|e| CliError::new(format!("cannot write {}: {e}", path.display())))
    }

    pub fn current(&self) -> Option<&Profile> {
        self.current.as_ref().and_then(|c| self.profiles.get(c))
    }
}
