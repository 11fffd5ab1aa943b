//! What a metadata command must be before the quorum's leader appends it,
//! whoever proposed it: the same rules as the Kafka API that makes the
//! command (topic names, config values, replica lists), checked again on the
//! leader so a forwarded command, or one written by hand to the controller
//! port, cannot put into the log what no API call could.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::topic as topic_config;
use crate::metadata::{BrokerRegistration, MetadataCommand, PartitionMeta, TopicMeta};
use crate::new_topic::validate_topic_name;

/// Most producer ids one request may reserve (Kafka hands out blocks of 1,000).
const MAX_PRODUCER_ID_BLOCK: i64 = 1_000_000;

fn topic_name(name: &str) -> Result<(), String> {
    validate_topic_name(name).map_err(|e| e.message.unwrap_or_default())
}

fn user_name(user: &str) -> Result<(), String> {
    if user.is_empty() || user.len() > 255 || user.chars().any(char::is_control) {
        return Err(format!("{user:?} is not a user name"));
    }
    Ok(())
}

fn topic_configs(configs: &BTreeMap<String, String>) -> Result<(), String> {
    for (k, v) in configs {
        topic_config::validate(k, v)?;
    }
    Ok(())
}

fn replica_list(what: &str, replicas: &[i32]) -> Result<(), String> {
    if replicas.is_empty() {
        return Err(format!("{what}: no replicas"));
    }
    if let Some(id) = replicas.iter().find(|id| **id < 0) {
        return Err(format!("{what}: broker id {id} is negative"));
    }
    let unique: BTreeSet<&i32> = replicas.iter().collect();
    if unique.len() != replicas.len() {
        return Err(format!("{what}: a broker appears twice in {replicas:?}"));
    }
    Ok(())
}

fn partition(what: &str, p: &PartitionMeta) -> Result<(), String> {
    replica_list(what, &p.replicas)?;
    if p.leader != -1 && !p.replicas.contains(&p.leader) {
        return Err(format!(
            "{what}: leader {} is not among replicas {:?}",
            p.leader, p.replicas
        ));
    }
    if let Some(id) = p.isr.iter().find(|id| !p.replicas.contains(id)) {
        return Err(format!(
            "{what}: in-sync replica {id} is not among replicas {:?}",
            p.replicas
        ));
    }
    if p.leader_epoch < 0 || p.partition_epoch < 0 {
        return Err(format!("{what}: negative epoch"));
    }
    Ok(())
}

fn registration(b: &BrokerRegistration) -> Result<(), String> {
    if b.id < 0 {
        return Err(format!("broker id {} is negative", b.id));
    }
    if b.host.is_empty() || b.host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "broker {}: host {:?} is not a host name",
            b.id, b.host
        ));
    }
    if !(1..=65_535).contains(&b.port) {
        return Err(format!("broker {}: port {} is out of range", b.id, b.port));
    }
    Ok(())
}

