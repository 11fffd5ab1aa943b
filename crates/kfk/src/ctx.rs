//! What every command needs: where kfk's files are, the output format, and a
//! client for the target cluster, resolved in this order: `-b`, `KFK_BOOTSTRAP`
//! (clap reads both), Kafka client properties (`--command-config`, `-X`), the
//! current profile, the local cluster.

use std::sync::Arc;
use std::time::Duration;

use kfk_client::{Client, ClientConfig};

use crate::error::{CliError, CliResult};
use crate::home::Home;
use crate::local::ClusterState;
use crate::output::OutputFormat;
use crate::profile::{Profile, Profiles};

#[derive(Debug)]
pub struct Ctx {
    pub home: Home,
    pub bootstrap_flag: Option<String>,
    pub output: Option<OutputFormat>,
    /// `--request-timeout`, when given.
    pub request_timeout: Option<Duration>,
    /// `--sasl-mechanism`, `--sasl-username` and where the password is.
    pub sasl: Option<SaslFlags>,
    /// `--security-protocol` and the TLS files.
    pub tls: crate::security::TlsFlags,
    /// `--command-config` and `-X`: Kafka client properties over the profile.
    pub client_props: Option<crate::client_props::ClientProps>,
}

/// How kfk authenticates on a SASL listener, from its flags.
#[derive(Debug, Clone)]
pub struct SaslFlags {
    pub mechanism: String,
    pub username: String,
    pub password_file: Option<std::path::PathBuf>,
    /// A password a client properties file gave (`sasl.password`,
    /// `sasl.jaas.config`).
    pub password: Option<String>,
}

impl SaslFlags {
    /// The password: KFK_SASL_PASSWORD, the file's first line, or a prompt
    /// on a terminal; never an argument.
    fn password(&self) -> CliResult<String> {
        if let Ok(p) = std::env::var("KFK_SASL_PASSWORD") {
            return Ok(p);
        }
        if let Some(p) = &self.password {
            return Ok(p.clone());
        }
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::new(format!(
                    "cannot read the SASL password from {}: {e}",
                    path.display()
                ))
            })?;
            return Ok(text.lines().next().unwrap_or_default().to_string());
        }
        if crate::term::interactive() {
            return dialoguer::Password::new()
                .with_prompt(format!("Password for {}", self.username))
                .interact()
                .map_err(|e| CliError::new(format!("cannot ask for the password: {e}")));
        }
        Err(CliError::usage("no SASL password")
            .hint("set KFK_SASL_PASSWORD or pass --sasl-password-file FILE"))
    }
}

impl Ctx {
    pub fn format(&self) -> OutputFormat {
        self.output.unwrap_or(OutputFormat::Table)
    }

    pub fn profiles(&self) -> CliResult<Profiles> {
        Profiles::load(&self.home.config_file())
    }

    /// The settings a command connects with: the current profile, with
    /// `--command-config` and `-X` over it.
    pub fn profile(&self) -> CliResult<Option<Profile>> {
        let profiles = self.profiles()?;
        Ok(match &self.client_props {
            Some(props) => Some(props.over(profiles.current())),
            None => profiles.current().cloned(),
        })
    }

    /// The bootstrap servers to use, and where they came from.
    ///
    /// # Errors
    /// When nothing names a cluster.
    pub fn bootstrap(&self) -> CliResult<(String, &'static str)> {
        if let Some(b) = &self.bootstrap_flag {
            return Ok((b.clone(), "-b/KFK_BOOTSTRAP"));
        }
        if let Some(b) = self
            .client_props
            .as_ref()
            .and_then(|p| p.profile.bootstrap.clone())
        {
            return Ok((b, "--command-config/-X"));
        }
        if let Some(b) = self.profiles()?.current().and_then(|p| p.bootstrap.clone()) {
            return Ok((b, "profile"));
        }
        if let Some(state) = ClusterState::load(&self.home.cluster_state_file())?
            && !state.running().is_empty()
        {
            return Ok((state.bootstrap(), "local cluster"));
        }
        Err(CliError::new("no cluster to talk to").hint(
            "start a local one with `kfk cluster up`, pass -b HOST:PORT, set KFK_BOOTSTRAP, or `kfk config set bootstrap HOST:PORT`",
        ))
    }

