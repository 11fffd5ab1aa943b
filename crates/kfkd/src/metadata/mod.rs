//! The cluster metadata image: topics with their ids, partitions, replicas,
//! leaders and config overrides, and the producer-id counter.
//!
//! The image is the state of the metadata quorum (`crate::quorum`): it changes
//! only by applying committed commands ([`command`]), so every broker holds
//! the same one. The broker's own identity on disk is [`identity`].

pub mod command;
pub mod identity;
pub mod record;
mod validate;
pub mod znodes;

pub use command::{CommandResult, MetadataCommand, QuotaChange};
pub use identity::MetadataStore;
pub use record::MetadataRecord;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One partition's placement and leadership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionMeta {
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// -1 when offline.
    pub leader: i32,
    pub leader_epoch: i32,
    /// Bumped on every change to the partition (ISR, leader, replicas), so a
    /// leader's AlterPartition based on a stale view is refused.
    #[serde(default)]
    pub partition_epoch: i32,
    /// A reassignment in flight: replicas being added (they catch up, then
    /// join the ISR) and replicas to drop once every added one is in sync.
    /// `replicas` holds both sets until then.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adding_replicas: Vec<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removing_replicas: Vec<i32>,
}

impl PartitionMeta {
    /// Whether a reassignment is in flight.
    pub fn is_reassigning(&self) -> bool {
        !self.adding_replicas.is_empty() || !self.removing_replicas.is_empty()
    }

    /// The replica set a reassignment in flight leads to (else the current one).
    pub fn target_replicas(&self) -> Vec<i32> {
        self.replicas
            .iter()
            .copied()
            .filter(|r| !self.removing_replicas.contains(r))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicMeta {
    pub id: Uuid,
    pub partitions: Vec<PartitionMeta>,
    /// Topic-level config overrides.
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
}

/// A broker as clients reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistration {
    pub id: i32,
    pub host: String,
    pub port: i32,
    #[serde(default)]
    pub rack: Option<String>,
    /// Set by the controller when the broker stops heartbeating: it leads
    /// nothing and is left out of metadata until it comes back.
    #[serde(default)]
    pub fenced: bool,
    /// Set by a controlled shutdown: the broker stays fenced, whatever its last
    /// heartbeats said, until it registers again.
    #[serde(default)]
    pub stopped: bool,
    /// Bumped each time the broker registers (every start), so a registration
    /// tells one run of the broker from the next, as Kafka's broker epoch does.
    #[serde(default)]
    pub epoch: i64,
    /// Partition replicas the broker can hold (its `max.broker.partitions`);
    /// `None`: not said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_capacity: Option<u64>,
    /// Every listener's advertised `host:port` by name; `host`/`port` above
    /// are the inter-broker listener's. Empty in registrations written
    /// before named listeners: then `host:port` serves every listener.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub endpoints: BTreeMap<String, String>,
}

impl BrokerRegistration {
    /// Where a client that came in on `listener` reaches this broker;
    /// `None` when the broker has no such listener (Kafka leaves it out).
    pub fn endpoint(&self, listener: &str) -> Option<(String, i32)> {
        if self.endpoints.is_empty() {
            return Some((self.host.clone(), self.port));
        }
        let addr = self.endpoints.get(listener)?;
        let (host, port) = addr.rsplit_once(':')?;
        Some((
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port.parse().ok()?,
        ))
    }
}

/// Everything the cluster agrees on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataImage {
    /// The cluster's id, set once by the first broker that asks.
    #[serde(default)]
    pub cluster_id: Option<String>,
    /// Brokers that registered, by id.
    #[serde(default)]
    pub brokers: BTreeMap<i32, BrokerRegistration>,
    /// Shared with earlier images: publishing a new image after a change
    /// copies a pointer per topic, not every topic.
    pub topics: BTreeMap<String, Arc<TopicMeta>>,
    /// Next producer id InitProducerId hands out.
    #[serde(default)]
    pub next_producer_id: i64,
    /// Dynamic broker configs (replication throttles), by broker id; -1
    /// holds the cluster-wide defaults.
    #[serde(default)]
    pub broker_configs: BTreeMap<i32, BTreeMap<String, String>>,
    /// Group configs (KIP-848 timing overrides), by group id.
    #[serde(default)]
    pub group_configs: BTreeMap<String, BTreeMap<String, String>>,
    /// The active controller as last recorded.
    #[serde(default)]
    pub controller: Option<ControllerRecord>,
    /// The producer ids handed out last.
    #[serde(default)]
    pub producer_id_block: Option<ProducerIdBlock>,
    /// When each ZooKeeper-style path changed, for `kfk zk-shell stat`.
    #[serde(default)]
    pub znodes: znodes::Znodes,
    /// SCRAM credentials by user and mechanism (KIP-554): salts and derived
    /// keys, never passwords.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scram: BTreeMap<String, BTreeMap<kfk_sasl::Mechanism, kfk_sasl::Credential>>,
    /// The cluster's ACLs, indexed for the authorizer.
    #[serde(default, skip_serializing_if = "kfk_acl::Acls::is_empty")]
    pub acls: kfk_acl::Acls,
    /// Client quotas by user and client id.
    #[serde(
        default,
        skip_serializing_if = "crate::client_quota::ClientQuotas::is_empty"
    )]
    pub client_quotas: crate::client_quota::ClientQuotas,
}