impl MetadataCommand {
    /// Checks the command on its own; what depends on the image (does the
    /// topic exist, is the ISR change stale) is decided when it is applied.
    ///
    /// # Errors
    /// Why the command cannot be appended, as a sentence.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            MetadataCommand::CreateTopic { name, topic } => new_topic(name, topic),
            MetadataCommand::CreateTopics { topics } => {
                if topics.is_empty() {
                    return Err("no topics to create".into());
                }
                let mut seen = std::collections::HashSet::new();
                for (name, topic) in topics {
                    if !seen.insert(name) {
                        return Err(format!("topic {name} named twice"));
                    }
                    new_topic(name, topic)?;
                }
                Ok(())
            }
            MetadataCommand::DeleteTopic { name } => topic_name(name),
            MetadataCommand::AddPartitions { name, partitions } => {
                topic_name(name)?;
                if partitions.is_empty() {
                    return Err(format!("topic {name}: no partitions to add"));
                }
                partitions
                    .iter()
                    .try_for_each(|p| partition(&format!("a new partition of {name}"), p))
            }
            MetadataCommand::SetTopicConfigs { name, configs } => {
                topic_name(name)?;
                topic_configs(configs)
            }
            MetadataCommand::AllocateProducerIds { count, .. } => {
                if (1..=MAX_PRODUCER_ID_BLOCK).contains(count) {
                    Ok(())
                } else {
                    Err(format!(
                        "{count} producer ids: a block is 1 to {MAX_PRODUCER_ID_BLOCK}"
                    ))
                }
            }
            MetadataCommand::ControllerElected { id, .. }
            | MetadataCommand::FenceBroker(id)
            | MetadataCommand::UnfenceBroker(id)
            | MetadataCommand::ShutdownBroker(id) => {
                if *id < 0 {
                    Err(format!("broker id {id} is negative"))
                } else {
                    Ok(())
                }
            }
            MetadataCommand::RegisterBroker(b) => registration(b),
            MetadataCommand::SetClusterId(id) => {
                if id.is_empty()
                    || id.len() > 64
                    || !id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    Err(format!("{id:?} is not a cluster id"))
                } else {
                    Ok(())
                }
            }
            MetadataCommand::AlterPartition {
                topic,
                partition,
                leader,
                isr,
                ..
            } => {
                topic_name(topic)?;
                replica_list(&format!("{topic}-{partition} ISR"), isr)?;
                if !isr.contains(leader) {
                    return Err(format!(
                        "{topic}-{partition}: the ISR {isr:?} must hold its leader {leader}"
                    ));
                }
                Ok(())
            }
            MetadataCommand::ElectPreferred { topic, .. }
            | MetadataCommand::ElectUnclean { topic, .. } => topic_name(topic),
            MetadataCommand::SetBrokerConfigs { broker, configs } => {
                if *broker < -1 {
                    return Err(format!("broker id {broker} is not a broker or -1"));
                }
                configs.iter().try_for_each(|(k, v)| {
                    crate::config::dynamic::validate(k, v)
                        .map_err(|e| e.message.unwrap_or_default())
                })
            }
            MetadataCommand::SetGroupConfigs { group, configs } => {
                if group.is_empty() {
                    return Err("a group config needs a group name".into());
                }
                configs
                    .keys()
                    .find(|k| !crate::config::group::NAMES.contains(&k.as_str()))
                    .map_or(Ok(()), |k| Err(format!("unknown group config {k}")))
            }
            MetadataCommand::UpsertScramCredential {
                user,
                mechanism,
                credential,
            } => {
                user_name(user)?;
                if !(kfk_sasl::scram::MIN_ITERATIONS..=kfk_sasl::scram::MAX_ITERATIONS)
                    .contains(&credential.iterations)
                {
                    return Err(format!(
                        "{} iterations: SCRAM takes {} to {}",
                        credential.iterations,
                        kfk_sasl::scram::MIN_ITERATIONS,
                        kfk_sasl::scram::MAX_ITERATIONS
                    ));
                }
                let len = mechanism.key_len();
                if credential.salt.is_empty()
                    || credential.stored_key.len() != len
                    || credential.server_key.len() != len
                {
                    return Err(format!("a malformed {} credential", mechanism.name()));
                }
                Ok(())
            }
            MetadataCommand::DeleteScramCredential { user, .. } => user_name(user),
            MetadataCommand::AlterClientQuotas(changes) => {
                for c in changes {
                    if c.entity.user.is_none() && c.entity.client_id.is_none() {
                        return Err("a quota entity names a user or a client id".into());
                    }
                    if !crate::client_quota::KEYS.contains(&c.key.as_str()) {
                        return Err(format!("{} is not a quota kfkd enforces", c.key));
                    }
                    if c.value.is_some_and(|v| !v.is_finite() || v < 0.0) {
                        return Err(format!("{} must be a non-negative number", c.key));
                    }
                }
                Ok(())
            }
            MetadataCommand::CreateAcls(list) | MetadataCommand::DeleteAcls(list) => {
                for acl in list {
                    if let Some(why) = acl.invalid() {
                        return Err(format!("ACL {acl:?}: {why}"));
                    }
                }
                Ok(())
            }
            MetadataCommand::Reassign {
                topic,
                partition,
                target,
            } => {
                topic_name(topic)?;
                match target {
                    Some(t) => replica_list(&format!("{topic}-{partition} target"), t),
                    None => Ok(()),
                }
            }
        }
    }
}

fn new_topic(name: &str, topic: &TopicMeta) -> Result<(), String> {
    topic_name(name)?;
    if topic.partitions.is_empty() {
        return Err(format!("topic {name}: no partitions"));
    }
    for (i, p) in topic.partitions.iter().enumerate() {
        partition(&format!("{name}-{i}"), p)?;
    }
    topic_configs(&topic.configs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_no_api_would_make_are_refused() {
        let bad_config = MetadataCommand::SetTopicConfigs {
            name: "orders".into(),
            configs: BTreeMap::from([("retention.ms".into(), "abc".into())]),
        };
        assert!(bad_config.validate().unwrap_err().contains("retention.ms"));
        let good = MetadataCommand::SetTopicConfigs {
            name: "orders".into(),
            configs: BTreeMap::from([("retention.ms".into(), "1000".into())]),
        };
        assert_eq!(good.validate(), Ok(()));
        let bad_name = MetadataCommand::DeleteTopic { name: "a/b".into() };
        assert!(bad_name.validate().is_err());
        let twice = MetadataCommand::Reassign {
            topic: "t".into(),
            partition: 0,
            target: Some(vec![1, 1]),
        };
        assert!(twice.validate().is_err());
        let leaderless_isr = MetadataCommand::AlterPartition {
            topic: "t".into(),
            partition: 0,
            leader: 3,
            leader_epoch: 0,
            partition_epoch: 0,
            isr: vec![1, 2],
        };
        assert!(leaderless_isr.validate().is_err());
        let ids = MetadataCommand::AllocateProducerIds {
            count: i64::MAX,
            broker: 1,
        };
        assert!(ids.validate().is_err());
    }
}
