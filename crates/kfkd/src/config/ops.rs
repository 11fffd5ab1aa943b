//! One change to a config as the alter APIs ask it. AlterConfigs only sets
//! (and deletes by leaving a key out); IncrementalAlterConfigs also appends
//! to and subtracts from list-typed configs (`cleanup.policy`, the throttled
//! replica lists), which Kafka resolves against the current value on the
//! controller, as kfkd does under its change lock.

use kafka_protocol::ResponseError;

use crate::error::ApiError;

/// What to do to one config key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOp {
    Set(String),
    Delete,
    /// Adds the comma-separated values not in the list yet, at its end.
    Append(String),
    /// Removes each comma-separated value from the list.
    Subtract(String),
}

impl ConfigOp {
    /// From IncrementalAlterConfigs' operation code (0 set, 1 delete,
    /// 2 append, 3 subtract).
    ///
    /// # Errors
    /// INVALID_REQUEST for a code Kafka does not define.
    pub fn from_code(code: i8, value: Option<&str>) -> Result<ConfigOp, ApiError> {
        let value = || value.unwrap_or_default().to_string();
        Ok(match code {
            0 => ConfigOp::Set(value()),
            1 => ConfigOp::Delete,
            2 => ConfigOp::Append(value()),
            3 => ConfigOp::Subtract(value()),
            other => {
                return Err(ApiError::new(
                    ResponseError::InvalidRequest,
                    format!("unknown config operation {other}"),
                ));
            }
        })
    }

    /// A set or a delete, as AlterConfigs and internal callers phrase them.
    pub fn from_value(value: Option<String>) -> ConfigOp {
        value.map_or(ConfigOp::Delete, ConfigOp::Set)
    }

    /// The value the op sets, before it is applied (`None` for list ops
    /// and deletes): what can be validated without the current value.
    pub fn set_value(&self) -> Option<&str> {
        match self {
            ConfigOp::Set(v) => Some(v),
            _ => None,
        }
    }

    /// The refusal of a list op on `key`, which is not a list (Kafka's
    /// INVALID_CONFIG and wording); `None` for other ops.
    pub fn refuse_list_op(&self, key: &str) -> Option<ApiError> {
        let op = match self {
            ConfigOp::Append(_) => "APPEND",
            ConfigOp::Subtract(_) => "SUBTRACT",
            _ => return None,
        };
        Some(ApiError::new(
            ResponseError::InvalidConfig,
            format!("Can't {op} to key {key} because its type is not LIST."),
        ))
    }

    /// The new value given the current one (the override, else the
    /// default); `None` deletes the override.
    pub fn apply(&self, current: &str) -> Option<String> {
        let parts = || -> Vec<&str> { current.split(',').filter(|p| !p.is_empty()).collect() };
        match self {
            ConfigOp::Set(v) => Some(v.clone()),
            ConfigOp::Delete => None,
            ConfigOp::Append(values) => {
                let mut list = parts();
                for v in values.split(',') {
                    if !list.contains(&v) {
                        list.push(v);
                    }
                }
                Some(list.join(","))
            }
            ConfigOp::Subtract(values) => {
                let mut list = parts();
                for v in values.split(',') {
                    if let Some(i) = list.iter().position(|p| *p == v) {
                        list.remove(i);
                    }
                }
                Some(list.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_ops_work_on_the_current_value_as_kafka_does() {
        let append = ConfigOp::Append("compact".into());
        assert_eq!(append.apply("delete").as_deref(), Some("delete,compact"));
        assert_eq!(append.apply("compact").as_deref(), Some("compact"));
        assert_eq!(append.apply("").as_deref(), Some("compact"));
        let subtract = ConfigOp::Subtract("delete".into());
        assert_eq!(subtract.apply("delete,compact").as_deref(), Some("compact"));
        assert_eq!(subtract.apply("compact").as_deref(), Some("compact"));
        assert_eq!(
            ConfigOp::Append("0:1,1:2".into())
                .apply("1:2,2:3")
                .as_deref(),
            Some("1:2,2:3,0:1")
        );
        assert_eq!(ConfigOp::Delete.apply("x"), None);
        assert!(ConfigOp::Set("x".into()).refuse_list_op("k").is_none());
        let refusal = ConfigOp::Subtract("1".into()).refuse_list_op("retention.ms");
        assert_eq!(
            refusal.and_then(|e| e.message).as_deref(),
            Some("Can't SUBTRACT to key retention.ms because its type is not LIST.")
        );
    }
}
