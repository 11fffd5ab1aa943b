//! Commands of the metadata state machine and how they change the image.
//!
//! Commands are validated by the controller before they are proposed; applying
//! them is deterministic and cannot fail, so every replica reaches the same
//! image from the same log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metadata::{MetadataImage, PartitionMeta, TopicMeta};

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
            MetadataCommand::AllocateProducerIds { count } => {
                let first = self.next_producer_id;
                self.next_producer_id += (*count).max(1);
                CommandResult::ProducerIds { first }
            }
        }
    }
}
