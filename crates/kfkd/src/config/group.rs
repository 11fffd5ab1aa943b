//! Group configs (KIP-848): per consumer group overrides of the broker's
//! `group.consumer.*` timing, set with IncrementalAlterConfigs on resource
//! type GROUP and kept in the metadata image so every coordinator a group
//! moves to applies the same ones. Kafka checks them against the broker's
//! min/max bounds when they are set; so does kfkd.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::ResponseError;
use tracing::info;

use crate::broker::Broker;
use crate::config::Settings;
use crate::config::ops::ConfigOp;
use crate::config::topic::ConfigSource;
use crate::error::ApiError;
use crate::quorum::MetadataCommand;

pub const SESSION_TIMEOUT: &str = "consumer.session.timeout.ms";
pub const HEARTBEAT_INTERVAL: &str = "consumer.heartbeat.interval.ms";

/// Every group config kfkd serves (Kafka's share- and streams-group ones
/// belong to group types kfkd does not run).
pub const NAMES: &[&str] = &[HEARTBEAT_INTERVAL, SESSION_TIMEOUT];

/// The broker-level default of a group config.
pub fn broker_default(settings: &Settings, name: &str) -> Option<u64> {
    match name {
        SESSION_TIMEOUT => Some(settings.group_consumer_session_timeout_ms),
        HEARTBEAT_INTERVAL => Some(settings.group_consumer_heartbeat_interval_ms),
        _ => None,
    }
}

/// The value of `name` for a group with `overrides`.
fn effective(settings: &Settings, overrides: &BTreeMap<String, String>, name: &str) -> u64 {
    overrides
        .get(name)
        .and_then(|v| v.trim().parse().ok())
        .or_else(|| broker_default(settings, name))
        .unwrap_or_default()
}

/// A group's session timeout and heartbeat interval.
pub fn timing(settings: &Settings, overrides: &BTreeMap<String, String>) -> (Duration, Duration) {
    (
        Duration::from_millis(effective(settings, overrides, SESSION_TIMEOUT).max(1)),
        Duration::from_millis(effective(settings, overrides, HEARTBEAT_INTERVAL).max(1)),
    )
}

/// Checks a group's whole set of overrides as Kafka's GroupConfig does:
/// known names, integers of at least 1, within the broker's bounds, and a
/// session longer than the heartbeat interval.
///
/// # Errors
/// Kafka's message for the first problem.
pub fn validate(settings: &Settings, overrides: &BTreeMap<String, String>) -> Result<(), String> {
    for (name, value) in overrides {
        if !NAMES.contains(&name.as_str()) {
            return Err(format!("Unknown group config name: {name}"));
        }
        match value.trim().parse::<i32>() {
            Ok(v) if v >= 1 => {}
            Ok(v) => {
                return Err(format!(
                    "Invalid value {v} for configuration {name}: Value must be at least 1"
                ));
            }
            Err(_) => {
                return Err(format!(
                    "Invalid value {value} for configuration {name}: Not a number of type INT"
                ));
            }
        }
    }
    let heartbeat = effective(settings, overrides, HEARTBEAT_INTERVAL);
    let session = effective(settings, overrides, SESSION_TIMEOUT);
    let bound = |name: &str, min: bool, key: &str| {
        let (relation, which) = if min {
            ("greater than or equal to", "min")
        } else {
            ("less than or equal to", "max")
        };
        Err(format!(
            "{name} must be {relation} group.consumer.{which}.{key}"
        ))
    };
    if heartbeat < settings.group_consumer_min_heartbeat_interval_ms {
        return bound(HEARTBEAT_INTERVAL, true, "heartbeat.interval.ms");
    }
    if heartbeat > settings.group_consumer_max_heartbeat_interval_ms {
        return bound(HEARTBEAT_INTERVAL, false, "heartbeat.interval.ms");
    }
    if session < settings.group_consumer_min_session_timeout_ms {
        return bound(SESSION_TIMEOUT, true, "session.timeout.ms");
    }
    if session > settings.group_consumer_max_session_timeout_ms {
        return bound(SESSION_TIMEOUT, false, "session.timeout.ms");
    }
    if session <= heartbeat {
        return Err(format!(
            "{SESSION_TIMEOUT} must be greater than {HEARTBEAT_INTERVAL}"
        ));
    }
    Ok(())
}

