//! Commands of the metadata state machine and how they change the image.
//!
//! Commands are validated by the controller before they are proposed; applying
//! them is deterministic and cannot fail, so every replica reaches the same
//! image from the same log.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::metadata::{
    BrokerRegistration, ControllerRecord, MetadataImage, PartitionMeta, ProducerIdBlock, TopicMeta,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetadataCommand {
    /// One topic. No longer proposed (CreateTopics carries every creation
    /// now) but still applied from metadata logs written before.
    CreateTopic {
        name: String,
        topic: TopicMeta,
    },
    /// The topics of one CreateTopics request, committed as one entry: one
    /// round through the quorum and one image change for all of them.
    CreateTopics {
        topics: Vec<(String, TopicMeta)>,
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
    /// Reserves `count` producer ids for `broker`; the result carries the
    /// first.
    AllocateProducerIds {
        count: i64,
        /// -1 in logs written before the broker was recorded.
        #[serde(default = "no_broker")]
        broker: i32,
    },
    /// A node became the active controller (the quorum's leader) in
    /// `epoch` (its Raft term), as ZooKeeper's `/controller` recorded.
    ControllerElected {
        id: i32,
        epoch: u64,
    },
    /// A broker announces (or updates) the endpoint clients use.
    RegisterBroker(BrokerRegistration),
    /// Proposes the cluster id; the first proposal wins.
    SetClusterId(String),
    /// The controller stopped hearing from a broker.
    FenceBroker(i32),
    /// A fenced broker is heartbeating again.
    UnfenceBroker(i32),
    /// Controlled shutdown: the broker gives up its leaderships and ISR
    /// memberships before it exits, and stays fenced until it registers again.
    ShutdownBroker(i32),
    /// A partition leader changes the ISR (shrink a lagging follower, add one
    /// that caught up). Refused as stale unless `leader`, `leader_epoch` and
    /// `partition_epoch` still match the image.
    AlterPartition {
        topic: String,
        partition: i32,
        leader: i32,
        leader_epoch: i32,
        partition_epoch: i32,
        isr: Vec<i32>,
    },
    /// Gives leadership back to the partition's first replica when it is live
    /// and in sync (preferred leader election).
    ElectPreferred {
        topic: String,
        partition: i32,
    },
    /// Replaces the dynamic configs of a broker (-1: the cluster default).
    SetBrokerConfigs {
        broker: i32,
        configs: BTreeMap<String, String>,
    },
    /// Replaces the configs of a consumer group (none: back to defaults).
    SetGroupConfigs {
        group: String,
        configs: BTreeMap<String, String>,
    },
    /// An operator's unclean election: an offline partition is led by its
    /// first live replica, which becomes the whole ISR.
    ElectUnclean {
        topic: String,
        partition: i32,
    },
    /// Starts moving a partition to `target` replicas, or cancels the move in
    /// flight (`None`), as AlterPartitionReassignments asks.
    Reassign {
        topic: String,
        partition: i32,
        target: Option<Vec<i32>>,
    },
    /// Sets a user's SCRAM credential for one mechanism
    /// (AlterUserScramCredentials).
    UpsertScramCredential {
        user: String,
        mechanism: kfk_sasl::Mechanism,
        credential: kfk_sasl::Credential,
    },
    /// Removes a user's SCRAM credential for one mechanism.
    DeleteScramCredential {
        user: String,
        mechanism: kfk_sasl::Mechanism,
    },
    /// Adds ACLs (CreateAcls); ones already there stay as they are.
    CreateAcls(Vec<kfk_acl::AclBinding>),
    /// Removes ACLs (DeleteAcls, its filters resolved to bindings).
    DeleteAcls(Vec<kfk_acl::AclBinding>),
    /// Sets (`Some`) or removes (`None`) client quotas (AlterClientQuotas).
    AlterClientQuotas(Vec<QuotaChange>),
}

/// One quota key of one entity, set or removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaChange {
    pub entity: crate::client_quota::QuotaEntity,
    pub key: String,
    pub value: Option<f64>,
}

// Values are finite (validation refuses NaN), so equality is reflexive.
impl Eq for QuotaChange {}

fn no_broker() -> i32 {
    -1
}

