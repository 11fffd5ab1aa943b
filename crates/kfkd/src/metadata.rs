//! The cluster metadata image: topics with their ids, partitions, replicas,
//! leaders and config overrides, and the producer-id counter; and the broker's
//! identity (`meta.properties`).
//!
//! The image is the state of the metadata quorum (`crate::quorum`): it changes
//! only by applying committed commands, so every broker holds the same one.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

const META_PROPERTIES: &str = "meta.properties";

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
    pub topics: BTreeMap<String, TopicMeta>,
    /// Next producer id InitProducerId hands out.
    #[serde(default)]
    pub next_producer_id: i64,
    /// Dynamic broker configs (replication throttles), by broker id; -1
    /// holds the cluster-wide defaults.
    #[serde(default)]
    pub broker_configs: BTreeMap<i32, BTreeMap<String, String>>,
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
        self.topics.iter().find(|(_, t)| t.id == id)
    }
}

/// The broker's identity on disk: `meta.properties`, as Kafka keeps it.
#[derive(Debug)]
pub struct MetadataStore {
    pub cluster_id: String,
}

/// Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding.
fn new_cluster_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = Uuid::new_v4().into_bytes();
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut out = String::with_capacity(22);
    for b in bytes {
        bits = (bits << 8) | u32::from(b);
        nbits += 8;
        while nbits >= 6 {
            nbits -= 6;
            out.push(ALPHABET[((bits >> nbits) & 0x3f) as usize] as char);
        }
    }
    if nbits > 0 {
        out.push(ALPHABET[((bits << (6 - nbits)) & 0x3f) as usize] as char);
    }
    out
}

fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

impl MetadataStore {
    /// Reads `meta.properties` in `data_dir`, creating the cluster id on first
    /// start, and checks that the directory belongs to this node.
    ///
    /// # Errors
    /// I/O errors, or a `meta.properties` of another node.
    pub fn open(data_dir: &Path, node_id: i32) -> anyhow::Result<MetadataStore> {
        std::fs::create_dir_all(data_dir)?;
        let props_path = data_dir.join(META_PROPERTIES);
        let cluster_id = match std::fs::read_to_string(&props_path) {
            Ok(text) => {
                let props = parse_properties(&text);
                if let Some(stored) = props.get("node.id")
                    && stored != &node_id.to_string()
                {
                    anyhow::bail!(
                        "{} belongs to node {stored}, not node {node_id}; use that node id or another data directory",
                        props_path.display()
                    );
                }
                props
                    .get("cluster.id")
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("{} has no cluster.id", props_path.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let id = new_cluster_id();
                let text =
                    format!("#\n#Written by kfkd\ncluster.id={id}\nnode.id={node_id}\nversion=1\n");
                kfk_log::write_atomically(&props_path, text.as_bytes())?;
                id
            }
            Err(e) => return Err(e.into()),
        };
        Ok(MetadataStore { cluster_id })
    }

    /// Adopts the cluster id the quorum agreed on, rewriting `meta.properties`.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn adopt_cluster_id(
        &mut self,
        data_dir: &Path,
        node_id: i32,
        id: &str,
    ) -> std::io::Result<()> {
        if self.cluster_id != id {
            let text =
                format!("#\n#Written by kfkd\ncluster.id={id}\nnode.id={node_id}\nversion=1\n");
            kfk_log::write_atomically(&data_dir.join(META_PROPERTIES), text.as_bytes())?;
            self.cluster_id = id.to_string();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_ids_look_like_kafkas() {
        let id = new_cluster_id();
        assert_eq!(id.len(), 22);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(id, new_cluster_id());
    }

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
            TopicMeta {
                id: Uuid::nil(),
                partitions,
                configs: BTreeMap::new(),
            },
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

    #[test]
    fn the_identity_survives_reopening_and_belongs_to_one_node() {
        let dir = tempfile::tempdir().unwrap();
        let store = MetadataStore::open(dir.path(), 1).unwrap();
        let again = MetadataStore::open(dir.path(), 1).unwrap();
        assert_eq!(again.cluster_id, store.cluster_id);
        assert!(MetadataStore::open(dir.path(), 2).is_err());
    }
}
