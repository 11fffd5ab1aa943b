//! Dynamic broker configs: the settings an operator changes on a running
//! cluster through Alter/IncrementalAlterConfigs (today the replication
//! throttles `kfk reassign --throttle` sets). They live in the metadata
//! image, per broker or as a cluster default (resource name "").

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;
use tracing::info;

use crate::broker::Broker;
use crate::config::ops::ConfigOp;
use crate::error::ApiError;
use crate::quorum::MetadataCommand;

/// Bytes/s a broker's replica fetchers may copy for throttled replicas.
pub const FOLLOWER_RATE: &str = "follower.replication.throttled.rate";
/// Bytes/s a leader may serve to throttled replicas (accepted and shown;
/// kfk enforces the follower side).
pub const LEADER_RATE: &str = "leader.replication.throttled.rate";
/// Bytes/s for moving replicas between a broker's log directories. Accepted
/// and shown, as Kafka's reassignment tool sets and clears it with the other
/// two; a kfkd broker has one log directory, so it has nothing to throttle.
pub const LOG_DIRS_RATE: &str = "replica.alter.log.dirs.io.max.bytes.per.second";
pub const DYNAMIC: &[&str] = &[FOLLOWER_RATE, LEADER_RATE, LOG_DIRS_RATE];

/// Kafka's default for both rates: no limit.
pub const UNLIMITED: i64 = i64::MAX;

/// A dynamic broker config and its value, as AlterConfigs checks them and
/// the controller checks them again.
///
/// # Errors
/// INVALID_CONFIG, saying why.
pub(crate) fn validate(key: &str, value: &str) -> Result<(), ApiError> {
    if !DYNAMIC.contains(&key) {
        return Err(ApiError::new(
            ResponseError::InvalidConfig,
            format!(
                "{key} cannot be changed on a running kfkd (only {} can); set it with a flag, KFKD_* variable or the --config file",
                DYNAMIC.join(", ")
            ),
        ));
    }
    match value.trim().parse::<i64>() {
        Ok(v) if v >= 0 => Ok(()),
        _ => Err(ApiError::new(
            ResponseError::InvalidConfig,
            format!("invalid value {value:?} for {key}: expected bytes per second (>= 0)"),
        )),
    }
}

impl Broker {
    /// Changes dynamic configs of broker `name` ("" for the cluster
    /// default); each op sets, deletes, appends to or subtracts from a key.
    ///
    /// # Errors
    /// INVALID_CONFIG for keys that are not dynamic or bad values,
    /// INVALID_REQUEST for an unknown broker.
    pub async fn alter_broker_configs(
        &self,
        name: &str,
        changes: &[(String, ConfigOp)],
        replace_all: bool,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        let id: i32 = if name.is_empty() {
            -1
        } else {
            name.parse().map_err(|_| {
                ApiError::new(
                    ResponseError::InvalidRequest,
                    format!("{name:?} is not a broker id"),
                )
            })?
        };
        if id >= 0 && !self.with_image(|i| i.brokers.contains_key(&id)) {
            return Err(ApiError::new(
                ResponseError::InvalidRequest,
                format!("broker {id} is not registered"),
            ));
        }
        for (k, op) in changes {
            match op {
                ConfigOp::Set(v) => validate(k, v)?,
                _ if !DYNAMIC.contains(&k.as_str()) => validate(k, "0")?,
                // None of the dynamic ones is a list.
                _ => {
                    if let Some(refusal) = op.refuse_list_op(k) {
                        return Err(refusal);
                    }
                }
            }
        }
        if validate_only {
            return Ok(());
        }
        let _serial = self.changes.lock().await;
        let mut configs: BTreeMap<String, String> = if replace_all {
            BTreeMap::new()
        } else {
            self.with_image(|i| i.broker_configs.get(&id).cloned().unwrap_or_default())
        };
        for (k, op) in changes {
            match op {
                ConfigOp::Set(v) => configs.insert(k.clone(), v.trim().to_string()),
                _ => configs.remove(k),
            };
        }
        self.propose(MetadataCommand::SetBrokerConfigs {
            broker: id,
            configs,
        })
        .await?;
        info!(broker = id, ?changes, "changed dynamic broker configs");
        Ok(())
    }

    /// `follower.replication.throttled.rate` of this broker, in bytes/s.
    pub fn follower_throttle_rate(&self) -> i64 {
        self.with_image(|i| {
            i.broker_config(self.node_id, FOLLOWER_RATE)
                .and_then(|v| v.parse().ok())
                .unwrap_or(UNLIMITED)
        })
    }
}