/// Value and source of every group config, as DescribeConfigs shows them.
pub fn describe(
    settings: &Settings,
    overrides: &BTreeMap<String, String>,
) -> Vec<(String, String, ConfigSource)> {
    NAMES
        .iter()
        .map(|name| match overrides.get(*name) {
            Some(v) => (name.to_string(), v.clone(), ConfigSource::DynamicGroup),
            None => (
                name.to_string(),
                broker_default(settings, name)
                    .unwrap_or_default()
                    .to_string(),
                ConfigSource::Default,
            ),
        })
        .collect()
}

impl Broker {
    /// A group's config overrides (empty when none were set).
    pub fn group_configs(&self, group: &str) -> BTreeMap<String, String> {
        self.with_image(|i| i.group_configs.get(group).cloned().unwrap_or_default())
    }

    /// Changes the configs of group `name`, which need not exist yet (as in
    /// Kafka, configs may be set before the group's first member joins).
    ///
    /// # Errors
    /// INVALID_REQUEST for an empty name, INVALID_CONFIG for unknown names
    /// or values outside the broker's bounds.
    pub async fn alter_group_configs(
        &self,
        name: &str,
        changes: &[(String, ConfigOp)],
        replace_all: bool,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        if name.is_empty() {
            return Err(ApiError::new(
                ResponseError::InvalidRequest,
                "Group name must not be empty",
            ));
        }
        let invalid = |m: String| ApiError::new(ResponseError::InvalidConfig, m);
        let _serial = self.changes.lock().await;
        let mut configs = if replace_all {
            BTreeMap::new()
        } else {
            self.group_configs(name)
        };
        for (k, op) in changes {
            if !NAMES.contains(&k.as_str()) {
                return Err(invalid(format!("Unknown group config name: {k}")));
            }
            if let Some(refusal) = op.refuse_list_op(k) {
                return Err(refusal);
            }
            match op.apply("") {
                Some(v) => configs.insert(k.clone(), v),
                None => configs.remove(k),
            };
        }
        validate(&self.settings, &configs).map_err(invalid)?;
        if validate_only {
            return Ok(());
        }
        self.propose(MetadataCommand::SetGroupConfigs {
            group: name.to_string(),
            configs,
        })
        .await?;
        info!(group = name, ?changes, "altered group configs");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FileSettings, SettingArgs};

    fn settings() -> Settings {
        Settings::resolve(&SettingArgs::default(), &FileSettings::default())
    }

    fn with(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn overrides_are_checked_against_the_broker_bounds() {
        let s = settings();
        assert!(validate(&s, &with(&[(SESSION_TIMEOUT, "50000")])).is_ok());
        assert_eq!(
            validate(&s, &with(&[(SESSION_TIMEOUT, "1000")])).unwrap_err(),
            "consumer.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms"
        );
        assert!(validate(&s, &with(&[(HEARTBEAT_INTERVAL, "20000")])).is_err());
        assert!(validate(&s, &with(&[(HEARTBEAT_INTERVAL, "x")])).is_err());
        assert_eq!(
            validate(&s, &with(&[("share.unknown", "1")])).unwrap_err(),
            "Unknown group config name: share.unknown"
        );
    }

    #[test]
    fn timing_takes_the_override_else_the_broker_default() {
        let s = settings();
        let (session, heartbeat) = timing(&s, &with(&[(SESSION_TIMEOUT, "50000")]));
        assert_eq!(session, Duration::from_millis(50_000));
        assert_eq!(heartbeat, Duration::from_millis(5_000));
        let described = describe(&s, &with(&[(SESSION_TIMEOUT, "50000")]));
        assert_eq!(
            described,
            vec![
                (
                    HEARTBEAT_INTERVAL.to_string(),
                    "5000".to_string(),
                    ConfigSource::Default
                ),
                (
                    SESSION_TIMEOUT.to_string(),
                    "50000".to_string(),
                    ConfigSource::DynamicGroup
                ),
            ]
        );
    }
}
