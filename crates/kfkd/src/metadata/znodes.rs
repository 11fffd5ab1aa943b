//! The ZooKeeper view of the metadata log: for each path Kafka kept in
//! ZooKeeper (`/brokers/topics/T`, `/brokers/ids/N`, `/controller`,
//! `/config/topics/T`, ...), when it was created and last changed, as log
//! offsets (ZooKeeper's zxids) and record times, and how often it and its
//! children changed. `kfk zk-shell stat` prints it; nothing else reads it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{CommandResult, MetadataCommand, MetadataImage};

/// ZooKeeper's `Stat` of one node, from the metadata log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Znode {
    pub czxid: u64,
    pub ctime: i64,
    pub mzxid: u64,
    pub mtime: i64,
    /// Last change to the node's children.
    pub pzxid: u64,
    /// Changes to the node's children.
    pub cversion: i32,
    /// Changes to the node's data.
    pub version: i32,
    /// For nodes that live as long as a broker run (ZooKeeper's ephemeral
    /// nodes): that run's broker epoch, or the controller's epoch.
    pub ephemeral_owner: i64,
}

/// Every tracked node by path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Znodes {
    nodes: BTreeMap<String, Znode>,
}

/// Where in the log and when a change happened.
#[derive(Debug, Clone, Copy)]
pub struct At {
    pub zxid: u64,
    pub ms: i64,
}

fn parent(path: &str) -> Option<&str> {
    match path.rsplit_once('/') {
        Some(("", _)) if path.len() > 1 => Some("/"),
        Some((p, _)) if !p.is_empty() => Some(p),
        _ => None,
    }
}

impl Znodes {
    pub fn get(&self, path: &str) -> Option<&Znode> {
        self.nodes.get(path)
    }

    fn child_changed(&mut self, path: &str, at: At) {
        if let Some(p) = parent(path) {
            // ZooKeeper's root predates everything: zxid 0, time 0.
            let born = if p == "/" { At { zxid: 0, ms: 0 } } else { at };
            let node = self.nodes.entry(p.to_string()).or_insert(Znode {
                czxid: born.zxid,
                ctime: born.ms,
                mzxid: born.zxid,
                mtime: born.ms,
                ..Znode::default()
            });
            node.pzxid = at.zxid;
            node.cversion += 1;
        }
    }

    /// A topic's nodes, as Kafka's ZooKeeper held them.
    fn create_topic(&mut self, name: &str, partitions: usize, at: At) {
        self.create(&format!("/brokers/topics/{name}"), at, 0);
        self.create(&format!("/config/topics/{name}"), at, 0);
        for p in 0..partitions {
            self.create(
                &format!("/brokers/topics/{name}/partitions/{p}/state"),
                at,
                0,
            );
        }
    }

    /// Creates (or re-creates, as an ephemeral node is) `path`.
    fn create(&mut self, path: &str, at: At, owner: i64) {
        self.nodes.insert(
            path.to_string(),
            Znode {
                czxid: at.zxid,
                ctime: at.ms,
                mzxid: at.zxid,
                mtime: at.ms,
                pzxid: at.zxid,
                ephemeral_owner: owner,
                ..Znode::default()
            },
        );
        self.child_changed(path, at);
    }

    /// A change to `path`'s data (created first if it was never seen).
    fn modify(&mut self, path: &str, at: At) {
        match self.nodes.get_mut(path) {
            Some(n) => {
                n.mzxid = at.zxid;
                n.mtime = at.ms;
                n.version += 1;
            }
            None => self.create(path, at, 0),
        }
    }

    /// Removes `path` and everything below it.
    fn delete(&mut self, path: &str, at: At) {
        let below = format!("{path}/");
        self.nodes
            .retain(|p, _| p != path && !p.starts_with(&below));
        self.child_changed(path, at);
    }

