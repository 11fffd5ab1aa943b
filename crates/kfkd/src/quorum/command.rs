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
    /// The controller stopped hearing from a broker.
    FenceBroker(i32),
    /// A fenced broker is heartbeating again.
    UnfenceBroker(i32),
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
    fn is_fenced(&self, id: i32) -> bool {
        self.brokers.get(&id).is_none_or(|b| b.fenced)
    }

    /// Takes a broker out of service: it leaves every ISR (but the last member
    /// of an ISR stays, as in Kafka, so the partition can come back with it)
    /// and its leaderships move to another in-sync, unfenced replica, or to -1.
    fn fence(&mut self, id: i32) {
        if let Some(b) = self.brokers.get_mut(&id) {
            b.fenced = true;
        }
        let fenced: Vec<i32> = self
            .brokers
            .values()
            .filter(|b| b.fenced)
            .map(|b| b.id)
            .collect();
        for topic in self.topics.values_mut() {
            for p in &mut topic.partitions {
                if p.isr.len() > 1 {
                    p.isr.retain(|r| *r != id);
                }
                if p.leader == id {
                    p.leader = p
                        .isr
                        .iter()
                        .copied()
                        .find(|r| !fenced.contains(r))
                        .unwrap_or(-1);
                    p.leader_epoch += 1;
                }
            }
        }
    }

    /// Puts a broker back in service: partitions without a leader whose ISR
    /// holds it are led by it again.
    fn unfence(&mut self, id: i32) {
        if let Some(b) = self.brokers.get_mut(&id) {
            b.fenced = false;
        }
        for topic in self.topics.values_mut() {
            for p in &mut topic.partitions {
                if p.leader < 0 && p.isr.contains(&id) {
                    p.leader = id;
                    p.leader_epoch += 1;
                }
            }
        }
    }

    /// Unfenced registered brokers.
    pub fn live_broker_ids(&self) -> Vec<i32> {
        self.brokers
            .keys()
            .copied()
            .filter(|id| !self.is_fenced(*id))
            .collect()
    }

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
                self.unfence(b.id);
                CommandResult::Done
            }
            MetadataCommand::FenceBroker(id) => {
                self.fence(*id);
                CommandResult::Done
            }
            MetadataCommand::UnfenceBroker(id) => {
                self.unfence(*id);
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
