//! Kafka's named listeners: `listeners=PLAINTEXT://:9092,SASL_PLAINTEXT://:9093`,
//! each name's security protocol from `listener.security.protocol.map` (the
//! standard names map to themselves), what each is advertised as
//! (`advertised.listeners`, by name), and which one the brokers use among
//! themselves (`inter.broker.listener.name`).

use super::{ConfigError, Settings, host_name};

/// How a listener's connections are secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    /// SASL authentication (SCRAM, PLAIN) without TLS.
    SaslPlaintext,
    /// TLS; clients are named by their certificates (with `ssl.client.auth`).
    Ssl,
    /// SASL authentication inside TLS.
    SaslSsl,
}

impl SecurityProtocol {
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether connections speak TLS.
    pub fn tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether connections authenticate with SASL before anything else.
    pub fn sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// One listener: where it binds and what clients are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    pub protocol: SecurityProtocol,
    pub bind: String,
    pub advertised: String,
}

/// `NAME://host:port` or a bare `host:port` (PLAINTEXT).
fn split(entry: &str) -> (&str, &str) {
    entry.split_once("://").unwrap_or(("PLAINTEXT", entry))
}

fn entries(list: &str) -> impl Iterator<Item = (&str, &str)> {
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(split)
}

impl Settings {
    /// The protocol of listener `name`.
    fn protocol_of(&self, name: &str) -> Result<SecurityProtocol, ConfigError> {
        let mapped = self
            .listener_security_protocol_map
            .split(',')
            .filter_map(|pair| pair.split_once(':'))
            .find(|(n, _)| n.trim() == name)
            .map_or(name, |(_, p)| p.trim());
        match mapped {
            "PLAINTEXT" => Ok(SecurityProtocol::Plaintext),
            "SASL_PLAINTEXT" => Ok(SecurityProtocol::SaslPlaintext),
            "SSL" => Ok(SecurityProtocol::Ssl),
            "SASL_SSL" => Ok(SecurityProtocol::SaslSsl),
            other => Err(ConfigError::Invalid {
                key: "listener.security.protocol.map",
                reason: format!(
                    "listener {name} has no security protocol ({other:?} is not PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL); map it, e.g. {name}:SASL_PLAINTEXT"
                ),
            }),
        }
    }

    /// Every client listener, in the order given.
    ///
    /// # Errors
    /// A listener name given twice, a protocol kfkd does not serve, or an
    /// advertised listener for a name that does not listen.
    pub fn listeners(&self) -> Result<Vec<Listener>, ConfigError> {
        let mut out: Vec<Listener> = Vec::new();
        for (name, addr) in entries(&self.listen) {
            if out.iter().any(|l| l.name == name) {
                return Err(ConfigError::Invalid {
                    key: "listeners",
                    reason: format!("listener {name} is named twice"),
                });
            }
            let (bind, default_adv) = match addr.strip_prefix(':') {
                Some(port) => (format!("0.0.0.0:{port}"), format!("{}:{port}", host_name())),
                None => (addr.to_string(), addr.to_string()),
            };
            out.push(Listener {
                name: name.to_string(),
                protocol: self.protocol_of(name)?,
                bind,
                advertised: default_adv,
            });
        }
        for (name, addr) in entries(&self.advertised_listener) {
            let Some(l) = out.iter_mut().find(|l| l.name == name) else {
                return Err(ConfigError::Invalid {
                    key: "advertised.listeners",
                    reason: format!("advertises {name}, which is not among listeners"),
                });
            };
            l.advertised = addr.to_string();
        }
        Ok(out)
    }

    /// The listener brokers use among themselves (replication), which kfkd
    /// also registers as each broker's main endpoint.
    ///
    /// # Errors
    /// When `inter.broker.listener.name` names no listener, or a SASL one
    /// (brokers authenticate to each other with certificates, not SASL).
    pub fn inter_broker_listener(&self) -> Result<Listener, ConfigError> {
        let listeners = self.listeners()?;
        let wanted = if self.inter_broker_listener_name.is_empty() {
            "PLAINTEXT"
        } else {
            self.inter_broker_listener_name.as_str()
        };
        let found = listeners
            .iter()
            .find(|l| l.name == wanted)
            .or_else(|| {
                // One listener: it is the brokers' too.
                (self.inter_broker_listener_name.is_empty() && listeners.len() == 1)
                    .then(|| &listeners[0])
            })
            .cloned()
            .ok_or_else(|| ConfigError::Invalid {
                key: "inter.broker.listener.name",
                reason: format!(
                    "names {wanted}, which is not among listeners ({})",
                    listeners
                        .iter()
                        .map(|l| l.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        if found.protocol.sasl() {
            return Err(ConfigError::Invalid {
                key: "inter.broker.listener.name",
                reason: format!(
                    "{} uses {}; brokers authenticate to each other with their certificates, so replication needs a PLAINTEXT or SSL listener (SSL with ssl.client.auth=required names each broker by its certificate)",
                    found.name,
                    found.protocol.name()
                ),
            });
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::super::from_yaml as settings;
    use super::*;

    #[test]
    fn named_listeners_bind_advertise_and_pick_the_brokers_own() {
        let s = settings(
            "listeners: PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://:9093\nadvertised.listeners: SASL_PLAINTEXT://kafka1:9093\n",
        );
        let ls = s.listeners().unwrap();
        assert_eq!(ls.len(), 2);
        assert_eq!(ls[1].protocol, SecurityProtocol::SaslPlaintext);
        assert_eq!(ls[1].bind, "0.0.0.0:9093");
        assert_eq!(ls[1].advertised, "kafka1:9093");
        assert_eq!(s.inter_broker_listener().unwrap().name, "PLAINTEXT");
        assert_eq!(s.advertised(), "127.0.0.1:9092");
        s.validate().unwrap();
    }

    #[test]
    fn listeners_kfkd_cannot_serve_are_refused() {
        let sasl_only = settings("listeners: SASL_PLAINTEXT://127.0.0.1:9093\n");
        let err = sasl_only.validate().unwrap_err().to_string();
        assert!(
            err.contains("replication needs a PLAINTEXT or SSL listener"),
            "{err}"
        );
        let unmapped = settings("listeners: INTERNAL://127.0.0.1:9093\n");
        assert!(
            unmapped
                .validate()
                .unwrap_err()
                .to_string()
                .contains("INTERNAL:")
        );
        let twice = settings("listeners: PLAINTEXT://127.0.0.1:1,PLAINTEXT://127.0.0.1:2\n");
        assert!(
            twice
                .validate()
                .unwrap_err()
                .to_string()
                .contains("named twice")
        );
        let gss = settings("sasl.enabled.mechanisms: GSSAPI\n");
        assert!(gss.validate().unwrap_err().to_string().contains("GSSAPI"));
    }
}