    /// Records what a command that was just applied did to the tree.
    pub fn record(
        &mut self,
        cmd: &MetadataCommand,
        result: &CommandResult,
        at: At,
        image: &MetadataImage,
    ) {
        if !matches!(
            result,
            CommandResult::Done | CommandResult::ProducerIds { .. } | CommandResult::Created { .. }
        ) {
            return;
        }
        let state = |t: &str, p: i32| format!("/brokers/topics/{t}/partitions/{p}/state");
        match cmd {
            MetadataCommand::CreateTopic { name, topic } => {
                self.create_topic(name, topic.partitions.len(), at);
            }
            MetadataCommand::CreateTopics { topics } => {
                let existed: &[String] = match result {
                    CommandResult::Created { existed } => existed,
                    _ => &[],
                };
                for (name, topic) in topics.iter().filter(|(n, _)| !existed.contains(n)) {
                    self.create_topic(name, topic.partitions.len(), at);
                }
            }
            MetadataCommand::DeleteTopic { name } => {
                self.delete(&format!("/brokers/topics/{name}"), at);
                self.delete(&format!("/config/topics/{name}"), at);
            }
            MetadataCommand::AddPartitions { name, partitions } => {
                self.modify(&format!("/brokers/topics/{name}"), at);
                let total = image.topics.get(name).map_or(0, |t| t.partitions.len());
                for p in total - partitions.len().min(total)..total {
                    self.create(&state(name, p as i32), at, 0);
                }
            }
            MetadataCommand::SetTopicConfigs { name, .. } => {
                self.modify(&format!("/config/topics/{name}"), at);
            }
            MetadataCommand::UpsertScramCredential { user, .. } => {
                let path = format!("/config/users/{user}");
                if self.get(&path).is_none() {
                    self.create(&path, at, 0);
                } else {
                    self.modify(&path, at);
                }
            }
            MetadataCommand::DeleteScramCredential { user, .. } => {
                let path = format!("/config/users/{user}");
                if image.scram.contains_key(user) {
                    self.modify(&path, at);
                } else {
                    self.delete(&path, at);
                }
            }
            MetadataCommand::AlterClientQuotas(changes) => {
                for c in changes {
                    let path = format!("/config/{}", c.entity.path());
                    let left = image.client_quotas.get(&c.entity).is_some();
                    match (self.get(&path).is_some(), left) {
                        (false, true) => self.create(&path, at, 0),
                        (true, true) => self.modify(&path, at),
                        (true, false) => self.delete(&path, at),
                        (false, false) => {}
                    }
                }
            }
            MetadataCommand::CreateAcls(list) | MetadataCommand::DeleteAcls(list) => {
                for acl in list {
                    let path = acl_path(acl);
                    let left = image.acls.iter().any(|a| acl_path(a) == path);
                    match (self.get(&path).is_some(), left) {
                        (false, true) => self.create(&path, at, 0),
                        (true, true) => self.modify(&path, at),
                        (true, false) => self.delete(&path, at),
                        (false, false) => {}
                    }
                }
            }
            MetadataCommand::SetBrokerConfigs { broker, .. } => {
                let who = if *broker < 0 {
                    "<default>".to_string()
                } else {
                    broker.to_string()
                };
                self.modify(&format!("/config/brokers/{who}"), at);
            }
            MetadataCommand::RegisterBroker(b) => {
                let epoch = image.brokers.get(&b.id).map_or(0, |r| r.epoch);
                self.create(&format!("/brokers/ids/{}", b.id), at, epoch);
            }
            MetadataCommand::UnfenceBroker(id) => {
                let path = format!("/brokers/ids/{id}");
                if self.get(&path).is_none() && image.live_broker_ids().contains(id) {
                    let epoch = image.brokers.get(id).map_or(0, |r| r.epoch);
                    self.create(&path, at, epoch);
                }
            }
            MetadataCommand::FenceBroker(id) | MetadataCommand::ShutdownBroker(id) => {
                self.delete(&format!("/brokers/ids/{id}"), at);
            }
            MetadataCommand::ControllerElected { id: _, epoch } => {
                self.delete("/controller", at);
                self.create("/controller", at, i64::try_from(*epoch).unwrap_or(i64::MAX));
                self.modify("/controller_epoch", at);
            }
            MetadataCommand::SetClusterId(_) => {
                if self.get("/cluster/id").is_none() {
                    self.create("/cluster/id", at, 0);
                }
            }
            MetadataCommand::AllocateProducerIds { .. } => {
                self.modify("/latest_producer_id_block", at);
            }
            // ZooKeeper never held group configs: no znode to stamp.
            MetadataCommand::SetGroupConfigs { .. } => {}
            MetadataCommand::Reassign {
                topic, partition, ..
            } => {
                self.modify(&format!("/brokers/topics/{topic}"), at);
                self.modify(&state(topic, *partition), at);
            }
            MetadataCommand::AlterPartition {
                topic, partition, ..
            }
            | MetadataCommand::ElectPreferred { topic, partition }
            | MetadataCommand::ElectUnclean { topic, partition } => {
                self.modify(&state(topic, *partition), at);
            }
        }
    }
}

/// Where ZooKeeper kept a resource's ACLs: `/kafka-acl/Topic/orders` for
/// LITERAL patterns, `/kafka-acl-extended/prefixed/Topic/ord` for PREFIXED.
pub fn acl_path(acl: &kfk_acl::AclBinding) -> String {
    match acl.pattern_type {
        kfk_acl::PatternType::Prefixed => format!(
            "/kafka-acl-extended/prefixed/{}/{}",
            acl.resource_type, acl.resource_name
        ),
        _ => format!("/kafka-acl/{}/{}", acl.resource_type, acl.resource_name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_count_their_childrens_changes() {
        let mut z = Znodes::default();
        z.create("/brokers/ids/1", At { zxid: 5, ms: 50 }, 1);
        z.create("/brokers/ids/2", At { zxid: 6, ms: 60 }, 1);
        z.delete("/brokers/ids/1", At { zxid: 9, ms: 90 });
        let ids = z.get("/brokers/ids").unwrap();
        assert_eq!((ids.czxid, ids.pzxid, ids.cversion), (5, 9, 3));
        assert!(z.get("/brokers/ids/1").is_none());
        z.modify("/brokers/ids/2", At { zxid: 10, ms: 100 });
        let two = z.get("/brokers/ids/2").unwrap();
        assert_eq!(
            (two.czxid, two.mzxid, two.mtime, two.version),
            (6, 10, 100, 1)
        );
        assert_eq!(parent("/controller"), Some("/"));
        assert_eq!(parent("/"), None);
    }
}