/// `unclean.leader.election.enable` of a topic (Kafka's default: false).
fn allows_unclean_election(topic: &TopicMeta) -> bool {
    topic
        .configs
        .get("unclean.leader.election.enable")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Picks a new leader for `p` among live brokers: the first in-sync replica,
/// else (unclean) the first live replica, which becomes the whole ISR; else
/// none. Every leadership change starts a new leader epoch.
fn elect(p: &mut PartitionMeta, live: &[i32], unclean: bool) {
    // Replica order decides, as in Kafka: the earliest live in-sync replica.
    let clean = p
        .replicas
        .iter()
        .copied()
        .find(|r| p.isr.contains(r) && live.contains(r));
    let chosen = clean.or_else(|| {
        unclean
            .then(|| p.replicas.iter().copied().find(|r| live.contains(r)))
            .flatten()
    });
    match chosen {
        Some(leader) => {
            if clean.is_none() {
                p.isr = vec![leader];
            }
            if p.leader != leader {
                p.leader = leader;
                p.leader_epoch += 1;
            }
        }
        None => {
            if p.leader >= 0 {
                p.leader = -1;
                p.leader_epoch += 1;
            }
        }
    }
}

/// Finishes a reassignment once every added replica is in sync: the removed
/// replicas leave. As in Kafka, a leader that stays a replica keeps leading
/// (preferred-leader election moves it later); a removed leader hands over to
/// the first in-sync target replica.
fn complete_reassignment(p: &mut PartitionMeta, live: &[i32]) {
    if !p.is_reassigning() || !p.adding_replicas.iter().all(|r| p.isr.contains(r)) {
        return;
    }
    let target = p.target_replicas();
    let isr: Vec<i32> = p
        .isr
        .iter()
        .copied()
        .filter(|r| target.contains(r))
        .collect();
    if isr.is_empty() {
        return;
    }
    p.replicas = target;
    p.isr = isr;
    p.adding_replicas.clear();
    p.removing_replicas.clear();
    if !p.replicas.contains(&p.leader) {
        elect(p, live, false);
    }
    p.partition_epoch += 1;
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandResult {
    #[default]
    Done,
    /// A command that named a topic the image does not have.
    NoSuchTopic,
    TopicExists,
    /// A CreateTopics applied: the topics named here existed already and
    /// were left alone; the others were created.
    Created {
        existed: Vec<String>,
    },
    ProducerIds {
        first: i64,
    },
    /// An AlterPartition based on an outdated view of the partition; carries
    /// nothing because the proposer re-reads its image.
    Stale,
}

impl MetadataImage {
    fn is_fenced(&self, id: i32) -> bool {
        self.brokers.get(&id).is_none_or(|b| b.fenced)
    }

    /// One partition of the image, for a command to change.
    fn partition_mut(&mut self, topic: &str, partition: i32) -> Option<&mut PartitionMeta> {
        let index = usize::try_from(partition).ok()?;
        let topic = self.topics.get_mut(topic)?;
        if index >= topic.partitions.len() {
            return None;
        }
        Arc::make_mut(topic).partitions.get_mut(index)
    }

    /// Takes a broker out of service: it leaves every ISR (but the last member
    /// of an ISR stays, as in Kafka, so the partition can come back with it)
    /// and its leaderships move to another in-sync, unfenced replica; failing
    /// that to any live replica when the topic allows unclean election; else
    /// the partition goes offline (leader -1).
    fn fence(&mut self, id: i32) {
        if let Some(b) = self.brokers.get_mut(&id) {
            b.fenced = true;
        }
        let live = self.live_broker_ids();
        for topic in self.topics.values_mut() {
            // Topics it touches are copied from the shared image; the others
            // stay shared.
            if !topic
                .partitions
                .iter()
                .any(|p| p.leader == id || (p.isr.len() > 1 && p.isr.contains(&id)))
            {
                continue;
            }
            let topic = Arc::make_mut(topic);
            let unclean = allows_unclean_election(topic);
            for p in &mut topic.partitions {
                let mut changed = false;
                if p.isr.len() > 1 && p.isr.contains(&id) {
                    p.isr.retain(|r| *r != id);
                    changed = true;
                }
                if p.leader == id {
                    elect(p, &live, unclean);
                    changed = true;
                }
                if changed {
                    p.partition_epoch += 1;
                }
            }
        }
    }

    /// Puts a broker back in service: partitions without a leader whose ISR
    /// holds it are led by it again (or, with unclean election allowed, any
    /// offline partition it is a replica of).
    fn unfence(&mut self, id: i32) {
        if let Some(b) = self.brokers.get_mut(&id) {
            b.fenced = false;
        }
        let live = self.live_broker_ids();
        for topic in self.topics.values_mut() {
            if !topic
                .partitions
                .iter()
                .any(|p| p.leader < 0 && p.replicas.contains(&id))
            {
                continue;
            }
            let topic = Arc::make_mut(topic);
            let unclean = allows_unclean_election(topic);
            for p in &mut topic.partitions {
                if p.leader < 0 && p.replicas.contains(&id) {
                    elect(p, &live, unclean);
                    if p.leader >= 0 {
                        p.partition_epoch += 1;
                    }
                }
            }
        }
    }

    /// Applies an ISR change from a partition leader, if its view is current.
    fn alter_partition(
        &mut self,
        topic: &str,
        partition: i32,
        leader: i32,
        leader_epoch: i32,
        partition_epoch: i32,
        isr: &[i32],
    ) -> CommandResult {
        let live = self.live_broker_ids();
        let Some(p) = self.partition_mut(topic, partition) else {
            return CommandResult::NoSuchTopic;
        };
        let current = p.leader == leader
            && p.leader_epoch == leader_epoch
            && p.partition_epoch == partition_epoch;
        // The leader stays in its ISR; new members must be live replicas.
        let valid = isr.contains(&leader)
            && isr
                .iter()
                .all(|r| p.replicas.contains(r) && (p.isr.contains(r) || live.contains(r)));
        if !current || !valid {
            return CommandResult::Stale;
        }
        p.isr = isr.to_vec();
        p.partition_epoch += 1;
        complete_reassignment(p, &live);
        CommandResult::Done
    }

    fn elect_preferred(&mut self, topic: &str, partition: i32) -> CommandResult {
        let live = self.live_broker_ids();
        let Some(p) = self.partition_mut(topic, partition) else {
            return CommandResult::NoSuchTopic;
        };
        match p.replicas.first().copied() {
            Some(first) if p.leader != first && p.isr.contains(&first) && live.contains(&first) => {
                p.leader = first;
                p.leader_epoch += 1;
                p.partition_epoch += 1;
                CommandResult::Done
            }
            _ => CommandResult::Stale,
        }
    }

    fn reassign(&mut self, topic: &str, partition: i32, target: Option<&[i32]>) -> CommandResult {
        let live = self.live_broker_ids();
        let Some(p) = self.partition_mut(topic, partition) else {
            return CommandResult::NoSuchTopic;
        };
        let original: Vec<i32> = p
            .replicas
            .iter()
            .copied()
            .filter(|r| !p.adding_replicas.contains(r))
            .collect();
        match target {
            None => {
                p.replicas = original;
                p.adding_replicas.clear();
                p.removing_replicas.clear();
                p.isr.retain(|r| p.replicas.contains(r));
                if !p.replicas.contains(&p.leader) || p.isr.is_empty() {
                    if p.isr.is_empty() && p.leader >= 0 && p.replicas.contains(&p.leader) {
                        p.isr = vec![p.leader];
                    } else {
                        elect(p, &live, false);
                    }
                }
            }
            Some(target) => {
                let mut replicas = target.to_vec();
                replicas.extend(original.iter().filter(|r| !target.contains(r)));
                p.adding_replicas = target
                    .iter()
                    .copied()
                    .filter(|r| !original.contains(r))
                    .collect();
                p.removing_replicas = original
                    .iter()
                    .copied()
                    .filter(|r| !target.contains(r))
                    .collect();
                p.replicas = replicas;
            }
        }
        p.partition_epoch += 1;
        complete_reassignment(p, &live);
        CommandResult::Done
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
                self.topics.insert(name.clone(), Arc::new(topic.clone()));
                CommandResult::Done
            }
            MetadataCommand::CreateTopics { topics } => {
                let mut existed = Vec::new();
                for (name, topic) in topics {
                    if self.topics.contains_key(name) {
                        existed.push(name.clone());
                    } else {
                        self.topics.insert(name.clone(), Arc::new(topic.clone()));
                    }
                }
                CommandResult::Created { existed }
            }
            MetadataCommand::DeleteTopic { name } => match self.topics.remove(name) {
                Some(_) => CommandResult::Done,
                None => CommandResult::NoSuchTopic,
            },
            MetadataCommand::AddPartitions { name, partitions } => {
                match self.topics.get_mut(name).map(Arc::make_mut) {
                    Some(t) => {
                        t.partitions.extend(partitions.iter().cloned());
                        CommandResult::Done
                    }
                    None => CommandResult::NoSuchTopic,
                }
            }
            MetadataCommand::SetTopicConfigs { name, configs } => {
                match self.topics.get_mut(name).map(Arc::make_mut) {
                    Some(t) => {
                        t.configs = configs.clone();
                        CommandResult::Done
                    }
                    None => CommandResult::NoSuchTopic,
                }
            }
            MetadataCommand::SetClusterId(id) => {
                self.cluster_id.get_or_insert_with(|| id.clone());
                CommandResult::Done
            }
            MetadataCommand::RegisterBroker(b) => {
                let epoch = self.brokers.get(&b.id).map_or(0, |old| old.epoch) + 1;
                self.brokers
                    .insert(b.id, BrokerRegistration { epoch, ..b.clone() });
                self.unfence(b.id);
                CommandResult::Done
            }
            MetadataCommand::FenceBroker(id) => {
                self.fence(*id);
                CommandResult::Done
            }
            MetadataCommand::UnfenceBroker(id) => {
                if self.brokers.get(id).is_some_and(|b| !b.stopped) {
                    self.unfence(*id);
                }
                CommandResult::Done
            }
            MetadataCommand::ShutdownBroker(id) => {
                if let Some(b) = self.brokers.get_mut(id) {
                    b.stopped = true;
                }
                self.fence(*id);
                CommandResult::Done
            }
            MetadataCommand::AlterPartition {
                topic,
                partition,
                leader,
                leader_epoch,
                partition_epoch,
                isr,
            } => self.alter_partition(
                topic,
                *partition,
                *leader,
                *leader_epoch,
                *partition_epoch,
                isr,
            ),
            MetadataCommand::Reassign {
                topic,
                partition,
                target,
            } => self.reassign(topic, *partition, target.as_deref()),
            MetadataCommand::ElectPreferred { topic, partition } => {
                self.elect_preferred(topic, *partition)
            }
            MetadataCommand::UpsertScramCredential {
                user,
                mechanism,
                credential,
            } => {
                self.scram
                    .entry(user.clone())
                    .or_default()
                    .insert(*mechanism, credential.clone());
                CommandResult::Done
            }
            MetadataCommand::DeleteScramCredential { user, mechanism } => {
                if let Some(creds) = self.scram.get_mut(user) {
                    creds.remove(mechanism);
                    if creds.is_empty() {
                        self.scram.remove(user);
                    }
                }
                CommandResult::Done
            }
            MetadataCommand::CreateAcls(list) => {
                for acl in list {
                    self.acls.add(acl.clone());
                }
                CommandResult::Done
            }
            MetadataCommand::DeleteAcls(list) => {
                for acl in list {
                    self.acls.remove(acl);
                }
                CommandResult::Done
            }
            MetadataCommand::AlterClientQuotas(changes) => {
                for c in changes {
                    self.client_quotas.set(&c.entity, &c.key, c.value);
                }
                CommandResult::Done
            }
            MetadataCommand::SetBrokerConfigs { broker, configs } => {
                if configs.is_empty() {
                    self.broker_configs.remove(broker);
                } else {
                    self.broker_configs.insert(*broker, configs.clone());
                }
                CommandResult::Done
            }
            MetadataCommand::SetGroupConfigs { group, configs } => {
                if configs.is_empty() {
                    self.group_configs.remove(group);
                } else {
                    self.group_configs.insert(group.clone(), configs.clone());
                }
                CommandResult::Done
            }
            MetadataCommand::ElectUnclean { topic, partition } => {
                let live = self.live_broker_ids();
                match self.partition_mut(topic, *partition) {
                    None => CommandResult::NoSuchTopic,
                    Some(p) if p.leader >= 0 => CommandResult::Stale,
                    Some(p) => {
                        elect(p, &live, true);
                        if p.leader < 0 {
                            CommandResult::Stale
                        } else {
                            p.partition_epoch += 1;
                            CommandResult::Done
                        }
                    }
                }
            }
            MetadataCommand::AllocateProducerIds { count, broker } => {
                let first = self.next_producer_id;
                self.next_producer_id += (*count).max(1);
                self.producer_id_block = Some(ProducerIdBlock {
                    broker: *broker,
                    first,
                    last: self.next_producer_id - 1,
                });
                CommandResult::ProducerIds { first }
            }
            MetadataCommand::ControllerElected { id, epoch } => {
                self.controller = Some(ControllerRecord {
                    id: *id,
                    epoch: *epoch,
                });
                CommandResult::Done
            }
        }
    }
}
