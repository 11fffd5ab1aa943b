//! Authenticating a connection to a SASL listener: SaslHandshake (v1), then
//! the mechanism's messages in SaslAuthenticate, before any other request.

use kafka_protocol::messages::{ApiKey, SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;
use kfk_sasl::Mechanism;

use crate::connection::Connection;
use crate::error::{ClientError, Result};

/// Who the client is on SASL listeners (Kafka's `sasl.mechanism`,
/// `sasl.username`, `sasl.password`).
#[derive(Clone)]
pub struct SaslConfig {
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub mechanism: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for SaslConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslConfig")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

fn failed(addr: &str, why: impl Into<String>) -> ClientError {
    ClientError::Kafka {
        error: kafka_protocol::ResponseError::SaslAuthenticationFailed,
        message: Some(why.into()),
        context: format!("authentication with {addr} failed"),
    }
}

impl Connection {
    /// One SaslAuthenticate round: the broker's answer bytes.
    async fn sasl_round(&self, message: Vec<u8>) -> Result<Vec<u8>> {
        let version = self.version_for(ApiKey::SaslAuthenticate).unwrap_or(0);
        let resp = self
            .send_at(
                &SaslAuthenticateRequest::default().with_auth_bytes(message.into()),
                version,
            )
            .await?;
        if resp.error_code != 0 {
            return Err(failed(
                self.addr(),
                resp.error_message
                    .map_or_else(|| "refused".to_string(), |m| m.to_string()),
            ));
        }
        self.session_lasts(resp.session_lifetime_ms);
        Ok(resp.auth_bytes.to_vec())
    }

    /// Authenticates this connection as `sasl` says.
    ///
    /// # Errors
    /// A broker without SASL, a mechanism it does not offer, or refused
    /// credentials (SASL_AUTHENTICATION_FAILED with the broker's message).
    pub(crate) async fn authenticate(&self, sasl: &SaslConfig) -> Result<()> {
        if self.version_for(ApiKey::SaslAuthenticate).is_none() {
            return Err(ClientError::Unsupported {
                addr: self.addr().to_string(),
                api: "SaslAuthenticate (is this a SASL listener?)",
            });
        }
        let resp = self
            .send_at(
                &SaslHandshakeRequest::default()
                    .with_mechanism(StrBytes::from_string(sasl.mechanism.clone())),
                1,
            )
            .await?;
        if resp.error_code != 0 {
            let offered: Vec<String> = resp.mechanisms.iter().map(|m| m.to_string()).collect();
            return Err(failed(
                self.addr(),
                format!(
                    "the broker does not take {} here (it offers: {})",
                    sasl.mechanism,
                    offered.join(", ")
                ),
            ));
        }
        if sasl.mechanism == "PLAIN" {
            self.sasl_round(kfk_sasl::plain::message(&sasl.username, &sasl.password))
                .await?;
            return Ok(());
        }
        let Some(mech) = Mechanism::from_name(&sasl.mechanism) else {
            return Err(ClientError::Invalid(format!(
                "SASL mechanism {} is not one kfk speaks (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)",
                sasl.mechanism
            )));
        };
        let (mut scram, first) =
            kfk_sasl::scram::Client::start(mech, &sasl.username, &sasl.password)
                .map_err(ClientError::Invalid)?;
        let server_first = self.sasl_round(first).await?;
        let last = scram
            .answer(&server_first)
            .map_err(|e| failed(self.addr(), e))?;
        let server_final = self.sasl_round(last).await?;
        scram
            .finish(&server_final)
            .map_err(|e| failed(self.addr(), e))
    }
}
