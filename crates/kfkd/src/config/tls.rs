//! The TLS settings (`ssl.*`, as in Kafka with `ssl.keystore.type=PEM`) made
//! into what listeners and the replica fetchers run with. Files are read when
//! the settings are validated, so `kfkd --check-config` finds a missing or
//! unusable certificate before a broker starts.

use std::sync::Arc;

use kfk_tls::{ClientAuth, ClientTls, ServerIdentity};

use super::{ConfigError, Settings};

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.into(),
    }
}

/// What TLS listeners serve. As in Kafka, `ssl.client.auth` applies to SSL
/// listeners; SASL_SSL clients prove who they are with SASL and are not
/// asked for certificates.
#[derive(Debug, Clone)]
pub struct ServerTls {
    pub ssl: Arc<kfk_tls::rustls::ServerConfig>,
    pub sasl_ssl: Arc<kfk_tls::rustls::ServerConfig>,
}

impl ServerTls {
    /// The configuration for a listener speaking `protocol`.
    pub fn for_protocol(
        &self,
        protocol: super::SecurityProtocol,
    ) -> Arc<kfk_tls::rustls::ServerConfig> {
        if protocol.sasl() {
            Arc::clone(&self.sasl_ssl)
        } else {
            Arc::clone(&self.ssl)
        }
    }
}

impl Settings {
    fn client_auth(&self) -> Result<ClientAuth, ConfigError> {
        ClientAuth::parse(&self.ssl_client_auth).ok_or_else(|| {
            invalid(
                "ssl.client.auth",
                format!(
                    "{:?} is not none, requested or required",
                    self.ssl_client_auth
                ),
            )
        })
    }

    fn pem_only(&self) -> Result<(), ConfigError> {
        for (key, value) in [
            ("ssl.keystore.type", &self.ssl_keystore_type),
            ("ssl.truststore.type", &self.ssl_truststore_type),
        ] {
            if !value.eq_ignore_ascii_case("PEM") {
                return Err(invalid(
                    key,
                    format!(
                        "{value} stores are not read; kfkd reads PEM files (export with `keytool -exportcert -rfc` or `openssl pkcs12 -nodes`)"
                    ),
                ));
            }
        }
        if !self.ssl_key_password.is_empty() {
            return Err(invalid(
                "ssl.key.password",
                "kfkd reads unencrypted PEM keys (keep the file readable by kfkd alone); unset ssl.key.password",
            ));
        }
        Ok(())
    }

    fn identity(&self) -> Result<ServerIdentity, ConfigError> {
        if self.ssl_keystore_location.as_os_str().is_empty() {
            return Err(invalid(
                "ssl.keystore.location",
                "an SSL or SASL_SSL listener needs the broker's certificate and key (a PEM file)",
            ));
        }
        let trust = (!self.ssl_truststore_location.as_os_str().is_empty())
            .then_some(self.ssl_truststore_location.as_path());
        ServerIdentity::load(&self.ssl_keystore_location, trust)
            .map_err(|e| invalid("ssl.keystore.location", e.to_string()))
    }

    /// The TLS configurations of SSL and SASL_SSL listeners; `None` when no
    /// listener uses TLS.
    ///
    /// # Errors
    /// Missing or unusable certificates, keys or trust stores.
    pub fn server_tls(&self) -> Result<Option<ServerTls>, ConfigError> {
        if !self.listeners()?.iter().any(|l| l.protocol.tls()) {
            return Ok(None);
        }
        self.pem_only()?;
        let auth = self.client_auth()?;
        let id = self.identity()?;
        let made = |auth| {
            kfk_tls::server_config(&id, auth)
                .map_err(|e| invalid("ssl.keystore.location", e.to_string()))
        };
        Ok(Some(ServerTls {
            ssl: made(auth)?,
            sasl_ssl: made(ClientAuth::None)?,
        }))
    }

    /// How replica fetchers reach other brokers over an SSL inter-broker
    /// listener: the trust store checks them, the keystore names this
    /// broker; `None` on a PLAINTEXT one.
    ///
    /// # Errors
    /// As [`Settings::server_tls`], or an SSL inter-broker listener without a
    /// trust store.
    pub fn inter_broker_tls(
        &self,
    ) -> Result<Option<Arc<kfk_tls::rustls::ClientConfig>>, ConfigError> {
        if !self.inter_broker_listener()?.protocol.tls() {
            return Ok(None);
        }
        let id = self.identity()?;
        if id.trust.is_empty() {
            return Err(invalid(
                "ssl.truststore.location",
                "an SSL inter-broker listener needs the CA certificates that sign the brokers' certificates",
            ));
        }
        let verify_hostname = match self.ssl_endpoint_identification_algorithm.as_str() {
            "https" | "HTTPS" => true,
            "" | "none" => false,
            other => {
                return Err(invalid(
                    "ssl.endpoint.identification.algorithm",
                    format!("{other:?} is not https or empty"),
                ));
            }
        };
        let client = ClientTls {
            trust: id.trust,
            identity: Some((id.chain, Arc::new(id.key))),
            verify_hostname,
        };
        client
            .config()
            .map(Some)
            .map_err(|e| invalid("ssl.keystore.location", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::from_yaml as settings;

    #[test]
    fn tls_listeners_need_usable_pem_files() {
        let none = settings("listeners: PLAINTEXT://127.0.0.1:9092\n");
        assert!(none.server_tls().unwrap().is_none());
        let missing = settings("listeners: PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093\n");
        let err = missing.validate().unwrap_err().to_string();
        assert!(err.contains("ssl.keystore.location"), "{err}");
        let jks = settings(
            "listeners: SSL://127.0.0.1:9093\nssl.keystore.type: JKS\nssl.keystore.location: /x.jks\n",
        );
        let err = jks.validate().unwrap_err().to_string();
        assert!(
            err.contains("ssl.keystore.type") && err.contains("PEM"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let ca = kfk_tls::ca::Authority::generate("CA").unwrap();
        let issued = ca.issue("b", &["localhost".into()]).unwrap();
        let keystore = dir.path().join("b.pem");
        std::fs::write(&keystore, format!("{}{}", issued.cert_pem, issued.key_pem)).unwrap();
        let yaml = format!(
            "listeners: SSL://127.0.0.1:9093\nssl.keystore.location: {}\n",
            keystore.display()
        );
        assert!(settings(&yaml).server_tls().unwrap().is_some());
        // Client certificates need a trust store; a bad value is named.
        let err = settings(&format!("{yaml}ssl.client.auth: required\n"))
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("ssl.truststore.location"), "{err}");
        let err = settings(&format!("{yaml}ssl.client.auth: always\n"))
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("ssl.client.auth"), "{err}");
        // An SSL inter-broker listener needs the CA to check the others.
        let err = settings(&format!("{yaml}inter.broker.listener.name: SSL\n"))
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("ssl.truststore.location"), "{err}");
    }
}
