//! `kfk config use|set|unset|list`: profiles in config.yaml.

use crate::cli::ConfigCommand;
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;
use crate::profile::{KEYS, Profiles};

const DEFAULT_PROFILE: &str = "default";

fn target_profile(profiles: &Profiles, named: Option<&String>) -> String {
    named
        .cloned()
        .or_else(|| profiles.current.clone())
        .unwrap_or_else(|| DEFAULT_PROFILE.to_string())
}

fn check_key(key: &str) -> CliResult {
    if KEYS.contains(&key) {
        Ok(())
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
            check_key(key)?;
            let name = target_profile(&profiles, profile.as_ref());
            let p = profiles.profiles.entry(name.clone()).or_default();
            match key.as_str() {
                "bootstrap" => p.bootstrap = Some(value.clone()),
                _ => p.topic = Some(value.clone()),
            }
            if profiles.current.is_none() {
                profiles.current = Some(name.clone());
            }
            profiles.save(&path)?;
            output::status(&format!("Set {key} = {value} in profile {name}."));
        }
        ConfigCommand::Unset { key, profile } => {
            check_key(key)?;
            let name = target_profile(&profiles, profile.as_ref());
            if let Some(p) = profiles.profiles.get_mut(&name) {
                match key.as_str() {
                    "bootstrap" => p.bootstrap = None,
                    _ => p.topic = None,
                }
            }
            profiles.save(&path)?;
        }
        ConfigCommand::List => output::emit(ctx.format(), &profiles, || {
            output::table(
                &["PROFILE", "CURRENT", "BOOTSTRAP", "TOPIC"],
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
                        ]
                    })
                    .collect(),
            );
            Ok(())
        })?,
    }
    Ok(())
}
