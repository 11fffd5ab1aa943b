//! Commands of the metadata state machine and how they change the image.
//!
//! Commands are validated by the controller before they are proposed; applying
//! them is deterministic and cannot fail, so every replica reaches the same
//! image from the same log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metadata::{BrokerRegistration, MetadataImage, PartitionMeta, TopicMeta};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetadataCommand {
    CreateTopic {
        name: String,
        topic: TopicMeta,
    },
    DeleteTopic {
        name: String,
    },
    AddPartitions {
        name: String,
        partitions: Vec<PartitionMeta>,
    },
    SetTopicConfigs {
        name: String,
        configs: BTreeMap<String, String>,
    },
    /// Reserves `count` producer ids; the result carries the first.
    AllocateProducerIds {
        count: i64,
    },
    /// A broker announces (or updates) the endpoint clients use.
    RegisterBroker(BrokerRegistration),
    /// Proposes the cluster id; the first proposal wins.
    SetClusterId(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandResult {
    #[default]
    Done,
    /// A command that named a topic the image does not have.
    NoSuchTopic,
    TopicExists,
    ProducerIds {
        first: i64,
    },
}

impl MetadataImage {
    /// Applies one committed command.
    pub fn apply(&mut self, cmd: &MetadataCommand) -> CommandResult {
        match cmd {
            MetadataCommand::CreateTopic { name, topic } => {
                if self.topics.contains_key(name) {
                    return CommandResult::TopicExists;
                }
                self.topics.insert(name.clone(), topic.clone());
                CommandResult::Done
            }
            MetadataCommand::DeleteTopic { name } => match self.topics.remove(name) {
                Some(_) => CommandResult::Done,
                None => CommandResult::NoSuchTopic,
            },
            MetadataCommand::AddPartitions { name, partitions } => {
                match self.topics.get_mut(name) {
                    Some(t) => {
                        t.partitions.extend(partitions.iter().cloned());
                        CommandResult::Done
                    }
                    None => CommandResult::NoSuchTopic,
                }
            }
            MetadataCommand::SetTopicConfigs { name, configs } => match self.topics.get_mut(name) {
                Some(t) => {
                    t.configs = configs.clone();
                    CommandResult::Done
                }
                None => CommandResult::NoSuchTopic,
            },
            MetadataCommand::SetClusterId(id) => {
                self.cluster_id.get_or_insert_with(|| id.clone());
                CommandResult::Done
            }
            MetadataCommand::RegisterBroker(b) => {
                self.brokers.insert(b.id, b.clone());
                CommandResult::Done
            }
            MetadataCommand::AllocateProducerIds { count } => {
                let first = self.next_producer_id;
                self.next_producer_id += (*count).max(1);
                CommandResult::ProducerIds { first }
            }
        }
    }
}
