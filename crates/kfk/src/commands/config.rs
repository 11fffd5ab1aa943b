//! `kfk config use|set|unset|list`: profiles in config.yaml.

use crate::cli::ConfigCommand;
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;
use crate::profile::{KEYS, Profiles, SASL_MECHANISMS};

const DEFAULT_PROFILE: &str = "default";

fn target_profile(profiles: &Profiles, named: Option<&String>) -> String {
    named
        .cloned()
        .or_else(|| profiles.current.clone())
        .unwrap_or_else(|| DEFAULT_PROFILE.to_string())
}

/// The key as kfk names it: Kafka's client property `bootstrap.servers`
/// (what a client.properties file says) is kfk's `bootstrap`.
fn canonical(key: &str) -> &str {
    match key {
        "bootstrap.servers" | "bootstrap-server" | "bootstrap-servers" => "bootstrap",
        other => other,
    }
}

fn check_key(key: &str) -> CliResult<&str> {
    let key = canonical(key);
    if KEYS.contains(&key) {
        Ok(key)
    } else {
        Err(CliError::usage(format!("unknown config key {key:?}"))
            .hint(format!("keys: {}", KEYS.join(", "))))
    }
}

pub fn run(ctx: &Ctx, cmd: &ConfigCommand) -> CliResult {
    let path = ctx.home.config_file();
    let mut profiles = ctx.profiles()?;
    match cmd {
        ConfigCommand::Use { profile } => {
            profiles.profiles.entry(profile.clone()).or_default();
            profiles.current = Some(profile.clone());
            profiles.save(&path)?;
            output::status(&format!("Now using profile {profile}."));
        }
        ConfigCommand::Set {
            key,
            value,
            profile,
        } => {
            let key = check_key(key)?;
            if key == "sasl.mechanism" && !SASL_MECHANISMS.contains(&value.as_str()) {
                return Err(CliError::usage(format!(
                    "{value:?} is not a SASL mechanism kfk speaks"
                ))
                .hint(format!("one of {}", SASL_MECHANISMS.join(", "))));
            }
            if key == "security.protocol"
                && crate::security::SecurityProtocol::parse(value).is_none()
            {
                return Err(
                    CliError::usage(format!("{value:?} is not a Kafka security protocol"))
                        .hint("one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
                );
            }
            let name = target_profile(&profiles, profile.as_ref());
            let p = profiles.profiles.entry(name.clone()).or_default();
            if let Some(field) = p.field(key) {
                *field = Some(value.clone());
            }
            if profiles.current.is_none() {
                profiles.current = Some(name.clone());
            }
            profiles.save(&path)?;
            output::status(&format!("Set {key} = {value} in profile {name}."));
        }
        ConfigCommand::Unset { key, profile } => {
            let key = check_key(key)?;
            let name = target_profile(&profiles, profile.as_ref());
            if let Some(field) = profiles.profiles.get_mut(&name).and_then(|p| p.field(key)) {
                *field = None;
            }
            profiles.save(&path)?;
        }
        ConfigCommand::List => output::emit(ctx.format(), &profiles, || {
            output::table(
                &["PROFILE", "CURRENT", "BOOTSTRAP", "TOPIC", "SASL"],
                profiles
                    .profiles
                    .iter()
                    .map(|(name, p)| {
                        vec![
                            name.clone(),
                            if profiles.current.as_ref() == Some(name) {
                                "*"
                            } else {
                                ""
                            }
                            .to_string(),
                            p.bootstrap.clone().unwrap_or_default(),
                            p.topic.clone().unwrap_or_default(),
                            match (&p.sasl_username, &p.sasl_mechanism) {
                                (Some(u), Some(m)) => format!("{u} ({m})"),
                                _ => String::new(),
                            },
                        ]
                    })
                    .collect(),
            );
            Ok(())
        })?,
    }
    Ok(())
}
