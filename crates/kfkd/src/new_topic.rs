//! What a new topic must be before it is proposed: a name Kafka accepts,
//! and the request's counts and configs after defaults.

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;

use crate::error::ApiError;

/// Kafka's rule: `[a-zA-Z0-9._-]{1,249}`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), ApiError> {
    let invalid = |why: String| Err(ApiError::new(ResponseError::InvalidTopicException, why));
    if name.is_empty() {
        return invalid("topic name is empty".into());
    }
    if name == "." || name == ".." {
        return invalid(format!("topic name cannot be {name:?}"));
    }
    if name.len() > 249 {
        return invalid(format!(
            "topic name is {} characters long; the limit is 249",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return invalid(format!(
            "topic name {name:?} contains {c:?}; only ASCII letters, digits, '.', '_' and '-' are allowed"
        ));
    }
    Ok(())
}

/// What a CreateTopics entry asks for, after defaults.
#[derive(Debug, Clone)]
pub struct NewTopic {
    pub name: String,
    pub num_partitions: i32,
    pub replication_factor: i32,
    /// Explicit replica assignment per partition, when given.
    pub assignments: Vec<Vec<i32>>,
    pub configs: BTreeMap<String, String>,
}