/// Who became the active controller, and in which epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerRecord {
    pub id: i32,
    pub epoch: u64,
}

/// A block of producer ids reserved by a broker (ZooKeeper's
/// `/latest_producer_id_block`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerIdBlock {
    pub broker: i32,
    pub first: i64,
    pub last: i64,
}

impl MetadataImage {
    /// Applies a record from the log at offset `index`: the command, then
    /// what it did to the ZooKeeper view.
    pub fn apply_record(&mut self, record: &MetadataRecord, index: u64) -> CommandResult {
        let result = self.apply(&record.cmd);
        let mut znodes = std::mem::take(&mut self.znodes);
        znodes.record(
            &record.cmd,
            &result,
            znodes::At {
                zxid: index,
                ms: record.at_ms,
            },
            self,
        );
        self.znodes = znodes;
        result
    }
}

impl MetadataImage {
    /// A dynamic broker config: the broker's own, else the cluster default.
    pub fn broker_config(&self, broker: i32, key: &str) -> Option<&String> {
        self.broker_configs
            .get(&broker)
            .and_then(|c| c.get(key))
            .or_else(|| self.broker_configs.get(&-1).and_then(|c| c.get(key)))
    }
}

impl MetadataImage {
    /// Partitions to hand back to their preferred replica (the first one) —
    /// live, in sync, but not leading — for every broker that lost more than
    /// `max_imbalance_pct` percent of the partitions it should lead (Kafka's
    /// `leader.imbalance.per.broker.percentage`).
    pub fn preferred_elections(&self, max_imbalance_pct: u64) -> Vec<(String, i32)> {
        let live = |id: i32| self.brokers.get(&id).is_some_and(|b| !b.fenced);
        let mut preferred: BTreeMap<i32, (u64, Vec<(String, i32)>)> = BTreeMap::new();
        for (name, topic) in &self.topics {
            for (i, p) in topic.partitions.iter().enumerate() {
                let Some(&first) = p.replicas.first() else {
                    continue;
                };
                let entry = preferred.entry(first).or_default();
                entry.0 += 1;
                if p.leader != first && p.isr.contains(&first) && live(first) && !p.is_reassigning()
                {
                    entry.1.push((name.clone(), i as i32));
                }
            }
        }
        preferred
            .into_values()
            .filter(|(total, off)| {
                !off.is_empty() && off.len() as u64 * 100 > total * max_imbalance_pct
            })
            .flat_map(|(_, off)| off)
            .collect()
    }

    pub fn topic_by_id(&self, id: Uuid) -> Option<(&String, &TopicMeta)> {
        self.topics
            .iter()
            .find(|(_, t)| t.id == id)
            .map(|(n, t)| (n, &**t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(replicas: &[i32], leader: i32, isr: &[i32]) -> PartitionMeta {
        PartitionMeta {
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
            leader,
            leader_epoch: 0,
            partition_epoch: 0,
            adding_replicas: Vec::new(),
            removing_replicas: Vec::new(),
        }
    }

    #[test]
    fn preferred_leaders_return_once_in_sync_past_the_imbalance_threshold() {
        let mut image = MetadataImage::default();
        for id in [1, 2] {
            image.brokers.insert(
                id,
                BrokerRegistration {
                    id,
                    host: "h".into(),
                    port: 1,
                    rack: None,
                    fenced: false,
                    stopped: false,
                    epoch: 1,
                    partition_capacity: None,
                    endpoints: BTreeMap::new(),
                },
            );
        }
        let mut partitions: Vec<PartitionMeta> =
            (0..10).map(|_| partition(&[1, 2], 1, &[1, 2])).collect();
        partitions[0] = partition(&[1, 2], 2, &[1, 2]);
        // Preferred replica out of sync: not a candidate.
        partitions[1] = partition(&[1, 2], 2, &[2]);
        image.topics.insert(
            "t".into(),
            Arc::new(TopicMeta {
                id: Uuid::nil(),
                partitions,
                configs: BTreeMap::new(),
            }),
        );
        // 1 of broker 1's 10 preferred partitions movable: 10 % is not above 10 %.
        assert!(image.preferred_elections(10).is_empty());
        assert_eq!(image.preferred_elections(5), vec![("t".to_string(), 0)]);
        image.brokers.get_mut(&1).unwrap().fenced = true;
        assert!(
            image.preferred_elections(0).is_empty(),
            "fenced brokers lead nothing"
        );
    }
}