    /// A connected client.
    ///
    /// # Errors
    /// When no cluster is named or none of its brokers answers.
    pub async fn client(&self) -> CliResult<Arc<Client>> {
        let (config, protocol) = self.client_config()?;
        Client::connect(config).await.map_err(|e| {
            let plaintext = !protocol.tls();
            let err = CliError::from(e);
            if plaintext && err.message.contains("an SSL or SASL_SSL listener needs") {
                err.hint(
                    "connect with --security-protocol SSL (or SASL_SSL) and --ssl-ca-file CA.pem",
                )
            } else {
                err
            }
        })
    }

    /// How to reach the cluster (bootstrap, timeouts, TLS and SASL), and
    /// the security protocol that makes.
    ///
    /// # Errors
    /// When nothing names a cluster, or the security settings are unusable.
    pub fn client_config(&self) -> CliResult<(ClientConfig, crate::security::SecurityProtocol)> {
        let (bootstrap, _) = self.bootstrap()?;
        let mut config = ClientConfig::new(
            bootstrap
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty()),
        );
        config.connect_timeout = Duration::from_secs(3);
        if let Some(t) = self
            .request_timeout
            .or(self.client_props.as_ref().and_then(|p| p.request_timeout))
        {
            config.request_timeout = t;
        }
        let profile = self.profile()?;
        let sasl = self.sasl.clone().or(self.profile_sasl(profile.as_ref()));
        let security = self.tls.resolve(profile.as_ref(), sasl.is_some())?;
        config.tls = security.tls;
        if let Some(sasl) = sasl {
            config.sasl = Some(kfk_client::SaslConfig {
                mechanism: sasl.mechanism.to_uppercase(),
                username: sasl.username.clone(),
                password: sasl.password()?,
            });
        }
        Ok((config, security.protocol))
    }

    /// The profile's SASL settings (client properties over the current
    /// profile), when it has a mechanism and a user (flags and KFK_SASL_*
    /// win over them).
    fn profile_sasl(&self, profile: Option<&Profile>) -> Option<SaslFlags> {
        let p = profile?;
        match (&p.sasl_mechanism, &p.sasl_username) {
            (Some(m), Some(u)) => Some(SaslFlags {
                mechanism: m.clone(),
                username: u.clone(),
                password_file: p.sasl_password_file.as_ref().map(std::path::PathBuf::from),
                password: self
                    .client_props
                    .as_ref()
                    .and_then(|c| c.sasl_password.clone()),
            }),
            _ => None,
        }
    }

    /// The topic a command works on: the one named, the profile's, the
    /// cluster's only non-internal topic (said on stderr), or on a terminal
    /// the one picked from a fuzzy list.
    ///
    /// # Errors
    /// When none of these applies; the message lists the topics.
    pub async fn topic(&self, named: Option<&str>, client: &Client) -> CliResult<String> {
        if let Some(t) = named {
            return Ok(t.to_string());
        }
        if let Some(t) = self.profiles()?.current().and_then(|p| p.topic.clone()) {
            return Ok(t);
        }
        let meta = client.refresh(None).await?;
        let topics: Vec<&String> = meta
            .topics
            .values()
            .filter(|t| !t.internal)
            .map(|t| &t.name)
            .collect();
        match topics.as_slice() {
            [only] => {
                crate::output::status(&format!(
                    "Using topic '{only}', the only topic of the cluster."
                ));
                Ok(only.to_string())
            }
            [] => Err(CliError::usage("no topic given and the cluster has none")
                .hint("create one with `kfk topics create NAME`")),
            many => {
                let names: Vec<String> = many.iter().map(|s| s.to_string()).collect();
                if let Some(picked) = crate::term::pick("Topic", &names)? {
                    return Ok(picked);
                }
                Err(CliError::usage(format!(
                    "no topic given; the cluster has {}: {}",
                    many.len(),
                    many.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .hint("name one, or set a default with `kfk config set topic NAME`"))
            }
        }
    }
}
